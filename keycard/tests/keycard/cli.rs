//! The `jwt` command-line example, driven as a process: its interface is a contract for scripts
//! (exit codes, `error[KIND]: message` on standard error, JSON on standard output).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The example binary `cargo test` builds next to the test binaries.
fn jwt() -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop(); // the test binary
    if path.ends_with("deps") {
        path.pop();
    }
    let exe = path
        .join("examples")
        .join(format!("jwt{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.exists(),
        "{} is missing: build the examples first",
        exe.display()
    );
    Command::new(exe)
}

fn key(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "keys", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> Output {
    jwt().args(args).output().unwrap()
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = jwt()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Signs `{"sub":"cli","aud":"api"}` with the P-256 test key, valid for an hour.
fn es256_token() -> String {
    let out = run(&[
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
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn sign_then_verify_prints_the_claims_and_exits_zero() {
    let token = es256_token();
    let out = run(&[
        "verify",
        "--key",
        &key("p256.spki.pem"),
        "--alg",
        "ES256",
        "--aud",
        "api",
        &token,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims["sub"], "cli");
    assert_eq!(claims["aud"], "api");
}

#[test]
fn verify_failures_exit_one_with_the_error_kind() {
    let token = es256_token();
    let p256 = key("p256.spki.pem");
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--alg", "ES256"], "error[audience]: "),
        (vec!["--alg", "ES256", "--aud", "web"], "error[audience]: "),
        (
            vec!["--alg", "ES256", "--aud", "api", "--now", "2000000000"],
            "error[expired]: ",
        ),
        (
            vec!["--alg", "ES256", "--aud", "api", "--iss", "someone"],
            "error[issuer]: ",
        ),
        (
            vec!["--alg", "ES256", "--aud", "api", "--typ", "at+jwt"],
            "error[token_type]: ",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["verify", "--key", &p256];
        args.extend(flags.iter().copied());
        args.push(&token);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{flags:?}");
        let err = stderr(&out);
        assert!(err.starts_with(expected), "{flags:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn verify_reports_signature_algorithm_and_malformed_kinds() {
    let token = es256_token();
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(86));
    let cases = [
        (
            key("p256.spki.pem"),
            "ES256",
            forged.as_str(),
            "error[signature]: ",
        ),
        (
            key("rsa2048.spki.pem"),
            "RS256",
            token.as_str(),
            "error[algorithm]: ",
        ),
        (
            key("p256.spki.pem"),
            "ES256",
            "not-a-token",
            "error[malformed]: ",
        ),
    ];
    for (file, alg, token, expected) in cases {
        let out = run(&[
            "verify", "--key", &file, "--alg", alg, "--aud", "api", token,
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).starts_with(expected), "{}", stderr(&out));
    }
}

#[test]
fn verify_accepts_a_token_without_exp_only_with_no_exp() {
    let pem = std::fs::read_to_string(key("ed25519.pkcs8.pem")).unwrap();
    let signer = keycard::Ed25519PrivateKey::from_pem(&pem).unwrap();
    let token = keycard::Builder::new()
        .without_expiry()
        .sign(&signer)
        .unwrap();
    let public = key("ed25519.spki.pem");
    let out = run(&["verify", "--key", &public, "--alg", "EdDSA", &token]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error[missing_claim]: required claim `exp`"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "verify", "--key", &public, "--alg", "EdDSA", "--no-exp", &token,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sign_refuses_to_mint_a_token_that_never_expires() {
    let out = run(&[
        "sign",
        "--key",
        &key("ed25519.pkcs8.pem"),
        "--alg",
        "EdDSA",
        "{}",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error[usage]: "),
        "{}",
        stderr(&out)
    );
    let with_exp = r#"{"sub":"s","exp":4102444800}"#;
    let out = run(&[
        "sign",
        "--key",
        &key("ed25519.pkcs8.pem"),
        "--alg",
        "EdDSA",
        with_exp,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn verify_accepts_a_private_key_pem_and_reads_the_token_from_stdin() {
    let token = es256_token();
    let out = run_with_stdin(
        &[
            "verify",
            "--key",
            &key("p256.sec1.pem"),
            "--alg",
            "ES256",
            "--aud",
            "api",
            "-",
        ],
        &token,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn decode_marks_its_output_unverified() {
    let token = es256_token();
    let out = run(&["decode", &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json["UNVERIFIED"].as_str().unwrap().contains("not checked"));
    assert_eq!(json["header"]["alg"], "ES256");
    assert_eq!(json["header"]["kid"], "k1");
    assert_eq!(json["claims"]["sub"], "cli");
    let out = run(&["decode", "a.b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error[malformed]: "));
}

#[test]
fn rsa_pem_signs_with_every_rsa_algorithm() {
    for alg in ["RS256", "PS512"] {
        let out = run(&[
            "sign",
            "--key",
            &key("rsa2048.pkcs1.pem"),
            "--alg",
            alg,
            "--expires-in",
            "60",
            "{}",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let token = stdout(&out).trim().to_owned();
        let out = run(&[
            "verify",
            "--key",
            &key("rsa2048.spki.pem"),
            "--alg",
            alg,
            &token,
        ]);
        assert!(out.status.success(), "{alg}: {}", stderr(&out));
    }
}

/// Writes `contents` to a file of this test run and returns its path.
fn temp_file(name: &str, contents: &str) -> String {
    let path = std::env::temp_dir().join(format!("keycard-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path.to_string_lossy().into_owned()
}

/// The RFC 7515 Appendix A.3 P-256 key (private, with `d`) and its public half.
fn rfc_p256_jwks() -> (String, String) {
    let path = format!(
        "{}/tests/vectors/rfc7515_a3_es256.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let vector: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut private = vector["jwk"].clone();
    private["kid"] = "rfc-a3".into();
    private["alg"] = "ES256".into();
    let mut public = private.clone();
    public.as_object_mut().unwrap().remove("d");
    (
        private.to_string(),
        serde_json::json!({ "keys": [public] }).to_string(),
    )
}

#[test]
fn jwk_signs_and_jwks_verifies_by_kid() {
    let (private, jwks) = rfc_p256_jwks();
    let private = temp_file("a3-private.jwk", &private);
    let jwks = temp_file("a3.jwks", &jwks);
    let out = run(&[
        "sign",
        "--key",
        &private,
        "--alg",
        "ES256",
        "--kid",
        "rfc-a3",
        "--expires-in",
        "60",
        "{}",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    let out = run(&["verify", "--key", &jwks, &token]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Another kid is an unknown key: the caller should refresh its JWKS.
    let out = run(&[
        "sign",
        "--key",
        &private,
        "--alg",
        "ES256",
        "--kid",
        "rotated",
        "--expires-in",
        "60",
        "{}",
    ]);
    let token = stdout(&out).trim().to_owned();
    let out = run(&["verify", "--key", &jwks, &token]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error[unknown_key_id]: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_single_public_jwk_verifies_with_its_own_alg() {
    let (private, jwks) = rfc_p256_jwks();
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let public = temp_file("a3-public.jwk", &jwks["keys"][0].to_string());
    let private = temp_file("a3-private-2.jwk", &private);
    let out = run(&[
        "sign",
        "--key",
        &private,
        "--alg",
        "ES256",
        "--expires-in",
        "60",
        "{}",
    ]);
    let token = stdout(&out).trim().to_owned();
    let out = run(&["verify", "--key", &public, &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The JWK says ES256: asking for PS256 is refused as a key error, not silently ignored.
    let out = run(&["verify", "--key", &public, "--alg", "PS256", &token]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error[key]: "), "{}", stderr(&out));
}
