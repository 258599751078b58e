//! The JWS algorithms keycard knows ([`Algorithm`]), and what each one fixes (its name, its
//! signature length). The bottom of the crate: this module needs no other.

use std::fmt;

/// A JWS algorithm (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// `none` is deliberately absent: it cannot be named, so it cannot be accepted. ES512 and ES256K
/// can appear in a header but have no implementation in `ring`; keys for them cannot be built and
/// tokens using them are rejected with [`Error::UnsupportedAlgorithm`](crate::Error::UnsupportedAlgorithm).
///
/// ```
/// use keycard::Algorithm;
///
/// let alg: Algorithm = "RS256".parse()?;
/// assert_eq!(alg, Algorithm::RS256);
/// assert_eq!(alg.as_str(), "RS256");
/// assert!("none".parse::<Algorithm>().is_err());
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512. Not implemented by `ring`: always unsupported.
    ES512,
    /// ECDSA on secp256k1 with SHA-256 (RFC 8812). Not implemented by `ring`: always unsupported.
    ES256K,
    /// EdDSA (RFC 8037); keycard supports the Ed25519 curve.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm a JWS header can name that keycard knows, supported or not.
    pub const ALL: [Algorithm; 14] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::ES256K,
        Algorithm::EdDSA,
    ];

    /// The name used in the JOSE header's `alg`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::ES256K => "ES256K",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Whether keycard can sign and verify with this algorithm.
    pub const fn is_supported(self) -> bool {
        !matches!(self, Algorithm::ES512 | Algorithm::ES256K)
    }

    /// The algorithm with this JOSE name, exactly as RFC 7515 §4.1.1 spells it (case-sensitive).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// The exact length of a signature, where the algorithm fixes it (HMAC, ECDSA, EdDSA).
    pub(crate) const fn signature_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 | Algorithm::ES256 | Algorithm::ES256K | Algorithm::EdDSA => Some(64),
            Algorithm::ES384 => Some(96),
            Algorithm::ES512 => Some(132),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_registered_jose_names_and_parse_back() {
        // RFC 7518 §3.1, RFC 8037 §3.1 and RFC 8812 §3.2, as registered with IANA.
        let registered = [
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512", "ES256K", "EdDSA",
        ];
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, registered);
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()).unwrap(), alg);
        }
    }

    #[test]
    fn fixed_signature_lengths_follow_rfc_7518() {
        assert_eq!(Algorithm::HS256.signature_len(), Some(32));
        assert_eq!(Algorithm::ES256.signature_len(), Some(64));
        assert_eq!(Algorithm::ES384.signature_len(), Some(96));
        assert_eq!(Algorithm::EdDSA.signature_len(), Some(64));
        assert_eq!(Algorithm::RS256.signature_len(), None);
    }
}
