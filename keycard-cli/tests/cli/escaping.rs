//! Text that a token, a key file or an argument carries never reaches the terminal raw: every
//! character of keycard's escaping policy (`keycard::text::needs_escape`) put into a token's
//! header and claims comes out of `decode`, `decode --json`, `verify` and its failures as an
//! escape, the JSON still parses to the same values, and a failure is still one line.

use keycard::text::needs_escape;
use keycard::time::Duration;
use keycard::{Builder, Ed25519PrivateKey};
use serde_json::{json, Value};

use crate::common::*;

/// `label` followed by every kind of character that must not reach a terminal raw: ESC (a CSI
/// sequence), CR and LF (a forged line), DEL, C1 CSI, the bidirectional override U+202E, the
/// zero-width space, LINE SEPARATOR, the byte-order mark, the Arabic letter mark, the Mongolian
/// vowel separator, an isolate, NEL and NUL.
fn hostile(label: &str) -> String {
    format!(
        "{label}\u{1b}[2J\r\nINJECTED\u{7f}\u{9b}31m\u{202e}\u{200b}\u{2028}\u{feff}\u{61c}\
         \u{180e}\u{2066}\u{85}\0end"
    )
}

/// [`hostile`] without its NUL, which a command-line argument cannot hold.
fn hostile_arg(label: &str) -> String {
    hostile(label).replace('\0', "")
}

/// Output that is safe for a terminal: no line holds a character of the policy, and no line was
/// forged by a line break from the token.
fn assert_safe(what: &str, text: &str) {
    for line in text.split('\n') {
        assert!(!line.chars().any(needs_escape), "{what}: raw in {line:?}");
        assert!(
            !line.starts_with("INJECTED"),
            "{what}: forged line in {text:?}"
        );
    }
}

fn signer() -> Ed25519PrivateKey {
    let pem = std::fs::read_to_string(key("ed25519.pkcs8.pem")).unwrap();
    Ed25519PrivateKey::from_pem(&pem).unwrap()
}

/// A token whose `kid`, a claim's name and value, `iss` and `aud` are all hostile.
fn hostile_token() -> String {
    Builder::new()
        .key_id(hostile("kid"))
        .issuer(hostile("iss"))
        .audience(hostile_arg("aud"))
        .claim(hostile("name"), hostile("value"))
        .expires_in(Duration::minutes(5))
        .sign(&signer())
        .unwrap()
}

#[test]
fn decode_escapes_every_dangerous_character_in_header_and_claims() {
    let token = hostile_token();
    let out = ok(&["decode", &token]);
    assert_safe("decode", &out);
    assert!(
        out.contains(r"name\u{1b}[2J\r\nINJECTED\u{7f}\u{9b}31m\u{202e}"),
        "{out}"
    );
    assert!(
        out.contains(r#""value\u001b[2J\r\nINJECTED\u007f\u009b31m\u202e"#),
        "{out}"
    );
    assert!(out.contains(r#""kid\u001b[2J"#), "{out}");
}

#[test]
fn decode_json_escapes_inside_strings_and_stays_the_same_json() {
    let token = hostile_token();
    let out = ok(&["decode", "--json", &token]);
    assert_safe("decode --json", &out);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["header"]["kid"], hostile("kid"));
    assert_eq!(json["claims"][hostile("name")], hostile("value"));
    assert_eq!(json["claims"]["aud"], hostile_arg("aud"));
    assert!(
        out.contains(r"\u202e\u200b\u2028\ufeff\u061c\u180e\u2066\u0085\u0000end"),
        "{out}"
    );
}

#[test]
fn verify_prints_hostile_claims_as_escaped_json() {
    let token = hostile_token();
    let pem = key("ed25519.spki.pem");
    let aud = hostile_arg("aud");
    let out = run(&[
        "verify", "--key", &pem, "--alg", "EdDSA", "--aud", &aud, &token,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_safe("verify", &stdout(&out));
    let claims: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims[hostile("name")], hostile("value"));
    assert_eq!(claims["iss"], hostile("iss"));
}

#[test]
fn verify_failures_echo_hostile_values_escaped_on_one_line() {
    let token = hostile_token();
    let pem = key("ed25519.spki.pem");
    let aud = hostile_arg("aud");
    for (args, kind) in [
        (vec!["--aud", "api"], "audience"),
        (
            vec!["--aud", &aud, "--iss", "https://issuer.example"],
            "issuer",
        ),
        (vec!["--aud", &aud, "--typ", "at+jwt"], "token_type"),
    ] {
        let mut all = vec!["verify", "--key", &pem, "--alg", "EdDSA"];
        all.extend(args);
        all.push(&token);
        let err = fails(&all, kind);
        assert_safe(kind, &err);
    }

    let typ_token = Builder::new()
        .token_type(hostile("typ"))
        .expires_in(Duration::minutes(5))
        .sign(&signer())
        .unwrap();
    let err = fails(
        &["verify", "--key", &pem, "--alg", "EdDSA", &typ_token],
        "token_type",
    );
    assert_safe("typ", &err);
    assert!(err.contains(r"typ\u{1b}[2J\r\nINJECTED"), "{err}");
}

#[test]
fn key_ids_from_a_jwk_set_are_escaped_in_notes_failures_and_thumbprints() {
    let dir = temp_dir("escaping-kids");
    let mut public: Value =
        serde_json::from_str(&signer().public_key().to_jwk().to_json()).unwrap();
    public["kid"] = hostile("kid").into();
    public["alg"] = "EdDSA".into();
    let mut enc = vector("rfc7517_jwk_examples.json")["a1_public_jwk_set"]["keys"][0].clone();
    enc["kid"] = hostile("enc").into();
    let jwks = write(
        &dir,
        "hostile.jwks",
        json!({ "keys": [public, enc] }).to_string(),
    );

    // The token's hostile kid finds the key; the skipped key's note is one escaped line.
    let token = hostile_token();
    let aud = hostile_arg("aud");
    let out = run(&["verify", "--key", &jwks, "--aud", &aud, &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_safe("verify stdout", &stdout(&out));
    let err = stderr(&out);
    assert_safe("note", &err);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("note: key #1 (kid `enc\\u{1b}[2J"), "{err}");

    // A kid no key has is echoed escaped.
    let other = write(
        &dir,
        "other.jwks",
        json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "other",
                           "x": public_x() }] })
        .to_string(),
    );
    let err = fails(&["verify", "--key", &other, &token], "unknown_key_id");
    assert_safe("unknown kid", &err);

    let out = ok(&["thumbprint", &jwks]);
    assert_safe("thumbprint", &out);
    assert_eq!(out.lines().count(), 2, "{out}");
}

