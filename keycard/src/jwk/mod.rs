//! The JSON Web Key model (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): [`Jwk`] and the typed
//! values of its members ([`KeyType`], [`Curve`], [`KeyUse`], [`KeyOperation`]), read and
//! written as JSON, with RFC 7638 thumbprints and the `use`/`key_ops`/`alg` policy.
//!
//! A [`Jwk`] is checked for shape when it is read (known `kty`, its required members present,
//! strict base64url, no duplicate members, no members of another key type); the key material is
//! checked when it becomes a key, by the key types' `from_jwk` constructors in `keys/`, which go
//! through the same checks as PEM and DER (EC points on the curve, RSA moduli of 2048 bits or
//! more, HMAC secrets as long as the hash). This module knows no key type.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::algorithm::Algorithm;
use crate::encoding::base64url;
use crate::encoding::json::Object;
use crate::encoding::secret::{SecretBytes, SecretString};
use crate::error::{echo, Error};

mod skipped;
mod values;

pub use skipped::SkippedKey;
pub use values::{Curve, KeyOperation, KeyType, KeyUse};

/// A JSON Web Key (RFC 7517): an RSA (`kty: RSA`), ECDSA (`EC`, curves P-256 and P-384), Ed25519
/// (`OKP`) or HMAC (`oct`) key, public or private, with its `kid`, `alg`, `use` and `key_ops`.
///
/// A `Jwk` is not yet a key: turn it into one with [`to_verifier`](Jwk::to_verifier) or
/// [`to_signer`](Jwk::to_signer), or with the `from_jwk` constructor of a key type such as
/// [`RsaPublicKey::from_jwk`](crate::RsaPublicKey::from_jwk). The algorithm is always yours to name, as with PEM keys; the
/// JWK's own members can only refuse it:
///
/// - an `alg` member that differs from the algorithm you name refuses the key;
/// - `use` other than `sig`, or `key_ops` without `verify` (`sign` for signing), refuses it;
/// - an EC key's `crv` must be the algorithm's curve (P-256 for ES256, P-384 for ES384).
///
/// ```
/// use keycard::{Algorithm, Jwk, Validator};
///
/// let jwk = Jwk::from_json(r#"{
///     "kty": "EC", "crv": "P-256", "kid": "2026-11", "alg": "ES256", "use": "sig",
///     "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
///     "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
/// }"#)?;
/// assert_eq!(jwk.key_id(), Some("2026-11"));
/// let validator = Validator::builder(jwk.to_verifier(Algorithm::ES256)?).build()?;
///
/// // The JWK says ES256: it cannot be used for anything else.
/// assert!(jwk.to_verifier(Algorithm::ES384).is_err());
/// # Ok::<(), keycard::Error>(())
/// ```
///
/// Private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) are never shown by `Debug`, are
/// overwritten with zeros when the `Jwk` is dropped (best effort), and are left out by
/// [`to_public`](Jwk::to_public). [`to_json`](Jwk::to_json) writes everything the `Jwk` holds.
///
/// Certificate members (`x5c`, `x5t`, `x5u`) and other unknown members are ignored, as RFC 7517
/// §4 says; keycard does not check certificates.
#[derive(Clone)]
pub struct Jwk {
    key_id: Option<String>,
    key_use: Option<KeyUse>,
    key_ops: Option<Vec<KeyOperation>>,
    algorithm: Option<String>,
    material: Material,
}

#[derive(Clone)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        private: Option<Box<RsaPrivate>>,
    },
    Ec {
        crv: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
        d: Option<SecretBytes>,
    },
    Okp {
        crv: Curve,
        x: Vec<u8>,
        d: Option<SecretBytes>,
    },
    Oct {
        k: SecretBytes,
    },
}

/// `n`, `e` and, for a private key, the private members of an RSA JWK.
pub(crate) type RsaParts<'a> = (&'a [u8], &'a [u8], Option<&'a RsaPrivate>);

/// The private members of an RSA JWK (RFC 7518 §6.3.2): the private exponent and the CRT
/// parameters `ring` needs.
#[derive(Clone)]
pub(crate) struct RsaPrivate {
    pub(crate) d: SecretBytes,
    pub(crate) p: SecretBytes,
    pub(crate) q: SecretBytes,
    pub(crate) dp: SecretBytes,
    pub(crate) dq: SecretBytes,
    pub(crate) qi: SecretBytes,
}

