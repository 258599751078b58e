//! Help, version and the exit status of arguments that do not parse.

use crate::common::*;

#[test]
fn help_lists_every_subcommand_and_the_exit_statuses() {
    let out = ok(&["--help"]);
    for sub in ["decode", "verify", "sign", "keygen", "thumbprint"] {
        assert!(out.contains(&format!("  {sub}")), "{sub}: {out}");
    }
    assert!(out.contains("Exit status"), "{out}");
    assert_eq!(
        ok(&["--version"]),
        format!("keycard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn verify_keeps_every_flag_scripts_use() {
    let out = ok(&["verify", "--help"]);
    for flag in [
        "--key <FILE>",
        "--alg <ALG>",
        "--aud <AUD>",
        "--iss <ISS>",
        "--typ <TYP>",
        "--leeway <SECS>",
        "--now <UNIX_SECS>",
        "--no-exp",
        "<TOKEN>",
    ] {
        assert!(out.contains(flag), "{flag}: {out}");
    }
}

#[test]
fn verify_help_lists_the_remote_key_sources() {
    let out = ok(&["verify", "--help"]);
    for flag in [
        "--jwks-url <URL>",
        "--issuer <URL>",
        "--allow-http",
        "--timeout <SECS>",
    ] {
        assert!(out.contains(flag), "{flag}: {out}");
    }
}

#[test]
fn arguments_that_do_not_parse_exit_two() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["verify"],
        vec!["verify", "--key", "k.pem"],
        vec!["verify", "--key", "k.pem", "--leeway", "soon", "t"],
        vec!["verify", "--key", "k.pem", "--secret", "s", "t"],
        vec!["sign", "--exp", "+5m"],
        vec![
            "sign",
            "--key",
            "k.pem",
            "--exp",
            "+5m",
            "--expires-in",
            "60",
        ],
        vec!["keygen", "--alg", "ES256"],
        vec!["decode", "--bogus", "t"],
        vec!["thumbprint"],
        vec![
            "sign",
            "--key",
            "k.pem",
            "--jti",
            "a",
            "--random-jti",
            "--exp",
            "+5m",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
}

/// Issue 22: a missing key file and a forged token both exited 1. A refused token exits 1; a
/// command line, file or input to fix exits 2; each still says `error[KIND]: message` on one line.
#[test]
fn a_missing_key_file_exits_two_and_a_forged_token_exits_one() {
    let dir = temp_dir("exits-missing-key");
    let token = es256_token();
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(86));
    let p256 = key("p256.spki.pem");
    let err = fails(
        &[
            "verify", "--key", &p256, "--alg", "ES256", "--aud", "api", &forged,
        ],
        "signature",
    );
    assert!(err.contains("signature"), "{err}");

    let missing = dir.join("missing.pem").to_string_lossy().into_owned();
    let claims = format!("@{missing}");
    let es256 = key("p256.pkcs8.pem");
    for args in [
        vec!["verify", "--key", &missing, "--alg", "ES256", &forged],
        vec!["verify", "--key", &missing, "--alg", "ES256", &token],
        vec!["verify", "--secret", &missing, "--alg", "HS256", &token],
        vec!["sign", "--key", &missing, "--exp", "+5m"],
        vec![
            "sign", "--secret", &missing, "--alg", "HS256", "--exp", "+5m",
        ],
        vec!["sign", "--key", &es256, "--exp", "+5m", &claims],
        vec!["thumbprint", &missing],
    ] {
        let err = fails_with(&args, USAGE, "usage");
        assert!(
            err.contains(&format!("cannot read {missing}: ")),
            "{args:?}: {err}"
        );
    }
    // Unreadable: a directory where a key file should be; input that is not text.
    let dir_path = dir.to_string_lossy().into_owned();
    let err = fails_with(
        &["verify", "--key", &dir_path, "--alg", "ES256", &token],
        USAGE,
        "usage",
    );
    assert!(err.contains("cannot read"), "{err}");
    let out = run_with_stdin_bytes(&["decode", "-"], b"\xff\xfe.e30.c2ln");
    let err = failed_with(&out, USAGE, "usage", "decode - (not UTF-8)");
    assert!(err.contains("cannot read standard input"), "{err}");
}

/// Exit 2 for every problem of the command line or its files (a key file that is not a key, a
/// bad flag value), whatever its kind; exit 1 for every refusal of the token. `algorithm` is
/// both: the token's `alg` (1), or an `--alg` that cannot be (2).
#[test]
fn usage_and_configuration_errors_exit_two_refused_tokens_exit_one() {
    let dir = temp_dir("exits-table");
    let token = es256_token();
    let p256 = key("p256.spki.pem");
    let text = write(&dir, "notes.txt", "not a key");
    let rsa_jwk = write(
        &dir,
        "a2.jwk",
        vector("rfc7515_a2_rs256.json")["jwk"].to_string(),
    );
    // `verify --key KEY FLAGS.. TOKEN`.
    let verify = |key: &str, flags: &[&str], token: &str| -> Vec<String> {
        let mut args = vec!["verify".to_owned(), "--key".to_owned(), key.to_owned()];
        args.extend(flags.iter().map(|f| (*f).to_owned()));
        args.push(token.to_owned());
        args
    };
    let es256 = ["--alg", "ES256", "--aud", "api"];
    let with = |more: &[&'static str]| -> Vec<&'static str> {
        es256.iter().chain(more).copied().collect()
    };
    for (args, kind) in [
        (verify(&text, &[], &token), "usage"),
        (verify(&p256, &[], &token), "usage"),
        (verify(&p256, &["--alg", "FOO"], &token), "algorithm"),
        (verify(&p256, &["--alg", "none"], &token), "algorithm"),
        (
            verify(&p256, &with(&["--leeway", "3600"]), &token),
            "configuration",
        ),
        (
            verify(&p256, &with(&["--now", "99999999999999999"]), &token),
            "usage",
        ),
        (verify(&rsa_jwk, &es256, &token), "key"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_with(&args, USAGE, kind);
    }

    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"aud":"api"}"#)
    );
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn";
    for (args, kind) in [
        (verify(&p256, &es256, &none), "algorithm"),
        (verify(&p256, &es256, jwe), "malformed"),
        (verify(&p256, &es256, "not-a-token"), "malformed"),
        (
            verify(&p256, &with(&["--now", "4000000000"]), &token),
            "expired",
        ),
        (
            verify(&p256, &with(&["--iss", "someone"]), &token),
            "issuer",
        ),
        (
            verify(&p256, &with(&["--typ", "at+jwt"]), &token),
            "token_type",
        ),
        (
            verify(&p256, &["--alg", "ES256", "--aud", "web"], &token),
            "audience",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, kind);
    }
    fails(&["decode", "a.b"], "malformed");
}

/// A provider that cannot be reached is neither a refused token (1) nor a command line to fix
/// (2): `error[key_source]`, exit 3, try again later.
#[test]
fn a_key_source_that_is_down_exits_three() {
    // A port that was free a moment ago: nothing listens on it now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = es256_token();
    for (flag, url) in [
        ("--jwks-url", format!("http://127.0.0.1:{port}/jwks")),
        ("--issuer", format!("http://127.0.0.1:{port}")),
    ] {
        let err = fails_with(
            &["verify", flag, &url, "--allow-http", "--aud", "api", &token],
            UNAVAILABLE,
            "key_source",
        );
        assert!(err.contains(&url), "{err}");
    }
}

#[test]
fn help_documents_each_exit_status() {
    for args in [vec!["--help"], vec!["verify", "--help"]] {
        let out = ok(&args);
        for line in [
            "Exit status:",
            "  0  success",
            "  1  the token was refused: one line `error[KIND]: message`",
            "  2  the command line, a file it names or standard input must be fixed",
            "  3  a service failed, not the token",
            "error[key_source]",
        ] {
            assert!(out.contains(line), "{args:?}: {line}: {out}");
        }
    }
}
