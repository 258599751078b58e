//! Ed25519 keys for the JWS algorithm `EdDSA` (RFC 8037).

use std::fmt;

#[cfg(not(feature = "aws-lc-rs"))]
use super::crypto::signature::UnparsedPublicKey;
use super::crypto::signature::{self as sig, Ed25519KeyPair, KeyPair};

use super::{Signer, Verifier};
use crate::algorithm::Algorithm;
use crate::encoding::secret::SecretBytes;
use crate::encoding::{der, pem};
use crate::error::Error;
use crate::jwk::{Jwk, KeyType, Purpose};

/// An Ed25519 private key for `EdDSA` (RFC 8037).
///
/// Reads PKCS#8 (`PRIVATE KEY`, v1 or v2) in PEM or DER, or the raw 32-byte seed, or generates a
/// fresh key. `Debug` never shows the private key.
///
/// ```
/// use keycard::{Builder, Ed25519PrivateKey, Validator};
/// use time::Duration;
///
/// let key = Ed25519PrivateKey::generate()?;
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&key)?;
/// Validator::builder(key.public_key()).build()?.verify::<keycard::Claims>(&token)?;
/// # Ok::<(), keycard::Error>(())
/// ```
pub struct Ed25519PrivateKey {
    pair: Ed25519KeyPair,
    seed: SecretBytes,
    public: Ed25519PublicKey,
}

impl Ed25519PrivateKey {
    /// A fresh key from the system's secure random generator.
    pub fn generate() -> Result<Self, Error> {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(super::rng()).map_err(|_| Error::random_failure())?;
        Self::from_der(pkcs8.as_ref())
    }

    /// Reads a PEM PKCS#8 private key (`BEGIN PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        match pem::decode(pem)? {
            ("PRIVATE KEY", der) => Self::from_der(SecretBytes::new(der).as_bytes()),
            (other, _) => Err(Error::key(format!(
                "expected a `PRIVATE KEY` PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER PKCS#8 private key (RFC 8410 §7).
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        // ring checks the structure; we keep the seed for export.
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| Error::key(format!("Ed25519 private key rejected: {e}")))?;
        let seed = find_seed(der)?;
        Self::from_seed_and_pair(seed, pair)
    }

    /// Builds a key from its raw 32-byte seed (RFC 8032 §5.1.5; the JWK `d` of RFC 8037).
    pub fn from_seed(seed: &[u8]) -> Result<Self, Error> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| Error::key(format!("Ed25519 seed rejected: {e}")))?;
        Self::from_seed_and_pair(seed, pair)
    }

    /// Builds a key from its seed and public key (the JWK `d` and `x` of RFC 8037 §2); `ring`
    /// checks that the public key is the seed's.
    pub(crate) fn from_seed_and_public_key(seed: &[u8], public: &[u8]) -> Result<Self, Error> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public)
            .map_err(|e| Error::key(format!("Ed25519 key pair rejected: {e}")))?;
        Self::from_seed_and_pair(seed, pair)
    }

    fn from_seed_and_pair(seed: &[u8], pair: Ed25519KeyPair) -> Result<Self, Error> {
        let public = Ed25519PublicKey::from_bytes(pair.public_key().as_ref())?;
        Ok(Ed25519PrivateKey {
            pair,
            seed: SecretBytes::new(seed.to_vec()),
            public,
        })
    }

    /// Sets the key id written as `kid` into the header of tokens this key signs (and carried
    /// over to [`public_key`](Self::public_key)).
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.public.key_id = Some(kid.into());
        self
    }

    /// The matching public key, with the same key id.
    pub fn public_key(&self) -> Ed25519PublicKey {
        self.public.clone()
    }

    /// The raw 32-byte seed, to store a generated key. Handle it as the secret it is.
    pub fn to_seed(&self) -> Vec<u8> {
        self.seed.as_bytes().to_vec()
    }

    /// The private key as PKCS#8 DER (RFC 8410 §7, the seed alone), as every private key type
    /// writes it. Handle it as the secret it is.
    ///
    /// ```
    /// use keycard::Ed25519PrivateKey;
    ///
    /// let key = Ed25519PrivateKey::generate()?;
    /// let again = Ed25519PrivateKey::from_der(&key.to_der())?;
    /// assert_eq!(again.to_seed(), key.to_seed());
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn to_der(&self) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = Vec::with_capacity(PREFIX.len() + 32);
        der.extend_from_slice(&PREFIX);
        der.extend_from_slice(self.seed.as_bytes());
        der
    }

    /// The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`). Handle it as the secret it is.
    pub fn to_pem(&self) -> String {
        let der = SecretBytes::new(self.to_der());
        pem::encode("PRIVATE KEY", der.as_bytes())
    }
}

/// RFC 8410 §7: the PKCS#8 private key is `CurvePrivateKey ::= OCTET STRING`, the 32-byte seed.
fn find_seed(der: &[u8]) -> Result<&[u8], Error> {
    let seed = der::octet_string(der::pkcs8_private_key(der)?)?;
    if seed.len() == 32 {
        Ok(seed)
    } else {
        Err(Error::key("Ed25519 PKCS#8 without a 32-byte seed"))
    }
}

