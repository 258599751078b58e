//! Standard input and files are read through a bounded reader: the limit and one byte more,
//! never the rest (issue 22: the CLI read all of standard input before the size check, 64 MiB in
//! and 137 MB resident).

use std::io::{ErrorKind, Write};
use std::process::{Output, Stdio};

use crate::common::*;

/// The most read from standard input for a TOKEN `-`: keycard's default token limit and 1024
/// bytes of whitespace around the token.
const MAX_TOKEN_INPUT: usize = keycard::limits::DEFAULT_MAX_TOKEN_LEN + 1024;

/// The most read from a file (key, JWK Set, secret, claims) or for CLAIMS `-`: 1 MiB.
const MAX_FILE_LEN: usize = 1024 * 1024;

/// What a flood of standard input offers: 64 MiB, as in the attack run.
const FLOOD: usize = 64 * 1024 * 1024;

/// More than a pipe holds (64 KiB on Linux by default): what the child may have left unread in
/// the pipe when it exits, on top of what it read.
const PIPE_SLACK: usize = 1024 * 1024;

/// Runs `args` while another thread offers [`FLOOD`] bytes of `fill` on standard input, until
/// the pipe breaks. Returns the output, the bytes the pipe took, and the error that ended the
/// writing (`None` when all of it was taken).
fn run_with_flood(args: &[&str], fill: u8) -> (Output, usize, Option<ErrorKind>) {
    let mut child = keycard()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![fill; 8192];
        let mut written = 0;
        while written < FLOOD {
            let len = chunk.len().min(FLOOD - written);
            match stdin.write(&chunk[..len]) {
                Ok(0) => return (written, Some(ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return (written, Some(e.kind())),
            }
        }
        (written, None)
    });
    let out = child.wait_with_output().unwrap();
    let (written, error) = writer.join().unwrap();
    (out, written, error)
}

/// The child refused the flood having read at most its limit and one byte: it exited with the
/// rest unread, so the writer's pipe broke (EPIPE) after the limit and at most a pipe's worth.
fn assert_read_at_most(what: &str, limit: usize, written: usize, error: Option<ErrorKind>) {
    assert_eq!(
        error,
        Some(ErrorKind::BrokenPipe),
        "{what}: the child read all {written} bytes"
    );
    assert!(
        written <= limit + 1 + PIPE_SLACK,
        "{what}: the pipe took {written} bytes, more than the limit {limit}, one byte and a pipe"
    );
}

#[test]
fn decode_and_verify_refuse_64_mib_on_stdin_having_read_at_most_the_token_limit() {
    let p256 = key("p256.spki.pem");
    for args in [
        vec!["decode", "-"],
        vec!["decode", "--json", "-"],
        vec!["verify", "--key", &p256, "--alg", "ES256", "-"],
    ] {
        let (out, written, error) = run_with_flood(&args, b'A');
        let err = failed(&out, "malformed", &args);
        assert!(
            err.contains(&format!("more than {MAX_TOKEN_INPUT} bytes")),
            "{err}"
        );
        assert!(
            err.contains("8192") && err.contains("DEFAULT_MAX_TOKEN_LEN"),
            "{err}"
        );
        assert_read_at_most(&args.join(" "), MAX_TOKEN_INPUT, written, error);
    }
}

#[test]
fn a_token_on_stdin_may_have_whitespace_up_to_the_limit_and_not_one_byte_more() {
    let token = es256_token();
    let args = [
        "verify",
        "--key",
        &key("p256.spki.pem"),
        "--alg",
        "ES256",
        "--aud",
        "api",
        "-",
    ];
    let mut input = format!("  {token}\r\n").into_bytes();
    input.resize(MAX_TOKEN_INPUT, b'\n');
    let out = run_with_stdin_bytes(&args, &input);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["sub"],
        "cli"
    );
    input.push(b'\n');
    let out = run_with_stdin_bytes(&args, &input);
    let err = failed(&out, "malformed", "one byte over");
    assert!(err.contains(&format!("{MAX_TOKEN_INPUT} bytes")), "{err}");
}

#[test]
fn sign_refuses_claims_on_stdin_beyond_1_mib_having_read_at_most_that() {
    let pem = key("p256.pkcs8.pem");
    let args = ["sign", "--key", &pem, "--exp", "+5m", "-"];
    let (out, written, error) = run_with_flood(&args, b' ');
    let err = failed_with(&out, USAGE, "usage", "sign -");
    assert!(err.contains("more than 1 MiB (1048576 bytes)"), "{err}");
    assert!(err.contains("CLAIMS"), "{err}");
    assert_read_at_most("sign -", MAX_FILE_LEN, written, error);
}

#[test]
fn key_files_and_jwk_sets_are_read_up_to_1_mib_and_not_one_byte_more() {
    let dir = temp_dir("inputs-file-limit");
    let (private, jwks) = rfc_p256_jwks();
    let private = write(&dir, "a3.jwk", private);
    let token = ok(&["sign", "--key", &private, "--exp", "+5m", "{}"]);
    // A JWK Set padded with whitespace to exactly the limit is read and used.
    let mut padded = jwks.into_bytes();
    padded.resize(MAX_FILE_LEN, b' ');
    let at_limit = write(&dir, "at-limit.jwks", &padded);
    ok(&["verify", "--key", &at_limit, &token]);
    ok(&["thumbprint", &at_limit]);
    // One byte more is refused, naming the file and the limit: the command line is to fix.
    padded.push(b' ');
    let over = write(&dir, "over.jwks", &padded);
    for args in [
        vec!["verify", "--key", &over, &token],
        vec!["verify", "--secret", &over, "--alg", "HS256", &token],
        vec!["thumbprint", &over],
        vec!["thumbprint", "--secret", &over],
        vec!["sign", "--key", &over, "--exp", "+5m"],
        vec!["sign", "--secret", &over, "--alg", "HS256", "--exp", "+5m"],
    ] {
        let err = fails_with(&args, USAGE, "usage");
        assert!(
            err.contains("over.jwks is larger than 1 MiB (1048576 bytes)"),
            "{args:?}: {err}"
        );
    }
    let claims = format!("@{over}");
    let err = fails_with(
        &["sign", "--key", &private, "--exp", "+5m", &claims],
        USAGE,
        "usage",
    );
    assert!(err.contains("larger than 1 MiB"), "{err}");
}

/// A file that never ends is read up to the limit and refused: it would never finish were it
/// read whole.
#[cfg(unix)]
#[test]
fn an_endless_key_file_is_refused_at_1_mib() {
    let token = es256_token();
    let zero = "/dev/zero";
    let claims = format!("@{zero}");
    for args in [
        vec!["verify", "--key", zero, "--alg", "ES256", &token],
        vec!["verify", "--secret", zero, "--alg", "HS256", &token],
        vec!["thumbprint", zero],
        vec!["sign", "--key", zero, "--exp", "+5m"],
        vec![
            "sign",
            "--key",
            &key("p256.pkcs8.pem"),
            "--exp",
            "+5m",
            &claims,
        ],
    ] {
        let err = fails_with(&args, USAGE, "usage");
        assert!(
            err.contains("/dev/zero is larger than 1 MiB"),
            "{args:?}: {err}"
        );
    }
}
