//! The one error type of the crate, [`Error`], and its stable classification, [`ErrorKind`].
//!
//! Every variant carries the facts a person needs to act (what was expected, what was found, when
//! a token expired and with which leeway) and never a secret, a key or a whole token. Messages are
//! built only when an error is displayed, so rejecting a token stays cheap.

use std::borrow::Cow;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::algorithm::Algorithm;

/// What went wrong, for programs: match on this, not on the message.
///
/// The names returned by [`ErrorKind::as_str`] are stable and suitable for logs and metrics.
///
/// ```
/// use keycard::{Algorithm, ErrorKind, HmacKey, Validator};
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let validator = Validator::builder(key).build()?;
/// let err = validator.verify::<keycard::Claims>("not.a.token").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Malformed);
/// assert_eq!(err.kind().as_str(), "malformed");
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The token is not a well-formed compact JWS/JWT (parts, base64url, JSON, header, sizes).
    Malformed,
    /// The header's `alg` is `none`, unknown, unsupported, or not the algorithm of any key.
    Algorithm,
    /// The token names a `kid` that no key has (refresh your key set and try again). When the
    /// key source failed to fetch a newer set at the time, that failure is the error's
    /// [`source()`](std::error::Error::source).
    UnknownKeyId,
    /// Key material was rejected when the key was constructed (too short, wrong type, bad encoding).
    Key,
    /// The signature does not verify.
    Signature,
    /// The token's `exp` has passed.
    Expired,
    /// The token's `nbf` (or `iat`) lies in the future.
    NotYetValid,
    /// The token's `aud` does not name this service, or is present where none is expected.
    Audience,
    /// The token's `iss` is missing or not an accepted issuer.
    Issuer,
    /// The token's `sub` is missing or not the expected subject.
    Subject,
    /// The header's `typ` is not the expected token type (RFC 8725 §3.11).
    TokenType,
    /// A claim the validator requires is missing.
    MissingClaim,
    /// The signer (for instance a remote KMS) failed to produce a signature.
    Signing,
    /// The caller configured something that cannot work (an API misuse, not a bad token).
    Configuration,
    /// The token was revoked: its `jti`, its session (`sid`), or its subject up to a cutoff.
    Revoked,
    /// A refresh token was presented again after rotation (RFC 9700 §4.14.2); its whole session
    /// has been revoked.
    RefreshReuse,
    /// The token lacks a required scope (RFC 6750 §3.1 `insufficient_scope`).
    InsufficientScope,
    /// An ID token's `nonce` is missing or not the one sent (OpenID Connect Core §3.1.3.7).
    Nonce,
    /// An ID token's `azp` is missing with several audiences, or names another client.
    AuthorizedParty,
    /// The end-user authenticated longer ago than `max_age` allows: authenticate again.
    AuthTime,
    /// A revocation or refresh-family store failed or is full.
    Store,
    /// The keys could not be fetched, or those at hand are too old to trust: a key source
    /// (such as a remote JWK Set) is failing. Not the token's fault; ask again later.
    KeySource,
    /// The system's secure random generator failed (making a key, a `jti`, a session id).
    Random,
    /// A client's token source (`keycard-client`) could not refresh and no valid token is left.
    Refresh,
}

impl ErrorKind {
    /// A stable `snake_case` name, e.g. `"expired"` or `"not_yet_valid"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Algorithm => "algorithm",
            ErrorKind::UnknownKeyId => "unknown_key_id",
            ErrorKind::Key => "key",
            ErrorKind::Signature => "signature",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::Audience => "audience",
            ErrorKind::Issuer => "issuer",
            ErrorKind::Subject => "subject",
            ErrorKind::TokenType => "token_type",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::Signing => "signing",
            ErrorKind::Configuration => "configuration",
            ErrorKind::Revoked => "revoked",
            ErrorKind::RefreshReuse => "refresh_reuse",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::Nonce => "nonce",
            ErrorKind::AuthorizedParty => "authorized_party",
            ErrorKind::AuthTime => "auth_time",
            ErrorKind::Store => "store",
            ErrorKind::Refresh => "refresh",
            ErrorKind::KeySource => "key_source",
            ErrorKind::Random => "random",
        }
    }
}

