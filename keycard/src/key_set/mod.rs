//! JWK Sets (RFC 7517 §5): [`KeySet`], the keys a [`Validator`](crate::Validator) chooses from
//! by a token's `kid` and `alg`, read from and written to the JSON an identity provider
//! publishes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::algorithm::Algorithm;
use crate::encoding::json::{self, Object};
use crate::error::{echo, Error};
use crate::jwk::{Jwk, KeyType, Purpose, SkippedKey};
use crate::keys::Verifier;

mod shared;
mod source;

pub(crate) use shared::SharedKeys;
pub use source::KeySource;

pub(crate) use crate::limits::{MAX_JWKS_KEYS, MAX_KEYS_TRIED};

/// A set of verification keys, each bound to one algorithm, most often read from a JWK Set
/// document (RFC 7517 §5) such as an identity provider's `jwks_uri`.
///
/// Reading a document never fails because of one key: keys keycard cannot use (a `use: enc` key,
/// an unsupported curve, a modulus under 2048 bits, a JWE algorithm) are left out and listed by
/// [`skipped`](KeySet::skipped), so that a provider adding a key type you do not use does not take
/// your service down. Only a document that is not a JWK Set at all is an error.
///
/// Choosing a key for a token (RFC 7515 §4.1.4, RFC 8725 §3.1):
/// - a token with a `kid` is tried against the keys with that `kid`, then the keys without any;
///   when there are none, the error is [`Error::UnknownKeyId`], your cue to fetch the set again;
/// - a token without a `kid` is tried against the keys whose algorithm is the token's;
/// - either way a key verifies only tokens of its own algorithm, and at most
///   [`MAX_KEYS_TRIED`] keys are tried for one token, so that a token costs the same whatever
///   the size of the set ([`Error::TooManyCandidateKeys`] when more would fit).
///
/// HMAC secrets (`kty: oct`) in a document are skipped: a published key set never holds secrets.
/// [`from_jwks_with_secrets`](KeySet::from_jwks_with_secrets) reads them from a document you keep
/// private.
///
/// ```
/// use keycard::{Builder, Ed25519PrivateKey, ErrorKind, KeySet, Validator};
/// use time::Duration;
///
/// let signing_key = Ed25519PrivateKey::generate()?.with_key_id("2026-11");
/// // The issuer publishes its public keys...
/// let mut published = KeySet::new();
/// published.insert(signing_key.public_key());
/// let document = published.to_json();
///
/// // ...and a service reads them.
/// let keys = KeySet::from_jwks(&document)?;
/// assert!(keys.skipped().is_empty());
/// let validator = Validator::builder_with_keys(keys).build()?;
///
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&signing_key)?;
/// validator.verify::<keycard::Claims>(&token)?;
///
/// let stranger = Ed25519PrivateKey::generate()?.with_key_id("2027-01");
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&stranger)?;
/// let err = validator.verify::<keycard::Claims>(&token).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<dyn Verifier>>,
    skipped: Vec<SkippedKey>,
}

impl KeySet {
    /// An empty set; add keys with [`insert`](KeySet::insert).
    pub fn new() -> Self {
        KeySet::default()
    }

    /// Reads a JWK Set document, `{"keys": [...]}`, using each key for the algorithm its `alg`
    /// member names. Keys without `alg` are skipped: name their algorithms with
    /// [`from_jwks_for`](KeySet::from_jwks_for).
    ///
    /// Also skipped (see [`skipped`](KeySet::skipped)): keys that are not for signatures (`use`
    /// other than `sig`, `key_ops` without `verify`), keys whose algorithm keycard does not
    /// implement, keys whose material is refused, asymmetric keys that carry a private key (a
    /// set meant for verifying should hold public keys only), and keys whose `kid` and algorithm
    /// are both shared with another key of the document (ambiguous, RFC 7517 §4.5).
    ///
    /// Also skipped: HMAC secrets (`kty: oct`), which have no place in a published document
    /// (anyone who reads it could sign tokens), keys past the [`MAX_JWKS_KEYS`]th, and keys that
    /// are not readable on their own (nesting deeper than
    /// [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH), a number out of range, a member name
    /// repeated).
    ///
    /// # Errors
    /// [`ErrorKind::Key`](crate::ErrorKind::Key) when the text is not JSON, not an object, or has no `keys` array.
    pub fn from_jwks(json: &str) -> Result<Self, Error> {
        Self::read(json, None, false)
    }

