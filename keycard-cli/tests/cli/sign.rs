//! `keycard sign`: durations, claim flags, claims files and every kind of key.

use crate::common::*;
use serde_json::json;

const NOW: &str = "1796205600"; // 2026-12-02T10:00:00Z
const NOW_SECS: i64 = 1_796_205_600;

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
    assert_eq!(out.status.code(), Some(USAGE));
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
    assert!(fails_with(
        &["sign", "--key", &key("ed25519.pkcs8.pem")],
        USAGE,
        "usage"
    )
    .contains("--exp +30m"));
}

#[test]
fn exp_and_nbf_take_durations_or_unix_seconds() {
    let pem = key("ed25519.pkcs8.pem");
    for (exp, expected) in [
        ("+30m", NOW_SECS + 1800),
        ("=+30m", NOW_SECS + 1800),
        ("30m", NOW_SECS + 1800),
        ("+1h30m", NOW_SECS + 5400),
        ("+2d", NOW_SECS + 2 * 86_400),
        ("+90", NOW_SECS + 90),
        ("1800000000", 1_800_000_000),
    ] {
        // `--exp=+30m`, as jwt-cli users write it, and `--exp +30m`.
        let token = match exp.strip_prefix('=') {
            Some(_) => ok(&["sign", "--key", &pem, "--now", NOW, &format!("--exp{exp}")]),
            None => ok(&["sign", "--key", &pem, "--now", NOW, "--exp", exp]),
        };
        let (header, claims) = parts(&token);
        assert_eq!(
            header["alg"], "EdDSA",
            "the one algorithm an Ed25519 key fits"
        );
        assert_eq!(claims["exp"], expected, "--exp {exp}");
        assert_eq!(claims["iat"], NOW_SECS, "--exp {exp}");
    }
    let token = ok(&[
        "sign", "--key", &pem, "--now", NOW, "--exp", "+1h", "--nbf", "+5m",
    ]);
    assert_eq!(parts(&token).1["nbf"], NOW_SECS + 300);
    let public = key("ed25519.spki.pem");
    let err = fails(
        &[
            "verify", "--key", &public, "--alg", "EdDSA", "--now", NOW, &token,
        ],
        "not_yet_valid",
    );
    assert!(err.contains("not"), "{err}");
    let later = (NOW_SECS + 301).to_string();
    ok(&[
        "verify", "--key", &public, "--alg", "EdDSA", "--now", &later, &token,
    ]);
    let token = ok(&["sign", "--key", &pem, "--now", NOW, "--expires-in", "60"]);
    assert_eq!(parts(&token).1["exp"], NOW_SECS + 60);

    for bad in ["soon", "+3x", "+"] {
        let err = fails_with(&["sign", "--key", &pem, "--exp", bad], USAGE, "usage");
        assert!(err.contains("--exp"), "{err}");
    }
    fails_with(
        &["sign", "--key", &pem, "--exp", "+1h", "--nbf", "later"],
        USAGE,
        "usage",
    );
}

#[test]
fn claim_values_are_json_where_they_parse_and_strings_otherwise() {
    let token = ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--exp",
        "+5m",
        "-c",
        "admin=true",
        "-c",
        "n=5",
        "-c",
        r#"roles=["a","b"]"#,
        "-c",
        "name=alice",
        "-c",
        "zip=01234",
        "-P",
        "empty=",
        "--claim",
        "eq=a=b",
        "--payload",
        "obj={\"k\":1}",
    ]);
    let (header, claims) = parts(&token);
    assert_eq!(header["alg"], "ES256", "the one algorithm a P-256 key fits");
    assert_eq!(claims["admin"], true);
    assert_eq!(claims["n"], 5);
    assert_eq!(claims["roles"], json!(["a", "b"]));
    assert_eq!(claims["name"], "alice");
    assert_eq!(claims["zip"], "01234");
    assert_eq!(claims["empty"], "");
    assert_eq!(claims["eq"], "a=b");
    assert_eq!(claims["obj"], json!({"k": 1}));
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            "-c",
            "novalue",
        ],
        USAGE,
        "usage",
    );
    assert!(err.contains("NAME=VALUE"), "{err}");
}