impl ErrorKind {
    /// Whose problem this is: the token's, the caller's configuration, or a backend's.
    pub const fn category(self) -> ErrorCategory {
        match self {
            ErrorKind::Key | ErrorKind::Configuration => ErrorCategory::Configuration,
            ErrorKind::Signing
            | ErrorKind::Store
            | ErrorKind::KeySource
            | ErrorKind::Random
            | ErrorKind::Refresh => ErrorCategory::Backend,
            ErrorKind::Malformed
            | ErrorKind::Algorithm
            | ErrorKind::UnknownKeyId
            | ErrorKind::Signature
            | ErrorKind::Expired
            | ErrorKind::NotYetValid
            | ErrorKind::Audience
            | ErrorKind::Issuer
            | ErrorKind::Subject
            | ErrorKind::TokenType
            | ErrorKind::MissingClaim
            | ErrorKind::Revoked
            | ErrorKind::RefreshReuse
            | ErrorKind::InsufficientScope
            | ErrorKind::Nonce
            | ErrorKind::AuthorizedParty
            | ErrorKind::AuthTime => ErrorCategory::Token,
        }
    }
}

/// The three answers to "whose problem is it?", so that a service can map every error to a
/// response without listing kinds (a 401 for a bad token, a 500 for the rest).
///
/// ```
/// use keycard::{Algorithm, ErrorCategory, HmacKey, Validator};
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let err = Validator::builder(key.clone()).build()?.verify::<keycard::Claims>("x").unwrap_err();
/// assert_eq!(err.category(), ErrorCategory::Token);
///
/// let err = Validator::builder(key).issuer("").build().unwrap_err();
/// assert_eq!(err.category(), ErrorCategory::Configuration);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The token presented is not acceptable: refuse it (HTTP 401, or 403 for a missing scope).
    /// Nothing on this side is wrong.
    Token,
    /// The caller's own setup is wrong: key material refused, a configuration that can never
    /// work. Fix the code or the configuration; retrying does not help.
    Configuration,
    /// Something the operation depends on failed: a signer (a KMS call), a revocation or family
    /// store, a token refresh. The token may be fine; the operation failed closed and may work
    /// when retried.
    Backend,
}

/// What matched a revocation, in an [`Error::Revoked`]: code that branches on the reason matches
/// on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokedBy {
    /// The token itself, by its `jti`.
    TokenId,
    /// Its session, by its `sid`: the session was revoked (logout, refresh-token reuse) or ended.
    Session,
    /// Its subject, by its `sub`: every token of the subject issued up to a cutoff
    /// ("sign out everywhere").
    Subject,
}

