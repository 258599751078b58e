//! Choosing the key type from an algorithm, for callers that hold "a key for RS256" in some
//! format rather than a known key type: a PEM file ([`verifier_from_pem`], [`signer_from_pem`])
//! or a JWK ([`Jwk::to_verifier`], [`Jwk::to_signer`]).

use super::{
    EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, HmacKey, RsaPrivateKey,
    RsaPublicKey, Signer, Verifier,
};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::jwk::{Jwk, Purpose};

/// The key family an algorithm belongs to.
enum Family {
    Hmac,
    Rsa,
    Ecdsa,
    Ed25519,
    Unsupported,
}

fn family(algorithm: Algorithm) -> Family {
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Family::Rsa,
        Algorithm::ES256 | Algorithm::ES384 => Family::Ecdsa,
        Algorithm::EdDSA => Family::Ed25519,
        Algorithm::ES512 | Algorithm::ES256K => Family::Unsupported,
    }
}

fn is_private(pem: &str) -> bool {
    pem.contains("PRIVATE KEY-----")
}

/// A verifier for `algorithm` from a PEM key of the matching family: a public key (SPKI, or
/// PKCS#1 for RSA) or a private key (PKCS#8, PKCS#1, SEC1), whose public half is then used.
///
/// ```
/// use keycard::{verifier_from_pem, Algorithm, EcdsaPrivateKey};
///
/// let private = EcdsaPrivateKey::generate(Algorithm::ES256)?;
/// let verifier = verifier_from_pem(Algorithm::ES256, &private.public_key().to_pem())?;
/// assert_eq!(verifier.algorithm(), Algorithm::ES256);
/// # Ok::<(), keycard::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Key`](crate::ErrorKind::Key) for a PEM that is not a key of `algorithm`'s
/// family, and for HMAC (a secret is not a PEM key) and the algorithms `ring` lacks.
pub fn verifier_from_pem(algorithm: Algorithm, pem: &str) -> Result<Box<dyn Verifier>, Error> {
    let private = is_private(pem);
    Ok(match family(algorithm) {
        Family::Rsa if private => Box::new(RsaPrivateKey::from_pem(algorithm, pem)?.public_key()),
        Family::Rsa => Box::new(RsaPublicKey::from_pem(algorithm, pem)?),
        Family::Ecdsa if private => {
            Box::new(EcdsaPrivateKey::from_pem(algorithm, pem)?.public_key())
        }
        Family::Ecdsa => Box::new(EcdsaPublicKey::from_pem(algorithm, pem)?),
        Family::Ed25519 if private => Box::new(Ed25519PrivateKey::from_pem(pem)?.public_key()),
        Family::Ed25519 => Box::new(Ed25519PublicKey::from_pem(pem)?),
        Family::Hmac | Family::Unsupported => return Err(not_pem(algorithm)),
    })
}

/// A signer for `algorithm` from a PEM private key of the matching family (PKCS#8, PKCS#1 for
/// RSA, SEC1 for EC).
///
/// # Errors
/// As [`verifier_from_pem`]; a public key cannot sign.
pub fn signer_from_pem(algorithm: Algorithm, pem: &str) -> Result<Box<dyn Signer>, Error> {
    Ok(match family(algorithm) {
        Family::Rsa => Box::new(RsaPrivateKey::from_pem(algorithm, pem)?),
        Family::Ecdsa => Box::new(EcdsaPrivateKey::from_pem(algorithm, pem)?),
        Family::Ed25519 => Box::new(Ed25519PrivateKey::from_pem(pem)?),
        Family::Hmac | Family::Unsupported => return Err(not_pem(algorithm)),
    })
}

#[cold]
fn not_pem(algorithm: Algorithm) -> Error {
    if matches!(family(algorithm), Family::Hmac) {
        Error::key(format!(
            "{algorithm} uses a shared secret, not a PEM key: use HmacKey::new or a JWK of kty `oct`"
        ))
    } else {
        Error::key(format!("{algorithm} keys are not supported by ring"))
    }
}

impl Jwk {
    /// A verifier for `algorithm` from this JWK, or the reason it cannot be one: the JWK's `alg`
    /// names another algorithm, its `use` or `key_ops` do not allow verifying, its type or curve
    /// does not fit the algorithm, or the key material is refused. Of a private JWK only the
    /// public members are used.
    ///
    /// ES512 and ES256K keys give [`Error::UnsupportedAlgorithm`].
    pub fn to_verifier(&self, algorithm: Algorithm) -> Result<Box<dyn Verifier>, Error> {
        Ok(match family(algorithm) {
            Family::Hmac => Box::new(HmacKey::from_jwk_for(algorithm, self, Purpose::Verify)?),
            Family::Rsa => Box::new(RsaPublicKey::from_jwk(algorithm, self)?),
            Family::Ecdsa | Family::Unsupported => {
                Box::new(EcdsaPublicKey::from_jwk(algorithm, self)?)
            }
            Family::Ed25519 => Box::new(Ed25519PublicKey::from_jwk(self)?),
        })
    }

    /// A signer for `algorithm` from this private JWK, with the same rules as
    /// [`to_verifier`](Jwk::to_verifier) (`key_ops`, when present, must include `sign`).
    pub fn to_signer(&self, algorithm: Algorithm) -> Result<Box<dyn Signer>, Error> {
        Ok(match family(algorithm) {
            Family::Hmac => Box::new(HmacKey::from_jwk_for(algorithm, self, Purpose::Sign)?),
            Family::Rsa => Box::new(RsaPrivateKey::from_jwk(algorithm, self)?),
            Family::Ecdsa | Family::Unsupported => {
                Box::new(EcdsaPrivateKey::from_jwk(algorithm, self)?)
            }
            Family::Ed25519 => Box::new(Ed25519PrivateKey::from_jwk(self)?),
        })
    }
}
