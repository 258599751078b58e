//! RSA keys: RS256/384/512 (RSASSA-PKCS1-v1_5, RFC 7518 §3.3) and PS256/384/512 (RSASSA-PSS,
//! RFC 7518 §3.5).
//!
//! An RSA key pair can serve both schemes, but each keycard key value is bound to one algorithm:
//! to use the same key pair for RS256 and PS256, construct two keys, one for each.

use std::fmt;

use super::crypto::signature::{self as sig, KeyPair, RsaKeyPair, RsaPublicKeyComponents};

use super::{Signer, Verifier};
use crate::algorithm::Algorithm;
use crate::encoding::secret::SecretBytes;
use crate::encoding::{der, pem};
use crate::error::Error;
use crate::jwk::{Jwk, KeyType, Purpose};

/// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
const MIN_BITS: usize = 2048;
/// The largest modulus `ring` verifies with.
const MAX_BITS: usize = 8192;

/// Per-algorithm choices, fixed when a key is constructed.
struct Scheme {
    signing: &'static dyn sig::RsaEncoding,
    verifying: &'static sig::RsaParameters,
}

fn scheme(algorithm: Algorithm) -> Result<Scheme, Error> {
    let (signing, verifying): (&'static dyn sig::RsaEncoding, _) = match algorithm {
        Algorithm::RS256 => (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => (&sig::RSA_PKCS1_SHA384, &sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => (&sig::RSA_PKCS1_SHA512, &sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => (&sig::RSA_PSS_SHA384, &sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => (&sig::RSA_PSS_SHA512, &sig::RSA_PSS_2048_8192_SHA512),
        other => return Err(Error::key(format!("{other} is not an RSA algorithm"))),
    };
    Ok(Scheme { signing, verifying })
}

/// An RSA private key bound to one of RS256, RS384, RS512, PS256, PS384 or PS512.
///
/// Reads PKCS#8 (`PRIVATE KEY`) and PKCS#1 (`RSA PRIVATE KEY`) in PEM or DER. The modulus must be
/// 2048 to 4096 bits (RFC 7518 §3.3 sets the floor, `ring` the ceiling). `ring` cannot generate
/// RSA keys; make them with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
/// `Debug` never shows the private key.
pub struct RsaPrivateKey {
    signing: &'static dyn sig::RsaEncoding,
    pair: RsaKeyPair,
    public: RsaPublicKey,
}

impl RsaPrivateKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(algorithm: Algorithm, pem: &str) -> Result<Self, Error> {
        let (label, der) = pem::decode(pem)?;
        // The decoded private key is zeroed when dropped, as the EC and Ed25519 keys do.
        let der = SecretBytes::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(algorithm, der.as_bytes()),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(algorithm, der.as_bytes()),
            other => Err(Error::key(format!(
                "expected an RSA private key PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER private key, PKCS#8 or PKCS#1.
    pub fn from_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        Self::from_pkcs8_der(algorithm, der)
            .or_else(|pkcs8_err| Self::from_pkcs1_der(algorithm, der).map_err(|_| pkcs8_err))
    }

    fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let scheme = scheme(algorithm)?;
        let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
        Self::new(algorithm, scheme, pair)
    }

    fn from_pkcs1_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let scheme = scheme(algorithm)?;
        let pair = RsaKeyPair::from_der(der).map_err(rejected)?;
        Self::new(algorithm, scheme, pair)
    }

    fn new(algorithm: Algorithm, scheme: Scheme, pair: RsaKeyPair) -> Result<Self, Error> {
        let (n, e) = der::parse_rsa_public_key(pair.public_key().as_ref())?;
        let public = RsaPublicKey::from_components(algorithm, n, e)?;
        Ok(RsaPrivateKey {
            signing: scheme.signing,
            pair,
            public,
        })
    }

    /// Builds a key pair from the RSA private key parameters of RFC 7518 §6.3.2 (unsigned
    /// big-endian); `ring` checks that they belong together.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_private_components(
        algorithm: Algorithm,
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: &[u8],
        q: &[u8],
        dp: &[u8],
        dq: &[u8],
        qi: &[u8],
    ) -> Result<Self, Error> {
        let scheme = scheme(algorithm)?;
        // Check the public half first, for the same messages as the other constructors.
        RsaPublicKey::from_components(algorithm, n, e)?;
        let components = super::crypto::rsa::KeyPairComponents {
            public_key: super::crypto::rsa::PublicKeyComponents {
                n: der::strip_zeros(n),
                e: der::strip_zeros(e),
            },
            d,
            p,
            q,
            dP: dp,
            dQ: dq,
            qInv: qi,
        };
        let pair = RsaKeyPair::from_components(&components).map_err(rejected)?;
        Self::new(algorithm, scheme, pair)
    }

    /// Sets the key id written as `kid` into the header of tokens this key signs (and carried
    /// over to [`public_key`](Self::public_key)).
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.public.key_id = Some(kid.into());
        self
    }

    /// The matching public key, bound to the same algorithm and key id.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }
}

impl RsaPrivateKey {
    /// An RSA private key from a private JWK (RFC 7518 §6.3.2: `n`, `e`, `d` and the CRT
    /// members `p`, `q`, `dp`, `dq`, `qi`), bound to `algorithm`, with the JWK's `kid`.
    /// `ring` checks that the members belong together.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Rsa, algorithm, Purpose::Sign)?;
        let (n, e, private) = jwk.rsa()?;
        let private = private.ok_or_else(super::no_private_key)?;
        let key = RsaPrivateKey::from_private_components(
            algorithm,
            n,
            e,
            private.d.as_bytes(),
            private.p.as_bytes(),
            private.q.as_bytes(),
            private.dp.as_bytes(),
            private.dq.as_bytes(),
            private.qi.as_bytes(),
        )?;
        Ok(super::with_jwk_kid(key, jwk, RsaPrivateKey::with_key_id))
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("algorithm", &self.public.algorithm)
            .field("bits", &(self.public.n.len() * 8))
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer for RsaPrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.public.key_id.as_deref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.public.n.len()];
        self.pair
            .sign(self.signing, super::rng(), message, &mut signature)
            .map_err(|_| Error::signing(super::RingFailure))?;
        Ok(signature)
    }

    fn sign_into(&self, message: &[u8], out: &mut [u8]) -> Result<Option<usize>, Error> {
        let Some(signature) = out.get_mut(..self.public.n.len()) else {
            return Ok(None);
        };
        self.pair
            .sign(self.signing, super::rng(), message, signature)
            .map_err(|_| Error::signing(super::RingFailure))?;
        Ok(Some(signature.len()))
    }
}