impl Ed25519PrivateKey {
    /// An Ed25519 private key from a private JWK of kty `OKP` (`d`, the 32-byte seed, and `x`,
    /// RFC 8037 §2), with the JWK's `kid`. `ring` checks that `x` is the seed's public key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Okp, Algorithm::EdDSA, Purpose::Sign)?;
        let (x, d) = jwk.okp()?;
        let d = d.ok_or_else(super::no_private_key)?;
        let key = Ed25519PrivateKey::from_seed_and_public_key(d.as_bytes(), x)?;
        Ok(super::with_jwk_kid(
            key,
            jwk,
            Ed25519PrivateKey::with_key_id,
        ))
    }
}

impl fmt::Debug for Ed25519PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519PrivateKey")
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer for Ed25519PrivateKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }

    fn key_id(&self) -> Option<&str> {
        self.public.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.pair.sign(message).as_ref().to_vec())
    }

    fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
        Ok(super::copy_signature(self.pair.sign(message).as_ref(), out))
    }
}

/// An Ed25519 public key for `EdDSA`.
///
/// Reads SubjectPublicKeyInfo (`PUBLIC KEY`) in PEM or DER, or the raw 32 bytes (the JWK `x` of
/// RFC 8037). Small-order points and non-canonical encodings are refused at construction.
#[derive(Clone)]
pub struct Ed25519PublicKey {
    bytes: [u8; 32],
    key_id: Option<String>,
    /// aws-lc-rs parses the key on every `verify` from bytes: parsed once, here.
    #[cfg(feature = "aws-lc-rs")]
    parsed: sig::ParsedPublicKey,
}

impl Ed25519PublicKey {
    /// Reads a PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        match pem::decode(pem)? {
            ("PUBLIC KEY", der) => Self::from_der(&der),
            (other, _) => Err(Error::key(format!(
                "expected a `PUBLIC KEY` PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo (RFC 8410 §4).
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let spki = der::parse_spki(der)?;
        if spki.algorithm != der::OID_ED25519 {
            return Err(Error::key("the public key is not an Ed25519 key"));
        }
        Self::from_bytes(spki.key)
    }

    /// Builds a key from its raw 32-byte encoding (RFC 8032 §5.1.2).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::key("an Ed25519 public key is 32 bytes"))?;
        if is_weak(&bytes) {
            return Err(Error::key(
                "the Ed25519 public key is a small-order point or not canonically encoded",
            ));
        }
        Ok(Ed25519PublicKey {
            #[cfg(feature = "aws-lc-rs")]
            parsed: sig::ParsedPublicKey::new(&sig::ED25519, bytes)
                .map_err(|e| Error::key(format!("Ed25519 public key rejected: {e}")))?,
            bytes,
            key_id: None,
        })
    }

    /// Sets the key id this key answers to.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// The raw 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Vec<u8> {
        der::encode_spki(der::OID_ED25519, None, &self.bytes)
    }

    /// The key as PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.to_der())
    }
}

/// Whether `key` encodes a point of small order (which makes signatures forgeable for some
/// messages) or a y-coordinate that is not reduced modulo p = 2^255 - 19.
fn is_weak(key: &[u8; 32]) -> bool {
    // The y-coordinates (little-endian, sign bit cleared) of the points of order 1, 2, 4 and 8.
    const SMALL_ORDER_Y: [[u8; 32]; 5] = [
        // order 1: y = 1
        [
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ],
        // order 2: y = p - 1
        [
            0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x7f,
        ],
        // order 4: y = 0
        [0; 32],
        // order 8: the two y values
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ],
    ];
    let mut y = *key;
    y[31] &= 0x7f;
    // y >= p: bytes 1..31 all 0xff, top byte 0x7f, lowest byte >= 0xed.
    let not_reduced = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    not_reduced || SMALL_ORDER_Y.contains(&y)
}

impl Ed25519PublicKey {
    /// An Ed25519 public key from a JWK of kty `OKP` and `crv: Ed25519` (RFC 8037 §2), with the
    /// JWK's `kid`. Its `alg`, when present, must be `EdDSA`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Okp, Algorithm::EdDSA, Purpose::Verify)?;
        let (x, _) = jwk.okp()?;
        let key = Ed25519PublicKey::from_bytes(x)?;
        Ok(super::with_jwk_kid(key, jwk, Ed25519PublicKey::with_key_id))
    }

    /// The key as a public JWK: `kty: OKP`, `kid` when set, `use: sig`, `alg: EdDSA`,
    /// `crv: Ed25519`, `x`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk::ed25519_public(Verifier::key_id(self), self.as_bytes())
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519PublicKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Verifier for Ed25519PublicKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        // ring rejects S >= L (RFC 8032 §5.1.7), so signatures are not malleable.
        #[cfg(not(feature = "aws-lc-rs"))]
        let verified =
            UnparsedPublicKey::new(&sig::ED25519, &self.bytes).verify(message, signature);
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
    fn refuses_small_order_and_non_canonical_keys() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(Ed25519PublicKey::from_bytes(&identity).is_err());
        let mut with_sign_bit = identity;
        with_sign_bit[31] |= 0x80;
        assert!(Ed25519PublicKey::from_bytes(&with_sign_bit).is_err());
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(Ed25519PublicKey::from_bytes(&p).is_err());
        assert!(Ed25519PublicKey::from_bytes(&[0; 31]).is_err());
    }

    #[test]
    fn generated_key_survives_seed_and_pem_round_trips() {
        let key = Ed25519PrivateKey::generate().unwrap();
        let again = Ed25519PrivateKey::from_seed(&key.to_seed()).unwrap();
        assert_eq!(again.public_key().as_bytes(), key.public_key().as_bytes());
        let public = Ed25519PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(public.as_bytes(), key.public_key().as_bytes());
    }
}
