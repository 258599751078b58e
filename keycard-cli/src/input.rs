//! Reading arguments, files and standard input, and a token's header as the JSON it is.

use std::io::Read;

use base64::Engine;
use keycard::limits::MAX_ECHO;
use keycard::text::escape;
use keycard::ErrorKind;
use serde_json::Value;

use crate::failure::{usage, Failure};

/// An argument, or standard input (trimmed) for `-`.
pub(crate) fn argument(value: &str) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
    Ok(text.trim().to_owned())
}

/// A text file.
pub(crate) fn text_file(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))
}

/// A file's bytes, exactly.
pub(crate) fn bytes_file(path: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| usage(format!("cannot read {path}: {e}")))
}

/// A token argument, refused early with a clear message when it is a JWE. A refusal here is the
/// token's (exit 1), as the validator's would be.
pub(crate) fn token(value: &str) -> Result<String, Failure> {
    let token = argument(value)?;
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
