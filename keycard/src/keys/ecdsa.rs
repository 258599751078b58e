//! ECDSA keys: ES256 (P-256) and ES384 (P-384), RFC 7518 §3.4. ES512 (P-521) is not in `ring`.

use std::fmt;

use super::crypto::agreement;
#[cfg(not(feature = "aws-lc-rs"))]
use super::crypto::signature::UnparsedPublicKey;
use super::crypto::signature::{self as sig, EcdsaKeyPair, KeyPair};

use super::{Signer, Verifier};
use crate::algorithm::Algorithm;
use crate::encoding::secret::SecretBytes;
use crate::encoding::{der, pem};
use crate::error::Error;
use crate::jwk::{Jwk, KeyType, Purpose};

/// Per-curve choices, fixed when a key is constructed.
#[derive(Clone, Copy)]
struct Curve {
    signing: &'static sig::EcdsaSigningAlgorithm,
    verifying: &'static sig::EcdsaVerificationAlgorithm,
    agreement: &'static agreement::Algorithm,
    oid: &'static [u8],
    /// Length of an uncompressed SEC1 point: 0x04 || X || Y.
    point_len: usize,
}

fn curve(algorithm: Algorithm) -> Result<Curve, Error> {
    match algorithm {
        Algorithm::ES256 => Ok(Curve {
            signing: &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            verifying: &sig::ECDSA_P256_SHA256_FIXED,
            agreement: &agreement::ECDH_P256,
            oid: der::OID_P256,
            point_len: 65,
        }),
        Algorithm::ES384 => Ok(Curve {
            signing: &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            verifying: &sig::ECDSA_P384_SHA384_FIXED,
            agreement: &agreement::ECDH_P384,
            oid: der::OID_P384,
            point_len: 97,
        }),
        Algorithm::ES512 | Algorithm::ES256K => Err(Error::UnsupportedAlgorithm {
            alg: algorithm.as_str().to_owned(),
        }),
        other => Err(Error::key(format!("{other} is not an ECDSA algorithm"))),
    }
}

/// An ECDSA private key bound to ES256 (P-256) or ES384 (P-384).
///
/// Reads PKCS#8 (`PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) in PEM or DER, or generates a fresh
/// key. Signatures are the fixed-width `R || S` form JWS requires (RFC 7518 §3.4). `Debug` never
/// shows the private key.
///
/// ```
/// use keycard::{Algorithm, Builder, EcdsaPrivateKey, Validator};
/// use time::Duration;
///
/// let key = EcdsaPrivateKey::generate(Algorithm::ES256)?;
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&key)?;
/// let validator = Validator::builder(key.public_key()).build()?;
/// validator.verify::<keycard::Claims>(&token)?;
/// # Ok::<(), keycard::Error>(())
/// ```
pub struct EcdsaPrivateKey {
    pair: EcdsaKeyPair,
    pkcs8: SecretBytes,
    public: EcdsaPublicKey,
}

