//! Checking tokens: [`Validator`] and its [`ValidatorBuilder`].
//!
//! [`Validator::verify`] is the hot path and reads top to bottom in the order of the checks:
//! length → split → header → base64url of the other parts → key choice → signature → claims JSON →
//! claim rules. The payload is not parsed before the signature has verified (RFC 8725 §3.1,
//! SECURITY.md item 21).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::cache::{self, CacheSettings, Found, TokenCache};
use super::{Checks, RevocationList};
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::encoding::base64url;
use crate::error::{self, echo, Error};
use crate::key_set::{KeySet, KeySource, SharedKeys};
use crate::keys::Verifier;
use crate::token::claims::{self, Registered, MAX_NANOS, MIN_NANOS};
use crate::token::compact;
use crate::token::header::{self, RawHeader};

pub(crate) use crate::limits::{DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY};

/// Verifies tokens against a set of keys and fixed rules.
///
/// Build one with [`Validator::builder`] (or [`Validator::builder_with_keys`] for a JWK Set),
/// once, and share it: it is cheap to clone (the state sits behind an `Arc`) and safe to use from
/// many threads. Its keys can be replaced while it is in use, for all clones at once, with
/// [`replace_keys`](Validator::replace_keys).
///
/// Secure by default: `exp` is required, a token with an `aud` is refused unless you name the
/// audience, `typ` must be absent or `JWT` unless you expect another, `none` and unknown `crit`
/// headers are refused, tokens over 8 KiB are refused before any decoding.
///
/// ```
/// use keycard::{Algorithm, Builder, Claims, HmacKey, Validator};
/// use time::Duration;
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let token = Builder::new()
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .expires_in(Duration::minutes(15))
///     .sign(&key)?;
///
/// let validator = Validator::builder(key)
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .build()?;
/// let claims: Claims = validator.verify(&token)?;
/// assert_eq!(claims.issuer.as_deref(), Some("https://auth.example.com"));
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Clone)]
pub struct Validator {
    rules: Arc<Rules>,
}

/// Shows the configuration and the number of keys; never key material or store contents.
impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rules.fmt(f)
    }
}

struct Rules {
    /// Tells this validator's rules (shared by its clones) from every other's, for
    /// [`HeaderMemo`]; 0 until built.
    id: u64,
    /// The current key set, replaced whole by [`Validator::replace_keys`] for every clone; read
    /// without locks or shared counters on the verify path (see `keys::SharedKeys`).
    keys: SharedKeys,
    /// [`ValidatorBuilder::key`] was called on a builder over a [`KeySource`]: refused by `build`.
    key_added_to_source: bool,
    issuers: Vec<String>,
    audiences: Vec<String>,
    any_audience: bool,
    subject: Option<String>,
    /// The accepted `typ`s; empty: absent or `JWT`.
    token_types: Vec<String>,
    required: Vec<String>,
    require_exp: bool,
    leeway: Duration,
    max_len: usize,
    /// `None`: the system clock, read as an integer (no calendar arithmetic on the verify path).
    clock: Option<Arc<dyn Clock>>,
    /// Revocation, scopes, OpenID Connect: the steps after the registered claims.
    checks: Checks,
    /// What `cache_verified` and its companions asked for; made into `cache` by `build`.
    cache_settings: Option<CacheSettings>,
    cache_max_bytes: Option<usize>,
    cache_max_token_len: Option<usize>,
    /// The verified-token cache, shared by every clone of the validator.
    cache: Option<TokenCache>,
}

/// The configuration and the number of keys, never the contents of a store: a revocation list
/// holds an entry per revoked token or session, and `Debug` output lands in logs.
impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.snapshot();
        f.debug_struct("Validator")
            .field("keys", &keys.len())
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("any_audience", &self.any_audience)
            .field("subject", &self.subject)
            .field("token_types", &self.token_types)
            .field("required", &self.required)
            .field("require_exp", &self.require_exp)
            .field("leeway", &self.leeway)
            .field("max_len", &self.max_len)
            .field("revocations", &self.checks.revocations.is_some())
            .field("scopes", &self.checks.scopes)
            .field("client_id", &self.checks.client_id)
            .field("max_age", &self.checks.max_age)
            .field("cache", &self.cache.as_ref().map(CacheDebug))
            .finish_non_exhaustive()
    }
}

/// A cache's settings and how full it is, never its tokens or claims.
struct CacheDebug<'a>(&'a TokenCache);

impl std::fmt::Debug for CacheDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = self.0.settings();
        let (entries, bytes) = self.0.usage();
        f.debug_struct("TokenCache")
            .field("max_entries", &settings.max_entries)
            .field("max_age", &settings.max_age)
            .field("max_bytes", &self.0.max_bytes())
            .field("max_token_len", &settings.max_token_len)
            .field("entries", &entries)
            .field("bytes", &bytes)
            .finish()
    }
}

/// Configures a [`Validator`]; finish with [`build`](ValidatorBuilder::build).
#[must_use = "call `build` to get a Validator"]
pub struct ValidatorBuilder {
    rules: Rules,
}

/// Shows the configuration so far, like the [`Validator`]'s `Debug`.
impl std::fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rules.fmt(f)
    }
}

impl Validator {
    /// Starts a validator that verifies signatures with `key`.
    ///
    /// The key decides the algorithm: a token whose `alg` differs from the key's is refused.
    pub fn builder(key: impl Verifier + 'static) -> ValidatorBuilder {
        Self::builder_with_keys(std::iter::once(key).collect())
    }