impl RevokedBy {
    /// The claim that matched: `jti`, `sid` or `sub`.
    pub const fn claim(self) -> &'static str {
        match self {
            RevokedBy::TokenId => "jti",
            RevokedBy::Session => "sid",
            RevokedBy::Subject => "sub",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can fail in keycard.
///
/// Use [`Error::kind`] to decide what to do; use `Display` to tell a person. No variant holds a
/// secret, key bytes or a whole token; values copied from a token (an issuer, a `kid`) are cut to
/// a short length.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token (or a part of it) is not well formed.
    #[error("malformed token: {reason}")]
    Malformed {
        /// What exactly is wrong.
        reason: Cow<'static, str>,
    },

    /// The header says `alg: none` (in any spelling); unsecured JWTs are never accepted.
    #[error("the `none` algorithm is never accepted (RFC 8725 §3.1)")]
    NoneAlgorithm,

    /// The header names an algorithm keycard does not implement (for instance ES512, which `ring`
    /// lacks) or that is not a JWS algorithm at all.
    #[error("unsupported algorithm `{alg}`")]
    UnsupportedAlgorithm {
        /// The `alg` value as found (shortened).
        alg: String,
    },

    /// The header's algorithm is not the algorithm of any key that could verify the token.
    #[error("algorithm {found} is not accepted here; expected {}", list(expected))]
    AlgorithmMismatch {
        /// The algorithm the token claims.
        found: Algorithm,
        /// The algorithms of the candidate keys.
        expected: Vec<Algorithm>,
    },

    /// The token's `kid` matches no key.
    #[error("{}", unknown_key_id_message(kid, key_source.as_deref()))]
    UnknownKeyId {
        /// The `kid` as found (shortened).
        kid: String,
        /// When the key source was asked for a newer set and could not get one: why. A `kid`
        /// unknown during an outage may be a new key the source failed to fetch, not a forgery.
        #[source]
        key_source: Option<Box<Error>>,
    },

    /// More keys could verify the token (by its `kid`, or its lack of one, and its algorithm)
    /// than keycard tries for one token, and none of the keys tried verified it. The limit keeps
    /// the cost of an unauthenticated token bounded whatever the size of the key set.
    #[error(
        "signature does not verify with the {tried} keys tried; {candidates} keys fit the token's \
         kid and algorithm and at most {tried} are tried per token (give each key its own kid)"
    )]
    TooManyCandidateKeys {
        /// How many keys of the set fit the token.
        candidates: usize,
        /// How many were tried.
        tried: usize,
    },

    /// Key material was rejected.
    #[error("invalid key: {reason}")]
    Key {
        /// What is wrong with the key.
        reason: Cow<'static, str>,
    },

    /// The signature does not match the signing input under any candidate key.
    #[error("signature does not verify")]
    Signature,

    /// The token expired.
    #[error(
        "token expired at {}, {} ago (leeway {})",
        when(*expired_at),
        secs(*now - *expired_at),
        secs(*leeway)
    )]
    Expired {
        /// The token's `exp`.
        expired_at: OffsetDateTime,
        /// The validator's clock reading.
        now: OffsetDateTime,
        /// The leeway the validator allowed.
        leeway: Duration,
    },

    /// The token's `nbf` lies in the future.
    #[error(
        "token not valid before {}, {} from now (leeway {})",
        when(*not_before),
        secs(*not_before - *now),
        secs(*leeway)
    )]
    NotYetValid {
        /// The token's `nbf`.
        not_before: OffsetDateTime,
        /// The validator's clock reading.
        now: OffsetDateTime,
        /// The leeway the validator allowed.
        leeway: Duration,
    },

    /// The token's `iat` lies in the future.
    #[error(
        "token issued at {}, {} in the future (leeway {})",
        when(*issued_at),
        secs(*issued_at - *now),
        secs(*leeway)
    )]
    IssuedInFuture {
        /// The token's `iat`.
        issued_at: OffsetDateTime,
        /// The validator's clock reading.
        now: OffsetDateTime,
        /// The leeway the validator allowed.
        leeway: Duration,
    },

    /// The audience check of RFC 7519 §4.1.3 failed.
    #[error("{}", audience_message(expected, found, *found_total))]
    Audience {
        /// The audiences this validator accepts (empty: it expects tokens without `aud`).
        expected: Vec<String>,
        /// The token's first audiences (empty: it has none), at most three, each shortened.
        found: Vec<String>,
        /// How many audiences the token has in all.
        found_total: usize,
    },

    /// The issuer is missing or not accepted.
    #[error("{}", claim_message("issuer", expected, found.as_deref()))]
    Issuer {
        /// The issuers this validator accepts.
        expected: Vec<String>,
        /// The token's `iss`, if any (shortened).
        found: Option<String>,
    },

    /// The subject is missing or not the expected one.
    #[error("{}", claim_message("subject", std::slice::from_ref(expected), found.as_deref()))]
    Subject {
        /// The subject this validator requires.
        expected: String,
        /// The token's `sub`, if any (shortened).
        found: Option<String>,
    },

    /// The header's `typ` is not the expected one.
    #[error("{}", claim_message("token type (typ)", std::slice::from_ref(expected), found.as_deref()))]
    TokenType {
        /// The `typ` this validator requires.
        expected: String,
        /// The token's `typ`, if any (shortened).
        found: Option<String>,
    },

    /// A required claim is absent.
    #[error("required claim `{claim}` is missing")]
    MissingClaim {
        /// The claim's name.
        claim: Cow<'static, str>,
    },

    /// A signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// The caller asked for something that cannot work.
    #[error("configuration error: {reason}")]
    Configuration {
        /// What is wrong with the configuration.
        reason: Cow<'static, str>,
    },

    /// The token was revoked.
    #[error("{}", revoked_message(*by, value, *cutoff))]
    Revoked {
        /// What matched a revocation: the token's `jti`, its session (`sid`, revoked or ended) or
        /// its subject (`sub`, signed out everywhere).
        by: RevokedBy,
        /// That claim's value (shortened).
        value: String,
        /// For `sub`: tokens issued at or before this time are refused.
        cutoff: Option<OffsetDateTime>,
    },

    /// A rotated refresh token was presented again; the session is now revoked.
    #[error(
        "refresh token reuse detected (RFC 9700 §4.14.2): it was already exchanged, \
         so session `{session}` has been revoked"
    )]
    RefreshReuse {
        /// The revoked session's id, the `sid` of its tokens (shortened).
        session: String,
    },

    /// A required scope is missing.
    #[error("insufficient scope: the token does not grant `{missing}`")]
    InsufficientScope {
        /// The first required scope the token lacks.
        missing: String,
    },

    /// An ID token's `nonce` is missing or differs from the one sent.
    #[error("{}", match found {
        Some(found) => format!("ID token nonce `{found}` is not the one sent in the authentication request"),
        None => "ID token has no nonce, but one was sent in the authentication request".to_owned(),
    })]
    Nonce {
        /// The token's `nonce`, if any (shortened).
        found: Option<String>,
    },

    /// An ID token's `azp` (authorized party) is not acceptable.
    #[error("{}", match found {
        Some(found) => format!("authorized party (azp) `{found}` is not this client `{expected}`"),
        None => format!("ID token has several audiences but no authorized party (azp); expected `{expected}`"),
    })]
    AuthorizedParty {
        /// This client's id.
        expected: String,
        /// The token's `azp`, if any (shortened).
        found: Option<String>,
    },

    /// The end-user's authentication (`auth_time`) is older than `max_age` allows.
    #[error(
        "authenticated at {}, {} ago, longer than max_age {} (leeway {}): authenticate again",
        when(*authenticated_at),
        secs(*now - *authenticated_at),
        secs(*max_age),
        secs(*leeway)
    )]
    AuthenticationTooOld {
        /// The token's `auth_time`.
        authenticated_at: OffsetDateTime,
        /// The validator's clock reading.
        now: OffsetDateTime,
        /// The validator's `max_age`.
        max_age: Duration,
        /// The leeway the validator allowed.
        leeway: Duration,
    },

    /// A store (revocations, refresh families) failed.
    #[error("store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A key source could not fetch keys, or the keys it has are too old to trust.
    #[error("key source failed: {0}")]
    KeySource(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// The system's secure random generator failed.
    #[error("the system random generator failed")]
    Random,

    /// A token source's refresh function failed; every caller waiting on that refresh gets this.
    #[error("token refresh failed: {0}")]
    Refresh(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Whose problem this error is: the token's, the configuration's, or a backend's (see
    /// [`ErrorCategory`]).
    pub fn category(&self) -> ErrorCategory {
        self.kind().category()
    }

    /// What failed, as a stable [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::NoneAlgorithm
            | Error::UnsupportedAlgorithm { .. }
            | Error::AlgorithmMismatch { .. } => ErrorKind::Algorithm,
            Error::UnknownKeyId { .. } => ErrorKind::UnknownKeyId,
            Error::Key { .. } => ErrorKind::Key,
            Error::Signature | Error::TooManyCandidateKeys { .. } => ErrorKind::Signature,
            Error::Expired { .. } => ErrorKind::Expired,
            Error::NotYetValid { .. } | Error::IssuedInFuture { .. } => ErrorKind::NotYetValid,
            Error::Audience { .. } => ErrorKind::Audience,
            Error::Issuer { .. } => ErrorKind::Issuer,
            Error::Subject { .. } => ErrorKind::Subject,
            Error::TokenType { .. } => ErrorKind::TokenType,
            Error::MissingClaim { .. } => ErrorKind::MissingClaim,
            Error::Signing(_) => ErrorKind::Signing,
            Error::Configuration { .. } => ErrorKind::Configuration,
            Error::Revoked { .. } => ErrorKind::Revoked,
            Error::RefreshReuse { .. } => ErrorKind::RefreshReuse,
            Error::InsufficientScope { .. } => ErrorKind::InsufficientScope,
            Error::Nonce { .. } => ErrorKind::Nonce,
            Error::AuthorizedParty { .. } => ErrorKind::AuthorizedParty,
            Error::AuthenticationTooOld { .. } => ErrorKind::AuthTime,
            Error::Store(_) => ErrorKind::Store,
            Error::Refresh(_) => ErrorKind::Refresh,
            Error::KeySource(_) => ErrorKind::KeySource,
            Error::Random => ErrorKind::Random,
        }
    }

    /// Wraps the failure of a custom [`Signer`](crate::Signer) (for instance a KMS call).
    ///
    /// ```
    /// use keycard::{Error, ErrorKind};
    ///
    /// let err = Error::signing(std::io::Error::other("KMS unreachable"));
    /// assert_eq!(err.kind(), ErrorKind::Signing);
    /// assert_eq!(err.to_string(), "signing failed: KMS unreachable");
    /// ```
    #[cold]
    pub fn signing(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Signing(Box::new(source))
    }

    /// Wraps the failure of a store (a [`RevocationList`](crate::RevocationList), or
    /// `keycard-lifecycle`'s `RevocationStore` and `FamilyStore`), for instance a lost database
    /// connection.
    ///
    /// ```
    /// use keycard::{Error, ErrorKind};
    ///
    /// let err = Error::store(std::io::Error::other("connection reset"));
    /// assert_eq!(err.kind(), ErrorKind::Store);
    /// assert_eq!(err.to_string(), "store failed: connection reset");
    /// ```
    #[cold]
    pub fn store(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Store(Box::new(source))
    }

    /// Wraps the failure of a key source (such as a remote JWK Set): the keys could not be
    /// fetched, or those at hand are too old to trust.
    ///
    /// ```
    /// use keycard::{Error, ErrorCategory, ErrorKind};
    ///
    /// let err = Error::key_source(std::io::Error::other("JWKS answered 503"));
    /// assert_eq!(err.kind(), ErrorKind::KeySource);
    /// assert_eq!(err.category(), ErrorCategory::Backend);
    /// assert_eq!(err.to_string(), "key source failed: JWKS answered 503");
    /// ```
    #[cold]
    pub fn key_source(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::KeySource(Box::new(source))
    }

    /// The system's secure random generator failed: the one error every keycard crate returns
    /// for that, whatever it was making.
    #[cold]
    pub fn random_failure() -> Self {
        Error::Random
    }

    /// A [`Error::Revoked`] for the claim that matched, with `value` cut and escaped
    /// ([`text::escape`](crate::text::escape)), and the subject's cutoff when that was the reason.
    ///
    /// ```
    /// use keycard::{Error, ErrorKind, RevokedBy};
    ///
    /// let err = Error::revoked(RevokedBy::Session, "s-1", None);
    /// assert_eq!(err.kind(), ErrorKind::Revoked);
    /// assert!(matches!(err, Error::Revoked { by: RevokedBy::Session, .. }));
    /// ```
    #[cold]
    pub fn revoked(by: RevokedBy, value: &str, cutoff: Option<OffsetDateTime>) -> Self {
        Error::Revoked {
            by,
            value: echo(value),
            cutoff,
        }
    }

    /// An [`Error::UnknownKeyId`] for `kid` (cut and escaped), with no key-source failure.
    #[cold]
    pub fn unknown_key_id(kid: &str) -> Self {
        Error::UnknownKeyId {
            kid: echo(kid),
            key_source: None,
        }
    }

    /// Attaches the failure of a key source's refetch to an [`Error::UnknownKeyId`], as its
    /// [`source()`](std::error::Error::source): the token names a key the source could not fetch
    /// (an outage), which a caller may answer differently from a forged `kid`. Any other error
    /// is returned as it is.
    ///
    /// ```
    /// use keycard::{Error, ErrorKind};
    /// use std::error::Error as _;
    ///
    /// let outage = Error::key_source(std::io::Error::other("connection refused"));
    /// let err = Error::unknown_key_id("k2").with_key_source_failure(outage);
    /// assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    /// assert_eq!(err.key_source_failure().map(Error::kind), Some(ErrorKind::KeySource));
    /// assert!(err.source().is_some());
    /// ```
    #[must_use]
    pub fn with_key_source_failure(self, failure: Error) -> Self {
        match self {
            Error::UnknownKeyId { kid, .. } => Error::UnknownKeyId {
                kid,
                key_source: Some(Box::new(failure)),
            },
            other => other,
        }
    }

    /// For an [`Error::UnknownKeyId`] raised while the key source was failing, that failure.
    pub fn key_source_failure(&self) -> Option<&Error> {
        match self {
            Error::UnknownKeyId { key_source, .. } => key_source.as_deref(),
            _ => None,
        }
    }

    #[cold]
    pub(crate) fn malformed(reason: impl Into<Cow<'static, str>>) -> Self {
        Error::Malformed {
            reason: bound_reason(reason.into()),
        }
    }

    #[cold]
    pub(crate) fn key(reason: impl Into<Cow<'static, str>>) -> Self {
        Error::Key {
            reason: bound_reason(reason.into()),
        }
    }

    #[cold]
    pub(crate) fn configuration(reason: impl Into<Cow<'static, str>>) -> Self {
        Error::Configuration {
            reason: bound_reason(reason.into()),
        }
    }
}

