//! Reading arguments, files and standard input, each through a bounded reader, and a token's
//! header as the JSON it is.
//!
//! Nothing is read whole before its size is known: standard input and files are read up to their
//! limit and one byte more, and refused when that byte is there, whatever they hold (a file, a
//! pipe, `/dev/zero`).

use std::io::Read;

use base64::Engine;
use keycard::limits::{DEFAULT_MAX_TOKEN_LEN, MAX_ECHO};
use keycard::text::escape;
use keycard::ErrorKind;
use serde_json::Value;

use crate::failure::{usage, Failure};

/// The whitespace a token may have around it on standard input (a newline from `echo`, CRLF,
/// indentation), on top of the token's own limit.
pub(crate) const TOKEN_INPUT_SLACK: usize = 1024;

/// The most bytes read from standard input for a TOKEN `-`: the longest token a validator
/// accepts by default (`keycard::limits::DEFAULT_MAX_TOKEN_LEN`, 8 KiB; the CLI has no setting
/// for it) and [`TOKEN_INPUT_SLACK`].
pub(crate) const MAX_TOKEN_INPUT: usize = DEFAULT_MAX_TOKEN_LEN + TOKEN_INPUT_SLACK;

/// [`MAX_FILE_LEN`] in MiB, as messages say it.
const MAX_FILE_MIB: usize = 1;

/// The most bytes read from a file (a key, a JWK Set, a raw secret, CLAIMS `@FILE`) or from
/// standard input for CLAIMS `-`: 1 MiB. A JWK Set of the 100 keys keycard reads
/// (`keycard::limits::MAX_JWKS_KEYS`) of 4096-bit RSA keys is about 100 KiB.
pub(crate) const MAX_FILE_LEN: usize = MAX_FILE_MIB * 1024 * 1024;

/// At most `limit` bytes of `reader`, reading no more than `limit + 1` of them: `None` when
/// there are more.
fn read_at_most(reader: impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let most = u64::try_from(limit).map_or(u64::MAX, |limit| limit.saturating_add(1));
    let mut bytes = Vec::new();
    reader.take(most).read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// Standard input as text, at most `limit` bytes; `too_long` is the failure when it holds more.
fn stdin_text(limit: usize, too_long: impl FnOnce() -> Failure) -> Result<String, Failure> {
    let bytes = read_at_most(std::io::stdin().lock(), limit)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))?
        .ok_or_else(too_long)?;
    String::from_utf8(bytes)
        .map_err(|_| usage("cannot read standard input: stream did not contain valid UTF-8"))
}

/// An argument, or standard input (trimmed, at most [`MAX_FILE_LEN`] bytes) for `-`.
pub(crate) fn argument(value: &str) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let text = stdin_text(MAX_FILE_LEN, || {
        usage(format!(
            "standard input holds more than {MAX_FILE_MIB} MiB ({MAX_FILE_LEN} bytes), the most \
             keycard reads for CLAIMS"
        ))
    })?;
    Ok(text.trim().to_owned())
}

/// A file's bytes, exactly: at most [`MAX_FILE_LEN`] of them.
pub(crate) fn bytes_file(path: &str) -> Result<Vec<u8>, Failure> {
    let cannot = |e: std::io::Error| usage(format!("cannot read {path}: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let Some(bytes) = read_at_most(file, MAX_FILE_LEN).map_err(cannot)? else {
        return Err(usage(format!(
            "{path} is larger than {MAX_FILE_MIB} MiB ({MAX_FILE_LEN} bytes), the most keycard \
             reads from a file (a key, a JWK Set, a secret, claims)"
        )));
    };
    Ok(bytes)
}

/// A text file, at most [`MAX_FILE_LEN`] bytes.
pub(crate) fn text_file(path: &str) -> Result<String, Failure> {
    let not_text = |_| {
        usage(format!(
            "cannot read {path}: stream did not contain valid UTF-8"
        ))
    };
    String::from_utf8(bytes_file(path)?).map_err(not_text)
}

/// A token argument, or standard input (trimmed, at most [`MAX_TOKEN_INPUT`] bytes) for `-`;
/// refused early with a clear message when it is a JWE. A refusal here is the token's (exit 1),
/// as the validator's would be.
pub(crate) fn token(value: &str) -> Result<String, Failure> {
    let token = if value == "-" {
        let text = stdin_text(MAX_TOKEN_INPUT, || {
            Failure::token(
                ErrorKind::Malformed,
                format!(
                    "standard input holds more than {MAX_TOKEN_INPUT} bytes, the most read for \
                     a token: keycard accepts tokens of up to {DEFAULT_MAX_TOKEN_LEN} bytes \
                     (keycard::limits::DEFAULT_MAX_TOKEN_LEN) and {TOKEN_INPUT_SLACK} bytes of \
                     whitespace around them"
                ),
            )
        })?;
        text.trim().to_owned()
    } else {
        value.to_owned()
    };
    if token.split('.').count() == 5 {
        return Err(jwe_failure(&token));
    }
    Ok(token)
}

/// The header as the JSON object it is (keycard's `Header` keeps only what it uses).
pub(crate) fn header_json(token: &str) -> Result<Value, Failure> {
    let malformed = |e: &dyn std::fmt::Display| {
        Failure::token(
            ErrorKind::Malformed,
            format!("malformed token: header: {e}"),
        )
    };
    let header_b64 = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|e| malformed(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(&e))
}

/// The failure for a JWE: what it is, and what keycard does instead.
fn jwe_failure(token: &str) -> Failure {
    let header = header_json(token).ok();
    let member = |name: &str| -> String {
        header
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(|s| format!(", {name} `{}`", escape(s, MAX_ECHO)))
            .unwrap_or_default()
    };
    Failure::token(
        ErrorKind::Malformed,
        format!(
            "this is a JWE, an encrypted token (5 parts{}{}), not a signed JWT: keycard reads \
             and verifies JWS tokens (3 parts) only; decrypt it with the recipient's key first",
            member("alg"),
            member("enc")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounded reader reads the limit and one byte more, never the rest.
    #[test]
    fn the_cli_reads_at_most_its_limit_and_one_byte() {
        let mut big = std::io::Cursor::new(vec![b'a'; 10_000]);
        assert_eq!(read_at_most(&mut big, 100).unwrap(), None);
        assert_eq!(big.position(), 101, "read the limit and one byte");
        assert_eq!(
            read_at_most(&b"exactly"[..], 7).unwrap().as_deref(),
            Some(&b"exactly"[..])
        );
        assert_eq!(
            read_at_most(&b""[..], 0).unwrap().as_deref(),
            Some(&b""[..])
        );
        assert_eq!(read_at_most(&b"x"[..], 0).unwrap(), None);
        assert_eq!(
            (MAX_TOKEN_INPUT, MAX_FILE_LEN),
            (9216, 1 << 20),
            "the TOKEN help of decode.rs and verify.rs and README.md say these numbers"
        );
    }
}