    /// Starts a validator that chooses among `keys` by each token's `kid` and `alg`, for
    /// instance an identity provider's JWK Set read with [`KeySet::from_jwks`]. The set can be
    /// replaced later, while the validator is in use, with [`replace_keys`](Self::replace_keys).
    ///
    /// ```
    /// use keycard::{Algorithm, KeySet, Validator};
    ///
    /// let jwks = r#"{"keys":[{"kty":"oct","kid":"k1","alg":"HS256",
    ///     "k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}"#;
    /// // A private document of secrets; `from_jwks` skips HMAC secrets.
    /// let validator = Validator::builder_with_keys(KeySet::from_jwks_with_secrets(jwks)?).build()?;
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn builder_with_keys(keys: KeySet) -> ValidatorBuilder {
        Self::builder_on(SharedKeys::new(keys))
    }

    /// Starts a validator whose keys come from `source` and follow its changes, for instance a
    /// remote JWK Set (`keycard-jwks`'s `RemoteKeySet`). Every verification first asks the
    /// source whether its keys can still be trusted ([`KeySource::generation`]); when they
    /// cannot, it fails with [`ErrorKind::KeySource`](crate::ErrorKind::KeySource) instead of
    /// checking the signature. Every other option is the same as for a validator with its own
    /// keys.
    ///
    /// See [`KeySource`] for an example.
    pub fn builder_with_source(source: Arc<dyn KeySource>) -> ValidatorBuilder {
        Self::builder_on(SharedKeys::from_source(source))
    }

    fn builder_on(keys: SharedKeys) -> ValidatorBuilder {
        ValidatorBuilder {
            rules: Rules {
                id: 0,
                keys,
                key_added_to_source: false,
                issuers: Vec::new(),
                audiences: Vec::new(),
                any_audience: false,
                subject: None,
                token_types: Vec::new(),
                required: Vec::new(),
                require_exp: true,
                leeway: Duration::ZERO,
                max_len: DEFAULT_MAX_TOKEN_LEN,
                clock: None,
                checks: Checks::default(),
                cache_settings: None,
                cache_max_bytes: None,
                cache_max_token_len: None,
                cache: None,
            },
        }
    }