/// The longest reason a [`Error::Malformed`], [`Error::Key`] or [`Error::Configuration`] carries,
/// in bytes (before the `…` that marks a cut). Reasons can quote parser messages, which quote
/// input.
pub(crate) const MAX_REASON: usize = 256;

/// How many entries of a list (audiences, issuers) a message names before it says how many more.
pub(crate) const MAX_LISTED: usize = 3;

pub(crate) use crate::text::MAX_ECHO;

/// Copies an untrusted value into an error: [`text::escape`](crate::text::escape) cut to
/// [`MAX_ECHO`] bytes.
#[cold]
pub(crate) fn echo(value: &str) -> String {
    crate::text::escape(value, MAX_ECHO)
}

/// `value` escaped and cut to `max` bytes: [`text::escape`](crate::text::escape).
#[cold]
pub(crate) fn bounded(value: &str, max: usize) -> String {
    crate::text::escape(value, max)
}

/// A reason for an error, bounded: a static one as it is, a built one escaped and cut to
/// [`MAX_REASON`].
#[cold]
fn bound_reason(reason: Cow<'static, str>) -> Cow<'static, str> {
    match reason {
        Cow::Borrowed(_) => reason,
        Cow::Owned(text) => Cow::Owned(bounded(&text, MAX_REASON)),
    }
}

fn revoked_message(by: RevokedBy, value: &str, cutoff: Option<OffsetDateTime>) -> String {
    match (by, cutoff) {
        (RevokedBy::Subject, Some(cutoff)) => format!(
            "token revoked: every token of subject `{value}` issued at or before {} is refused",
            when(cutoff)
        ),
        (RevokedBy::Subject, None) => {
            format!("token revoked: every token of subject `{value}` is refused")
        }
        (RevokedBy::Session, _) => {
            format!("token revoked: session (sid) `{value}` was revoked or has ended")
        }
        (RevokedBy::TokenId, _) => {
            format!("token revoked: jti `{value}` is on the revocation list")
        }
    }
}

fn unknown_key_id_message(kid: &str, key_source: Option<&Error>) -> String {
    match key_source {
        None => format!("no key has key id `{kid}`"),
        Some(failure) => format!(
            "no key has key id `{kid}`, and the key source could not fetch a newer set ({failure})"
        ),
    }
}

fn list(items: &[Algorithm]) -> String {
    if items.is_empty() {
        return "a key, but the key set is empty".to_owned();
    }
    let names: Vec<&str> = items.iter().map(|a| a.as_str()).collect();
    names.join(" or ")
}

/// RFC 3339 where the date allows it, Unix seconds otherwise.
fn when(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| format!("{} (Unix time)", t.unix_timestamp()))
}

