//! The layers of ARCHITECTURE.md, checked against the source, as a reviewer would read it:
//! - inside the core, a module may name only the modules of lower layers (and its own), so the
//!   core has no import cycle;
//! - across the workspace, a crate may depend only on crates below it in one declared table
//!   (read from every member's `Cargo.toml`), and no crate compiles another crate's file
//!   (`#[path = ..]`, `include!`, `include_str!`, `include_bytes!` reaching outside its own
//!   directory), so that each crate's public API is the only seam between them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, bottom layer first; modules on one line share a layer and
/// must not name each other.
const LAYERS: &[&[&str]] = &[
    &["algorithm", "clock", "limits"],
    &["text"],
    &["error"],
    &["encoding"],
    &["jwk"],
    &["keys"],
    &["key_set"],
    &["token"],
    &["validation"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The root re-exports (`pub use module::{A, B}`), so that `crate::A` counts as `module`.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let mut rest = lib;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap();
        let item = &rest[..end];
        let Some((module, list)) = item.split_once("::") else {
            continue;
        };
        let list = list.trim().trim_start_matches('{').trim_end_matches('}');
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            names.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    names
}

/// Every `crate::name` on a line of code (comments and doc comments are not dependencies).
fn named_modules<'a>(code: &'a str, reexports: &'a BTreeMap<String, String>) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: &str = &rest[..rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())];
        if layer(name).is_some() {
            found.push(name);
        } else if let Some(module) = reexports.get(name) {
            found.push(module.as_str());
        }
    }
    found
}