    /// Replaces the key set, atomically, for this validator and every clone of it, while other
    /// threads go on verifying: each verification uses either the old set or the new one, never
    /// a mix. Verifications that start after `replace_keys` returns use the new set, so a key
    /// left out of it is no longer accepted; verifications already running finish with the set
    /// they started with.
    ///
    /// An empty set is accepted here (every token is then refused) so that a bad refresh can fail
    /// closed; [`build`](ValidatorBuilder::build) refuses one.
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, ErrorKind, HmacKey, KeySet, Validator};
    /// use time::Duration;
    ///
    /// let old = HmacKey::generate(keycard::Algorithm::HS256)?.with_key_id("old");
    /// let new = HmacKey::generate(keycard::Algorithm::HS256)?.with_key_id("new");
    /// let validator = Validator::builder(old.clone()).build()?;
    /// let shared = validator.clone(); // e.g. in another thread
    ///
    /// validator.replace_keys(KeySet::from_iter([new.clone()]))?;
    /// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&new)?;
    /// shared.verify::<keycard::Claims>(&token)?;
    /// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&old)?;
    /// let err = shared.verify::<keycard::Claims>(&token).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    /// # Ok::<(), keycard::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) on a validator built over a
    /// [`KeySource`] ([`builder_with_source`](Self::builder_with_source)): the source alone
    /// replaces its keys.
    pub fn replace_keys(&self, keys: KeySet) -> Result<(), Error> {
        self.rules.keys.replace(keys)
    }

    /// The source this validator's keys come from, when it was built with
    /// [`builder_with_source`](Self::builder_with_source): the async edge asks it to
    /// [`refetch`](KeySource::refetch) when a token names an unknown `kid`.
    pub fn key_source(&self) -> Option<&Arc<dyn KeySource>> {
        self.rules.keys.source()
    }

    /// The current key set: a snapshot, unaffected by later [`replace_keys`](Self::replace_keys)
    /// calls. Clone it to build the next set from this one.
    pub fn keys(&self) -> Arc<KeySet> {
        self.rules.keys.snapshot()
    }

    /// Verifies `token` and returns its claims as `T`.
    ///
    /// `T` is any type that deserializes from the claims object: [`Claims`](crate::Claims), your
    /// own struct, or `serde_json::Value`. The registered claims are checked whatever `T` is.
    ///
    /// # Errors
    /// An [`Error`] whose [`kind`](Error::kind) says which check failed. Claims are returned only
    /// when every check passed.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        let mut inline = [0u8; INLINE_PAYLOAD];
        let mut heap = Vec::new();
        self.verify_in(token, &mut inline, &mut heap)
    }

    /// Verifies `token` like [`verify`](Self::verify), decoding the claims into `buffer` so that
    /// `T` can borrow from it (`&str` or `Cow<str>` fields) instead of allocating.
    ///
    /// Reuse one buffer across calls (per thread or per connection) and verifying a token
    /// allocates nothing once the buffer has grown to the size of a payload.
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, HmacKey, Validator};
    /// use serde::Deserialize;
    /// use time::Duration;
    ///
    /// #[derive(Deserialize)]
    /// struct Caller<'a> { sub: &'a str }
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let token = Builder::new().subject("user-42").expires_in(Duration::minutes(5)).sign(&key)?;
    /// let validator = Validator::builder(key).build()?;
    ///
    /// let mut buffer = Vec::with_capacity(1024);
    /// let caller: Caller<'_> = validator.verify_borrowed(&token, &mut buffer)?;
    /// assert_eq!(caller.sub, "user-42");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn verify_borrowed<'b, T: Deserialize<'b>>(
        &self,
        token: &str,
        buffer: &'b mut Vec<u8>,
    ) -> Result<T, Error> {
        self.verify_in(token, &mut [], buffer)
    }

    /// `verify` and `verify_borrowed`, decoding the claims into `inline` when they fit and into
    /// `heap` otherwise. With a verified-token cache, a token it holds (for this key set, and
    /// not too old) takes its claims JSON from there instead of from the steps up to the
    /// signature; everything after (reading the claims into `T`, the claim rules, revocation,
    /// scopes, OpenID Connect) runs either way, and a token enters the cache only once all of it
    /// has passed.
    fn verify_in<'b, T: Deserialize<'b>>(
        &self,
        token: &str,
        inline: &'b mut [u8],
        heap: &'b mut Vec<u8>,
    ) -> Result<T, Error> {
        let rules = &*self.rules;
        let cache = rules
            .cache
            .as_ref()
            .filter(|cache| cache.admits(token) && token.len() <= rules.max_len);
        let Some(cache) = cache else {
            let payload = self.verified_payload(token, inline, heap)?;
            return rules.checked_claims(payload, rules.now());
        };
        let now = rules.now();
        if let Some((found, generation)) = cache.get(token, now, inline, heap) {
            // The key set it was verified under must still be the current one; a key source
            // whose keys went stale fails here as it would at the signature.
            if rules.keys.generation()? == generation {
                return match found {
                    Found::Inline(len) => rules.checked_claims(&inline[..len], now),
                    Found::Heap => rules.checked_claims(heap, now),
                };
            }
        }
        // Read before the token is verified: the entry made below is tied to the key set that
        // verified it or an older one (then dropped at the next lookup), never to a newer one.
        // When it cannot be read, the token is verified as without a cache, for its error.
        let Ok(generation) = rules.keys.generation() else {
            let payload = self.verified_payload(token, inline, heap)?;
            return rules.checked_claims(payload, now);
        };
        let payload = self.verified_payload(token, inline, heap)?;
        let claims = rules.checked_claims(payload, now)?;
        cache.insert(token, payload, generation, now);
        Ok(claims)
    }

    /// Runs every check up to the signature and returns the verified claims JSON, decoded into
    /// `inline` when it fits and into `heap` otherwise; [`Rules::checked_claims`] does the rest.
    fn verified_payload<'b>(
        &self,
        token: &str,
        inline: &'b mut [u8],
        heap: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], Error> {
        let rules = &*self.rules;

        // 1. Size, before any decoding (SECURITY.md item 16).
        if token.len() > rules.max_len {
            return Err(Error::malformed(format!(
                "token is {} bytes, longer than the {} allowed",
                token.len(),
                rules.max_len
            )));
        }

        // 2. Exactly three parts (RFC 7515 §7.1; five would be a JWE, RFC 7516 §9).
        let compact::Compact {
            signing_input,
            header: header_b64,
            payload: payload_b64,
            signature: signature_b64,
        } = compact::split(token)?;

        // 3. Header: strict JSON, no `none`, no `crit`, expected `typ`. A header whose exact text
        // this thread has seen pass every check of this validator, signature included, is not
        // read again (`HeaderMemo`): the same bytes give the same answers.
        let remembered = HEADER_MEMO
            .try_with(|memo| memo.try_borrow().is_ok_and(|m| m.is(rules.id, header_b64)))
            .unwrap_or(false);
        // Buffers are zeroed only on the branch that uses them (a remembered header needs none).
        let mut header_inline;
        let mut header_heap = Vec::new();
        let header = if remembered {
            None
        } else {
            header_inline = [0u8; INLINE_HEADER];
            let header_json = base64url::decode_buffered(
                header_b64,
                "header",
                &mut header_inline,
                &mut header_heap,
            )?;
            let header = header::parse(header_json)?;
            if !header.algorithm.is_supported() {
                return Err(Error::UnsupportedAlgorithm {
                    alg: header.algorithm.as_str().to_owned(),
                });
            }
            rules.check_header(&header)?;
            Some(header)
        };

        // 4. The other two parts must be canonical base64url too; decoding is not parsing.
        if signature_b64.is_empty() {
            return Err(Error::Signature);
        }
        // HMAC, ECDSA and EdDSA signatures on a small buffer, RSA's on a large one.
        let (mut small, mut large);
        let mut signature_heap = Vec::new();
        let signature_inline: &mut [u8] =
            if base64url::decoded_len_estimate(signature_b64.len()) <= SMALL_SIGNATURE {
                small = [0u8; SMALL_SIGNATURE];
                &mut small
            } else {
                large = [0u8; INLINE_SIGNATURE];
                &mut large
            };
        let signature = base64url::decode_buffered(
            signature_b64,
            "signature",
            signature_inline,
            &mut signature_heap,
        )?;
        let payload = base64url::decode_buffered(payload_b64, "payload", inline, heap)?;

        // 5. Choose keys by the token's `kid` and the keys' own algorithms; verify.
        let message = signing_input.as_bytes();
        match &header {
            Some(header) => {
                let kid = header.key_id.as_deref();
                rules.verify_signature(kid, header.algorithm, message, signature)?;
                HeaderMemo::remember(rules.id, header_b64, header.algorithm, kid);
            }
            None => HEADER_MEMO.with(|memo| {
                let memo = memo.borrow();
                rules.verify_signature(memo.key_id(), memo.algorithm, message, signature)
            })?,
        }

        // 6. Only now is the payload parsed: by `Rules::checked_claims`, which reads it into the
        // caller's type and checks the claim rules (7) before returning anything.
        Ok(payload)
    }
}

thread_local! {
    static HEADER_MEMO: RefCell<HeaderMemo> = const {
        RefCell::new(HeaderMemo {
            rules: 0,
            text: String::new(),
            algorithm: Algorithm::HS256,
            key_id: String::new(),
            has_key_id: false,
        })
    };
}

