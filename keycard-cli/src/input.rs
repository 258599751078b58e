//! Reading arguments, files and standard input.

use std::io::Read;

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

/// A token argument, refused early with a clear message when it is a JWE.
pub(crate) fn token(value: &str) -> Result<String, Failure> {
    let token = argument(value)?;
    if token.split('.').count() == 5 {
        return Err(crate::decode::jwe_failure(&token));
    }
    Ok(token)
}