/// An RSA public key bound to one of RS256, RS384, RS512, PS256, PS384 or PS512.
///
/// Reads SubjectPublicKeyInfo (`PUBLIC KEY`) and PKCS#1 (`RSA PUBLIC KEY`) in PEM or DER, or the
/// modulus and exponent. The modulus must be 2048 to 8192 bits.
#[derive(Clone)]
pub struct RsaPublicKey {
    algorithm: Algorithm,
    #[cfg_attr(feature = "aws-lc-rs", allow(dead_code))]
    verifying: &'static sig::RsaParameters,
    n: Vec<u8>,
    e: Vec<u8>,
    key_id: Option<String>,
    /// aws-lc-rs turns the components into a key on every `verify` (unlike ring, which verifies
    /// from them directly): the key is parsed once, here.
    #[cfg(feature = "aws-lc-rs")]
    parsed: sig::ParsedPublicKey,
}

impl RsaPublicKey {
    /// Reads a PEM public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(algorithm: Algorithm, pem: &str) -> Result<Self, Error> {
        let (label, der) = pem::decode(pem)?;
        match label {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(algorithm, &der),
            other => Err(Error::key(format!(
                "expected an RSA public key PEM, found `{other}`"
            ))),
        }
    }

    /// Reads a DER public key, SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`.
    pub fn from_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, Error> {
        let pkcs1 = match der::parse_spki(der) {
            Ok(spki) if spki.algorithm == der::OID_RSA => spki.key,
            Ok(_) => return Err(Error::key("the public key is not an RSA key")),
            Err(_) => der,
        };
        let (n, e) = der::parse_rsa_public_key(pkcs1)?;
        Self::from_components(algorithm, n, e)
    }

    /// Builds a key from the modulus `n` and public exponent `e`, unsigned big-endian.
    pub fn from_components(algorithm: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let verifying = scheme(algorithm)?.verifying;
        let n = der::strip_zeros(n);
        let e = der::strip_zeros(e);
        let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
        check_bits(bits)?;
        // ring accepts odd exponents from 3 to 2^33 - 1.
        let odd = e.last().is_some_and(|b| b & 1 == 1);
        let small_enough = e.len() < 5 || (e.len() == 5 && e[0] == 1);
        if !odd || !small_enough || e == [1] {
            return Err(Error::key(
                "the RSA public exponent must be odd and between 3 and 2^33-1",
            ));
        }
        if has_roca_fingerprint(n) {
            return Err(Error::key(
                "the RSA key has the ROCA fingerprint (CVE-2017-15361): its private key can be \
                 computed from the modulus; generate a new key",
            ));
        }
        #[cfg(feature = "aws-lc-rs")]
        let parsed = RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(verifying)
            .map_err(rejected)?;
        Ok(RsaPublicKey {
            algorithm,
            verifying,
            n: n.to_vec(),
            e: e.to_vec(),
            key_id: None,
            #[cfg(feature = "aws-lc-rs")]
            parsed,
        })
    }

    /// Sets the key id this key answers to.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// The modulus and public exponent, unsigned big-endian without leading zeros.
    pub(crate) fn components(&self) -> (&[u8], &[u8]) {
        (&self.n, &self.e)
    }

    /// The key as DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Vec<u8> {
        let pkcs1 = der::encode_rsa_public_key(&self.n, &self.e);
        der::encode_spki(der::OID_RSA, None, &pkcs1)
    }

    /// The key as PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.to_der())
    }
}