/// The header this thread last verified a token with, for one validator: its exact base64url
/// text and what reading it gave (`alg`, `kid`). Tokens from one issuer mostly share one header,
/// so most verifications compare about 40 bytes instead of decoding, parsing and checking it.
/// Only a header that passed every check, the signature included, is remembered, so a forged
/// token cannot displace it; the buffers are reused, so remembering allocates only when a header
/// is longer than any before it on this thread.
struct HeaderMemo {
    /// [`Rules::id`] of the validator (0: none).
    rules: u64,
    text: String,
    algorithm: Algorithm,
    key_id: String,
    has_key_id: bool,
}

impl HeaderMemo {
    fn is(&self, rules: u64, text: &str) -> bool {
        self.rules == rules && self.text == text
    }

    fn key_id(&self) -> Option<&str> {
        self.has_key_id.then_some(self.key_id.as_str())
    }

    fn remember(rules: u64, text: &str, algorithm: Algorithm, key_id: Option<&str>) {
        let _ = HEADER_MEMO.try_with(|memo| {
            if let Ok(mut memo) = memo.try_borrow_mut() {
                memo.rules = rules;
                memo.text.clear();
                memo.text.push_str(text);
                memo.algorithm = algorithm;
                memo.key_id.clear();
                memo.key_id.push_str(key_id.unwrap_or_default());
                memo.has_key_id = key_id.is_some();
            }
        });
    }
}

/// Gives every validator's rules their own [`Rules::id`].
static NEXT_RULES_ID: AtomicU64 = AtomicU64::new(1);

/// Decoded sizes kept on the stack while verifying: a header of ordinary size, a signature of up
/// to RSA-4096, and the claims of a token of about 1 KiB. Larger parts go to the heap.
const INLINE_HEADER: usize = 256;
const INLINE_SIGNATURE: usize = 512;
/// ES512's 132 bytes, the longest signature but RSA's.
const SMALL_SIGNATURE: usize = 132;
const INLINE_PAYLOAD: usize = 768;

/// Deserializes verified claims JSON into the caller's type.
fn claims_as<'b, T: Deserialize<'b>>(payload: &'b [u8]) -> Result<T, Error> {
    serde_json::from_slice(payload)
        .map_err(|e| Error::malformed(format!("claims do not fit the requested type: {e}")))
}

impl Rules {
    /// Steps 6 and 7 of a verification: the verified claims JSON read strictly (duplicate names,
    /// typed registered claims) into `T` in one pass, then the claim rules, before `T` is
    /// returned. When the one pass fails, the two passes it stands for run one after the other
    /// (the strict pass, the claim rules, then `T`), so that the error is the one they give, with
    /// the same kind and precedence: a wrongly typed registered claim is `malformed` whatever `T`
    /// is, an expired token is `expired` even when `T` does not fit.
    fn checked_claims<'b, T: Deserialize<'b>>(
        &self,
        payload: &'b [u8],
        now: i128,
    ) -> Result<T, Error> {
        let mut registered = Registered::default();
        match claims::read_claims::<T>(payload, &mut registered) {
            Ok(value) => {
                self.check_claims(&registered, now)?;
                Ok(value)
            }
            Err(()) => {
                let registered = claims::parse_registered(payload)?;
                self.check_claims(&registered, now)?;
                claims_as(payload)
            }
        }
    }

    fn check_header(&self, header: &RawHeader<'_>) -> Result<(), Error> {
        // RFC 8725 §2.8 and §3.11: nested JWTs are not unwrapped silently.
        if header
            .content_type
            .as_deref()
            .is_some_and(|cty| same_media_type(cty, "JWT"))
        {
            return Err(Error::malformed(
                "nested JWTs (`cty: JWT`) are not supported",
            ));
        }
        // RFC 8725 §3.11: explicit typing keeps one kind of token from passing for another.
        // `JWT`, the default, also stands for an untyped token (RFC 7519 §5.1: `typ` is
        // optional for a plain JWT); any other accepted type must be named by the header.
        let found = header.token_type.as_deref();
        let plain = |typ: &String| same_media_type(typ, "JWT");
        let ok = match found {
            Some(found) if self.token_types.is_empty() => same_media_type(found, "JWT"),
            Some(found) => self
                .token_types
                .iter()
                .any(|expected| same_media_type(found, expected)),
            None => self.token_types.is_empty() || self.token_types.iter().any(plain),
        };
        if ok {
            Ok(())
        } else {
            Err(self.wrong_token_type(found))
        }
    }

    #[cold]
    fn wrong_token_type(&self, found: Option<&str>) -> Error {
        Error::TokenType {
            expected: if self.token_types.is_empty() {
                "JWT".to_owned()
            } else {
                self.token_types.join(" or ")
            },
            found: found.map(echo),
        }
    }

    fn verify_signature(
        &self,
        key_id: Option<&str>,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        // Keys by `kid`, then by their own algorithm, never the header's (RFC 8725 §3.1); an
        // unknown `kid` is its own error, so that callers can refresh their key set.
        self.keys
            .with_current(|keys| keys.verify(key_id, algorithm, message, signature))?
    }

    /// Now, in nanoseconds since the epoch (what the time claims are compared with).
    fn now(&self) -> i128 {
        match &self.clock {
            Some(clock) => clock.now().unix_timestamp_nanos(),
            None => system_now(),
        }
    }