    /// Reads a JWK Set document like [`from_jwks`](KeySet::from_jwks) but also takes its HMAC
    /// secrets (`kty: oct`), for the rare case of a document of secrets that you keep private
    /// and trust (a secrets manager, a file only your services read). Never use it for a
    /// provider's published `jwks_uri`: whoever can write that document could then sign tokens.
    ///
    /// ```
    /// use keycard::KeySet;
    ///
    /// // RFC 7520 Figure 5: a symmetric key for HS256.
    /// let secrets = r#"{"keys":[{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037",
    ///     "use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}"#;
    /// assert!(KeySet::from_jwks(secrets)?.is_empty());
    /// assert_eq!(KeySet::from_jwks_with_secrets(secrets)?.len(), 1);
    /// # Ok::<(), keycard::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_jwks`](KeySet::from_jwks).
    pub fn from_jwks_with_secrets(json: &str) -> Result<Self, Error> {
        Self::read(json, None, true)
    }

    /// Reads a JWK Set document accepting only `algorithms`: a key whose `alg` is not among them
    /// is skipped, and a key without `alg` is used for each of them its type fits (an RSA key
    /// for each RS* and PS* listed, an EC key for the one its curve serves, ...). Each use is a
    /// separate key value bound to one algorithm.
    ///
    /// ```
    /// use keycard::{Algorithm, KeySet};
    ///
    /// // RFC 7517 Appendix A.1: the EC key is for encryption; the RSA key says RS256.
    /// let document = r#"{"keys": [
    ///   {"kty":"EC","crv":"P-256","use":"enc","kid":"1",
    ///    "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    ///    "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
    ///   {"kty":"RSA","alg":"RS256","kid":"2011-04-29","e":"AQAB",
    ///    "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
    /// ]}"#;
    /// let keys = KeySet::from_jwks_for(document, &[Algorithm::RS256, Algorithm::ES256])?;
    /// assert_eq!(keys.len(), 1);
    /// assert_eq!(keys.skipped()[0].key_id(), Some("1"));
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn from_jwks_for(json: &str, algorithms: &[Algorithm]) -> Result<Self, Error> {
        Self::read(json, Some(algorithms), false)
    }