impl Jwk {
    /// Reads one JWK from its JSON text.
    ///
    /// # Errors
    /// [`ErrorKind::Key`](crate::ErrorKind::Key) when the text is not a JSON object, a member
    /// appears twice, `kty` is missing or unknown, a required member is missing, a member is not
    /// canonical unpadded base64url, or a member of another key type is present.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let object: Object = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("JWK is not valid JSON: {e}")))?;
        Jwk::from_object(object)
    }

    /// Writes the JWK as compact JSON, private members included when it has them (see
    /// [`is_private`](Jwk::is_private) and [`to_public`](Jwk::to_public)).
    // An invariant, not input: the members are strings and arrays of strings.
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("a JWK's members are strings and arrays of strings, which always serialize")
    }

    /// The key type, `kty` (RFC 7518 §6.1).
    pub fn key_type(&self) -> KeyType {
        match self.material {
            Material::Rsa { .. } => KeyType::Rsa,
            Material::Ec { .. } => KeyType::Ec,
            Material::Okp { .. } => KeyType::Okp,
            Material::Oct { .. } => KeyType::Oct,
        }
    }

    /// The key id, `kid` (RFC 7517 §4.5).
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The algorithm the key is meant for, `alg` (RFC 7517 §4.4), exactly as written. It may
    /// name a JWE algorithm or one keycard does not implement.
    pub fn algorithm(&self) -> Option<&str> {
        self.algorithm.as_deref()
    }

    /// The public key use, `use` (RFC 7517 §4.2).
    pub fn key_use(&self) -> Option<&KeyUse> {
        self.key_use.as_ref()
    }

    /// The permitted operations, `key_ops` (RFC 7517 §4.3).
    pub fn key_ops(&self) -> Option<&[KeyOperation]> {
        self.key_ops.as_deref()
    }

    /// The curve, `crv`, of an EC or OKP key.
    pub fn curve(&self) -> Option<Curve> {
        match &self.material {
            Material::Ec { crv, .. } | Material::Okp { crv, .. } => Some(*crv),
            _ => None,
        }
    }

    /// Whether the JWK holds secret material: a private key (`d`) or an HMAC secret (`kty: oct`).
    pub fn is_private(&self) -> bool {
        match &self.material {
            Material::Rsa { private, .. } => private.is_some(),
            Material::Ec { d, .. } | Material::Okp { d, .. } => d.is_some(),
            Material::Oct { .. } => true,
        }
    }

    /// The public half: the same JWK without its private members. `None` for an HMAC key, which
    /// has no public half.
    ///
    /// ```
    /// use keycard::Jwk;
    ///
    /// let private = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519",
    ///     "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// let public = private.to_public().unwrap();
    /// assert!(!public.is_private());
    /// assert!(!public.to_json().contains("\"d\""));
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn to_public(&self) -> Option<Jwk> {
        let material = match &self.material {
            Material::Rsa { n, e, .. } => Material::Rsa {
                n: n.clone(),
                e: e.clone(),
                private: None,
            },
            Material::Ec { crv, x, y, .. } => Material::Ec {
                crv: *crv,
                x: x.clone(),
                y: y.clone(),
                d: None,
            },
            Material::Okp { crv, x, .. } => Material::Okp {
                crv: *crv,
                x: x.clone(),
                d: None,
            },
            Material::Oct { .. } => return None,
        };
        Some(Jwk {
            key_id: self.key_id.clone(),
            key_use: self.key_use.clone(),
            key_ops: self.key_ops.as_ref().map(|ops| {
                // A public key can only verify (RFC 7517 §4.3).
                ops.iter()
                    .filter(|op| **op == KeyOperation::Verify)
                    .cloned()
                    .collect()
            }),
            algorithm: self.algorithm.clone(),
            material,
        })
    }

    /// The JWK thumbprint of RFC 7638: the SHA-256 of the key's required members in
    /// lexicographic order, base64url-encoded. `kid`, `alg`, `use` and private members are not
    /// part of it, so a private JWK and its public half have the same thumbprint.
    ///
    /// ```
    /// use keycard::Jwk;
    ///
    /// // RFC 8037 Appendix A.3.
    /// let jwk = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn thumbprint(&self) -> String {
        let b64 = base64url::encode;
        // RFC 7638 §3.2: required members only, sorted, no whitespace.
        let input = SecretString::new(match &self.material {
            Material::Rsa { n, e, .. } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
            }
            // The curve names are plain ASCII, so they need no JSON escaping.
            Material::Ec { crv, x, y, .. } => format!(
                r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
                b64(x),
                b64(y)
            ),
            Material::Okp { crv, x, .. } => {
                format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{}"}}"#, b64(x))
            }
            Material::Oct { k } => {
                let k = SecretString::new(b64(k.as_bytes()));
                format!(r#"{{"k":"{}","kty":"oct"}}"#, k.as_str())
            }
        });
        let digest = ring::digest::digest(&ring::digest::SHA256, input.as_str().as_bytes());
        base64url::encode(digest.as_ref())
    }

    /// Sets `kid`.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// Sets `kid` to the key's [RFC 7638 thumbprint](Jwk::thumbprint), a key id that anyone can
    /// recompute from the key itself.
    ///
    /// To sign with the same key id, give it to the private key:
    ///
    /// ```
    /// use keycard::{Algorithm, EcdsaPrivateKey, Verifier};
    ///
    /// let key = EcdsaPrivateKey::generate(Algorithm::ES256)?;
    /// let jwk = key.public_key().to_jwk().with_thumbprint_key_id();
    /// let key = key.with_key_id(jwk.key_id().unwrap_or_default());
    /// assert_eq!(key.public_key().key_id(), jwk.key_id());
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn with_thumbprint_key_id(self) -> Self {
        let kid = self.thumbprint();
        self.with_key_id(kid)
    }

    /// Whether `algorithm` is one this JWK's type and curve can serve (ignoring `alg`).
    pub(crate) fn fits(&self, algorithm: Algorithm) -> bool {
        use Algorithm::*;
        match &self.material {
            Material::Rsa { .. } => {
                matches!(algorithm, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
            }
            Material::Ec { crv, .. } => Curve::of(algorithm) == Some(*crv),
            Material::Okp { crv, .. } => algorithm == EdDSA && *crv == Curve::Ed25519,
            Material::Oct { .. } => matches!(algorithm, HS256 | HS384 | HS512),
        }
    }

    /// Refuses the key for `algorithm` and the operation `op` when it is of another type or its
    /// own members say it is not for them: the one policy every `from_jwk` applies.
    pub(crate) fn check_use(
        &self,
        kty: KeyType,
        algorithm: Algorithm,
        op: Purpose,
    ) -> Result<(), Error> {
        if self.key_type() != kty {
            return Err(Error::key(format!(
                "{algorithm} needs a JWK of kty `{kty}`, found `{}`",
                self.key_type()
            )));
        }
        self.check_purpose(op)?;
        // RFC 7517 §4.4: the key is for that algorithm only (RFC 8725 §3.1).
        if let Some(alg) = self.algorithm.as_deref() {
            if alg != algorithm.as_str() {
                return Err(Error::key(format!(
                    "the JWK is for `alg: {}`, not {algorithm}",
                    echo(alg)
                )));
            }
        }
        Ok(())
    }

    /// Refuses the key for `op` when `use` or `key_ops` say it is not for it.
    pub(crate) fn check_purpose(&self, op: Purpose) -> Result<(), Error> {
        // RFC 7517 §4.2: "sig" is the use for signatures; "enc" and anything else is not.
        match &self.key_use {
            None | Some(KeyUse::Signature) => {}
            Some(other) => {
                return Err(Error::key(format!(
                    "the JWK is for `use: {}`, not for signatures (`sig`)",
                    echo(other.as_str())
                )))
            }
        }
        // RFC 7517 §4.3.
        if let Some(key_ops) = &self.key_ops {
            if let Some(needed) = op.operations().iter().find(|op| !key_ops.contains(op)) {
                return Err(Error::key(format!(
                    "the JWK's `key_ops` do not include `{needed}`"
                )));
            }
        }
        Ok(())
    }

    /// `n`, `e` and the private members of an RSA JWK.
    pub(crate) fn rsa(&self) -> Result<RsaParts<'_>, Error> {
        match &self.material {
            Material::Rsa { n, e, private } => Ok((n, e, private.as_deref())),
            _ => Err(Error::key("not an RSA JWK")),
        }
    }

    /// The uncompressed SEC1 point `0x04 || X || Y` and the scalar of an EC key, after checking
    /// the curve is the algorithm's.
    pub(crate) fn ec_point(
        &self,
        algorithm: Algorithm,
    ) -> Result<(Vec<u8>, Option<&SecretBytes>), Error> {
        let Material::Ec { crv, x, y, d } = &self.material else {
            return Err(Error::key("not an EC JWK"));
        };
        let expected = Curve::of(algorithm)
            .ok_or_else(|| Error::key(format!("{algorithm} is not an ECDSA algorithm")))?;
        if *crv != expected {
            return Err(Error::key(format!(
                "the JWK's curve `{crv}` is not {expected}, the curve of {algorithm}"
            )));
        }
        // RFC 7518 §6.2.1.2–3: each coordinate is the full size of a field element; checked by
        // the length of the point (65 bytes for P-256, 97 for P-384).
        if x.len() != y.len() {
            return Err(Error::key("the JWK's `x` and `y` differ in length"));
        }
        let mut point = Vec::with_capacity(1 + x.len() + y.len());
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok((point, d.as_ref()))
    }

    /// The public key `x` and the seed `d` of an Ed25519 JWK.
    pub(crate) fn okp(&self) -> Result<(&[u8], Option<&SecretBytes>), Error> {
        let Material::Okp { crv, x, d } = &self.material else {
            return Err(Error::key("not an OKP JWK"));
        };
        // RFC 8037 §3.1: the curve must be checked; Ed448 has no ring implementation, and X25519
        // and X448 are key agreement curves.
        match crv {
            Curve::Ed25519 => Ok((x, d.as_ref())),
            Curve::Ed448 => Err(Error::key("Ed448 keys are not supported (only Ed25519)")),
            other => Err(Error::key(format!(
                "OKP curve `{other}` is not a signature curve keycard supports (only Ed25519)"
            ))),
        }
    }

    /// The secret `k` of an HMAC JWK.
    pub(crate) fn oct(&self) -> Result<&SecretBytes, Error> {
        match &self.material {
            Material::Oct { k } => Ok(k),
            _ => Err(Error::key("not an oct JWK")),
        }
    }

    /// A public RSA JWK for one of our keys.
    pub(crate) fn rsa_public(
        algorithm: Algorithm,
        key_id: Option<&str>,
        n: &[u8],
        e: &[u8],
    ) -> Jwk {
        let material = Material::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
            private: None,
        };
        Jwk::public(algorithm, key_id, material)
    }

    /// A public EC JWK for one of our keys, from its uncompressed SEC1 point.
    // An invariant, not input: ECDSA keys exist only for ES256 and ES384.
    #[allow(clippy::expect_used)]
    pub(crate) fn ec_public(algorithm: Algorithm, key_id: Option<&str>, point: &[u8]) -> Jwk {
        let crv = Curve::of(algorithm).expect("an ECDSA key's algorithm always names its curve");
        let coordinates = point
            .get(1..)
            .expect("an uncompressed SEC1 point starts with 0x04, so it is never empty");
        let (x, y) = coordinates.split_at(coordinates.len() / 2);
        let material = Material::Ec {
            crv,
            x: x.to_vec(),
            y: y.to_vec(),
            d: None,
        };
        Jwk::public(algorithm, key_id, material)
    }

    /// A public Ed25519 JWK for one of our keys.
    pub(crate) fn ed25519_public(key_id: Option<&str>, x: &[u8]) -> Jwk {
        let material = Material::Okp {
            crv: Curve::Ed25519,
            x: x.to_vec(),
            d: None,
        };
        Jwk::public(Algorithm::EdDSA, key_id, material)
    }

    /// A public JWK for one of our keys: `use: sig`, its algorithm and key id.
    fn public(algorithm: Algorithm, key_id: Option<&str>, material: Material) -> Jwk {
        Jwk {
            key_id: key_id.map(str::to_owned),
            key_use: Some(KeyUse::Signature),
            key_ops: None,
            algorithm: Some(algorithm.as_str().to_owned()),
            material,
        }
    }

    /// Builds a JWK from an object read by the shared strict reader.
    pub(crate) fn from_object(object: Object) -> Result<Self, Error> {
        let members = object
            .0
            .map_err(|reason| Error::key(format!("not a usable JWK: {reason} (RFC 7517 §4)")))?;
        Jwk::from_members(members)
    }

    /// Builds a JWK from an object's members, checking its shape.
    pub(crate) fn from_members(members: Vec<(String, Value)>) -> Result<Self, Error> {
        let mut raw = Raw::default();
        let (mut kty, mut key_id, mut key_use, mut algorithm) = (None, None, None, None);
        let mut key_ops: Option<Vec<KeyOperation>> = None;
        for (name, value) in members {
            match name.as_str() {
                "kty" => kty = Some(string(&name, value)?),
                "kid" => key_id = Some(string(&name, value)?),
                "use" => key_use = Some(KeyUse::from(string(&name, value)?)),
                "alg" => algorithm = Some(string(&name, value)?),
                "key_ops" => {
                    let ops = strings(&name, value)?;
                    key_ops = Some(ops.into_iter().map(KeyOperation::from).collect::<Vec<_>>())
                }
                "oth" => {
                    return Err(Error::key(
                        "multi-prime RSA keys (`oth`, RFC 7518 §6.3.2.7) are not supported",
                    ))
                }
                _ => {
                    if let Some(slot) = raw.slot(&name) {
                        *slot = Some(SecretString::new(string(&name, value)?));
                    }
                    // RFC 7517 §4: other members (x5c, x5t, ...) are ignored.
                }
            }
        }
        if let Some(ops) = &key_ops {
            check_key_ops(ops, key_use.as_ref())?;
        }
        let kty = kty.ok_or_else(|| Error::key("the JWK has no `kty`"))?;
        let kty: KeyType = kty.parse()?;
        let material = match kty {
            KeyType::Rsa => {
                let n = raw.required("n", kty)?;
                let e = raw.required("e", kty)?;
                let private = match raw.secret("d")? {
                    None if ["p", "q", "dp", "dq", "qi"]
                        .iter()
                        .any(|name| raw.has(name)) =>
                    {
                        return Err(Error::key(
                            "the RSA JWK has CRT members but no private exponent `d`",
                        ))
                    }
                    None => None,
                    Some(d) => {
                        // RFC 7518 §6.3.2: the CRT members come all together; ring needs them.
                        let mut crt = |name| {
                            raw.secret(name)?.ok_or_else(|| {
                                Error::key(format!(
                                    "the RSA private JWK has no `{name}`; keycard needs p, q, \
                                     dp, dq and qi as well as d (RFC 7518 §6.3.2)"
                                ))
                            })
                        };
                        Some(Box::new(RsaPrivate {
                            d,
                            p: crt("p")?,
                            q: crt("q")?,
                            dp: crt("dp")?,
                            dq: crt("dq")?,
                            qi: crt("qi")?,
                        }))
                    }
                };
                Material::Rsa { n, e, private }
            }
            KeyType::Ec => Material::Ec {
                crv: raw.curve(kty)?,
                x: raw.required("x", kty)?,
                y: raw.required("y", kty)?,
                d: raw.secret("d")?,
            },
            KeyType::Okp => Material::Okp {
                crv: raw.curve(kty)?,
                x: raw.required("x", kty)?,
                d: raw.secret("d")?,
            },
            KeyType::Oct => Material::Oct {
                k: raw
                    .secret("k")?
                    .ok_or_else(|| Error::key("a JWK of kty `oct` needs `k`"))?,
            },
        };
        // Members of another key type make the key ambiguous: refuse rather than guess.
        if let Some(name) = raw.leftover() {
            return Err(Error::key(format!(
                "the JWK member `{name}` does not belong to a key of kty `{kty}`"
            )));
        }
        Ok(Jwk {
            key_id,
            key_use,
            key_ops,
            algorithm,
            material,
        })
    }

    /// The members written by `to_json` and `Serialize`.
    fn out(&self) -> Out<'_> {
        let b64 = |bytes: &[u8]| Some(base64url::encode(bytes));
        let secret =
            |bytes: &SecretBytes| Some(SecretString::new(base64url::encode(bytes.as_bytes())));
        let mut out = Out {
            kty: self.key_type().as_str(),
            kid: self.key_id.as_deref(),
            key_use: self.key_use.as_ref().map(KeyUse::as_str),
            key_ops: self
                .key_ops
                .as_ref()
                .map(|ops| ops.iter().map(KeyOperation::as_str).collect()),
            alg: self.algorithm.as_deref(),
            ..Out::default()
        };
        match &self.material {
            Material::Rsa { n, e, private } => {
                out.n = b64(n);
                out.e = b64(e);
                if let Some(private) = private {
                    out.d = secret(&private.d);
                    out.p = secret(&private.p);
                    out.q = secret(&private.q);
                    out.dp = secret(&private.dp);
                    out.dq = secret(&private.dq);
                    out.qi = secret(&private.qi);
                }
            }
            Material::Ec { crv, x, y, d } => {
                out.crv = Some(crv.as_str());
                out.x = b64(x);
                out.y = b64(y);
                out.d = d.as_ref().and_then(secret);
            }
            Material::Okp { crv, x, d } => {
                out.crv = Some(crv.as_str());
                out.x = b64(x);
                out.d = d.as_ref().and_then(secret);
            }
            Material::Oct { k } => out.k = secret(k),
        }
        out
    }
}