    /// `now` (nanoseconds since the epoch) as the validator's errors and later checks report it.
    fn now_datetime(now: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(now).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn check_claims(&self, claims: &Registered<'_>, now: i128) -> Result<(), Error> {
        let leeway = self.leeway;
        // The instants `now - leeway` and `now + leeway`, in nanoseconds: a clock at the edge of
        // the time range (the years ±9999) gets no leeway beyond the edge (`clock::window`).
        let (early, late) = window(now, leeway);

        // RFC 7519 §4.1.4: reject when now >= exp (+ leeway).
        match claims.exp {
            Some(exp) if early >= exp.unix_nanos() => {
                return Err(Error::Expired {
                    expired_at: exp.to_datetime(),
                    now: Self::now_datetime(now),
                    leeway,
                });
            }
            None if self.require_exp => {
                return Err(Error::MissingClaim {
                    claim: "exp".into(),
                })
            }
            _ => {}
        }
        // RFC 7519 §4.1.5: reject when now (+ leeway) < nbf.
        if let Some(nbf) = claims.nbf {
            if late < nbf.unix_nanos() {
                return Err(Error::NotYetValid {
                    not_before: nbf.to_datetime(),
                    now: Self::now_datetime(now),
                    leeway,
                });
            }
        }
        // A token cannot have been issued in the future.
        if let Some(iat) = claims.iat {
            if iat.unix_nanos() > late {
                return Err(Error::IssuedInFuture {
                    issued_at: iat.to_datetime(),
                    now: Self::now_datetime(now),
                    leeway,
                });
            }
        }

        // RFC 7519 §4.1.3: "If the principal processing the claim does not identify itself with a
        // value in the aud claim when this claim is present, then the JWT MUST be rejected."
        if !self.any_audience {
            let found = claims.aud.as_ref().map_or(&[][..], |aud| aud.as_slice());
            let accepted = found
                .iter()
                .any(|aud| self.audiences.iter().any(|ours| ours == aud));
            let needs_check = claims.aud.is_some() || !self.audiences.is_empty();
            if needs_check && !accepted {
                return Err(error::wrong_audience(&self.audiences, found));
            }
        }

        if !self.issuers.is_empty() {
            let iss = claims.iss.as_deref();
            if !iss.is_some_and(|iss| self.issuers.iter().any(|ours| ours == iss)) {
                return Err(Error::Issuer {
                    expected: self.issuers.clone(),
                    found: iss.map(echo),
                });
            }
        }

        if let Some(expected) = &self.subject {
            let sub = claims.sub.as_deref();
            if sub != Some(expected.as_str()) {
                return Err(Error::Subject {
                    expected: expected.clone(),
                    found: sub.map(echo),
                });
            }
        }

        if let Some(missing) = self.required.iter().find(|c| !claims.members.contains(c)) {
            return Err(Error::MissingClaim {
                claim: missing.clone().into(),
            });
        }

        // Revocation, scopes, OpenID Connect: nothing to do unless configured.
        self.checks
            .check(claims, || Self::now_datetime(now), leeway)
    }
}

/// The system clock in nanoseconds since the epoch, as `SystemClock` reads it but without
/// turning it into a calendar date.
fn system_now() -> i128 {
    let now = std::time::SystemTime::now();
    let nanos = match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    nanos.clamp(MIN_NANOS, MAX_NANOS)
}

/// `now - leeway` and `now + leeway` in nanoseconds, each `now` itself where it would leave the
/// years ±9999, as `crate::clock::window` does for `OffsetDateTime`s.
fn window(now: i128, leeway: Duration) -> (i128, i128) {
    let leeway = leeway.whole_nanoseconds();
    let (early, late) = (now - leeway, now + leeway);
    (
        if early < MIN_NANOS { now } else { early },
        if late > MAX_NANOS { now } else { late },
    )
}

/// Compares media types as RFC 7515 §4.1.9 says: case-insensitively, with the `application/`
/// prefix optional.
fn same_media_type(a: &str, b: &str) -> bool {
    fn strip(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

impl ValidatorBuilder {
    /// Adds another key. Keys with a key id are chosen by the token's `kid`; keys without one are
    /// tried for any token whose algorithm they match.
    ///
    /// A builder over a [`KeySource`] takes its keys from the source only: `build` then refuses
    /// the extra key.
    pub fn key(mut self, key: impl Verifier + 'static) -> Self {
        match self.rules.keys.get_mut() {
            Some(keys) => keys.insert(key),
            None => self.rules.key_added_to_source = true,
        }
        self
    }

    /// Accepts tokens whose `iss` is `issuer`. Call again to accept several issuers. Without any,
    /// `iss` is not checked.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.rules.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens whose `aud` contains `audience` (RFC 7519 §4.1.3). Call again to accept
    /// several. Once an audience is set, tokens without `aud` are refused; with none set, tokens
    /// *with* an `aud` are refused.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.rules.audiences.push(audience.into());
        self
    }

    /// Requires `sub` to equal `subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.rules.subject = Some(subject.into());
        self
    }

    /// Accepts tokens whose header `typ` is `typ` (compared as RFC 7515 §4.1.9 says:
    /// case-insensitively, `application/` optional), for instance `at+jwt` for RFC 9068 access
    /// tokens (§4). Call it once per accepted type, like [`issuer`](Self::issuer): the header's
    /// `typ` must then be one of them (RFC 8725 §3.11). `JWT` stands for a plain JWT, typed or
    /// not, so a token without `typ` passes only when `JWT` is among them: `.token_type("at+jwt")`
    /// alone is RFC 9068's strict rule. Without any call, `typ` must be absent or `JWT`.
    ///
    /// Access tokens from providers that stamp `at+jwt` (RFC 9068) and from those that send
    /// `JWT` or no `typ` (Entra ID, Cognito, Okta, Keycloak):
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, HmacKey, Validator};
    /// use time::Duration;
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let validator = Validator::builder(key.clone())
    ///     .token_type("at+jwt")
    ///     .token_type("JWT")
    ///     .build()?;
    /// for typ in ["at+jwt", "application/at+jwt", "JWT"] {
    ///     let token = Builder::new().token_type(typ).expires_in(Duration::minutes(5)).sign(&key)?;
    ///     validator.verify::<keycard::Claims>(&token)?;
    /// }
    /// let id_token = Builder::new().token_type("id+jwt").expires_in(Duration::minutes(5)).sign(&key)?;
    /// assert!(validator.verify::<keycard::Claims>(&id_token).is_err());
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.rules.token_types.push(typ.into());
        self
    }

    /// Requires a claim to be present (whatever its value), for instance `jti`.
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.rules.required.push(name.into());
        self
    }

    /// Tolerates clock skew between issuer and validator when checking `exp`, `nbf` and `iat`:
    /// from zero (the default) to [`MAX_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules.leeway = leeway;
        self
    }

    /// The longest token accepted, in bytes (default [`DEFAULT_MAX_TOKEN_LEN`]).
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.rules.max_len = bytes;
        self
    }

    /// Keeps the claims of verified tokens, so that a token seen again (the same client sending
    /// the same access token with every request) is not decoded and its signature not checked
    /// again: for RS256, PS256, ES256 and EdDSA above all, where the signature is most of the
    /// cost of a verify (a hit costs a few percent of an RS256 verify; an HS256 verify, with no
    /// costly signature to skip, gains less than twofold). At most `max_entries` tokens are
    /// kept, each for at most `max_age` from when it was verified; see also
    /// [`cache_max_bytes`](Self::cache_max_bytes) and
    /// [`cache_max_token_len`](Self::cache_max_token_len). Off by default.
    ///
    /// What a hit still does, as a verify does: the key set's generation (or the key source's
    /// freshness) is checked, the claims are read into your type, and `exp`, `nbf`, `iat` (against
    /// now, with the leeway), `aud`, `iss`, `sub`, required claims, revocation, scopes and the
    /// OpenID Connect rules are checked again. What it skips: the base64url of the token and its
    /// signature, for a token byte for byte identical to one that passed every check under the
    /// same key set.
    ///
    /// - An entry answers only for the whole token, compared byte for byte (a hash only picks
    ///   the bucket).
    /// - Entries made under one key set answer for it only: after
    ///   [`replace_keys`](Validator::replace_keys), or when a key source's generation changes,
    ///   every token is verified again.
    /// - A token enters only when it passed every check; a refused one is never kept.
    /// - Longer tokens than [`cache_max_token_len`](Self::cache_max_token_len) are never kept.
    /// - The cache is shared by the validator's clones and split into shards with a lock each:
    ///   threads verifying different tokens seldom meet.
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, HmacKey, Validator};
    /// use time::Duration;
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let validator = Validator::builder(key.clone())
    ///     .cache_verified(10_000, Duration::minutes(5))
    ///     .build()?;
    /// let token = Builder::new().expires_in(Duration::minutes(15)).sign(&key)?;
    /// validator.verify::<keycard::Claims>(&token)?; // verified, then kept
    /// validator.verify::<keycard::Claims>(&token)?; // from the cache; the claims checked again
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn cache_verified(mut self, max_entries: usize, max_age: Duration) -> Self {
        self.rules.cache_settings = Some(CacheSettings {
            max_entries,
            max_age,
            max_bytes: None,
            max_token_len: cache::DEFAULT_MAX_CACHED_TOKEN_LEN,
        });
        self
    }

    /// The most memory the [`cache_verified`](Self::cache_verified) cache holds: the tokens and
    /// their claims JSON plus about 130 bytes an entry. Default: 2 KiB for each of its
    /// `max_entries`. The bounds are split evenly among the cache's shards (up to 16), so it may
    /// hold somewhat less than either bound allows.
    pub fn cache_max_bytes(mut self, bytes: usize) -> Self {
        self.rules.cache_max_bytes = Some(bytes);
        self
    }

    /// The longest token the [`cache_verified`](Self::cache_verified) cache keeps, in bytes
    /// (default 4 KiB); longer ones are verified every time.
    pub fn cache_max_token_len(mut self, bytes: usize) -> Self {
        self.rules.cache_max_token_len = Some(bytes);
        self
    }

    /// The options that weaken a default check, all behind this one door so that a reviewer
    /// finds every one of them by searching for `dangerous` (as rustls keeps its own under
    /// `dangerous()`). Each returns the builder again.
    ///
    /// ```
    /// use keycard::{Algorithm, HmacKey, Validator};
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let legacy = Validator::builder(key)
    ///     .dangerous()
    ///     .allow_missing_expiry()
    ///     .issuer("https://auth.example.com")
    ///     .build()?;
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn dangerous(self) -> DangerousOptions {
        DangerousOptions { builder: self }
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.rules.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the configuration and returns the validator.
    ///
    /// # Errors
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) for a leeway outside
    /// 0..=[`MAX_LEEWAY`], a zero maximum length, an empty issuer, audience, subject, type or claim
    /// name, or [`allow_any_audience`](DangerousOptions::allow_any_audience) together with
    /// `audience`.
    pub fn build(self) -> Result<Validator, Error> {
        let rules = self.rules;
        if rules.key_added_to_source {
            return Err(Error::configuration(
                "a validator over a key source takes its keys from the source only; \
                 add the key to the source instead of calling `key`",
            ));
        }
        let keys = rules.keys.snapshot();
        if keys.is_empty() {
            return Err(Error::configuration(format!(
                "the key set is empty ({} keys of the document were skipped)",
                keys.skipped().len()
            )));
        }
        if rules.leeway.is_negative() || rules.leeway > MAX_LEEWAY {
            return Err(Error::configuration(format!(
                "leeway must be between 0 and {} seconds",
                MAX_LEEWAY.whole_seconds()
            )));
        }
        if rules.max_len == 0 {
            return Err(Error::configuration("max_token_len must be positive"));
        }
        if rules.any_audience && !rules.audiences.is_empty() {
            return Err(Error::configuration(
                "`dangerous().allow_any_audience()` contradicts `audience`: choose one",
            ));
        }
        let empty = [
            ("issuer", rules.issuers.iter().any(String::is_empty)),
            ("audience", rules.audiences.iter().any(String::is_empty)),
            ("subject", rules.subject.as_deref() == Some("")),
            ("token type", rules.token_types.iter().any(String::is_empty)),
            (
                "required claim",
                rules.required.iter().any(String::is_empty),
            ),
        ];
        if let Some((what, _)) = empty.iter().find(|(_, is_empty)| *is_empty) {
            return Err(Error::configuration(format!(
                "an empty {what} can never match"
            )));
        }
        rules.checks.validate(!rules.issuers.is_empty())?;
        let cache = match rules.cache_settings {
            Some(settings) => {
                let settings = CacheSettings {
                    max_bytes: rules.cache_max_bytes,
                    max_token_len: rules.cache_max_token_len.unwrap_or(settings.max_token_len),
                    ..settings
                };
                if settings.max_entries == 0 || !settings.max_age.is_positive() {
                    return Err(Error::configuration(
                        "cache_verified needs at least one entry and a positive max_age",
                    ));
                }
                if settings
                    .max_bytes
                    .is_some_and(|b| b < cache::ENTRY_OVERHEAD)
                    || settings.max_token_len == 0
                {
                    return Err(Error::configuration(
                        "cache_max_bytes and cache_max_token_len must leave room for a token",
                    ));
                }
                Some(TokenCache::new(settings))
            }
            None if rules.cache_max_bytes.is_some() || rules.cache_max_token_len.is_some() => {
                return Err(Error::configuration(
                    "cache_max_bytes and cache_max_token_len set the cache of `cache_verified`, \
                     which is not on",
                ));
            }
            None => None,
        };
        let rules = Rules {
            id: NEXT_RULES_ID.fetch_add(1, Ordering::Relaxed),
            cache,
            ..rules
        };
        Ok(Validator {
            rules: Arc::new(rules),
        })
    }
}