    fn read(json: &str, accepted: Option<&[Algorithm]>, secrets: bool) -> Result<Self, Error> {
        let raw: Document<'_> = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("not a JWK Set (RFC 7517 §5): {e}")))?;
        // Each key is read on its own, so that one that cannot be read (too deep, a number out
        // of range) is skipped and reported instead of failing the document.
        let document = Keys {
            keys: raw.keys.iter().map(|key| read_key(key.get())).collect(),
        };
        // RFC 7517 §4.5: keys SHOULD have distinct `kid`s, except keys of different types meant
        // as alternatives. Entries that share `kid`, `kty` and `alg` cannot be told apart by a
        // token, so none of them is used, even when one of them would be refused anyway: such a
        // document is not what its publisher meant.
        let identities: Vec<Option<[Option<&str>; 3]>> = document
            .keys
            .iter()
            .map(|object| {
                let members = object.0.as_ref().ok()?;
                let kid = member(members, "kid")?;
                Some([Some(kid), member(members, "kty"), member(members, "alg")])
            })
            .collect();
        let mut entries: HashMap<[Option<&str>; 3], usize> = HashMap::new();
        for identity in identities.iter().flatten() {
            *entries.entry(*identity).or_default() += 1;
        }
        let duplicates: Vec<bool> = identities
            .iter()
            .map(|identity| identity.is_some_and(|id| entries.get(&id).is_some_and(|&n| n > 1)))
            .collect();

        let mut found: Vec<(usize, Arc<dyn Verifier>)> = Vec::new();
        let mut set = KeySet::new();
        for (index, object) in document.keys.iter().enumerate() {
            let members = match &object.0 {
                Ok(members) => members,
                Err(reason) => {
                    set.skip(index, None, &Error::key(reason.clone()));
                    continue;
                }
            };
            let kid = member(members, "kid").map(echo);
            if duplicates[index] {
                let err = Error::key(
                    "another key of the set has the same kid, kty and alg, so a token cannot say \
                     which one it means (RFC 7517 §4.5)",
                );
                set.skip(index, kid, &err);
                continue;
            }
            match Self::verifiers(members.clone(), accepted, secrets) {
                Ok(verifiers) => {
                    for verifier in verifiers {
                        match verifier {
                            Ok(verifier) => found.push((index, verifier)),
                            Err(err) => set.skip(index, kid.clone(), &err),
                        }
                    }
                }
                Err(err) => set.skip(index, kid, &err),
            }
        }
        // The same for keys that end up sharing `kid` and algorithm (a key without `alg` read
        // for an algorithm another key with its `kid` names).
        let mut uses: HashMap<(&str, Algorithm), usize> = HashMap::new();
        for (_, key) in &found {
            if let Some(kid) = key.key_id() {
                *uses.entry((kid, key.algorithm())).or_default() += 1;
            }
        }
        for (index, key) in &found {
            let ambiguous = key
                .key_id()
                .is_some_and(|kid| uses.get(&(kid, key.algorithm())).is_some_and(|&n| n > 1));
            if ambiguous {
                let kid = key.key_id().map(echo);
                let err = Error::key(format!(
                    "another {} key has the same kid, so a token cannot say which one it means \
                     (RFC 7517 §4.5)",
                    key.algorithm()
                ));
                set.skip(*index, kid, &err);
            } else {
                set.keys.push(Arc::clone(key));
            }
        }
        if raw.unread > 0 {
            let err = Error::key(format!(
                "this key and the {} after it were not read: a JWK Set is read up to its \
                 {MAX_JWKS_KEYS}th key",
                raw.unread - 1
            ));
            set.skip(MAX_JWKS_KEYS, None, &err);
        }
        set.skipped.sort_by_key(SkippedKey::index);
        Ok(set)
    }

    /// The verifiers one JWK of a document gives, one per algorithm, or why it gives none.
    #[allow(clippy::type_complexity)]
    fn verifiers(
        members: Vec<(String, serde_json::Value)>,
        accepted: Option<&[Algorithm]>,
        secrets: bool,
    ) -> Result<Vec<Result<Arc<dyn Verifier>, Error>>, Error> {
        let jwk = Jwk::from_members(members)?;
        if jwk.key_type() == KeyType::Oct && !secrets {
            return Err(Error::key(
                "the JWK is an HMAC secret (`kty: oct`), which a published key set must not \
                 hold; read a private, trusted document of secrets with \
                 `KeySet::from_jwks_with_secrets`",
            ));
        }
        jwk.check_purpose(Purpose::Verify)?;
        if jwk.is_private() && jwk.key_type() != KeyType::Oct {
            return Err(Error::key(
                "the JWK holds a private key: a key set for verifying takes public keys only",
            ));
        }
        let algorithms: Vec<Algorithm> = match (jwk.algorithm(), accepted) {
            (Some(alg), accepted) => {
                let alg = alg.parse::<Algorithm>()?;
                if accepted.is_some_and(|list| !list.contains(&alg)) {
                    return Err(Error::AlgorithmMismatch {
                        found: alg,
                        expected: accepted.unwrap_or_default().to_vec(),
                    });
                }
                vec![alg]
            }
            (None, None) => {
                return Err(Error::key(
                    "the JWK has no `alg`: name the algorithms to use it for with \
                     `KeySet::from_jwks_for`",
                ))
            }
            (None, Some(list)) => {
                let fitting: Vec<Algorithm> =
                    list.iter().copied().filter(|alg| jwk.fits(*alg)).collect();
                if fitting.is_empty() {
                    return Err(Error::key(format!(
                        "the JWK has no `alg`, and none of the accepted algorithms fits a key of \
                         kty `{}`{}",
                        jwk.key_type(),
                        jwk.curve()
                            .map(|crv| format!(" on curve `{crv}`"))
                            .unwrap_or_default()
                    )));
                }
                fitting
            }
        };
        Ok(algorithms
            .into_iter()
            .map(|alg| jwk.to_verifier(alg).map(Arc::from))
            .collect())
    }

