//! Strict base64url (RFC 7515 §2): the URL-safe alphabet, no padding, no whitespace, and only the
//! canonical spelling of each value (no stray bits in the last character), so that one token has
//! exactly one spelling.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::error::Error;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Appends the base64url encoding of `bytes` to `out`, which stays ASCII.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + encoded_len(bytes.len()), 0);
    // The slice is exactly the encoded length, so encoding cannot run out of room.
    let _ = ENGINE.encode_slice(bytes, &mut out[start..]);
}

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    ENGINE.encode(bytes)
}

/// The length of the unpadded base64url encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4 + [0, 2, 3][n % 3]
}

/// A length no shorter than what `text_len` characters of base64url decode to: the size of a
/// buffer to decode them into.
pub(crate) fn decoded_len_estimate(text_len: usize) -> usize {
    base64::decoded_len_estimate(text_len)
}

/// Decodes strict base64url; `what` names the part for the error message.
pub(crate) fn decode(text: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    ENGINE.decode(text).map_err(|e| invalid(what, &e))
}

/// Decodes strict base64url into `inline` when it fits, else into `heap` (reusing its capacity),
/// and returns the decoded bytes. Keeps small tokens off the heap.
pub(crate) fn decode_buffered<'b>(
    text: &str,
    what: &'static str,
    inline: &'b mut [u8],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8], Error> {
    if decoded_len_estimate(text.len()) <= inline.len() {
        let len = ENGINE
            .decode_slice(text, inline)
            .map_err(|e| invalid_slice(what, &e))?;
        Ok(&inline[..len])
    } else {
        heap.clear();
        ENGINE
            .decode_vec(text, heap)
            .map_err(|e| invalid(what, &e))?;
        Ok(heap)
    }
}

#[cold]
fn invalid_slice(what: &'static str, e: &base64::DecodeSliceError) -> Error {
    match e {
        base64::DecodeSliceError::DecodeError(e) => invalid(what, e),
        // Ruled out by the length estimate above; kept as an error, not a panic.
        base64::DecodeSliceError::OutputSliceTooSmall => {
            Error::malformed(format!("{what} is longer than expected"))
        }
    }
}

#[cold]
fn invalid(what: &'static str, e: &base64::DecodeError) -> Error {
    Error::malformed(format!("{what} is not valid unpadded base64url: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_predicts_length() {
        for n in 0..70 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode(&bytes);
            assert_eq!(text.len(), encoded_len(n));
            assert_eq!(decode(&text, "test").unwrap(), bytes);
            let mut appended = b"x.".to_vec();
            encode_into(&bytes, &mut appended);
            assert_eq!(appended, format!("x.{text}").as_bytes());
        }
    }

    #[test]
    fn decodes_rfc_4648_examples_in_url_alphabet() {
        // RFC 4648 §10 test vectors, padding removed (RFC 7515 §2).
        let cases = [
            ("", ""),
            ("Zg", "f"),
            ("Zm8", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (text, plain) in cases {
            assert_eq!(decode(text, "test").unwrap(), plain.as_bytes());
        }
        // 0xfb 0xff uses both URL-safe characters.
        assert_eq!(decode("-_8", "test").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn buffered_decoding_uses_the_inline_buffer_or_the_heap() {
        let text = encode(b"hello, world");
        let (mut inline, mut heap) = ([0u8; 16], Vec::new());
        let bytes = decode_buffered(&text, "t", &mut inline, &mut heap).unwrap();
        assert_eq!(bytes, b"hello, world");
        assert!(heap.is_empty());
        let (mut tiny, mut heap) = ([0u8; 4], Vec::new());
        let bytes = decode_buffered(&text, "t", &mut tiny, &mut heap).unwrap();
        assert_eq!(bytes, b"hello, world");
        for bad in ["Zg==", "Zh", "a b"] {
            assert!(decode_buffered(bad, "t", &mut [0u8; 16], &mut Vec::new()).is_err());
            assert!(decode_buffered(bad, "t", &mut [], &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn rejects_padding_standard_alphabet_whitespace_and_stray_bits() {
        for bad in ["Zg==", "Zm8=", "+/8", "Zm 9v", "Zm9v\n", "Zh", "Zm9", "Z"] {
            let err = decode(bad, "payload").unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Malformed, "{bad:?}");
        }
        // `Zh` differs from `Zg` only in bits that do not fit in the one decoded byte.
        assert!(decode("Zg", "payload").is_ok());
    }
}