/// The options that weaken a default check: reached only through
/// [`ValidatorBuilder::dangerous`], one call per option, so that each stands out in review.
#[derive(Debug)]
#[must_use = "each option returns the ValidatorBuilder to go on with"]
pub struct DangerousOptions {
    builder: ValidatorBuilder,
}

impl DangerousOptions {
    /// Skips the audience check entirely, so a token meant for another service is accepted.
    /// Only for services that check `aud` themselves (RFC 7519 §4.1.3 says to refuse a token
    /// whose `aud` does not name the service).
    pub fn allow_any_audience(mut self) -> ValidatorBuilder {
        self.builder.rules.any_audience = true;
        self.builder
    }

    /// Accepts tokens without `exp`. Such tokens never expire (RFC 8725 §3.10 asks for short
    /// lifetimes instead).
    pub fn allow_missing_expiry(mut self) -> ValidatorBuilder {
        self.builder.rules.require_exp = false;
        self.builder
    }
}

/// The resource-server rules: revocation, scopes, OpenID Connect ID tokens.
impl ValidatorBuilder {
    /// Refuses revoked tokens: a token whose `jti` or `sid` is in `store`, or whose `sub` has a
    /// cutoff at or after its `iat` ([`ErrorKind::Revoked`](crate::ErrorKind::Revoked)). Share
    /// the store with the issuer that revokes (`keycard-lifecycle`'s `TokenIssuer`).
    pub fn revocations(mut self, store: Arc<dyn RevocationList>) -> Self {
        self.rules.checks.revocations = Some(store);
        self
    }