/// What a key is about to be used for, checked against `use` and `key_ops` (RFC 7517 §4.2–4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Verifying signatures: a public key, or a verifying use of a secret.
    Verify,
    /// Signing: a private key.
    Sign,
    /// An HMAC key, which both signs and verifies.
    SignAndVerify,
}

impl Purpose {
    fn operations(self) -> &'static [KeyOperation] {
        match self {
            Purpose::Verify => &[KeyOperation::Verify],
            Purpose::Sign => &[KeyOperation::Sign],
            Purpose::SignAndVerify => &[KeyOperation::Sign, KeyOperation::Verify],
        }
    }
}

/// RFC 7517 §4.3: no duplicate operations, and consistent with `use` when both are present.
fn check_key_ops(ops: &[KeyOperation], key_use: Option<&KeyUse>) -> Result<(), Error> {
    // A set, so that a huge `key_ops` array in a fetched document costs linear time.
    let mut seen = HashSet::with_capacity(ops.len());
    if let Some(op) = ops.iter().find(|op| !seen.insert(op.as_str())) {
        return Err(Error::key(format!(
            "`key_ops` lists `{}` twice (RFC 7517 §4.3)",
            echo(op.as_str())
        )));
    }
    let signing = |op: &KeyOperation| matches!(op, KeyOperation::Sign | KeyOperation::Verify);
    let consistent = match key_use {
        Some(KeyUse::Signature) => ops.iter().all(signing),
        Some(KeyUse::Encryption) => !ops.iter().any(signing),
        _ => true,
    };
    if consistent {
        Ok(())
    } else {
        Err(Error::key(
            "`use` and `key_ops` contradict each other (RFC 7517 §4.3)",
        ))
    }
}

