//! The JWS Compact Serialization (RFC 7515 §7.1): `header.payload.signature`, split once, the
//! same way for verifying and for reading without verifying.

use crate::error::Error;

/// The three base64url parts of a compact token, and the signing input they sign.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'a> {
    /// `header.payload`: the bytes the signature covers (RFC 7515 §5.2 step 8).
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// Splits `token` into its three parts. One pass over the bytes to count the dots, then the
/// two short scans from each end that find the first and the last; no decoding.
///
/// # Errors
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) unless there are exactly three parts;
/// five parts are named as what they are, a JWE (RFC 7516 §9), which keycard does not decrypt.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, Error> {
    let dots = dots(token.as_bytes());
    let malformed = || {
        if dots == 4 {
            Error::malformed(
                "the token has five parts: it is an encrypted JWE (RFC 7516 §9), and keycard \
                 verifies signed tokens (JWS) only",
            )
        } else {
            Error::malformed("a JWT has exactly three parts separated by `.`")
        }
    };
    if dots != 2 {
        return Err(malformed());
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
    Ok(Compact {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// How many `.` bytes `bytes` has, a few vector instructions per 16 bytes (a search for a third
/// dot in the payload cost about one instruction a byte).
fn dots(bytes: &[u8]) -> usize {
    crate::encoding::bytes::count(bytes, |b| b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_parts_and_refuses_other_counts() {
        let parts = split("aa.bb.cc").unwrap();
        assert_eq!(
            (
                parts.signing_input,
                parts.header,
                parts.payload,
                parts.signature
            ),
            ("aa.bb", "aa", "bb", "cc")
        );
        assert_eq!(split("..").unwrap().signature, "");
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e.f"] {
            assert!(split(bad).is_err(), "{bad}");
        }
        let long = format!(
            "{}.{}.{}",
            "a".repeat(300),
            "b".repeat(600),
            "c".repeat(255)
        );
        assert_eq!(split(&long).unwrap().payload.len(), 600);
        assert!(split(&format!("{long}.")).is_err());
        assert_eq!(dots(&[b'.'; 1000]), 1000);
        let jwe = split("h.k.iv.c.t").unwrap_err().to_string();
        assert!(jwe.contains("JWE"), "{jwe}");
    }
}