/// `90 s`, or `1.5 s` when there is a fraction.
fn secs(d: Duration) -> String {
    let millis = d.whole_milliseconds();
    if millis % 1000 == 0 {
        format!("{} s", millis / 1000)
    } else {
        let text = format!("{:.3}", d.as_seconds_f64());
        format!("{} s", text.trim_end_matches('0'))
    }
}

/// `a` or `b` or `c`, then "and N more" past [`MAX_LISTED`]; `total` counts entries beyond
/// those kept in `items`.
fn quoted(items: &[String], total: usize) -> String {
    let total = total.max(items.len());
    let quoted: Vec<String> = items
        .iter()
        .take(MAX_LISTED)
        .map(|s| format!("`{}`", bounded(s, MAX_ECHO)))
        .collect();
    let shown = quoted.len();
    let mut text = quoted.join(" or ");
    if total > shown {
        text.push_str(&format!(" and {} more", total - shown));
    }
    text
}

fn audience_message(expected: &[String], found: &[String], found_total: usize) -> String {
    let found_total = found_total.max(found.len());
    let found_text = if found_total > 1 {
        format!("{found_total} audiences ({})", quoted(found, found_total))
    } else {
        format!("audience {}", quoted(found, found_total))
    };
    match (expected.is_empty(), found_total == 0) {
        (true, _) => format!(
            "token is meant for {found_text} but this validator expects none \
             (configure `audience`, or opt out with `dangerous().allow_any_audience()`)"
        ),
        (false, true) => format!(
            "token has no audience (aud); expected {}",
            quoted(expected, expected.len())
        ),
        (false, false) => format!(
            "token {found_text} does not include {}",
            quoted(expected, expected.len())
        ),
    }
}

