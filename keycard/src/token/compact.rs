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

/// Splits `token` into its three parts. One pass over the bytes; no decoding.
///
/// # Errors
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) unless there are exactly three parts;
/// five parts are named as what they are, a JWE (RFC 7516 §9), which keycard does not decrypt.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, Error> {
    let malformed = || {
        let dots = token.bytes().filter(|&b| b == b'.').count();
        if dots == 4 {
            Error::malformed(
                "the token has five parts: it is an encrypted JWE (RFC 7516 §9), and keycard \
                 verifies signed tokens (JWS) only",
            )
        } else {
            Error::malformed("a JWT has exactly three parts separated by `.`")
        }
    };
    let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
    let (header, payload) = signing_input
        .split_once('.')
        .filter(|(_, payload)| !payload.contains('.'))
        .ok_or_else(malformed)?;
    Ok(Compact {
        signing_input,
        header,
        payload,
        signature,
    })
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
        let jwe = split("h.k.iv.c.t").unwrap_err().to_string();
        assert!(jwe.contains("JWE"), "{jwe}");
    }
}
