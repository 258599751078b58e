//! `keycard decode`: UNVERIFIED, readable dates, `--json` for programs.

use crate::common::*;

/// RFC 7515 A.1's token: header `typ` and `alg`, claims `iss`, `exp` and a URI-named claim.
fn a1_token() -> String {
    vector("rfc7515_a1_hs256.json")["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn decode_marks_its_output_unverified() {
    let token = es256_token();
    let out = run(&["decode", "--json", &token]);
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
fn decode_shows_times_as_dates_relative_to_now() {
    let now = RFC_NOW.to_string();
    let out = ok(&["decode", "--now", &now, &a1_token()]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("UNVERIFIED: "), "{out}");
    assert!(lines[0].contains("not checked"), "{out}");
    assert!(lines.contains(&"  alg  \"HS256\""), "{out}");
    assert!(lines.contains(&"  typ  \"JWT\""), "{out}");
    // 1300819380 is 2011-03-22T18:43:00Z (RFC 7515 A.1), 14 minutes after --now.
    assert!(
        lines.contains(&"  exp                         2011-03-22T18:43:00Z (in 14 min)"),
        "{out}"
    );
    assert!(
        lines.contains(&"  http://example.com/is_root  true"),
        "{out}"
    );
    assert!(
        lines.contains(&"  iss                         \"joe\""),
        "{out}"
    );
    let header_at = lines.iter().position(|l| *l == "header").unwrap();
    let claims_at = lines.iter().position(|l| *l == "claims").unwrap();
    assert!(header_at < claims_at);

    let later = (1_300_819_380 + 3 * 3600 + 5 * 60).to_string();
    let out = ok(&["decode", "--now", &later, &a1_token()]);
    assert!(
        out.contains("exp                         2011-03-22T18:43:00Z (3 h 5 min ago, expired)"),
        "{out}"
    );
}

#[test]
fn decode_json_is_plain_machine_output() {
    let out = ok(&["decode", "--json", &a1_token()]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["header"],
        serde_json::json!({"typ": "JWT", "alg": "HS256"})
    );
    assert_eq!(json["claims"]["exp"], 1_300_819_380, "numbers stay numbers");
    assert_eq!(json["claims"]["iss"], "joe");
}

#[test]
fn decode_reads_stdin_and_marks_not_yet_valid_and_odd_times() {
    let pem = std::fs::read_to_string(key("ed25519.pkcs8.pem")).unwrap();
    let signer = keycard::Ed25519PrivateKey::from_pem(&pem).unwrap();
    let token = keycard::Builder::new()
        .without_expiry()
        .without_issued_at()
        .claim("nbf", 2_000_000_600_i64)
        .claim("auth_time", 1_999_999_999.5)
        .sign(&signer)
        .unwrap();
    let out = run_with_stdin(&["decode", "--now", "2000000000", "-"], &token);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = stdout(&out);
    // 2000000000 is 2033-05-18T03:33:20Z.
    assert!(
        out.contains("nbf        2033-05-18T03:43:20Z (in 10 min, not yet valid)"),
        "{out}"
    );
    assert!(
        out.contains("auth_time  2033-05-18T03:33:19Z (1 s ago)"),
        "{out}"
    );
}

#[test]
fn decode_escapes_terminal_controls_from_the_token() {
    let pem = std::fs::read_to_string(key("ed25519.pkcs8.pem")).unwrap();
    let signer = keycard::Ed25519PrivateKey::from_pem(&pem).unwrap();
    let token = keycard::Builder::new()
        .expires_in(keycard::time::Duration::minutes(5))
        .claim("name", "\u{1b}]0;pwned\u{7}")
        .claim("\u{202e}evil", 1)
        .sign(&signer)
        .unwrap();
    let out = ok(&["decode", &token]);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(out.contains("\\u{202e}evil"), "{out}");
    assert!(out.contains("\\u{1b}") || out.contains("\\u001b"), "{out}");
}

#[test]
fn a_jwe_is_named_as_such() {
    // RFC 7516 A.1's protected header, {"alg":"RSA-OAEP","enc":"A256GCM"}, in a 5-part token.
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn";
    for args in [
        vec!["decode", jwe],
        vec![
            "verify",
            "--key",
            &key("p256.spki.pem"),
            "--alg",
            "ES256",
            jwe,
        ],
    ] {
        let err = fails(&args, "malformed");
        assert!(err.contains("JWE"), "{err}");
        assert!(err.contains("5 parts"), "{err}");
        assert!(
            err.contains("alg `RSA-OAEP`") && err.contains("enc `A256GCM`"),
            "{err}"
        );
    }
}

#[test]
fn decode_shows_claims_that_are_not_an_object_as_they_are() {
    // header {"alg":"HS256"}, payload [1,2] (not a claims set, but JSON), any signature.
    let token = format!("{}.{}.c2ln", b64(br#"{"alg":"HS256"}"#), b64(b"[1,2]"));
    let out = ok(&["decode", &token]);
    assert!(out.ends_with("claims\n  [1,2]"), "{out}");
}