fn string(name: &str, value: Value) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(Error::key(format!(
            "the JWK member `{name}` must be a string"
        ))),
    }
}

fn strings(name: &str, value: Value) -> Result<Vec<String>, Error> {
    match value {
        Value::Array(items) => items.into_iter().map(|v| string(name, v)).collect(),
        _ => Err(Error::key(format!(
            "the JWK member `{name}` must be an array of strings"
        ))),
    }
}

/// The key-material members as read, before decoding; taken out one by one as the key type
/// asks for them, so that what is left over belongs to another key type.
struct Raw {
    members: [(&'static str, Option<SecretString>); 12],
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            members: [
                "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi", "k",
            ]
            .map(|name| (name, None)),
        }
    }
}

impl Raw {
    fn slot(&mut self, name: &str) -> Option<&mut Option<SecretString>> {
        self.members
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    fn take(&mut self, name: &str) -> Option<SecretString> {
        self.slot(name).and_then(Option::take)
    }

    fn missing(name: &str, kty: KeyType) -> Error {
        Error::key(format!("a JWK of kty `{kty}` needs `{name}`"))
    }

    /// The required `crv`.
    fn curve(&mut self, kty: KeyType) -> Result<Curve, Error> {
        match self.take("crv") {
            Some(text) => text.as_str().parse(),
            None => Err(Self::missing("crv", kty)),
        }
    }

    /// A required public base64url member.
    fn required(&mut self, name: &str, kty: KeyType) -> Result<Vec<u8>, Error> {
        let text = self.take(name).ok_or_else(|| Self::missing(name, kty))?;
        decode(name, text.as_str())
    }

    /// An optional private base64url member.
    fn secret(&mut self, name: &str) -> Result<Option<SecretBytes>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(text) => Ok(Some(SecretBytes::new(decode(name, text.as_str())?))),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.members
            .iter()
            .any(|(n, value)| *n == name && value.is_some())
    }

