//! Algorithms and keys: the [`Algorithm`] enum, the [`Signer`] and [`Verifier`] traits that every
//! key implements (and that users implement for an HSM or a cloud KMS), and the built-in keys, one
//! file per algorithm family.
//!
//! Every key is bound to exactly one algorithm when it is constructed. The token's header never
//! chooses how a key is used: a token whose `alg` differs from the key's is rejected
//! (RFC 8725 §3.1).

use std::fmt;
use std::sync::Arc;

use crate::error::{echo, Error};

pub(crate) mod der;
mod ecdsa;
mod eddsa;
mod from_pem;
mod hmac;
pub(crate) mod pem;
mod rsa;

pub use ecdsa::{EcdsaPrivateKey, EcdsaPublicKey};
pub use eddsa::{Ed25519PrivateKey, Ed25519PublicKey};
pub use from_pem::{signer_from_pem, verifier_from_pem};
pub use hmac::HmacKey;
pub use rsa::{RsaPrivateKey, RsaPublicKey};

/// A JWS algorithm (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// `none` is deliberately absent: it cannot be named, so it cannot be accepted. ES512 and ES256K
/// can appear in a header but have no implementation in `ring`; keys for them cannot be built and
/// tokens using them are rejected with [`Error::UnsupportedAlgorithm`].
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

    /// Parses a header `alg` value, exactly as RFC 7515 §4.1.1 spells it (case-sensitive).
    pub(crate) fn from_header(alg: &str) -> Result<Self, Error> {
        if let Some(&known) = Algorithm::ALL.iter().find(|a| a.as_str() == alg) {
            return Ok(known);
        }
        Err(match alg {
            // RFC 8725 §3.1: an unsecured JWT is never accepted, in any spelling.
            other if other.eq_ignore_ascii_case("none") => Error::NoneAlgorithm,
            other => Error::UnsupportedAlgorithm { alg: echo(other) },
        })
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

impl std::str::FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE algorithm name. `none` (in any spelling) and unknown names are errors.
    fn from_str(s: &str) -> Result<Self, Error> {
        Algorithm::from_header(s)
    }
}

/// Produces JWS signatures: implemented by every built-in private key and by your own types.
///
/// Implement it to sign with a key you cannot hold in memory (an HSM, AWS KMS, Google Cloud KMS,
/// Azure Key Vault); [`Builder::sign`](crate::Builder::sign) takes any `Signer`.
///
/// ```
/// use keycard::{Algorithm, Builder, Error, HmacKey, Signer};
/// use time::Duration;
///
/// /// Stands in for a remote KMS: here it just forwards to a local key.
/// #[derive(Debug)]
/// struct Kms { inner: HmacKey }
///
/// impl Signer for Kms {
///     fn algorithm(&self) -> Algorithm { Algorithm::HS256 }
///     fn key_id(&self) -> Option<&str> { Some("kms-key-1") }
///     fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
///         self.inner.sign(message) // a real one would call the KMS here
///     }
/// }
///
/// let kms = Kms { inner: HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")? };
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&kms)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok::<(), keycard::Error>(())
/// ```
pub trait Signer: fmt::Debug + Send + Sync {
    /// The one algorithm this signer produces. It goes into the header's `alg`.
    fn algorithm(&self) -> Algorithm;

    /// The key id written into the header's `kid`, if any.
    fn key_id(&self) -> Option<&str> {
        None
    }

    /// Signs the JWS signing input (`BASE64URL(header) || '.' || BASE64URL(payload)`) and returns
    /// the raw signature: for ECDSA the fixed-width `R || S` form of RFC 7518 §3.4, not ASN.1 DER.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Checks JWS signatures: implemented by every built-in key that can verify, and by your own types.
///
/// A [`Validator`](crate::Validator) holds one or more verifiers and picks among them by the
/// token's `kid` and `alg`; the verifier's own [`algorithm`](Verifier::algorithm) is what decides,
/// never the token.
pub trait Verifier: fmt::Debug + Send + Sync {
    /// The one algorithm this verifier accepts.
    fn algorithm(&self) -> Algorithm;

    /// The key id this verifier answers to, if any. A key with an id verifies only tokens whose
    /// header carries the same `kid`; a key without one is a candidate for any token.
    fn key_id(&self) -> Option<&str> {
        None
    }

    /// Returns `Ok(())` when `signature` is a valid signature of `message`, and
    /// [`Error::Signature`] otherwise.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error>;

    /// This key as a public JWK (RFC 7517), for publishing in a JWK Set with
    /// [`KeySet::to_json`](crate::KeySet::to_json).
    ///
    /// The built-in RSA, ECDSA and Ed25519 public keys return their JWK; secret keys
    /// ([`HmacKey`]) and verifiers that cannot describe themselves (the default) return `None`,
    /// so a secret is never published.
    fn public_jwk(&self) -> Option<crate::Jwk> {
        None
    }
}

/// Smart pointers to a signer or verifier are one too, so keys can be shared (`Arc`) or boxed
/// (`Box<dyn Signer>`) without wrappers.
macro_rules! forward_through {
    ($($pointer:ident),*) => {$(
        impl<S: Signer + ?Sized> Signer for $pointer<S> {
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn key_id(&self) -> Option<&str> {
                (**self).key_id()
            }
            fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
                (**self).sign(message)
            }
        }

        impl<V: Verifier + ?Sized> Verifier for $pointer<V> {
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn key_id(&self) -> Option<&str> {
                (**self).key_id()
            }
            fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
                (**self).verify(message, signature)
            }
            fn public_jwk(&self) -> Option<crate::Jwk> {
                (**self).public_jwk()
            }
        }
    )*};
}

forward_through!(Arc, Box);

/// `ring` reports signing failures without detail.
#[derive(Debug)]
pub(crate) struct RingFailure;

impl fmt::Display for RingFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the cryptographic library could not produce a signature")
    }
}

impl std::error::Error for RingFailure {}

/// Private key bytes that are overwritten with zeros when dropped.
///
/// Best effort: `ring`'s own key schedules are not zeroized (it does not promise to), and copies
/// the allocator made before cannot be reached.
#[derive(Clone)]
pub(crate) struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.fill(0);
        // Keeps the compiler from dropping the writes as dead stores.
        std::hint::black_box(&mut self.0);
    }
}

/// 128 random bits from the system's secure generator, base64url-encoded: a `jti` or session id
/// no one can guess (22 characters).
pub(crate) fn random_id() -> Result<String, Error> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    rng()
        .fill(&mut bytes)
        .map_err(|_| Error::configuration("the system random generator failed"))?;
    Ok(crate::base64url::encode(&bytes))
}

/// The system random generator, shared by the keys that need randomness.
pub(crate) fn rng() -> &'static ring::rand::SystemRandom {
    static RNG: std::sync::OnceLock<ring::rand::SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(ring::rand::SystemRandom::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_refused_in_every_spelling() {
        for spelling in ["none", "None", "NONE", "nOnE"] {
            assert!(matches!(
                Algorithm::from_header(spelling),
                Err(Error::NoneAlgorithm)
            ));
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        assert!(matches!(
            Algorithm::from_header("hs256"),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
    }

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
            assert_eq!(Algorithm::from_header(alg.as_str()).unwrap(), alg);
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