    #[cold]
    fn skip(&mut self, index: usize, key_id: Option<String>, err: &Error) {
        self.skipped
            .push(SkippedKey::new(index, key_id, err.kind(), err.to_string()));
    }

    /// Adds a key. A key with a key id answers only to tokens with that `kid`; a key without one
    /// is tried for any token of its algorithm.
    pub fn insert(&mut self, key: impl Verifier + 'static) {
        self.keys.push(Arc::new(key));
    }

    /// Removes the keys whose key id is `kid` and returns how many there were.
    pub fn remove(&mut self, kid: &str) -> usize {
        let before = self.keys.len();
        self.keys.retain(|key| key.key_id() != Some(kid));
        before - self.keys.len()
    }

    /// The number of usable keys (a JWK used for two algorithms counts twice).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The usable keys, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Verifier> + '_ {
        self.keys.iter().map(|key| &**key as &dyn Verifier)
    }

    /// The keys of the document that were left out, and why; log them when you load a set.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The set as a JWK Set document, `{"keys":[...]}`, of the public keys only: keys that have
    /// no public form (HMAC secrets, your own verifiers without
    /// [`public_jwk`](Verifier::public_jwk)) are left out, so publishing the result never
    /// publishes a secret.
    // An invariant, not input: a list of JWKs always serializes.
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Out {
            keys: Vec<Jwk>,
        }
        let keys = self
            .keys
            .iter()
            .filter_map(|key| key.public_jwk())
            .collect();
        serde_json::to_string(&Out { keys }).expect("JWKs always serialize")
    }

    /// Verifies a JWS signature with the key the header chooses: by `kid` when the token has
    /// one, by algorithm always (the key's algorithm decides, never the header: RFC 8725 §3.1).
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        let mut kid_known = false;
        let mut algorithm_known = false;
        let mut tried = 0;
        // Keys with the token's `kid` first, then keys without a `kid`; a token without `kid`
        // meets every key in one pass.
        let exact = self
            .keys
            .iter()
            .filter(|key| kid.is_some() && key.key_id() == kid);
        let others = self
            .keys
            .iter()
            .filter(|key| kid.is_none() || key.key_id().is_none());
        for key in exact.chain(others) {
            kid_known = true;
            if key.algorithm() != algorithm {
                continue;
            }
            algorithm_known = true;
            if tried == MAX_KEYS_TRIED {
                // One more key fits: say so rather than try it (SECURITY.md, limits).
                return Err(self.too_many_candidates(kid, algorithm));
            }
            tried += 1;
            if key.verify(message, signature).is_ok() {
                return Ok(());
            }
        }
        Err(self.no_key_verified(kid, algorithm, kid_known, algorithm_known))
    }

    /// The error for a token that more than [`MAX_KEYS_TRIED`] keys fit, counting them.
    #[cold]
    fn too_many_candidates(&self, kid: Option<&str>, algorithm: Algorithm) -> Error {
        let candidates = self
            .keys
            .iter()
            .filter(|key| key.algorithm() == algorithm && answers_to(&***key, kid))
            .count();
        Error::TooManyCandidateKeys {
            candidates,
            tried: MAX_KEYS_TRIED,
        }
    }

    #[cold]
    fn no_key_verified(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
        kid_known: bool,
        algorithm_known: bool,
    ) -> Error {
        match kid {
            Some(kid) if !kid_known => Error::unknown_key_id(kid),
            _ if !algorithm_known => {
                let mut expected: Vec<Algorithm> = Vec::new();
                for key in self.keys.iter().filter(|key| answers_to(&***key, kid)) {
                    if !expected.contains(&key.algorithm()) {
                        expected.push(key.algorithm());
                    }
                }
                Error::AlgorithmMismatch {
                    found: algorithm,
                    expected,
                }
            }
            _ => Error::Signature,
        }
    }
}

/// A string member of a JWK's members.
fn member<'a>(members: &'a [(String, serde_json::Value)], name: &str) -> Option<&'a str> {
    members.iter().find_map(|(n, value)| match value {
        serde_json::Value::String(text) if n == name => Some(text.as_str()),
        _ => None,
    })
}

