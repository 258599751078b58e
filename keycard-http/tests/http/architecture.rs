//! keycard-http's invariants, checked against its source: it names no framework, no server and
//! no runtime, and its modules depend one way (the per-request state and the authorizer never
//! name the policy or the layer that hold them).

use std::fs;
use std::path::Path;

/// The modules, lowest first: each may name only modules listed before it.
const LAYERS: &[&str] = &[
    "rejection",
    "credentials",
    "verify",
    "authenticated",
    "authorizer",
    "policy",
    "layer",
];

fn source(module: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(format!("{module}.rs"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn names_no_framework_server_or_runtime() {
    for module in LAYERS.iter().chain(&["lib"]) {
        let text = source(module);
        for name in ["axum", "tonic", "hyper", "tokio", "actix", "warp"] {
            let code: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .filter(|line| line.contains(&format!("{name}::")))
                .collect();
            assert!(code.is_empty(), "{module}.rs names {name}: {code:?}");
        }
    }
    let manifest =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("[dev-dependencies]").next())
        .unwrap();
    for name in ["axum", "tonic", "hyper", "tokio"] {
        assert!(
            !dependencies.contains(name),
            "keycard-http depends on {name}"
        );
    }
}

#[test]
fn modules_depend_one_way() {
    for (i, module) in LAYERS.iter().enumerate() {
        let text = source(module);
        for higher in &LAYERS[i + 1..] {
            assert!(
                !text.contains(&format!("crate::{higher}")),
                "{module}.rs names the higher module {higher}"
            );
        }
    }
}