    fn leftover(&self) -> Option<&'static str> {
        self.members
            .iter()
            .find(|(_, value)| value.is_some())
            .map(|(name, _)| *name)
    }
}

/// RFC 7518 §6: key members are unpadded base64url (RFC 7515 §2), read as strictly as tokens.
fn decode(name: &str, text: &str) -> Result<Vec<u8>, Error> {
    base64url::decode(text, "JWK member").map_err(|_| {
        Error::key(format!(
            "the JWK member `{name}` is not canonical unpadded base64url"
        ))
    })
}

/// The members `to_json` writes, in the order RFC 7517's examples use.
#[derive(Serialize, Default)]
struct Out<'a> {
    kty: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_ops: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dp: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dq: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qi: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<SecretString>,
}

impl Serialize for Jwk {
    /// Writes the same members as [`to_json`](Jwk::to_json), private ones included.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.out().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Jwk {
    /// Reads a JWK with the checks of [`from_json`](Jwk::from_json), so that a `Jwk` can sit in
    /// your own configuration types.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Object::deserialize(deserializer)?;
        Jwk::from_object(object).map_err(de::Error::custom)
    }
}

impl fmt::Debug for Jwk {
    /// Shows the type, `kid`, `alg`, `use` and whether the key is private; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.key_type().as_str())
            .field("kid", &self.key_id)
            .field("alg", &self.algorithm)
            .field("use", &self.key_use.as_ref().map(KeyUse::as_str))
            .field("crv", &self.curve().map(Curve::as_str))
            .field("private", &self.is_private())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(list: &[&str]) -> Vec<KeyOperation> {
        list.iter()
            .map(|s| KeyOperation::from((*s).to_owned()))
            .collect()
    }

