//! Algorithms and keys: the [`Algorithm`] enum, the [`Signer`] and [`Verifier`] traits that every
//! key implements (and that users implement for an HSM or a cloud KMS), and the built-in keys, one
//! file per algorithm family.
//!
//! Every key is bound to exactly one algorithm when it is constructed. The token's header never
//! chooses how a key is used: a token whose `alg` differs from the key's is rejected
//! (RFC 8725 §3.1).

use std::fmt;
use std::sync::Arc;

use crate::algorithm::Algorithm;
use crate::error::Error;

mod any;
mod crypto;
mod ecdsa;
mod eddsa;
mod hmac;
pub mod pem;
mod rsa;

pub use ecdsa::{EcdsaPrivateKey, EcdsaPublicKey};
pub use eddsa::{Ed25519PrivateKey, Ed25519PublicKey};
pub use hmac::HmacKey;
pub use rsa::{RsaPrivateKey, RsaPublicKey};

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

    /// Signs like [`sign`](Self::sign) but writes the signature into `out` and returns its
    /// length, so that [`Builder::sign`](crate::Builder::sign) needs no allocation for it.
    /// `Ok(None)` means "not done here, call `sign`": the default, and the answer when `out`
    /// is too short. The built-in keys implement it; yours need not.
    fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
        let _ = (message, out);
        Ok(None)
    }
}

/// Copies a signature made on the stack into `out`, or `None` when it does not fit.
pub(crate) fn copy_signature(signature: &[u8], out: &mut [u8]) -> Option<usize> {
    let slot = out.get_mut(..signature.len())?;
    slot.copy_from_slice(signature);
    Some(signature.len())
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
            fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
                (**self).sign_into(message, out)
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

/// `key` with the JWK's `kid`, when it has one: every `from_jwk` keeps the JWK's key id.
pub(crate) fn with_jwk_kid<K>(key: K, jwk: &crate::jwk::Jwk, set: fn(K, String) -> K) -> K {
    match jwk.key_id() {
        Some(kid) => set(key, kid.to_owned()),
        None => key,
    }
}

#[cold]
pub(crate) fn no_private_key() -> Error {
    Error::key("the JWK has no private key (`d`): it can verify but not sign")
}

/// 128 random bits from the system's secure generator, base64url-encoded: a `jti` or session id
/// no one can guess (22 characters).
pub(crate) fn random_id() -> Result<String, Error> {
    use crypto::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    rng()
        .fill(&mut bytes)
        .map_err(|_| Error::random_failure())?;
    Ok(crate::encoding::base64url::encode(&bytes))
}

/// The system random generator, shared by the keys that need randomness.
pub(crate) fn rng() -> &'static crypto::rand::SystemRandom {
    static RNG: std::sync::OnceLock<crypto::rand::SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(crypto::rand::SystemRandom::new)
}
