//! One JSON Web Key (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): [`Jwk`], the `from_jwk` and
//! `to_jwk` methods of the key types, and RFC 7638 thumbprints.
//!
//! A [`Jwk`] is checked for shape when it is read (known `kty`, its required members present,
//! strict base64url, no duplicate members, no members of another key type); the key material is
//! checked when it becomes a key, by the same constructors PEM and DER keys go through (EC points
//! on the curve, RSA moduli of 2048 bits or more, HMAC secrets as long as the hash).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::base64url;
use crate::error::{echo, Error};
use crate::signature::{
    Algorithm, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, HmacKey,
    RsaPrivateKey, RsaPublicKey, SecretBytes, Signer, Verifier,
};

/// A JSON Web Key (RFC 7517): an RSA (`kty: RSA`), ECDSA (`EC`, curves P-256 and P-384), Ed25519
/// (`OKP`) or HMAC (`oct`) key, public or private, with its `kid`, `alg`, `use` and `key_ops`.
///
/// A `Jwk` is not yet a key: turn it into one with [`to_verifier`](Jwk::to_verifier) or
/// [`to_signer`](Jwk::to_signer), or with the `from_jwk` constructor of a key type such as
/// [`RsaPublicKey::from_jwk`]. The algorithm is always yours to name, as with PEM keys; the
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
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
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
        crv: String,
        x: Vec<u8>,
        y: Vec<u8>,
        d: Option<SecretBytes>,
    },
    Okp {
        crv: String,
        x: Vec<u8>,
        d: Option<SecretBytes>,
    },
    Oct {
        k: SecretBytes,
    },
}

/// RFC 7518 §6.3.2: the private exponent and the CRT parameters `ring` needs.
#[derive(Clone)]
struct RsaPrivate {
    d: SecretBytes,
    p: SecretBytes,
    q: SecretBytes,
    dp: SecretBytes,
    dq: SecretBytes,
    qi: SecretBytes,
}