#[test]
fn every_module_names_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = reexports(&lib);
    assert!(reexports.contains_key("Validator"), "{reexports:?}");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let top = top.trim_end_matches(".rs");
        if top == "lib" {
            continue;
        }
        let own = layer(top).unwrap_or_else(|| panic!("{top} is in no layer of ARCHITECTURE.md"));
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for module in named_modules(code, &reexports) {
                let theirs = layer(module).unwrap();
                if module != top && theirs >= own {
                    violations.push(format!(
                        "{}:{}: {top} (layer {own}) names {module} (layer {theirs})",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward or sideways imports:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_an_upward_import() {
    let reexports = BTreeMap::from([("Validator".to_owned(), "validation".to_owned())]);
    assert_eq!(
        named_modules(
            "use crate::token::claims; let v: crate::Validator;",
            &reexports
        ),
        ["token", "validation"]
    );
}

/// The workspace's crates, bottom row first, the ones planned included: a crate may depend only
/// on crates of lower rows, and crates of one row must not depend on each other. Members that do
/// not exist yet are skipped; a member that is not in the table fails the test.
const CRATES: &[&[&str]] = &[
    &["keycard"],
    &["keycard-lifecycle", "keycard-jwks"],
    &[
        "keycard-http",
        "keycard-redis",
        "keycard-postgres",
        "keycard-client",
    ],
    // The OAuth 2.0 token service (planned): on the lifecycle, mounted by keycard-axum.
    &["keycard-oauth"],
    &["keycard-axum", "keycard-cli"],
    // Above keycard-axum: its matrix test holds a tonic server and an axum server to the same
    // answers.
    &["keycard-tonic"],
    &[TEST_KIT],
];

/// The shared test kit sits above everything it tests, so that it can name any crate; the others
/// reach it only as a dev-dependency, never as a dependency they ship with.
const TEST_KIT: &str = "keycard-test";

/// Files of one crate that reach outside its directory today, each with the reason it is not fixed
/// yet. The test fails when one of them is gone, so that the list only shrinks.
const KNOWN_OUTSIDE: &[(&str, &str, &str)] = &[(
    "keycard-axum/src/lib.rs",
    "README.md",
    "the workspace README's code blocks, doc-tested in the one crate that depends on all \
         they use",
)];

fn crate_row(name: &str) -> Option<usize> {
    CRATES.iter().position(|row| row.contains(&name))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the core sits in the workspace root")
        .to_path_buf()
}

/// The quoted strings of the root manifest's `members = [...]`.
fn members(root_manifest: &str) -> Vec<String> {
    let start = root_manifest
        .find("members = [")
        .expect("the root Cargo.toml lists its members");
    let list = &root_manifest[start + "members = [".len()..];
    let list = &list[..list.find(']').expect("the members list is closed")];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// A manifest's dependency kinds, as the test distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `[dependencies]`, `[build-dependencies]` and their `[target.'..'.*]` forms: what the
    /// crate is built with.
    Normal,
    /// `[dev-dependencies]` (and its target form): tests, examples, benches.
    Dev,
}

/// A manifest's package name and the names of the crates it depends on (`package = ".."` taken
/// into account), by kind. A line reader, enough for the workspace's own manifests.
fn read_manifest(text: &str) -> (String, Vec<(String, Kind)>) {
    let mut package = String::new();
    let mut deps = Vec::new();
    let mut section = String::new();
    // A dotted table `[dependencies.name]`: the dependency it declares, until its `package`.
    let mut table_dep: Option<usize> = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().to_owned();
            table_dep = None;
            if let Some((kind, name)) = dependency_table(&section) {
                deps.push((name.to_owned(), kind));
                table_dep = Some(deps.len() - 1);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, mut value) = (key.trim(), value.trim().to_owned());
        // An inline table or array over several lines: read up to its end.
        while value.matches(['{', '[']).count() > value.matches(['}', ']']).count() {
            match lines.next() {
                Some(more) => value.push_str(more.split('#').next().unwrap_or("")),
                None => break,
            }
        }
        if section == "package" && key == "name" {
            package = value.trim_matches('"').to_owned();
        }
        if let Some(index) = table_dep {
            if key == "package" {
                deps[index].0 = value.trim_matches('"').to_owned();
            }
            continue;
        }
        let Some(kind) = dependency_kind(&section) else {
            continue;
        };
        let name = key.split('.').next().unwrap_or(key).trim_matches('"');
        let renamed = value
            .split_once("package")
            .and_then(|(_, rest)| rest.split('"').nth(1));
        deps.push((renamed.unwrap_or(name).to_owned(), kind));
    }
    (package, deps)
}

/// The kind of dependencies a section header lists, if it lists dependencies.
fn dependency_kind(section: &str) -> Option<Kind> {
    let last = section.rsplit('.').next().unwrap_or(section);
    match last {
        "dependencies" | "build-dependencies" => Some(Kind::Normal),
        "dev-dependencies" => Some(Kind::Dev),
        _ => None,
    }
}

/// `[dependencies.name]` and its kin: the kind and the name.
fn dependency_table(section: &str) -> Option<(Kind, &str)> {
    let (table, name) = section.rsplit_once('.')?;
    let kind = dependency_kind(table)?;
    Some((kind, name.trim_matches('"')))
}

#[test]
fn crates_depend_only_on_crates_below_them() {
    let root = workspace_root();
    let root_manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut violations = Vec::new();
    let mut seen = Vec::new();
    for member in members(&root_manifest) {
        let manifest = std::fs::read_to_string(root.join(&member).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{member}/Cargo.toml: {e}"));
        let (name, deps) = read_manifest(&manifest);
        let Some(own) = crate_row(&name) else {
            violations.push(format!("{member}: crate `{name}` is in no row of CRATES"));
            continue;
        };
        seen.push(name.clone());
        for (dep, kind) in deps {
            if !dep.starts_with("keycard") {
                continue;
            }
            if dep == TEST_KIT {
                if kind != Kind::Dev {
                    violations.push(format!("{name} ships with the test kit `{dep}`"));
                }
                continue;
            }
            match crate_row(&dep) {
                Some(theirs) if theirs < own => {}
                Some(theirs) => violations.push(format!(
                    "{name} (row {own}) depends on {dep} (row {theirs}){}",
                    if kind == Kind::Dev {
                        " for its tests"
                    } else {
                        ""
                    }
                )),
                None => violations.push(format!("{name} depends on {dep}, in no row of CRATES")),
            }
        }
    }
    assert!(seen.contains(&"keycard-lifecycle".to_owned()), "{seen:?}");
    assert!(
        violations.is_empty(),
        "dependencies against the table:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_manifest_reader_sees_every_kind_of_dependency() {
    let manifest = r#"
[package]
name = "keycard-example"
version.workspace = true

[dependencies]
keycard.workspace = true
serde = { workspace = true, features = [
    "derive",
] } # not a dependency named `features`
lifecycle = { package = "keycard-lifecycle", path = "../keycard-lifecycle" }

[target.'cfg(unix)'.build-dependencies]
keycard-jwks = "0.1"

[dev-dependencies]
keycard-axum = { path = "../keycard-axum" }

[dev-dependencies.redis-store]
path = "../keycard-redis"
package = "keycard-redis"
"#;
    let (name, deps) = read_manifest(manifest);
    assert_eq!(name, "keycard-example");
    let named = |kind: Kind| -> Vec<&str> {
        deps.iter()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    assert_eq!(
        named(Kind::Normal),
        ["keycard", "serde", "keycard-lifecycle", "keycard-jwks"]
    );
    assert_eq!(named(Kind::Dev), ["keycard-axum", "keycard-redis"]);
    assert_eq!(
        members("members = [\n    \"keycard\",\n    \"keycard-cli\",\n]"),
        ["keycard", "keycard-cli"]
    );
}

/// Every `.rs` file under `dir`, build output excluded.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `path` with `.` and `..` resolved by their text, as the compiler resolves the paths it is
/// given (no symbolic links in the workspace).
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The files a source text pulls in by path: `#[path = "x"]` and `include!`/`include_str!`/
/// `include_bytes!` of a literal (relative to `dir`, the file's directory) or of
/// `concat!(env!("CARGO_MANIFEST_DIR"), "x")` (relative to `manifest_dir`). An argument of
/// another form is returned as `Err`: the checker cannot tell where it reaches.
fn included(code: &str, dir: &Path, manifest_dir: &Path) -> Vec<Result<PathBuf, String>> {
    let mut found = Vec::new();
    for line in code.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        if let Some(at) = code.find("#[path") {
            let rest = &code[at..];
            found.push(
                rest.split('"')
                    .nth(1)
                    .map(|p| dir.join(p))
                    .ok_or_else(|| rest.to_owned()),
            );
        }
        for mac in ["include!(", "include_str!(", "include_bytes!("] {
            let mut rest = code;
            while let Some(at) = rest.find(mac) {
                // `include_str!` also contains `include!`-free text; match whole macro names.
                let before = rest[..at].chars().next_back();
                rest = &rest[at + mac.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let arg = rest.trim_start();
                let resolved = if let Some(literal) = arg.strip_prefix('"') {
                    literal.split('"').next().map(|p| dir.join(p))
                } else if let Some(tail) = arg.strip_prefix("concat!(env!(\"CARGO_MANIFEST_DIR\"),")
                {
                    tail.split('"')
                        .nth(1)
                        .map(|p| manifest_dir.join(p.trim_start_matches('/')))
                } else {
                    None
                };
                found.push(resolved.ok_or_else(|| format!("{mac}{arg}")));
            }
        }
    }
    found
}

#[test]
fn no_crate_compiles_a_file_outside_its_directory() {
    let root = normalized(&workspace_root());
    let root_manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut violations = Vec::new();
    let mut known_seen = Vec::new();
    for member in members(&root_manifest) {
        let member_dir = root.join(&member);
        let mut files = Vec::new();
        rust_files(&member_dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let dir = file.parent().unwrap();
            let shown = file.strip_prefix(&root).unwrap().display().to_string();
            for target in included(&text, dir, &member_dir) {
                let target = match target {
                    Ok(target) => normalized(&target),
                    Err(form) => {
                        violations.push(format!("{shown}: cannot tell where `{form}` reaches"));
                        continue;
                    }
                };
                if target.starts_with(&member_dir) {
                    continue;
                }
                let reached = target.strip_prefix(&root).map_or_else(
                    |_| target.display().to_string(),
                    |t| t.display().to_string(),
                );
                if KNOWN_OUTSIDE
                    .iter()
                    .any(|(from, to, _)| *from == shown && *to == reached)
                {
                    known_seen.push((shown.clone(), reached));
                } else {
                    violations.push(format!("{shown} compiles {reached}, outside {member}/"));
                }
            }
        }
    }
    for (from, to, why) in KNOWN_OUTSIDE {
        assert!(
            known_seen.iter().any(|(f, t)| f == from && t == to),
            "{from} no longer reaches {to} ({why}): remove it from KNOWN_OUTSIDE"
        );
    }
    assert!(
        violations.is_empty(),
        "files compiled from outside their crate:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_include_checker_resolves_paths_and_macros() {
    let dir = Path::new("/ws/keycard-axum/tests");
    let manifest = Path::new("/ws/keycard-axum");
    // Written with stand-ins, so that this file does not include what it tests with.
    let code = r#"
#[PATH = "../../keycard-jwks/tests/remote/provider.rs"]
mod provider;
// INCLUDE_str!("../../commented/out.md")
#[doc = INCLUDE_str!("../../README.md")]
const KEY: &str = INCLUDE_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/a.pem"));
const RAW: &[u8] = INCLUDE_bytes!(some_macro!());
"#
    .replace("PATH", "path")
    .replace("INCLUDE", "include");
    let found: Vec<_> = included(&code, dir, manifest)
        .into_iter()
        .map(|r| r.map(|p| normalized(&p)))
        .collect();
    assert_eq!(
        found,
        [
            Ok(PathBuf::from("/ws/keycard-jwks/tests/remote/provider.rs")),
            Ok(PathBuf::from("/ws/README.md")),
            Ok(PathBuf::from("/ws/keycard-axum/tests/keys/a.pem")),
            Err(format!("{}_bytes!(some_macro!());", "include")),
        ]
    );
}

/// The core's public surface stays small (STYLE.md: re-export what users name, not every type):
/// at most 35 names at the crate root, modules included.
#[test]
fn the_core_has_at_most_35_root_names() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut names: Vec<String> = Vec::new();
    let code: String = lib
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap();
        let item = &rest[..end];
        match (item.find('{'), item.rfind('}')) {
            (Some(open), Some(close)) => names.extend(
                item[open + 1..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            ),
            _ => names.push(item.rsplit("::").next().unwrap().trim().to_owned()),
        }
    }
    for line in code.lines() {
        if let Some(module) = line.trim().strip_prefix("pub mod ") {
            names.push(module.trim_end_matches(';').to_owned());
        }
    }
    names.sort();
    assert!(names.contains(&"Validator".to_owned()), "{names:?}");
    assert!(names.len() <= 35, "{} root names: {names:?}", names.len());
}

/// The top-level modules of a crate's `src/` (files and folders beside `lib.rs` / `main.rs`).
fn top_modules(src: &Path) -> Vec<String> {
    let mut modules: Vec<String> = std::fs::read_dir(src)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            let is_module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
            (is_module && stem != "lib" && stem != "main").then_some(stem)
        })
        .collect();
    modules.sort();
    modules.dedup();
    modules
}

/// Which top-level modules each top-level module of `src/` names (`crate::m`, or a root
/// re-export of `m`'s), comments left out.
fn module_graph(src: &Path) -> BTreeMap<String, Vec<String>> {
    let modules = top_modules(src);
    let root = ["lib.rs", "main.rs"]
        .iter()
        .find_map(|name| std::fs::read_to_string(src.join(name)).ok())
        .unwrap_or_default();
    let reexports = reexports(&root);
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            files.push(file);
        }
        let dir = src.join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let mut named: Vec<String> = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let mut rest = line;
                while let Some(at) = rest.find("crate::") {
                    rest = &rest[at + "crate::".len()..];
                    let name = &rest[..rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len())];
                    let target = if modules.iter().any(|m| m == name) {
                        Some(name.to_owned())
                    } else {
                        reexports.get(name).cloned()
                    };
                    if let Some(target) = target.filter(|t| t != module && modules.contains(t)) {
                        named.push(target);
                    }
                }
            }
        }
        named.sort();
        named.dedup();
        graph.insert(module.clone(), named);
    }
    graph
}

/// A cycle of `graph`, if it has one, as the modules along it.
fn a_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(node.to_owned());
        None
    }
    let mut done = Vec::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// No crate of the workspace has an import circle between its top-level modules: each reads
/// one way, as the core's layers do.
#[test]
fn no_crate_has_an_import_circle() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut circles = Vec::new();
    for member in members(&manifest) {
        let src = root.join(&member).join("src");
        if !src.is_dir() {
            continue;
        }
        if let Some(cycle) = a_cycle(&module_graph(&src)) {
            circles.push(format!("{member}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_one() {
    let graph: BTreeMap<String, Vec<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(a_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let line: BTreeMap<String, Vec<String>> = [("a", vec!["b"]), ("b", vec![])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
    assert!(a_cycle(&line).is_none());
}
