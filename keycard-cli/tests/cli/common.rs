//! Running the binary, and the keys and vectors the tests use.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::Engine;
use serde_json::Value;

/// The binary under test.
pub(crate) fn keycard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keycard"))
}

/// A test key's path.
pub(crate) fn key(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "keys", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

/// An RFC vector.
pub(crate) fn vector(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn run(args: &[&str]) -> Output {
    keycard().args(args).output().unwrap()
}

pub(crate) fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    run_with_stdin_bytes(args, stdin.as_bytes())
}

pub(crate) fn run_with_stdin_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = keycard()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs a command that must succeed and returns its standard output, trimmed.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// Exit status 1: the token was refused.
pub(crate) const REFUSED: i32 = 1;
/// Exit status 2: the command line, a file it names or its input must be fixed.
pub(crate) const USAGE: i32 = 2;
/// Exit status 3: a service the command needs failed (a remote key set: `key_source`).
pub(crate) const UNAVAILABLE: i32 = 3;

/// Runs a command whose token must be refused: exit status 1, nothing on standard output and
/// exactly one line on standard error starting with `error[KIND]: `; returns that line.
pub(crate) fn fails(args: &[&str], kind: &str) -> String {
    fails_with(args, REFUSED, kind)
}

/// As [`fails`], with exit status `status`.
pub(crate) fn fails_with(args: &[&str], status: i32, kind: &str) -> String {
    let out = run(args);
    failed_with(&out, status, kind, args)
}

/// As [`fails`], for an output already at hand.
pub(crate) fn failed(out: &Output, kind: &str, what: impl std::fmt::Debug) -> String {
    failed_with(out, REFUSED, kind, what)
}

/// As [`fails_with`], for an output already at hand. The kinds that are not the token's always
/// come with their own status: `usage`, `key` and `configuration` with 2, `key_source` with 3.
pub(crate) fn failed_with(
    out: &Output,
    status: i32,
    kind: &str,
    what: impl std::fmt::Debug,
) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(status), "{what:?}: {err}");
    assert!(
        err.starts_with(&format!("error[{kind}]: ")),
        "{what:?}: expected error[{kind}], got {err}"
    );
    assert_eq!(err.lines().count(), 1, "{what:?}: {err}");
    assert!(stdout(out).is_empty(), "{what:?}: {}", stdout(out));
    match kind {
        "usage" | "key" | "configuration" => assert_eq!(status, USAGE, "{what:?}: {kind}"),
        "key_source" | "random" => assert_eq!(status, UNAVAILABLE, "{what:?}: {kind}"),
        _ => {}
    }
    err
}

/// A fresh directory for one test.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keycard-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `contents` into `dir` and returns the path.
pub(crate) fn write(dir: &std::path::Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_string_lossy().into_owned()
}

pub(crate) fn b64decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token's header and claims, read here rather than by the binary.
pub(crate) fn parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = serde_json::from_slice(&b64decode(parts.next().unwrap())).unwrap();
    let claims = serde_json::from_slice(&b64decode(parts.next().unwrap())).unwrap();
    (header, claims)
}

/// The RFC 7638 thumbprint, computed here from the required members: SHA-256 of the members in
/// lexicographic order, no whitespace.
pub(crate) fn rfc7638(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str().unwrap() {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        other => panic!("kty {other}"),
    };
    let body: Vec<String> = members
        .iter()
        .map(|m| format!("\"{m}\":\"{}\"", jwk[*m].as_str().unwrap()))
        .collect();
    let input = format!("{{{}}}", body.join(","));
    b64(ring::digest::digest(&ring::digest::SHA256, input.as_bytes()).as_ref())
}

/// Signs `{"sub":"cli","aud":"api"}` with the P-256 test key, valid for an hour, `kid: k1`.
pub(crate) fn es256_token() -> String {
    ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--alg",
        "ES256",
        "--kid",
        "k1",
        "--expires-in",
        "3600",
        r#"{"sub":"cli","aud":"api"}"#,
    ])
}

/// The RFC 7515 Appendix A.3 P-256 key (private, with `d`, `kid: rfc-a3`, `alg: ES256`) and a JWK
/// Set of its public half.
pub(crate) fn rfc_p256_jwks() -> (String, String) {
    let mut private = vector("rfc7515_a3_es256.json")["jwk"].clone();
    private["kid"] = "rfc-a3".into();
    private["alg"] = "ES256".into();
    let mut public = private.clone();
    public.as_object_mut().unwrap().remove("d");
    (
        private.to_string(),
        serde_json::json!({ "keys": [public] }).to_string(),
    )
}

/// RFC 7515 A.1 and A.2 tokens expire at 1300819380 (2011-03-22T18:43:00Z); this is 14 min before.
pub(crate) const RFC_NOW: i64 = 1_300_819_380 - 14 * 60;
