//! The layers of ARCHITECTURE.md, checked against the source: a module may name only the
//! modules of lower layers (and its own), so the core has no import cycle. Read from the files,
//! as a reviewer would.

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