#[test]
fn registered_claim_flags_win_over_the_claims_json() {
    let token = ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--now",
        NOW,
        "--exp",
        "+5m",
        "--iss",
        "https://auth.example.com",
        "--sub",
        "user-42",
        "--aud",
        "api",
        "--aud",
        "web",
        "--jti",
        "id-1",
        "--kid",
        "2026-12",
        "--typ",
        "at+jwt",
        r#"{"sub":"overridden","iss":"overridden","exp":1,"scope":"read"}"#,
    ]);
    let (header, claims) = parts(&token);
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "2026-12"})
    );
    assert_eq!(
        claims,
        json!({
            "iss": "https://auth.example.com", "sub": "user-42", "aud": ["api", "web"],
            "jti": "id-1", "scope": "read", "iat": NOW_SECS, "exp": NOW_SECS + 300
        })
    );
    let token = ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--exp",
        "+5m",
        "--aud",
        "api",
        "--random-jti",
    ]);
    let claims = parts(&token).1;
    assert_eq!(claims["aud"], "api", "one --aud is a string");
    assert_eq!(
        b64decode(claims["jti"].as_str().unwrap()).len(),
        16,
        "128 random bits"
    );
    // A registered claim of the wrong type is refused, not minted for every validator to refuse.
    fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            "-c",
            "iss=5",
        ],
        USAGE,
        "configuration",
    );
}

#[test]
fn claims_come_from_a_file_or_stdin() {
    let dir = temp_dir("claims-file");
    let file = write(&dir, "claims.json", r#"{"sub":"from-file","n":[1,2]}"#);
    let arg = format!("@{file}");
    let token = ok(&[
        "sign",
        "--key",
        &key("p256.pkcs8.pem"),
        "--exp",
        "+5m",
        &arg,
    ]);
    assert_eq!(parts(&token).1["sub"], "from-file");
    assert_eq!(parts(&token).1["n"], json!([1, 2]));
    let out = run_with_stdin(
        &["sign", "--key", &key("p256.pkcs8.pem"), "--exp", "+5m", "-"],
        r#"{"sub":"from-stdin"}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(parts(stdout(&out).trim()).1["sub"], "from-stdin");
    let not_object = write(&dir, "array.json", "[1]");
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            &format!("@{not_object}"),
        ],
        USAGE,
        "usage",
    );
    assert!(err.contains("not a JSON object"), "{err}");
    fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            "{oops",
        ],
        USAGE,
        "usage",
    );
    let missing = format!("@{}", dir.join("missing.json").display());
    fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            &missing,
        ],
        USAGE,
        "usage",
    );
}