/// A key with an id answers only to that id; a key without one, and a token without one, match
/// anything.
fn answers_to(key: &dyn Verifier, kid: Option<&str>) -> bool {
    match (kid, key.key_id()) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => true,
    }
}

impl<V: Verifier + 'static> FromIterator<V> for KeySet {
    fn from_iter<I: IntoIterator<Item = V>>(keys: I) -> Self {
        let mut set = KeySet::new();
        for key in keys {
            set.insert(key);
        }
        set
    }
}

/// One key of a document, read on its own: its members, or why it cannot be used.
fn read_key(json: &str) -> Object {
    if let Err(why) = json::check_depth(json.as_bytes()) {
        return Object(Err(why.to_owned()));
    }
    serde_json::from_str::<Object>(json)
        .unwrap_or_else(|e| Object(Err(format!("the key is not readable JSON: {e}"))))
}

/// The keys of a document, each read on its own.
struct Keys {
    keys: Vec<Object>,
}

/// The top level of a JWK Set document: an object whose `keys` member is an array; other
/// members are ignored (RFC 7517 §5). The keys stay unparsed text (checked to be JSON), at most
/// [`MAX_JWKS_KEYS`] of them; `unread` counts the rest.
struct Document<'a> {
    keys: Vec<&'a RawValue>,
    unread: usize,
}

/// The `keys` array: its first [`MAX_JWKS_KEYS`] entries as text, and how many more there are.
struct RawKeys<'a>(Vec<&'a RawValue>, usize);

impl<'de> Deserialize<'de> for RawKeys<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = RawKeys<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of JWKs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKeys<'de>, A::Error> {
                let mut keys = Vec::new();
                while keys.len() < MAX_JWKS_KEYS {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(key) => keys.push(key),
                        None => return Ok(RawKeys(keys, 0)),
                    }
                }
                let mut unread = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    unread += 1;
                }
                Ok(RawKeys(keys, unread))
            }
        }
        deserializer.deserialize_seq(KeysVisitor)
    }
}

impl<'de> Deserialize<'de> for Document<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with a `keys` array")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document<'de>, A::Error> {
                let mut keys = None;
                while let Some(name) = map.next_key::<json::Str<'de>>()? {
                    if name.0 == "keys" {
                        if keys.is_some() {
                            return Err(de::Error::custom("`keys` appears more than once"));
                        }
                        keys = Some(map.next_value::<RawKeys<'de>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                let RawKeys(keys, unread) =
                    keys.ok_or_else(|| de::Error::custom("there is no `keys` array"))?;
                Ok(Document { keys, unread })
            }
        }
        deserializer.deserialize_map(DocumentVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HmacKey;

    #[test]
    fn errors_name_the_missing_kid_or_the_algorithms_there_are() {
        let mut set = KeySet::new();
        let empty = set.verify(None, Algorithm::HS256, b"m", b"s").unwrap_err();
        assert!(
            matches!(empty, Error::AlgorithmMismatch { ref expected, .. } if expected.is_empty())
        );
        set.insert(
            HmacKey::new(Algorithm::HS256, &[1; 32])
                .unwrap()
                .with_key_id("a"),
        );
        set.insert(HmacKey::new(Algorithm::HS384, &[1; 48]).unwrap());
        let err = set
            .verify(Some("b"), Algorithm::HS512, b"m", b"s")
            .unwrap_err();
        // The kid-less HS384 key answers to any kid, so the kid is not unknown.
        assert!(
            matches!(err, Error::AlgorithmMismatch { ref expected, .. } if expected == &[Algorithm::HS384]),
            "{err}"
        );
        set.remove("a");
        let err = set
            .verify(Some("a"), Algorithm::HS384, b"m", b"s")
            .unwrap_err();
        assert!(matches!(err, Error::Signature), "{err}");
        let only_a = KeySet::from_iter([HmacKey::new(Algorithm::HS256, &[1; 32])
            .unwrap()
            .with_key_id("a")]);
        let err = only_a
            .verify(Some("b"), Algorithm::HS256, b"m", b"s")
            .unwrap_err();
        assert!(
            matches!(err, Error::UnknownKeyId { ref kid, .. } if kid == "b"),
            "{err}"
        );
    }
}