impl RsaPublicKey {
    /// An RSA public key from a JWK of kty `RSA` (`n` and `e`, RFC 7518 §6.3.1), bound to
    /// `algorithm`, with the JWK's `kid`. Of a private JWK only `n` and `e` are used.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use(KeyType::Rsa, algorithm, Purpose::Verify)?;
        let (n, e, _) = jwk.rsa()?;
        let key = RsaPublicKey::from_components(algorithm, n, e)?;
        Ok(super::with_jwk_kid(key, jwk, RsaPublicKey::with_key_id))
    }

    /// The key as a public JWK: `kty`, `kid` when set, `use: sig`, `alg`, `n`, `e`.
    pub fn to_jwk(&self) -> Jwk {
        let (n, e) = self.components();
        Jwk::rsa_public(Verifier::algorithm(self), Verifier::key_id(self), n, e)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("algorithm", &self.algorithm)
            .field("bits", &(self.n.len() * 8))
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Verifier for RsaPublicKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        // RFC 7518 §3.3 and RFC 8017 §8.2.2: the signature is exactly as long as the modulus. ring
        // checks this too; saying it here keeps the rule visible.
        if signature.len() != self.n.len() {
            return Err(Error::Signature);
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        let verified = RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(self.verifying, message, signature);
        #[cfg(feature = "aws-lc-rs")]
        let verified = self.parsed.verify_sig(message, signature);
        verified.map_err(|_| Error::Signature)
    }

    fn public_jwk(&self) -> Option<crate::Jwk> {
        Some(self.to_jwk())
    }
}

/// Whether the modulus has the structure of the keys made by the Infineon RSALib (ROCA,
/// CVE-2017-15361, Nemec et al., CCS 2017), whose primes are `k·M + (65537^a mod M)`: then
/// `n mod p` lies in the subgroup generated by 65537 for every small prime `p` of `M`. A random
/// modulus passes all 38 tests with negligible probability; Wycheproof expects such keys refused.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0, |r, &b| (r * 256 + u32::from(b)) % p);
        let generator = 65537 % p;
        let mut power = 1;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % p;
            if power == 1 {
                return false;
            }
        }
    })
}

fn check_bits(bits: usize) -> Result<(), Error> {
    if bits < MIN_BITS {
        return Err(Error::key(format!(
            "RSA modulus of {bits} bits is too small; at least {MIN_BITS} are required (RFC 7518 §3.3)"
        )));
    }
    if bits > MAX_BITS {
        return Err(Error::key(format!(
            "RSA modulus of {bits} bits is larger than the supported {MAX_BITS}"
        )));
    }
    Ok(())
}

#[cold]
fn rejected(e: super::crypto::error::KeyRejected) -> Error {
    Error::key(format!("RSA key rejected: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modulus(jwk_n: &str) -> Vec<u8> {
        crate::encoding::base64url::decode(jwk_n, "n").unwrap()
    }

    #[test]
    fn roca_fingerprint_is_found_in_an_infineon_modulus_only() {
        // Wycheproof json_web_key_test.json, group jws_rsa_roca_key.
        let roca = modulus(
            "AanFpofbj7KjD4Lf-N2hVMKR7yewSyXhhbirIMTGpfYEhZ_lnt5UoK98DnKIgArXGTu3MaW_HhFw16HGaTDUHqPrId7fe4r11CqRw09yBFuW79V8sYIwHdzCaWflUI6auImYbVfoN9_nD5n8N8SY9DwXw7mwZM9wREPXoDPgOoIWl6q_MPsp7n0zs3Z5ZaiQWOOzl1S9OhwAfSiiOwz6efnXEaxuTEtPd7BjSx7NaFka8Dx9U7YqXy2RFj1O9PjyaDGuRh7YXsX3iMUSP_wSyHQg_c_qHRtKUsNSGCT7OZg0hzm2KphtjnayKJvC64vAbROBR4Ubg6Bxg9IQVZ-QYyE",
        );
        assert!(has_roca_fingerprint(&roca));
        let err = RsaPublicKey::from_components(Algorithm::RS256, &roca, &[1, 0, 1]).unwrap_err();
        assert!(err.to_string().contains("ROCA"), "{err}");
        // RFC 7517 Appendix A.1's modulus is an ordinary one.
        let ordinary = modulus(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        );
        assert!(!has_roca_fingerprint(&ordinary));
    }
}