#[test]
fn a_raw_secret_file_is_the_hmac_key_byte_for_byte() {
    let dir = temp_dir("raw-secret");
    // RFC 7515 A.1's 64-byte key, as raw bytes.
    let vector = vector("rfc7515_a1_hs256.json");
    let secret_bytes = b64decode(vector["jwk"]["k"].as_str().unwrap());
    let secret = write(&dir, "a1.secret", &secret_bytes);
    for alg in ["HS256", "HS384", "HS512"] {
        let token = ok(&[
            "sign", "--secret", &secret, "--alg", alg, "--exp", "+5m", "--sub", "s",
        ]);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let hmac = match alg {
            "HS256" => ring::hmac::HMAC_SHA256,
            "HS384" => ring::hmac::HMAC_SHA384,
            _ => ring::hmac::HMAC_SHA512,
        };
        let expected =
            ring::hmac::sign(&ring::hmac::Key::new(hmac, &secret_bytes), input.as_bytes());
        assert_eq!(b64decode(signature), expected.as_ref(), "{alg}");
        assert_eq!(parts(&token).0["alg"], alg);
    }
    // The same secret as the RFC's JWK verifies it.
    let jwk = write(&dir, "a1.jwk", vector["jwk"].to_string());
    let token = ok(&[
        "sign", "--secret", &secret, "--alg", "HS256", "--exp", "+5m",
    ]);
    ok(&["verify", "--key", &jwk, "--alg", "HS256", &token]);
    // ... and the JWK signs too, when told the algorithm.
    let token = ok(&["sign", "--key", &jwk, "--alg", "HS256", "--exp", "+5m"]);
    ok(&["verify", "--secret", &secret, "--alg", "HS256", &token]);

    let err = fails_with(
        &["sign", "--secret", &secret, "--exp", "+5m"],
        USAGE,
        "usage",
    );
    assert!(err.contains("--alg HS256"), "{err}");
    let err = fails_with(
        &[
            "sign", "--secret", &secret, "--alg", "RS256", "--exp", "+5m",
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("--key FILE"), "{err}");
    let short = write(&dir, "short.secret", "too short");
    let err = fails_with(
        &["sign", "--secret", &short, "--alg", "HS256", "--exp", "+5m"],
        USAGE,
        "key",
    );
    assert!(err.contains("32 bytes"), "{err}");
    // A newline at the end is part of the secret: said, and used.
    let mut with_newline = secret_bytes.clone();
    with_newline.push(b'\n');
    let newline = write(&dir, "newline.secret", &with_newline);
    let out = run(&[
        "sign", "--secret", &newline, "--alg", "HS256", "--exp", "+5m",
    ]);
    assert!(out.status.success());
    assert!(
        stderr(&out).starts_with("note: ") && stderr(&out).contains("newline"),
        "{}",
        stderr(&out)
    );
    let token = stdout(&out).trim().to_owned();
    fails(
        &["verify", "--secret", &secret, "--alg", "HS256", &token],
        "signature",
    );
    ok(&["verify", "--secret", &newline, "--alg", "HS256", &token]);
}

#[test]
fn a_jwk_signs_with_its_own_alg_and_kid() {
    let dir = temp_dir("jwk-sign");
    let (private, jwks) = rfc_p256_jwks();
    let private = write(&dir, "a3.jwk", private);
    let jwks = write(&dir, "a3.jwks", jwks);
    let token = ok(&["sign", "--key", &private, "--exp", "+5m"]);
    assert_eq!(
        parts(&token).0,
        json!({"alg": "ES256", "typ": "JWT", "kid": "rfc-a3"})
    );
    ok(&["verify", "--key", &jwks, &token]);
    // The RFC 7515 A.2 private RSA JWK has no `alg`: it fits six.
    let a2 = write(
        &dir,
        "a2.jwk",
        vector("rfc7515_a2_rs256.json")["jwk"].to_string(),
    );
    let err = fails_with(&["sign", "--key", &a2, "--exp", "+5m"], USAGE, "usage");
    assert!(
        err.contains("is an RSA key, so pass --alg RS256 (or RS384"),
        "{err}"
    );
    ok(&["sign", "--key", &a2, "--alg", "PS384", "--exp", "+5m"]);
}

#[test]
fn keys_that_cannot_sign_say_why_and_what_fits() {
    let dir = temp_dir("cannot-sign");
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("p256.spki.pem"),
            "--alg",
            "ES256",
            "--exp",
            "+5m",
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("public key"), "{err}");
    let (_, jwks) = rfc_p256_jwks();
    let jwks_value: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let public = write(&dir, "public.jwk", jwks_value["keys"][0].to_string());
    let err = fails_with(&["sign", "--key", &public, "--exp", "+5m"], USAGE, "key");
    assert!(err.contains("public JWK"), "{err}");
    let jwks = write(&dir, "set.jwks", jwks);
    let err = fails_with(&["sign", "--key", &jwks, "--exp", "+5m"], USAGE, "usage");
    assert!(err.contains("JWK Set"), "{err}");
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("rsa2048.pkcs8.pem"),
            "--alg",
            "ES256",
            "--exp",
            "+5m",
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("is an RSA key, not a key for ES256"), "{err}");
    assert!(err.contains("use --alg RS256"), "{err}");
    let err = fails_with(
        &["sign", "--key", &key("rsa2048.pkcs8.pem"), "--exp", "+5m"],
        USAGE,
        "usage",
    );
    assert!(err.contains("--alg RS256"), "{err}");
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("rsa1024.pkcs8.pem"),
            "--alg",
            "RS256",
            "--exp",
            "+5m",
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("fits no algorithm keycard supports"), "{err}");
    let err = fails_with(
        &[
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--alg",
            "ES512",
            "--exp",
            "+5m",
        ],
        USAGE,
        "key",
    );
    assert!(err.contains("ES512"), "{err}");
}
