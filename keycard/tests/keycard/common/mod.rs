//! Helpers shared by the integration tests: vector loading, fixed clocks, base64url.

use base64::Engine;
use keycard::time::OffsetDateTime;
use keycard::FixedClock;
use serde_json::Value;

/// Loads `tests/vectors/NAME` as JSON.
pub(crate) fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Reads `tests/keys/NAME`.
pub(crate) fn key_file(name: &str) -> String {
    let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A string member of a vector.
pub(crate) fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector member `{name}` is not a string"))
}

/// Decodes unpadded base64url (test side, independent of the crate's own decoder).
pub(crate) fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Encodes unpadded base64url (test side).
pub(crate) fn b64e(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A clock at Unix time `secs`.
pub(crate) fn at(secs: i64) -> FixedClock {
    FixedClock(OffsetDateTime::from_unix_timestamp(secs).expect("in range"))
}

/// A token assembled from raw header and payload JSON with a signature computed by `sign`.
pub(crate) fn assemble(header: &str, payload: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64e(header.as_bytes()), b64e(payload.as_bytes()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64e(&signature))
}