    /// Requires the token to grant `scope`, in `scope` (a space-delimited string, RFC 9068
    /// §2.2.3) or `scp` (an array). Call once per scope; all are required. A token without it
    /// fails with [`ErrorKind::InsufficientScope`](crate::ErrorKind::InsufficientScope), which
    /// names the scope (RFC 6750 §3.1).
    ///
    /// ```
    /// use keycard::{Algorithm, Builder, ErrorKind, HmacKey, Validator};
    /// use time::Duration;
    ///
    /// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
    /// let token = Builder::new().claim("scope", "read").expires_in(Duration::minutes(5)).sign(&key)?;
    /// let writers = Validator::builder(key).require_scope("write").build()?;
    /// let err = writers.verify::<keycard::Claims>(&token).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InsufficientScope);
    /// assert_eq!(err.to_string(), "insufficient scope: the token does not grant `write`");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.rules.checks.scopes.push(scope.into());
        self
    }

    /// Checks OpenID Connect ID tokens for the client `client_id` (OpenID Connect Core
    /// §3.1.3.7): `aud` must contain it, `sub` and `iat` must be present, `azp` must be present
    /// when there are several audiences and must equal `client_id` when present. Needs the
    /// provider's [`issuer`](Self::issuer). Check the `nonce` with
    /// [`Validator::verify_id_token`].
    pub fn id_token(mut self, client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        self.rules.audiences.push(client_id.clone());
        self.rules.checks.client_id = Some(client_id);
        self
    }

    /// Requires `auth_time` no older than `max_age` (with the leeway), as a client that sent
    /// `max_age` in its authentication request must check (OpenID Connect Core §3.1.3.7 step
    /// 13); older fails with [`ErrorKind::AuthTime`](crate::ErrorKind::AuthTime).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.rules.checks.max_age = Some(max_age);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_header_answers_only_for_its_validator_and_key_id() {
        use crate::keys::HmacKey;
        use crate::token::builder::Builder;
        use crate::ErrorKind;

        let one = HmacKey::new(Algorithm::HS256, &[1; 32])
            .unwrap()
            .with_key_id("one");
        let two = HmacKey::new(Algorithm::HS256, &[2; 32])
            .unwrap()
            .with_key_id("two");
        let mint = |key: &HmacKey, typ: &str| {
            Builder::new()
                .token_type(typ)
                .expires_in(Duration::minutes(5))
                .sign(key)
                .unwrap()
        };
        let both = Validator::builder(one.clone())
            .key(two.clone())
            .build()
            .unwrap();
        let access = Validator::builder(one.clone())
            .token_type("at+jwt")
            .build()
            .unwrap();
        let (t1, t2) = (mint(&one, "JWT"), mint(&two, "JWT"));
        for _ in 0..2 {
            // Alternating key ids: each header is read (or remembered) with its own `kid`.
            both.verify::<serde_json::Value>(&t1).unwrap();
            both.verify::<serde_json::Value>(&t2).unwrap();
            // The header `both` accepted is still checked by a validator that expects `at+jwt`.
            let err = access.verify::<serde_json::Value>(&t1).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TokenType);
        }
        // A forged token with a remembered header is still refused, and does not displace it.
        let forged = format!("{}AAAA", &t1[..t1.len() - 4]);
        assert_eq!(
            both.verify::<serde_json::Value>(&forged)
                .unwrap_err()
                .kind(),
            ErrorKind::Signature
        );
        both.verify::<serde_json::Value>(&t1).unwrap();
        // A key id that only the header text carries: a set without that key refuses it.
        let only_two = Validator::builder(two).build().unwrap();
        assert_eq!(
            only_two
                .verify::<serde_json::Value>(&t1)
                .unwrap_err()
                .kind(),
            ErrorKind::UnknownKeyId
        );
    }

    #[test]
    fn the_one_pass_keeps_the_errors_of_the_two_passes() {
        use crate::clock::FixedClock;
        use crate::keys::HmacKey;
        use crate::token::builder::Builder;
        use crate::ErrorKind;

        let key = HmacKey::new(Algorithm::HS256, &[3; 32]).unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let validator = Validator::builder(key.clone())
            .clock(FixedClock(at + Duration::hours(1)))
            .build()
            .unwrap();
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Needs {
            missing: String,
        }
        let expired = Builder::new()
            .clock(FixedClock(at))
            .expires_in(Duration::minutes(5))
            .sign(&key)
            .unwrap();
        // Expired and not fitting `T`: the claim rules come first, as before the one pass.
        let err = validator.verify::<Needs>(&expired).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);
        // Valid and not fitting `T`: malformed, with the message of the second pass.
        let valid = Builder::new()
            .clock(FixedClock(at + Duration::hours(1)))
            .expires_in(Duration::minutes(5))
            .sign(&key)
            .unwrap();
        let err = validator.verify::<Needs>(&valid).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(
            err.to_string().contains("do not fit the requested type"),
            "{err}"
        );
        // A registered claim of the wrong type is malformed whatever `T` is, even a `T` that
        // would take it.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Loose {
            exp: String,
        }
        let input = format!(
            "{}.{}",
            base64url::encode(br#"{"alg":"HS256"}"#),
            base64url::encode(br#"{"exp":"soon"}"#)
        );
        let signature = crate::keys::Signer::sign(&key, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", base64url::encode(&signature));
        let err = validator.verify::<Loose>(&token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(err.to_string().contains("`exp` must be"), "{err}");
    }

    #[test]
    fn one_validator_accepts_a_set_of_token_types() {
        use crate::keys::HmacKey;
        use crate::token::builder::Builder;
        use crate::ErrorKind;

        let key = HmacKey::new(Algorithm::HS256, &[7; 32]).unwrap();
        let both = Validator::builder(key.clone())
            .token_type("at+jwt")
            .token_type("application/JWT")
            .build()
            .unwrap();
        let mint = |typ: &str| {
            Builder::new()
                .token_type(typ)
                .expires_in(Duration::minutes(5))
                .sign(&key)
                .unwrap()
        };
        for typ in ["at+jwt", "application/at+JWT", "JWT", "jwt"] {
            both.verify::<serde_json::Value>(&mint(typ)).unwrap();
        }
        let err = both
            .verify::<serde_json::Value>(&mint("id+jwt"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TokenType);
        assert_eq!(
            err.to_string(),
            "token type (typ) `id+jwt` is not accepted; expected `at+jwt or application/JWT`"
        );
        // `JWT` in the set stands for an untyped token too; `at+jwt` alone requires the `typ`.
        let strict = Validator::builder(key.clone())
            .token_type("at+jwt")
            .build()
            .unwrap();
        let untyped = {
            let header = crate::encoding::base64url::encode(br#"{"alg":"HS256"}"#);
            let signed = mint("JWT");
            let rest = signed.split_once('.').map(|(_, rest)| rest).unwrap();
            format!("{header}.{rest}")
        };
        assert_eq!(
            strict
                .verify::<serde_json::Value>(&untyped)
                .unwrap_err()
                .kind(),
            ErrorKind::TokenType
        );
        assert_eq!(
            both.verify::<serde_json::Value>(&untyped)
                .unwrap_err()
                .kind(),
            ErrorKind::Signature,
            "past the `typ` rule"
        );
        let empty = Validator::builder(key.clone())
            .token_type("JWT")
            .token_type("");
        assert_eq!(empty.build().unwrap_err().kind(), ErrorKind::Configuration);
    }

    #[test]
    fn media_types_compare_as_rfc_7515_says() {
        assert!(same_media_type("JWT", "jwt"));
        assert!(same_media_type("application/at+jwt", "at+JWT"));
        assert!(same_media_type("Application/JWT", "JWT"));
        assert!(!same_media_type("at+jwt", "JWT"));
        assert!(!same_media_type("application/", "JWT"));
    }
}
