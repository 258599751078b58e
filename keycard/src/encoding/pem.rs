//! PEM (RFC 7468): the base64 armour around DER keys.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::Error;

/// Decodes the first PEM block of `text`, returning its label and DER contents.
///
/// Text before the `BEGIN` line is ignored, as RFC 7468 §2 allows (for instance the "Bag
/// Attributes" that OpenSSL writes).
pub(crate) fn decode(text: &str) -> Result<(&str, Vec<u8>), Error> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let start = text
        .find(BEGIN)
        .ok_or_else(|| Error::key("PEM: no `-----BEGIN` line"))?;
    let after_begin = &text[start + BEGIN.len()..];
    let label_end = after_begin
        .find(DASHES)
        .ok_or_else(|| Error::key("PEM: unterminated BEGIN line"))?;
    let label = &after_begin[..label_end];
    let body_and_rest = &after_begin[label_end + DASHES.len()..];
    let end_line = format!("-----END {label}-----");
    let body_end = body_and_rest
        .find(&end_line)
        .ok_or_else(|| Error::key(format!("PEM: no `{end_line}` line")))?;
    let body: String = body_and_rest[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(body)
        .map_err(|e| Error::key(format!("PEM: invalid base64: {e}")))?;
    Ok((label, der))
}

/// Encodes DER as PEM with the given label, 64 characters a line (RFC 7468 §2).
// An invariant, not input: base64 text is ASCII, and every chunk of ASCII is UTF-8.
#[allow(clippy::expect_used)]
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 text is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_leading_text() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = format!("Bag Attributes\n{}", encode("PUBLIC KEY", &der));
        let (label, decoded) = decode(&pem).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(decoded, der);
    }

    #[test]
    fn rejects_missing_end_and_bad_base64() {
        assert!(decode("-----BEGIN PUBLIC KEY-----\nAAAA\n").is_err());
        assert!(decode("-----BEGIN X-----\n%%%%\n-----END X-----\n").is_err());
        assert!(decode("no pem here").is_err());
    }
}
