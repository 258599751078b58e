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