/// What a key is going to be used for, checked against `use` and `key_ops` (RFC 7517 §4.2–4.3).
pub(crate) const VERIFY: &[&str] = &["verify"];
const SIGN: &[&str] = &["sign"];

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
        Jwk::from_members(object.0.map_err(Error::key)?)
    }

    /// Writes the JWK as compact JSON, private members included when it has them (see
    /// [`is_private`](Jwk::is_private) and [`to_public`](Jwk::to_public)).
    pub fn to_json(&self) -> String {
        // Serializing strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The key type, `kty`: `"RSA"`, `"EC"`, `"OKP"` or `"oct"`.
    pub fn key_type(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec { .. } => "EC",
            Material::Okp { .. } => "OKP",
            Material::Oct { .. } => "oct",
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

    /// The public key use, `use` (RFC 7517 §4.2): `"sig"` or `"enc"`.
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// The permitted operations, `key_ops` (RFC 7517 §4.3), such as `["verify"]`.
    pub fn key_ops(&self) -> Option<&[String]> {
        self.key_ops.as_deref()
    }

    /// The curve, `crv`, of an EC or OKP key.
    pub fn curve(&self) -> Option<&str> {
        match &self.material {
            Material::Ec { crv, .. } | Material::Okp { crv, .. } => Some(crv),
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
                crv: crv.clone(),
                x: x.clone(),
                y: y.clone(),
                d: None,
            },
            Material::Okp { crv, x, .. } => Material::Okp {
                crv: crv.clone(),
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
                ops.iter().filter(|op| *op == "verify").cloned().collect()
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
        // RFC 7638 §3.2: required members only, sorted, no whitespace. `crv` is the one member
        // that is not base64url, so it goes through the JSON serializer for escaping.
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let input = Zeroing(match &self.material {
            Material::Rsa { n, e, .. } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
            }
            Material::Ec { crv, x, y, .. } => format!(
                r#"{{"crv":{},"kty":"EC","x":"{}","y":"{}"}}"#,
                quoted(crv),
                b64(x),
                b64(y)
            ),
            Material::Okp { crv, x, .. } => {
                format!(r#"{{"crv":{},"kty":"OKP","x":"{}"}}"#, quoted(crv), b64(x))
            }
            Material::Oct { k } => {
                let k = Zeroing(b64(k.as_bytes()));
                format!(r#"{{"k":"{}","kty":"oct"}}"#, k.0)
            }
        });
        let digest = ring::digest::digest(&ring::digest::SHA256, input.0.as_bytes());
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

    /// A verifier for `algorithm` from this JWK, or the reason it cannot be one: the JWK's `alg`
    /// names another algorithm, its `use` or `key_ops` do not allow verifying, its type or curve
    /// does not fit the algorithm, or the key material is refused. Of a private JWK only the
    /// public members are used.
    ///
    /// ES512 and ES256K keys give [`Error::UnsupportedAlgorithm`].
    pub fn to_verifier(&self, algorithm: Algorithm) -> Result<Box<dyn Verifier>, Error> {
        use Algorithm::*;
        Ok(match algorithm {
            HS256 | HS384 | HS512 => Box::new(hmac_from_jwk(algorithm, self, VERIFY)?),
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => {
                Box::new(RsaPublicKey::from_jwk(algorithm, self)?)
            }
            ES256 | ES384 | ES512 | ES256K => Box::new(EcdsaPublicKey::from_jwk(algorithm, self)?),
            EdDSA => Box::new(ed25519_public_from_jwk(self)?),
        })
    }

    /// A signer for `algorithm` from this private JWK, with the same rules as
    /// [`to_verifier`](Jwk::to_verifier) (`key_ops`, when present, must include `sign`).
    pub fn to_signer(&self, algorithm: Algorithm) -> Result<Box<dyn Signer>, Error> {
        use Algorithm::*;
        Ok(match algorithm {
            HS256 | HS384 | HS512 => Box::new(hmac_from_jwk(algorithm, self, SIGN)?),
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => {
                Box::new(RsaPrivateKey::from_jwk(algorithm, self)?)
            }
            ES256 | ES384 | ES512 | ES256K => Box::new(EcdsaPrivateKey::from_jwk(algorithm, self)?),
            EdDSA => Box::new(Ed25519PrivateKey::from_jwk(self)?),
        })
    }

    /// Whether `algorithm` is one this JWK's type and curve can serve (ignoring `alg`).
    pub(crate) fn fits(&self, algorithm: Algorithm) -> bool {
        use Algorithm::*;
        match &self.material {
            Material::Rsa { .. } => {
                matches!(algorithm, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
            }
            Material::Ec { crv, .. } => curve_of(algorithm) == Some(crv.as_str()),
            Material::Okp { crv, .. } => algorithm == EdDSA && crv == "Ed25519",
            Material::Oct { .. } => matches!(algorithm, HS256 | HS384 | HS512),
        }
    }

    /// Refuses the key for `algorithm` and the operations `ops` when its own members say so.
    fn check_use(&self, kty: &str, algorithm: Algorithm, ops: &[&str]) -> Result<(), Error> {
        if self.key_type() != kty {
            return Err(Error::key(format!(
                "{algorithm} needs a JWK of kty `{kty}`, found `{}`",
                self.key_type()
            )));
        }
        self.check_purpose(ops)?;
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

    /// Refuses the key for the operations `ops` (`sign`, `verify`) when `use` or `key_ops` say
    /// it is not for them.
    pub(crate) fn check_purpose(&self, ops: &[&str]) -> Result<(), Error> {
        // RFC 7517 §4.2: "sig" is the use for signatures; "enc" and anything else is not.
        if let Some(key_use) = self.key_use.as_deref() {
            if key_use != "sig" {
                return Err(Error::key(format!(
                    "the JWK is for `use: {}`, not for signatures (`sig`)",
                    echo(key_use)
                )));
            }
        }
        // RFC 7517 §4.3.
        if let Some(key_ops) = &self.key_ops {
            if let Some(op) = ops.iter().find(|op| !key_ops.iter().any(|k| k == *op)) {
                return Err(Error::key(format!(
                    "the JWK's `key_ops` do not include `{op}`"
                )));
            }
        }
        Ok(())
    }

    fn rsa(&self) -> Option<(&[u8], &[u8], Option<&RsaPrivate>)> {
        match &self.material {
            Material::Rsa { n, e, private } => Some((n, e, private.as_deref())),
            _ => None,
        }
    }

    /// The uncompressed SEC1 point `0x04 || X || Y` and the scalar of an EC key, after checking
    /// the curve is the algorithm's.
    fn ec_point(&self, algorithm: Algorithm) -> Result<(Vec<u8>, Option<&SecretBytes>), Error> {
        let Material::Ec { crv, x, y, d } = &self.material else {
            return Err(Error::key("not an EC JWK"));
        };
        let expected = curve_of(algorithm)
            .ok_or_else(|| Error::key(format!("{algorithm} is not an ECDSA algorithm")))?;
        if crv != expected {
            return Err(Error::key(format!(
                "the JWK's curve `{}` is not {expected}, the curve of {algorithm}",
                echo(crv)
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

    fn okp(&self) -> Result<(&[u8], Option<&SecretBytes>), Error> {
        let Material::Okp { crv, x, d } = &self.material else {
            return Err(Error::key("not an OKP JWK"));
        };
        // RFC 8037 §3.1: the curve must be checked; Ed448 has no ring implementation, and X25519
        // and X448 are key agreement curves.
        match crv.as_str() {
            "Ed25519" => Ok((x, d.as_ref())),
            "Ed448" => Err(Error::key("Ed448 keys are not supported (only Ed25519)")),
            other => Err(Error::key(format!(
                "OKP curve `{}` is not a signature curve keycard supports (only Ed25519)",
                echo(other)
            ))),
        }
    }

    /// Builds a JWK from an object's members, checking its shape.
    pub(crate) fn from_members(members: Vec<(String, Value)>) -> Result<Self, Error> {
        let mut raw = Raw::default();
        let (mut kty, mut key_id, mut key_use, mut key_ops, mut algorithm) =
            (None, None, None, None, None);
        for (name, value) in members {
            match name.as_str() {
                "kty" => kty = Some(string(&name, value)?),
                "kid" => key_id = Some(string(&name, value)?),
                "use" => key_use = Some(string(&name, value)?),
                "alg" => algorithm = Some(string(&name, value)?),
                "key_ops" => key_ops = Some(strings(&name, value)?),
                "oth" => {
                    return Err(Error::key(
                        "multi-prime RSA keys (`oth`, RFC 7518 §6.3.2.7) are not supported",
                    ))
                }
                _ => {
                    if let Some(slot) = raw.slot(&name) {
                        *slot = Some(Zeroing(string(&name, value)?));
                    }
                    // RFC 7517 §4: other members (x5c, x5t, ...) are ignored.
                }
            }
        }
        if let Some(ops) = &key_ops {
            check_key_ops(ops, key_use.as_deref())?;
        }
        let kty = kty.ok_or_else(|| Error::key("the JWK has no `kty`"))?;
        let material = match kty.as_str() {
            "RSA" => {
                let n = raw.required("n", &kty)?;
                let e = raw.required("e", &kty)?;
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
            "EC" => Material::Ec {
                crv: raw.text("crv", &kty)?,
                x: raw.required("x", &kty)?,
                y: raw.required("y", &kty)?,
                d: raw.secret("d")?,
            },
            "OKP" => Material::Okp {
                crv: raw.text("crv", &kty)?,
                x: raw.required("x", &kty)?,
                d: raw.secret("d")?,
            },
            "oct" => Material::Oct {
                k: raw
                    .secret("k")?
                    .ok_or_else(|| Error::key("a JWK of kty `oct` needs `k`"))?,
            },
            other => {
                return Err(Error::key(format!(
                    "JWK key type `{}` is not supported (RSA, EC, OKP, oct)",
                    echo(other)
                )))
            }
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
        let secret = |bytes: &SecretBytes| Some(Zeroing(base64url::encode(bytes.as_bytes())));
        let mut out = Out {
            kty: self.key_type(),
            kid: self.key_id.as_deref(),
            key_use: self.key_use.as_deref(),
            key_ops: self.key_ops.as_deref(),
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
                out.crv = Some(crv);
                out.x = b64(x);
                out.y = b64(y);
                out.d = d.as_ref().and_then(secret);
            }
            Material::Okp { crv, x, d } => {
                out.crv = Some(crv);
                out.x = b64(x);
                out.d = d.as_ref().and_then(secret);
            }
            Material::Oct { k } => out.k = secret(k),
        }
        out
    }

    /// A public JWK for one of our keys: `use: sig`, its algorithm and key id.
    fn public(algorithm: Algorithm, key_id: Option<&str>, material: Material) -> Jwk {
        Jwk {
            key_id: key_id.map(str::to_owned),
            key_use: Some("sig".to_owned()),
            key_ops: None,
            algorithm: Some(algorithm.as_str().to_owned()),
            material,
        }
    }
}

/// The curve an ECDSA algorithm uses, as JWK `crv` names it (RFC 7518 §3.4, RFC 8812 §3.2).
fn curve_of(algorithm: Algorithm) -> Option<&'static str> {
    match algorithm {
        Algorithm::ES256 => Some("P-256"),
        Algorithm::ES384 => Some("P-384"),
        Algorithm::ES512 => Some("P-521"),
        Algorithm::ES256K => Some("secp256k1"),
        _ => None,
    }
}

/// RFC 7517 §4.3: no duplicate operations, and consistent with `use` when both are present.
fn check_key_ops(ops: &[String], key_use: Option<&str>) -> Result<(), Error> {
    // A set, so that a huge `key_ops` array in a fetched document costs linear time.
    let mut seen = HashSet::with_capacity(ops.len());
    if let Some(op) = ops.iter().find(|op| !seen.insert(op.as_str())) {
        return Err(Error::key(format!(
            "`key_ops` lists `{}` twice (RFC 7517 §4.3)",
            echo(op)
        )));
    }
    let signing = |op: &String| op == "sign" || op == "verify";
    let consistent = match key_use {
        Some("sig") => ops.iter().all(signing),
        Some("enc") => !ops.iter().any(signing),
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

/// A string overwritten with zeros when dropped, for base64url text of private members.
#[derive(Default)]
struct Zeroing(String);

impl Drop for Zeroing {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&mut bytes);
    }
}

impl Serialize for Zeroing {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The key-material members as read, before decoding; taken out one by one as the key type
/// asks for them, so that what is left over belongs to another key type.
struct Raw {
    members: [(&'static str, Option<Zeroing>); 12],
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
    fn slot(&mut self, name: &str) -> Option<&mut Option<Zeroing>> {
        self.members
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    fn take(&mut self, name: &str) -> Option<Zeroing> {
        self.slot(name).and_then(Option::take)
    }

    fn missing(name: &str, kty: &str) -> Error {
        Error::key(format!("a JWK of kty `{kty}` needs `{name}`"))
    }

    /// A required string member that is not base64url (`crv`).
    fn text(&mut self, name: &str, kty: &str) -> Result<String, Error> {
        match self.take(name) {
            Some(mut text) => Ok(std::mem::take(&mut text.0)),
            None => Err(Self::missing(name, kty)),
        }
    }

    /// A required public base64url member.
    fn required(&mut self, name: &str, kty: &str) -> Result<Vec<u8>, Error> {
        let text = self.take(name).ok_or_else(|| Self::missing(name, kty))?;
        decode(name, &text.0)
    }

    /// An optional private base64url member.
    fn secret(&mut self, name: &str) -> Result<Option<SecretBytes>, Error> {
        match self.take(name) {
            None => Ok(None),
            Some(text) => Ok(Some(SecretBytes::new(decode(name, &text.0)?))),
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
    key_ops: Option<&'a [String]>,
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
    d: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dp: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dq: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qi: Option<Zeroing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<Zeroing>,
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
        object
            .0
            .map_err(Error::key)
            .and_then(Jwk::from_members)
            .map_err(de::Error::custom)
    }
}

impl fmt::Debug for Jwk {
    /// Shows the type, `kid`, `alg`, `use` and whether the key is private; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.key_type())
            .field("kid", &self.key_id)
            .field("alg", &self.algorithm)
            .field("use", &self.key_use)
            .field("crv", &self.curve())
            .field("private", &self.is_private())
            .finish_non_exhaustive()
    }
}

/// The members of one JSON object in order, or why the value is not an acceptable object (not an
/// object, or a member name repeated). Reading it fails only on invalid JSON, so one bad key in a
/// JWK Set does not stop the others from being read.
pub(crate) struct Object(pub(crate) Result<Vec<(String, Value)>, String>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl ObjectVisitor {
    fn not_object<E>(found: &str) -> Result<Object, E> {
        Ok(Object(Err(format!(
            "a JWK must be a JSON object, found {found}"
        ))))
    }
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut names = HashSet::new();
        let mut duplicate = None;
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            // Duplicate names: RFC 7517 §4 says "MUST be unique"; refuse rather than pick one.
            if names.insert(name.clone()) {
                members.push((name, value));
            } else {
                duplicate.get_or_insert(name);
            }
        }
        Ok(Object(match duplicate {
            None => Ok(members),
            Some(name) => Err(format!(
                "the JWK member `{}` appears more than once (RFC 7517 §4)",
                echo(&name)
            )),
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_object("an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object, E> {
        Self::not_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object, E> {
        Self::not_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Object, E> {
        Self::not_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object, E> {
        Self::not_object("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Object, E> {
        Self::not_object("null")
    }
}

fn hmac_from_jwk(algorithm: Algorithm, jwk: &Jwk, ops: &[&str]) -> Result<HmacKey, Error> {
    jwk.check_use("oct", algorithm, ops)?;
    let Material::Oct { k } = &jwk.material else {
        return Err(Error::key("not an oct JWK"));
    };
    let key = HmacKey::new(algorithm, k.as_bytes())?;
    Ok(with_kid(key, jwk, HmacKey::with_key_id))
}

fn ed25519_public_from_jwk(jwk: &Jwk) -> Result<Ed25519PublicKey, Error> {
    jwk.check_use("OKP", Algorithm::EdDSA, VERIFY)?;
    let (x, _) = jwk.okp()?;
    let key = Ed25519PublicKey::from_bytes(x)?;
    Ok(with_kid(key, jwk, Ed25519PublicKey::with_key_id))
}

fn with_kid<K>(key: K, jwk: &Jwk, set: fn(K, String) -> K) -> K {
    match &jwk.key_id {
        Some(kid) => set(key, kid.clone()),
        None => key,
    }
}

fn no_private_key() -> Error {
    Error::key("the JWK has no private key (`d`): it can verify but not sign")
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
        hmac_from_jwk(algorithm, jwk, &["sign", "verify"])
    }
}

impl RsaPublicKey {
    /// An RSA public key from a JWK of kty `RSA` (`n` and `e`, RFC 7518 §6.3.1), bound to
    /// `algorithm`, with the JWK's `kid`. Of a private JWK only `n` and `e` are used.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use("RSA", algorithm, VERIFY)?;
        let (n, e, _) = jwk.rsa().ok_or_else(|| Error::key("not an RSA JWK"))?;
        let key = RsaPublicKey::from_components(algorithm, n, e)?;
        Ok(with_kid(key, jwk, RsaPublicKey::with_key_id))
    }

    /// The key as a public JWK: `kty`, `kid` when set, `use: sig`, `alg`, `n`, `e`.
    pub fn to_jwk(&self) -> Jwk {
        let (n, e) = self.components();
        Jwk::public(
            Verifier::algorithm(self),
            Verifier::key_id(self),
            Material::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
                private: None,
            },
        )
    }
}

impl RsaPrivateKey {
    /// An RSA private key from a private JWK (RFC 7518 §6.3.2: `n`, `e`, `d` and the CRT
    /// members `p`, `q`, `dp`, `dq`, `qi`), bound to `algorithm`, with the JWK's `kid`.
    /// `ring` checks that the members belong together.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use("RSA", algorithm, SIGN)?;
        let (n, e, private) = jwk.rsa().ok_or_else(|| Error::key("not an RSA JWK"))?;
        let private = private.ok_or_else(no_private_key)?;
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
        Ok(with_kid(key, jwk, RsaPrivateKey::with_key_id))
    }
}

impl EcdsaPublicKey {
    /// An ECDSA public key from a JWK of kty `EC` (RFC 7518 §6.2.1), bound to `algorithm`,
    /// with the JWK's `kid`. `crv` must be the algorithm's curve, and the point must lie on it.
    /// P-521 (ES512) and secp256k1 (ES256K) give [`Error::UnsupportedAlgorithm`].
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use("EC", algorithm, VERIFY)?;
        let (point, _) = jwk.ec_point(algorithm)?;
        let key = EcdsaPublicKey::from_sec1_point(algorithm, &point)?;
        Ok(with_kid(key, jwk, EcdsaPublicKey::with_key_id))
    }

    /// The key as a public JWK: `kty`, `kid` when set, `use: sig`, `alg`, `crv`, `x`, `y`.
    pub fn to_jwk(&self) -> Jwk {
        let algorithm = Verifier::algorithm(self);
        let coordinates = self.sec1_point().get(1..).unwrap_or_default();
        let (x, y) = coordinates.split_at(coordinates.len() / 2);
        Jwk::public(
            algorithm,
            Verifier::key_id(self),
            Material::Ec {
                crv: curve_of(algorithm).unwrap_or_default().to_owned(),
                x: x.to_vec(),
                y: y.to_vec(),
                d: None,
            },
        )
    }
}

impl EcdsaPrivateKey {
    /// An ECDSA private key from a private JWK of kty `EC` (`d` with `x` and `y`, RFC 7518
    /// §6.2.2), bound to `algorithm`, with the JWK's `kid`. `ring` checks that `d` and the
    /// point belong together.
    pub fn from_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use("EC", algorithm, SIGN)?;
        let (point, d) = jwk.ec_point(algorithm)?;
        let d = d.ok_or_else(no_private_key)?;
        let key = EcdsaPrivateKey::from_private_scalar(algorithm, d.as_bytes(), &point)?;
        Ok(with_kid(key, jwk, EcdsaPrivateKey::with_key_id))
    }
}

impl Ed25519PublicKey {
    /// An Ed25519 public key from a JWK of kty `OKP` and `crv: Ed25519` (RFC 8037 §2), with the
    /// JWK's `kid`. Its `alg`, when present, must be `EdDSA`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        ed25519_public_from_jwk(jwk)
    }

    /// The key as a public JWK: `kty: OKP`, `kid` when set, `use: sig`, `alg: EdDSA`,
    /// `crv: Ed25519`, `x`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk::public(
            Algorithm::EdDSA,
            Verifier::key_id(self),
            Material::Okp {
                crv: "Ed25519".to_owned(),
                x: self.as_bytes().to_vec(),
                d: None,
            },
        )
    }
}

impl Ed25519PrivateKey {
    /// An Ed25519 private key from a private JWK of kty `OKP` (`d`, the 32-byte seed, and `x`,
    /// RFC 8037 §2), with the JWK's `kid`. `ring` checks that `x` is the seed's public key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        jwk.check_use("OKP", Algorithm::EdDSA, SIGN)?;
        let (x, d) = jwk.okp()?;
        let d = d.ok_or_else(no_private_key)?;
        let key = Ed25519PrivateKey::from_seed_and_public_key(d.as_bytes(), x)?;
        Ok(with_kid(key, jwk, Ed25519PrivateKey::with_key_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn key_ops_must_be_unique_and_agree_with_use() {
        assert!(check_key_ops(&ops(&["sign", "verify"]), Some("sig")).is_ok());
        assert!(check_key_ops(&ops(&["verify", "verify"]), None).is_err());
        assert!(check_key_ops(&ops(&["encrypt"]), Some("sig")).is_err());
        assert!(check_key_ops(&ops(&["verify"]), Some("enc")).is_err());
        assert!(check_key_ops(&ops(&["deriveKey"]), Some("enc")).is_ok());
        assert!(check_key_ops(&[], Some("sig")).is_ok());
    }

    #[test]
    fn object_reports_duplicates_and_non_objects_without_failing_the_parse() {
        let parse = |json: &str| serde_json::from_str::<Object>(json).map(|o| o.0);
        assert_eq!(parse(r#"{"a":1,"b":"x"}"#).unwrap().unwrap().len(), 2);
        assert!(parse(r#"{"a":1,"a":2}"#)
            .unwrap()
            .unwrap_err()
            .contains("`a`"));
        assert!(parse(r#"{"a":1,"\u0061":2}"#).unwrap().is_err());
        for not_object in ["[1,[2]]", "true", "-1", "1", "1.5", "\"s\"", "null"] {
            assert!(parse(not_object).unwrap().is_err(), "{not_object}");
        }
        assert!(parse("{").is_err(), "invalid JSON is an error of the parse");
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
            let fitting: Vec<&str> = [&rsa, &p256, &ed, &x25519, &oct]
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
        assert_eq!(curve_of(ES512), Some("P-521"));
    }
}