impl EcdsaPrivateKey {
    /// A fresh key from the system's secure random generator.
    pub fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        let curve = curve(algorithm)?;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve.signing, super::rng())
            .map_err(|_| Error::random_failure())?;
        Self::from_pkcs8_der(algorithm, pkcs8.as_ref())
    }

    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    pub fn from_pem(algorithm: Algorithm, pem: &str) -> Result<Self, Error> {
        let (label, der) = pem::decode(pem)?;
        let der = SecretBytes::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(algorithm, der.as_bytes()),
            "EC PRIVATE KEY" => Self::from_sec1_der(algorithm, der.as_bytes()),
            other => Err(Error::key(format!(
                "expected an EC private key PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER private key, PKCS#8 or SEC1 (RFC 5915).
    pub fn from_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        Self::from_pkcs8_der(algorithm, der)
            .or_else(|pkcs8_err| Self::from_sec1_der(algorithm, der).map_err(|_| pkcs8_err))
    }

    fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let curve = curve(algorithm)?;
        #[cfg(not(feature = "aws-lc-rs"))]
        let pair = EcdsaKeyPair::from_pkcs8(curve.signing, der, super::rng());
        #[cfg(feature = "aws-lc-rs")]
        let pair = EcdsaKeyPair::from_pkcs8(curve.signing, der);
        let pair =
            pair.map_err(|e| Error::key(format!("{algorithm} private key rejected: {e}")))?;
        let public = EcdsaPublicKey::from_sec1_point(algorithm, pair.public_key().as_ref())?;
        Ok(EcdsaPrivateKey {
            pair,
            pkcs8: SecretBytes::new(der.to_vec()),
            public,
        })
    }

    /// Wraps a SEC1 `ECPrivateKey` in PKCS#8 (RFC 5208 §5), which is what `ring` reads.
    fn from_sec1_der(algorithm: Algorithm, sec1: &[u8]) -> Result<Self, Error> {
        let curve = curve(algorithm)?;
        let mut alg_id = Vec::new();
        der::encode(0x06, der::OID_EC, &mut alg_id);
        der::encode(0x06, curve.oid, &mut alg_id);
        let mut body = Vec::new();
        der::encode(0x02, &[0], &mut body);
        der::encode(0x30, &alg_id, &mut body);
        der::encode(0x04, sec1, &mut body);
        let body = SecretBytes::new(body);
        let mut pkcs8 = Vec::new();
        der::encode(0x30, body.as_bytes(), &mut pkcs8);
        let pkcs8 = SecretBytes::new(pkcs8);
        Self::from_pkcs8_der(algorithm, pkcs8.as_bytes())
    }

    /// Builds a key pair from the private scalar `d` and the uncompressed public point, as a JWK
    /// carries them (RFC 7518 §6.2.2.1). The point is checked to lie on the curve, and `ring`
    /// checks that `d·G` is that point.
    pub(crate) fn from_private_scalar(
        algorithm: Algorithm,
        d: &[u8],
        point: &[u8],
    ) -> Result<Self, Error> {
        // Off-curve points get the same message as everywhere else before ring sees them.
        EcdsaPublicKey::from_sec1_point(algorithm, point)?;
        // SEC1 `ECPrivateKey` (RFC 5915 §3): version 1, the scalar, and [1] the public key.
        let mut bits = Vec::with_capacity(point.len() + 1);
        bits.push(0);
        bits.extend_from_slice(point);
        let mut public_key = Vec::new();
        der::encode(0x03, &bits, &mut public_key);
        let mut body = Vec::new();
        der::encode(0x02, &[1], &mut body);
        der::encode(0x04, d, &mut body);
        der::encode(0xa1, &public_key, &mut body);
        let body = SecretBytes::new(body);
        let mut sec1 = Vec::new();
        der::encode(0x30, body.as_bytes(), &mut sec1);
        let sec1 = SecretBytes::new(sec1);
        Self::from_sec1_der(algorithm, sec1.as_bytes())
    }

    /// Sets the key id written as `kid` into the header of tokens this key signs (and carried
    /// over to [`public_key`](Self::public_key)).
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.public.key_id = Some(kid.into());
        self
    }

    /// The matching public key, bound to the same algorithm and key id.
    pub fn public_key(&self) -> EcdsaPublicKey {
        self.public.clone()
    }

    /// The private key as PKCS#8 DER, to store a generated key. Handle it as the secret it is.
    pub fn to_der(&self) -> Vec<u8> {
        self.pkcs8.as_bytes().to_vec()
    }

    /// The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`). Handle it as the secret it is.
    pub fn to_pem(&self) -> String {
        pem::encode("PRIVATE KEY", self.pkcs8.as_bytes())
    }
}

impl EcdsaPrivateKey {
    /// An ECDSA private key from a private JWK of kty `EC` (`d` with `x` and `y`, RFC 7518
    /// §6.2.2), bound to `algorithm`, with the JWK's `kid`. `ring` checks that `d` and the
    /// point belong together.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Ec, algorithm, Purpose::Sign)?;
        let (point, d) = jwk.ec_point(algorithm)?;
        let d = d.ok_or_else(super::no_private_key)?;
        let key = EcdsaPrivateKey::from_private_scalar(algorithm, d.as_bytes(), &point)?;
        Ok(super::with_jwk_kid(key, jwk, EcdsaPrivateKey::with_key_id))
    }
}