    #[test]
    fn key_ops_must_be_unique_and_agree_with_use() {
        assert!(check_key_ops(&ops(&["sign", "verify"]), Some(&KeyUse::Signature)).is_ok());
        assert!(check_key_ops(&ops(&["verify", "verify"]), None).is_err());
        assert!(check_key_ops(&ops(&["encrypt"]), Some(&KeyUse::Signature)).is_err());
        assert!(check_key_ops(&ops(&["verify"]), Some(&KeyUse::Encryption)).is_err());
        assert!(check_key_ops(&ops(&["deriveKey"]), Some(&KeyUse::Encryption)).is_ok());
        assert!(check_key_ops(&[], Some(&KeyUse::Signature)).is_ok());
    }

    #[test]
    fn every_supported_algorithm_fits_exactly_its_key_type() {
        let jwk = |json: &str| Jwk::from_json(json).unwrap();
        let rsa = jwk(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#);
        let p256 = jwk(r#"{"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"}"#);
        let ed = jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"AQAB"}"#);
        let x25519 = jwk(r#"{"kty":"OKP","crv":"X25519","x":"AQAB"}"#);
        let oct = jwk(r#"{"kty":"oct","k":"AQAB"}"#);
        use Algorithm::*;
        for alg in [
            HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384,
        ] {
            let fitting: Vec<KeyType> = [&rsa, &p256, &ed, &x25519, &oct]
                .iter()
                .filter(|k| k.fits(alg))
                .map(|k| k.key_type())
                .collect();
            assert_eq!(
                fitting.len(),
                usize::from(alg != ES384),
                "{alg}: {fitting:?}"
            );
        }
        assert!(ed.fits(EdDSA) && !x25519.fits(EdDSA));
        assert_eq!(Curve::of(ES512), Some(Curve::P521));
    }
}