fn public_x() -> String {
    let jwk: Value = serde_json::from_str(&signer().public_key().to_jwk().to_json()).unwrap();
    jwk["x"].as_str().unwrap().to_owned()
}

#[test]
fn refused_tokens_and_jwes_are_echoed_escaped() {
    let header = b64(json!({ "alg": hostile("alg"), "enc": hostile("enc") })
        .to_string()
        .as_bytes());
    let jwe = format!("{header}.a2V5.aXY.Y2lwaGVy.dGFn");
    for args in [
        vec!["decode", &jwe],
        vec!["verify", "--secret", "/dev/null", "--alg", "HS256", &jwe],
    ] {
        let err = fails(&args, "malformed");
        assert_safe("jwe", &err);
        assert!(err.contains(r"alg `alg\u{1b}[2J\r\nINJECTED"), "{err}");
    }
    // From standard input, which can hold a NUL.
    let out = run_with_stdin(&["decode", "-"], &hostile("not.a-token"));
    let err = failed(&out, "malformed", "decode -");
    assert_safe("malformed", &err);
}

#[test]
fn a_hostile_path_in_keygen_s_report_is_escaped() {
    let dir = temp_dir("escaping-keygen");
    let prefix = dir
        .join("k\u{1b}[2J\u{202e}")
        .to_string_lossy()
        .into_owned();
    let out = ok(&["keygen", "--alg", "EdDSA", "--out", &prefix]);
    assert_safe("keygen", &out);
    assert!(out.contains(r"k\u{1b}[2J\u{202e}.pem"), "{out}");
    assert!(std::path::Path::new(&format!("{prefix}.pem")).exists());
}

#[test]
fn paths_echoed_in_failures_and_notes_are_escaped() {
    let dir = temp_dir("escaping-paths");
    let missing = dir.join("no\u{1b}[2J\r\nINJECTED\u{202e}.pem");
    let missing = missing.to_string_lossy();
    let err = fails_with(
        &["verify", "--key", &missing, "--alg", "ES256", "t.t.t"],
        USAGE,
        "usage",
    );
    assert_safe("missing key", &err);
    assert!(
        err.contains(r"no\u{1b}[2J\r\nINJECTED\u{202e}.pem"),
        "{err}"
    );

    // sign's note about a secret ending with a newline names the file.
    let secret = write(
        &dir,
        "s\u{1b}]0;x\u{7}\u{2028}",
        "0123456789abcdef0123456789abcdef\n",
    );
    let out = run(&[
        "sign", "--secret", &secret, "--alg", "HS256", "--exp", "+1m", "{}",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let note = stderr(&out);
    assert_safe("note", &note);
    assert!(
        note.starts_with("note: ") && note.contains(r"s\u{1b}]0;x\u{7}\u{2028}"),
        "{note}"
    );
}