impl fmt::Debug for EcdsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaPrivateKey")
            .field("algorithm", &self.public.algorithm)
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer for EcdsaPrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.public.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature = self
            .pair
            .sign(super::rng(), message)
            .map_err(|_| Error::signing(super::RingFailure))?;
        Ok(signature.as_ref().to_vec())
    }

    fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
        let signature = self
            .pair
            .sign(super::rng(), message)
            .map_err(|_| Error::signing(super::RingFailure))?;
        Ok(super::copy_signature(signature.as_ref(), out))
    }
}

/// An ECDSA public key bound to ES256 (P-256) or ES384 (P-384).
///
/// Reads SubjectPublicKeyInfo (`PUBLIC KEY`) in PEM or DER, or an uncompressed SEC1 point
/// (`0x04 || X || Y`). The point is checked to lie on the curve when the key is constructed, so an
/// invalid-curve key never gets as far as a verification.
#[derive(Clone)]
pub struct EcdsaPublicKey {
    algorithm: Algorithm,
    #[cfg_attr(feature = "aws-lc-rs", allow(dead_code))]
    verifying: &'static sig::EcdsaVerificationAlgorithm,
    point: Vec<u8>,
    key_id: Option<String>,
    /// aws-lc-rs parses the point on every `verify` from bytes: parsed once, here.
    #[cfg(feature = "aws-lc-rs")]
    parsed: sig::ParsedPublicKey,
}

impl EcdsaPublicKey {
    /// Reads a PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn from_pem(algorithm: Algorithm, pem: &str) -> Result<Self, Error> {
        match pem::decode(pem)? {
            ("PUBLIC KEY", der) => Self::from_der(algorithm, &der),
            (other, _) => Err(Error::key(format!(
                "expected a `PUBLIC KEY` PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo; its curve must be the algorithm's.
    pub fn from_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let curve = curve(algorithm)?;
        let spki = der::parse_spki(der)?;
        if spki.algorithm != der::OID_EC {
            return Err(Error::key("the public key is not an EC key"));
        }
        if spki.curve != Some(curve.oid) {
            return Err(Error::key(format!(
                "the public key's curve is not the one {algorithm} uses"
            )));
        }
        Self::from_sec1_point(algorithm, spki.key)
    }

    /// Builds a key from an uncompressed SEC1 point, `0x04 || X || Y` (65 bytes for P-256, 97 for
    /// P-384).
    pub fn from_sec1_point(algorithm: Algorithm, point: &[u8]) -> Result<Self, Error> {
        let curve = curve(algorithm)?;
        if point.len() != curve.point_len || point[0] != 0x04 {
            return Err(Error::key(format!(
                "{algorithm} public key must be an uncompressed point of {} bytes",
                curve.point_len
            )));
        }
        check_on_curve(curve, point)?;
        Ok(EcdsaPublicKey {
            algorithm,
            verifying: curve.verifying,
            point: point.to_vec(),
            key_id: None,
            #[cfg(feature = "aws-lc-rs")]
            parsed: sig::ParsedPublicKey::new(curve.verifying, point)
                .map_err(|e| Error::key(format!("{algorithm} public key rejected: {e}")))?,
        })
    }

    /// Sets the key id this key answers to.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// The uncompressed SEC1 point, `0x04 || X || Y`.
    pub fn sec1_point(&self) -> &[u8] {
        &self.point
    }

    /// The key as DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Vec<u8> {
        let oid = match self.algorithm {
            Algorithm::ES384 => der::OID_P384,
            _ => der::OID_P256,
        };
        der::encode_spki(der::OID_EC, Some(oid), &self.point)
    }

    /// The key as PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.to_der())
    }
}

/// Rejects points that are not on the curve (invalid-curve attacks).
///
/// `ring` has no call that only validates an ECDSA public key, but its ECDH validates the peer's
/// point fully (on the curve, coordinates in range) before using it, so a throw-away key
/// agreement is the check.
fn check_on_curve(curve: Curve, point: &[u8]) -> Result<(), Error> {
    let ours = agreement::EphemeralPrivateKey::generate(curve.agreement, super::rng())
        .map_err(|_| Error::random_failure())?;
    let theirs = agreement::UnparsedPublicKey::new(curve.agreement, point);
    let off_curve = || Error::key("the EC public key is not a point on the curve");
    #[cfg(not(feature = "aws-lc-rs"))]
    return agreement::agree_ephemeral(ours, &theirs, |_| ()).map_err(|_| off_curve());
    #[cfg(feature = "aws-lc-rs")]
    return agreement::agree_ephemeral(ours, theirs, (), |_| Ok(())).map_err(|()| off_curve());
}

impl EcdsaPublicKey {
    /// An ECDSA public key from a JWK of kty `EC` (RFC 7518 §6.2.1), bound to `algorithm`,
    /// with the JWK's `kid`. `crv` must be the algorithm's curve, and the point must lie on it.
    /// P-521 (ES512) and secp256k1 (ES256K) give [`Error::UnsupportedAlgorithm`].
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Ec, algorithm, Purpose::Verify)?;
        let (point, _) = jwk.ec_point(algorithm)?;
        let key = EcdsaPublicKey::from_sec1_point(algorithm, &point)?;
        Ok(super::with_jwk_kid(key, jwk, EcdsaPublicKey::with_key_id))
    }

    /// The key as a public JWK: `kty`, `kid` when set, `use: sig`, `alg`, `crv`, `x`, `y`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk::ec_public(
            Verifier::algorithm(self),
            Verifier::key_id(self),
            self.sec1_point(),
        )
    }
}

