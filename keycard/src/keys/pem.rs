//! Keys of any type from PEM, for callers that hold "a key for RS256" in a PEM file rather than
//! a known key type: the algorithm picks the key type, the PEM label whether it is private.
//! A known type reads its own PEM (`RsaPublicKey::from_pem`, ...).

use super::any::{family, Family};
use super::{
    EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, RsaPrivateKey,
    RsaPublicKey, Signer, Verifier,
};
use crate::algorithm::Algorithm;
use crate::error::Error;

fn is_private(pem: &str) -> bool {
    pem.contains("PRIVATE KEY-----")
}

/// A verifier for `algorithm` from a PEM key of the matching family: a public key (SPKI, or
/// PKCS#1 for RSA) or a private key (PKCS#8, PKCS#1, SEC1), whose public half is then used.
///
/// ```
/// use keycard::{pem, Algorithm, EcdsaPrivateKey};
///
/// let private = EcdsaPrivateKey::generate(Algorithm::ES256)?;
/// let verifier = pem::verifier(Algorithm::ES256, &private.public_key().to_pem())?;
/// assert_eq!(verifier.algorithm(), Algorithm::ES256);
/// # Ok::<(), keycard::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::Key`](crate::ErrorKind::Key) for a PEM that is not a key of `algorithm`'s
/// family, and for HMAC (a secret is not a PEM key) and the algorithms `ring` lacks.
pub fn verifier(algorithm: Algorithm, pem: &str) -> Result<Box<dyn Verifier>, Error> {
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
/// As [`verifier`]; a public key cannot sign.
pub fn signer(algorithm: Algorithm, pem: &str) -> Result<Box<dyn Signer>, Error> {
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