fn claim_message(what: &str, expected: &[String], found: Option<&str>) -> String {
    match found {
        None => format!(
            "token has no {what}; expected {}",
            quoted(expected, expected.len())
        ),
        Some(found) => format!(
            "{what} `{}` is not accepted; expected {}",
            bounded(found, MAX_ECHO),
            quoted(expected, expected.len())
        ),
    }
}

/// An [`Error::Audience`]: the token's `aud` (cut and escaped) names none of `expected`. The one
/// constructor for both audience rules (RFC 7519 §4.1.3 and OpenID Connect Core §3.1.3.7 step 3).
#[cold]
pub(crate) fn wrong_audience(expected: &[String], found: &[std::borrow::Cow<'_, str>]) -> Error {
    Error::Audience {
        expected: expected.to_vec(),
        found: found.iter().take(MAX_LISTED).map(|aud| echo(aud)).collect(),
        found_total: found.len(),
    }
}

/// `Algorithm` parses here, beside the errors its parse returns, so that `algorithm.rs` needs
/// no other module (and the two do not import each other).
impl std::str::FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE algorithm name, case-sensitive (RFC 7515 §4.1.1). `none` (in any spelling)
    /// and unknown names are errors.
    fn from_str(name: &str) -> Result<Self, Error> {
        Algorithm::from_name(name).ok_or_else(|| unknown_algorithm(name))
    }
}

