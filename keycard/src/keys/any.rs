//! Choosing the key type from an algorithm, for callers that hold "a key for RS256" in some
//! format rather than a known key type: a PEM file ([`pem`](super::pem)) or a JWK
//! ([`Jwk::to_verifier`], [`Jwk::to_signer`]).

use super::{
    EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, HmacKey, RsaPrivateKey,
    RsaPublicKey, Signer, Verifier,
};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::jwk::{Jwk, Purpose};

/// The key family an algorithm belongs to.
pub(super) enum Family {
    Hmac,
    Rsa,
    Ecdsa,
    Ed25519,
    Unsupported,
}

pub(super) fn family(algorithm: Algorithm) -> Family {
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