impl fmt::Debug for EcdsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaPublicKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Verifier for EcdsaPublicKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        // RFC 7518 §3.4: R || S of fixed width; a DER signature has another length or fails.
        #[cfg(not(feature = "aws-lc-rs"))]
        let verified =
            UnparsedPublicKey::new(self.verifying, &self.point).verify(message, signature);
        #[cfg(feature = "aws-lc-rs")]
        let verified = self.parsed.verify_sig(message, signature);
        verified.map_err(|_| Error::Signature)
    }

    fn public_jwk(&self) -> Option<crate::Jwk> {
        Some(self.to_jwk())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_points_off_the_curve() {
        let key = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap();
        let mut point = key.public_key().sec1_point().to_vec();
        point[64] ^= 1;
        let err = EcdsaPublicKey::from_sec1_point(Algorithm::ES256, &point).unwrap_err();
        assert!(
            err.to_string().contains("not a point on the curve"),
            "{err}"
        );
    }

    #[test]
    fn refuses_compressed_and_wrong_length_points() {
        assert!(EcdsaPublicKey::from_sec1_point(Algorithm::ES256, &[2; 33]).is_err());
        assert!(EcdsaPublicKey::from_sec1_point(Algorithm::ES384, &[4; 65]).is_err());
    }

    #[test]
    fn spki_round_trips_and_curve_must_match() {
        let key = EcdsaPrivateKey::generate(Algorithm::ES384)
            .unwrap()
            .public_key();
        let again = EcdsaPublicKey::from_pem(Algorithm::ES384, &key.to_pem()).unwrap();
        assert_eq!(again.sec1_point(), key.sec1_point());
        assert!(EcdsaPublicKey::from_der(Algorithm::ES256, &key.to_der()).is_err());
    }

    #[test]
    fn pkcs8_export_reimports() {
        let key = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap();
        let again = EcdsaPrivateKey::from_pem(Algorithm::ES256, &key.to_pem()).unwrap();
        assert_eq!(
            again.public_key().sec1_point(),
            key.public_key().sec1_point()
        );
    }

    #[test]
    fn es512_is_unsupported_not_a_panic() {
        let err = EcdsaPrivateKey::generate(Algorithm::ES512).unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm { .. }));
    }
}
