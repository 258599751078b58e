//! `keycard verify`: today's interface (from the `jwt` example) and its messages.

use crate::common::*;

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
    // The message names the flag, not the Rust API.
    assert!(stderr(&out).contains("--no-exp"), "{}", stderr(&out));
    let out = run(&[
        "verify", "--key", &public, "--alg", "EdDSA", "--no-exp", &token,
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

#[test]
fn jwk_signs_and_jwks_verifies_by_kid() {
    let dir = temp_dir("jwks-by-kid");
    let (private, jwks) = rfc_p256_jwks();
    let private = write(&dir, "a3-private.jwk", &private);
    let jwks = write(&dir, "a3.jwks", &jwks);
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
    let dir = temp_dir("single-jwk");
    let (private, jwks) = rfc_p256_jwks();
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let public = write(&dir, "a3-public.jwk", jwks["keys"][0].to_string());
    let private = write(&dir, "a3-private-2.jwk", &private);
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
    // The JWK says ES256: asking for PS256 is refused as a key error, not silently ignored; the
    // command line is to fix, not the token.
    let out = run(&["verify", "--key", &public, "--alg", "PS256", &token]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(stderr(&out).starts_with("error[key]: "), "{}", stderr(&out));
    // ... and the message says which --alg the key is for.
    assert!(stderr(&out).contains("--alg ES256"), "{}", stderr(&out));
}

#[test]
fn rfc7515_a1_verifies_with_its_oct_jwk_as_of_a_time_before_it_expired() {
    let dir = temp_dir("rfc-a1");
    let vector = vector("rfc7515_a1_hs256.json");
    let jwk = write(&dir, "a1.jwk", vector["jwk"].to_string());
    let token = vector["token"].as_str().unwrap();
    let now = RFC_NOW.to_string();
    let claims = ok(&[
        "verify", "--key", &jwk, "--alg", "HS256", "--now", &now, token,
    ]);
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["exp"], 1_300_819_380);
    assert_eq!(claims["http://example.com/is_root"], true);
    // Today it expired long ago; a leeway of a few seconds does not change that.
    fails(
        &["verify", "--key", &jwk, "--alg", "HS256", token],
        "expired",
    );
    let after = (1_300_819_380 + 5).to_string();
    fails(
        &[
            "verify", "--key", &jwk, "--alg", "HS256", "--now", &after, token,
        ],
        "expired",
    );
    ok(&[
        "verify", "--key", &jwk, "--alg", "HS256", "--now", &after, "--leeway", "10", token,
    ]);
    // The same secret as raw bytes, with --secret.
    let secret = write(
        &dir,
        "a1.secret",
        b64decode(vector["jwk"]["k"].as_str().unwrap()),
    );
    ok(&[
        "verify", "--secret", &secret, "--alg", "HS256", "--now", &now, token,
    ]);
    let err = fails_with(
        &["verify", "--secret", &secret, "--now", &now, token],
        USAGE,
        "usage",
    );
    assert!(err.contains("--alg HS256"), "{err}");
}

#[test]
fn a_jwks_without_alg_names_the_flag_for_each_skipped_key() {
    let dir = temp_dir("jwks-no-alg");
    let a2 = vector("rfc7515_a2_rs256.json");
    let mut public = serde_json::json!({
        "kty": "RSA", "kid": "a2", "n": a2["jwk"]["n"], "e": a2["jwk"]["e"]
    });
    // RFC 7517 A.1's first key is for encryption: no flag makes it a signature key.
    let enc = vector("rfc7517_jwk_examples.json")["a1_public_jwk_set"]["keys"][0].clone();
    let jwks = write(
        &dir,
        "no-alg.jwks",
        serde_json::json!({ "keys": [enc, public.clone()] }).to_string(),
    );
    let token = a2["token"].as_str().unwrap();
    let now = RFC_NOW.to_string();
    let err = fails_with(
        &["verify", "--key", &jwks, "--now", &now, token],
        USAGE,
        "usage",
    );
    assert!(err.contains("holds no key usable for verifying"), "{err}");
    assert!(err.contains("key #0 (kid `1`) skipped: "), "{err}");
    assert!(
        err.contains("key #1 (kid `a2`) skipped: it has no `alg`: pass --alg RS256"),
        "{err}"
    );
    assert!(
        !err.contains("KeySet::"),
        "a Rust API is no help here: {err}"
    );
    let enc_part = err.split("key #1").next().unwrap();
    assert!(
        !enc_part.contains("--alg"),
        "no flag fixes an encryption key: {err}"
    );

    // The flag it names is the fix.
    let claims = ok(&[
        "verify", "--key", &jwks, "--alg", "RS256", "--now", &now, token,
    ]);
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims["iss"], "joe");

    // A key whose `alg` is not among those asked for: add it.
    public["alg"] = "RS256".into();
    let jwks = write(
        &dir,
        "rs256.jwks",
        serde_json::json!({ "keys": [public] }).to_string(),
    );
    let err = fails_with(
        &["verify", "--key", &jwks, "--alg", "PS256", token],
        USAGE,
        "usage",
    );
    assert!(err.contains("key #0 (kid `a2`) skipped: "), "{err}");
    assert!(err.contains("add --alg RS256"), "{err}");
}

#[test]
fn a_pem_key_without_alg_is_told_which_alg_fits_it() {
    let token = es256_token();
    for (file, flag) in [
        ("p256.spki.pem", "pass --alg ES256"),
        ("ed25519.spki.pem", "pass --alg EdDSA"),
        (
            "rsa2048.spki.pem",
            "pass --alg RS256 (or RS384, RS512, PS256, PS384, PS512",
        ),
    ] {
        let err = fails_with(&["verify", "--key", &key(file), &token], USAGE, "usage");
        assert!(err.contains("a PEM key needs --alg"), "{err}");
        assert!(err.contains(flag), "{file}: {err}");
    }
}

#[test]
fn a_key_that_fits_no_algorithm_says_so() {
    let token = es256_token();
    let err = fails_with(
        &[
            "verify",
            "--key",
            &key("rsa1024.pkcs8.pem"),
            "--alg",
            "RS256",
            &token,
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("fits no algorithm keycard supports"), "{err}");
    let err = fails_with(
        &[
            "verify",
            "--key",
            &key("p384.sec1.pem"),
            "--alg",
            "ES256",
            &token,
        ],
        USAGE,
        "key",
    );
    assert!(
        err.contains("is an EC P-384 key, not a key for ES256"),
        "{err}"
    );
    assert!(err.contains("use --alg ES384"), "{err}");
}

#[test]
fn key_files_that_are_not_keys_are_usage_errors() {
    let dir = temp_dir("not-keys");
    let token = es256_token();
    let text = write(&dir, "notes.txt", "just some text");
    let err = fails_with(
        &["verify", "--key", &text, "--alg", "ES256", &token],
        USAGE,
        "usage",
    );
    assert!(
        err.contains("neither a JWK, a JWK Set nor a PEM key"),
        "{err}"
    );
    assert!(err.contains("--secret"), "{err}");
    let json = write(&dir, "broken.json", "{\"keys\": [");
    let err = fails_with(&["verify", "--key", &json, &token], USAGE, "usage");
    assert!(err.contains("is not JSON"), "{err}");
    let missing = dir.join("missing.pem").to_string_lossy().into_owned();
    let err = fails_with(
        &["verify", "--key", &missing, "--alg", "ES256", &token],
        USAGE,
        "usage",
    );
    assert!(err.contains("cannot read"), "{err}");
    // `--alg none` is a command line to fix: exit 2, though the kind is the token's.
    let err = fails_with(
        &[
            "verify",
            "--key",
            &key("p256.spki.pem"),
            "--alg",
            "none",
            &token,
        ],
        USAGE,
        "algorithm",
    );
    assert!(err.contains("none"), "{err}");
}

#[test]
fn refusals_name_the_flag_that_accepts_them() {
    let token = es256_token();
    let p256 = key("p256.spki.pem");
    let err = fails(
        &["verify", "--key", &p256, "--alg", "ES256", &token],
        "audience",
    );
    assert!(err.contains("--aud AUD"), "{err}");
    let at_jwt = ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--alg",
        "ES256",
        "--typ",
        "at+jwt",
        "--exp",
        "+1m",
        "{}",
    ]);
    let err = fails(
        &["verify", "--key", &p256, "--alg", "ES256", &at_jwt],
        "token_type",
    );
    assert!(err.contains("--typ TYP"), "{err}");
    ok(&[
        "verify", "--key", &p256, "--alg", "ES256", "--typ", "at+jwt", &at_jwt,
    ]);
}

#[test]
fn notes_about_skipped_keys_go_to_stderr_on_success_and_into_the_line_on_failure() {
    let dir = temp_dir("notes");
    let (_, jwks) = rfc_p256_jwks();
    let mut jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let enc = vector("rfc7517_jwk_examples.json")["a1_public_jwk_set"]["keys"][0].clone();
    jwks["keys"].as_array_mut().unwrap().push(enc);
    let jwks = write(&dir, "mixed.jwks", jwks.to_string());
    let (private, _) = rfc_p256_jwks();
    let private = write(&dir, "a3.jwk", private);
    let token = ok(&["sign", "--key", &private, "--exp", "+1m", "{}"]);
    let out = run(&["verify", "--key", &jwks, &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("note: key #1 (kid `1`) skipped: "),
        "{}",
        stderr(&out)
    );
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap();
    let now = "4000000000";
    let err = fails(&["verify", "--key", &jwks, "--now", now, &token], "expired");
    assert!(err.contains("key #1 (kid `1`) skipped: "), "{err}");
}
