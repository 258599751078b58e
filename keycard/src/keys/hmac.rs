//! HMAC keys: HS256, HS384 and HS512 (RFC 7518 §3.2).

use std::fmt;

use super::crypto::hmac;

use super::{Signer, Verifier};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::jwk::{Jwk, KeyType, Purpose};

/// A shared secret for HS256, HS384 or HS512. It both signs and verifies.
///
/// The secret must be at least as long as the hash output (32, 48 or 64 bytes), as RFC 7518 §3.2
/// requires; shorter secrets are refused. Clone it to use the same secret in a
/// [`Builder`](crate::Builder) and a [`Validator`](crate::Validator). `Debug` never shows the
/// secret.
///
/// ```
/// use keycard::{Algorithm, ErrorKind, HmacKey};
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// assert_eq!(keycard::Signer::algorithm(&key), Algorithm::HS256);
/// assert_eq!(HmacKey::new(Algorithm::HS256, b"too short").unwrap_err().kind(), ErrorKind::Key);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Clone)]
pub struct HmacKey {
    algorithm: Algorithm,
    key: hmac::Key,
    key_id: Option<String>,
}

impl HmacKey {
    /// A key for `algorithm` (`HS256`, `HS384` or `HS512`) from `secret`, which must be at least
    /// as long as the hash output: 32, 48 or 64 bytes (RFC 7518 §3.2).
    ///
    /// ```
    /// use keycard::{Algorithm, HmacKey};
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// assert!(HmacKey::new(Algorithm::HS256, b"too short").is_err());
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn new(algorithm: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let hmac_alg = hmac_algorithm(algorithm)?;
        // RFC 7518 §3.2: "A key of the same size as the hash output ... or larger MUST be used".
        let min = hmac_alg.digest_algorithm().output_len();
        if secret.len() < min {
            return Err(Error::key(format!(
                "{algorithm} needs a secret of at least {min} bytes (RFC 7518 §3.2), got {}",
                secret.len()
            )));
        }
        Ok(HmacKey {
            algorithm,
            key: hmac::Key::new(hmac_alg, secret),
            key_id: None,
        })
    }

    /// A fresh random secret of the hash's length from the system's secure generator, for
    /// `HS256`, `HS384` or `HS512`.
    ///
    /// ```
    /// use keycard::{Algorithm, HmacKey};
    ///
    /// let key = HmacKey::generate(Algorithm::HS384)?;
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        let hmac_alg = hmac_algorithm(algorithm)?;
        let key =
            hmac::Key::generate(hmac_alg, super::rng()).map_err(|_| Error::random_failure())?;
        Ok(HmacKey {
            algorithm,
            key,
            key_id: None,
        })
    }

    /// Sets the key id: written as `kid` when signing, matched against `kid` when verifying.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }
}

impl HmacKey {
    /// An HMAC key from a JWK of kty `oct` (RFC 7518 §6.4), bound to `algorithm` (HS256, HS384
    /// or HS512), with the JWK's `kid`. The JWK's `alg`, `use` and `key_ops` must allow it, and
    /// `k` must be at least as long as the hash output.
    ///
    /// ```
    /// use keycard::{Algorithm, HmacKey, Jwk};
    ///
    /// // RFC 7520 §4.4 (Figure 5).
    /// let jwk = Jwk::from_json(r#"{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037",
    ///     "use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#)?;
    /// let key = HmacKey::from_jwk(Algorithm::HS256, &jwk)?;
    /// assert!(HmacKey::from_jwk(Algorithm::HS512, &jwk).is_err());
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        // The key both signs and verifies, so `key_ops` must allow both.
        Self::from_jwk_for(algorithm, jwk, Purpose::SignAndVerify)
    }

    /// [`from_jwk`](Self::from_jwk) for one purpose only (a JWK Set's secret used to verify).
    pub(crate) fn from_jwk_for(
        algorithm: Algorithm,
        jwk: &Jwk,
        purpose: Purpose,
    ) -> Result<Self, Error> {
        jwk.check_use(KeyType::Oct, algorithm, purpose)?;
        let key = HmacKey::new(algorithm, jwk.oct()?.as_bytes())?;
        Ok(super::with_jwk_kid(key, jwk, HmacKey::with_key_id))
    }
}

fn hmac_algorithm(algorithm: Algorithm) -> Result<hmac::Algorithm, Error> {
    match algorithm {
        Algorithm::HS256 => Ok(hmac::HMAC_SHA256),
        Algorithm::HS384 => Ok(hmac::HMAC_SHA384),
        Algorithm::HS512 => Ok(hmac::HMAC_SHA512),
        other => Err(Error::key(format!("{other} is not an HMAC algorithm"))),
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer for HmacKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(hmac::sign(&self.key, message).as_ref().to_vec())
    }

    fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
        Ok(super::copy_signature(
            hmac::sign(&self.key, message).as_ref(),
            out,
        ))
    }
}

impl Verifier for HmacKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        // Constant-time comparison inside ring (SECURITY.md item 11).
        hmac::verify(&self.key, message, signature).map_err(|_| Error::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_secrets_shorter_than_the_hash() {
        assert!(HmacKey::new(Algorithm::HS256, &[0; 31]).is_err());
        assert!(HmacKey::new(Algorithm::HS256, &[0; 32]).is_ok());
        assert!(HmacKey::new(Algorithm::HS384, &[0; 47]).is_err());
        assert!(HmacKey::new(Algorithm::HS384, &[0; 48]).is_ok());
        assert!(HmacKey::new(Algorithm::HS512, &[0; 63]).is_err());
        assert!(HmacKey::new(Algorithm::HS512, &[0; 64]).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = HmacKey::new(Algorithm::HS256, b"sup3r-s3cret-sup3r-s3cret-sup3r!").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("sup3r"), "{shown}");
        assert!(shown.contains("HS256"));
    }

    #[test]
    fn generate_refuses_non_hmac_algorithms() {
        assert!(HmacKey::generate(Algorithm::RS256).is_err());
        assert!(HmacKey::generate(Algorithm::HS512).is_ok());
    }
}