#[cold]
fn unknown_algorithm(name: &str) -> Error {
    // RFC 8725 §3.1: an unsecured JWT is never accepted, in any spelling.
    if name.eq_ignore_ascii_case("none") {
        Error::NoneAlgorithm
    } else {
        Error::UnsupportedAlgorithm { alg: echo(name) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_refused_in_every_spelling() {
        for spelling in ["none", "None", "NONE", "nOnE"] {
            assert!(matches!(
                spelling.parse::<Algorithm>(),
                Err(Error::NoneAlgorithm)
            ));
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        assert!(matches!(
            "hs256".parse::<Algorithm>(),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
    }

    #[test]
    fn expired_message_says_when_how_long_ago_and_leeway() {
        let expired_at = OffsetDateTime::from_unix_timestamp(1_795_860_000).unwrap();
        let err = Error::Expired {
            expired_at,
            now: expired_at + Duration::seconds(90),
            leeway: Duration::seconds(30),
        };
        assert_eq!(
            err.to_string(),
            "token expired at 2026-11-28T10:00:00Z, 90 s ago (leeway 30 s)"
        );
        assert_eq!(err.kind(), ErrorKind::Expired);
    }

    #[test]
    fn fractional_seconds_are_shown_not_rounded_away() {
        assert_eq!(secs(Duration::milliseconds(1500)), "1.5 s");
        assert_eq!(secs(Duration::milliseconds(-250)), "-0.25 s");
    }

    #[test]
    fn echo_cuts_long_values_at_a_char_boundary() {
        let long = "é".repeat(100);
        let cut = echo(&long);
        assert!(cut.len() <= MAX_ECHO + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(echo("short"), "short");
    }

    #[test]
    fn echo_escapes_control_and_bidi_characters_and_stays_bounded() {
        assert_eq!(
            echo("a\nb\r\u{1b}[31m\u{202e}"),
            "a\\nb\\r\\u{1b}[31m\\u{202e}"
        );
        assert_eq!(
            echo(&echo("x\ny")),
            echo("x\ny"),
            "escaping twice changes nothing"
        );
        let cut = echo(&"\u{1b}".repeat(1000));
        assert!(cut.len() <= MAX_ECHO + '…'.len_utf8(), "{}", cut.len());
        assert!(!cut.chars().any(char::is_control));
    }

    #[test]
    fn built_reasons_are_escaped_and_bounded() {
        let err = Error::malformed(format!("x{}", "\n".repeat(10_000)));
        let text = err.to_string();
        assert!(
            text.len() <= "malformed token: ".len() + MAX_REASON + 3,
            "{}",
            text.len()
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn long_lists_are_summarised() {
        let many: Vec<String> = (0..2000).map(|i| format!("aud-{i}")).collect();
        let err = wrong_audience(
            &[],
            &many
                .iter()
                .map(|a| Cow::Borrowed(a.as_str()))
                .collect::<Vec<_>>(),
        );
        let text = err.to_string();
        assert!(text.contains("2000 audiences"), "{text}");
        assert!(text.contains("and 1997 more"), "{text}");
        assert!(text.len() < 300, "{}", text.len());
    }

    #[test]
    fn algorithm_mismatch_with_no_keys_says_the_set_is_empty() {
        let err = Error::AlgorithmMismatch {
            found: Algorithm::HS256,
            expected: vec![],
        };
        assert_eq!(
            err.to_string(),
            "algorithm HS256 is not accepted here; expected a key, but the key set is empty"
        );
    }

    #[test]
    fn audience_messages_explain_each_case() {
        let none: Vec<String> = vec![];
        let api = vec!["api".to_owned()];
        let web = vec!["web".to_owned()];
        assert!(audience_message(&none, &web, 1).contains("expects none"));
        assert_eq!(
            audience_message(&api, &none, 0),
            "token has no audience (aud); expected `api`"
        );
        assert_eq!(
            audience_message(&api, &web, 1),
            "token audience `web` does not include `api`"
        );
    }
}
