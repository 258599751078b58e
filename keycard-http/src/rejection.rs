//! [`Rejection`]: why a request was refused, as one typed [`Reason`], and the answer RFC 6750 §3
//! prescribes for it (status, `WWW-Authenticate`, `Retry-After`). A keycard [`Error`] becomes a
//! reason by one match on its [`category`](Error::category), in [`Reason::of`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::StatusCode;
use keycard::{Error, ErrorCategory, ErrorKind};

/// What is wrong with the request itself, before any token is checked: 400 `invalid_request`
/// (RFC 6750 §3.1). [`as_str`](Self::as_str) is the `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestError {
    /// `Authorization: Bearer` without a token.
    EmptyToken,
    /// More than one credential: two `Authorization` headers, `Bearer a b`, two `access_token`
    /// parameters, or two methods at once (header and query, RFC 6750 §2).
    MultipleCredentials,
    /// The header's value is not text, or the token is not a `b64token` (RFC 6750 §2.1).
    MalformedAuthorization,
    /// An `access_token` query parameter where the authorizer does not accept one (RFC 6750 §2.3).
    QueryTokenRefused,
    /// The `access_token` query parameter does not percent-decode to a `b64token`.
    MalformedQueryToken,
    /// The form body (RFC 6750 §2.2) could not be read, or its `access_token` is not a `b64token`.
    MalformedForm,
    /// The form body is longer than the layer reads.
    FormTooLarge,
}

impl RequestError {
    /// A stable `snake_case` code: `empty_token`, `multiple_credentials`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestError::EmptyToken => "empty_token",
            RequestError::MultipleCredentials => "multiple_credentials",
            RequestError::MalformedAuthorization => "malformed_authorization",
            RequestError::QueryTokenRefused => "query_token_refused",
            RequestError::MalformedQueryToken => "malformed_query_token",
            RequestError::MalformedForm => "malformed_form",
            RequestError::FormTooLarge => "form_too_large",
        }
    }
}

/// Why a request was refused: the typed reason code, from which the status, the challenge and the
/// gRPC code all follow.
///
/// | reason | HTTP | RFC 6750 `error` | [`code`](Reason::code) |
/// |---|---|---|---|
/// | [`MissingCredentials`](Reason::MissingCredentials) | 401 | none (bare challenge, §3.1) | `missing_token` |
/// | [`UnsupportedScheme`](Reason::UnsupportedScheme) | 401 | none (bare challenge, §3.1) | `not_bearer` |
/// | [`InvalidRequest`](Reason::InvalidRequest) | 400 | `invalid_request` | the [`RequestError`] |
/// | [`InvalidToken`](Reason::InvalidToken) | 401 | `invalid_token` | the [`ErrorKind`] (`expired`, ...) |
/// | [`InsufficientScope`](Reason::InsufficientScope) | 403 | `insufficient_scope` | `insufficient_scope` |
/// | [`ClaimsRefused`](Reason::ClaimsRefused) | 403 | `insufficient_scope` | `claims` |
/// | [`Unavailable`](Reason::Unavailable) | 503, `Retry-After` | none, no challenge | `temporarily_unavailable` |
/// | [`Internal`](Reason::Internal) | 500 | none, no challenge | `server_error` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No credentials at all.
    MissingCredentials,
    /// The `Authorization` header names another scheme (`Basic ...`). RFC 6750 §3.1 treats "an
    /// unsupported authentication method" like no credentials: 401 with a bare challenge, no
    /// error code.
    UnsupportedScheme,
    /// A malformed request.
    InvalidRequest(RequestError),
    /// The token failed a check; the kind says which, and nothing more of why is told.
    InvalidToken(ErrorKind),
    /// The token lacks a scope the route requires.
    InsufficientScope,
    /// A claims check of the route or the authorizer refused the token.
    ClaimsRefused,
    /// Something the check depends on is failing (a key source, a revocation store), or a token
    /// names a key the failing key source could not fetch: the token may be fine, ask again later.
    Unavailable(ErrorKind),
    /// A failure on the server's side (configuration, a signer, an extractor without its layer:
    /// `None`), revealing nothing.
    Internal(Option<ErrorKind>),
}

impl Reason {
    /// The reason for a keycard error: the one place where error categories become answers.
    ///
    /// - Token ([`ErrorCategory::Token`]) is 401 `invalid_token` with the kind, except a missing
    ///   scope (403 `insufficient_scope`) and an `unknown_key_id` raised while the key source was
    ///   failing ([`Error::key_source_failure`]): that `kid` may be a new key the source could
    ///   not fetch, so it is 503 like the outage itself (500 when the refetch failed for a
    ///   configuration error, such as a source awaited off its runtime).
    /// - Configuration ([`ErrorCategory::Configuration`]) is 500.
    /// - Backend ([`ErrorCategory::Backend`]) is 503 with `Retry-After` for the two backends a
    ///   verification depends on, key sources and stores; 500 for the others (a signer, the
    ///   random generator, a client's refresh), which a verification never calls and a retry
    ///   would not mend.
    /// - A category keycard adds later is 500 until it is mapped here (fail closed, visibly).
    ///
    /// ```
    /// use keycard::{Error, ErrorKind};
    /// use keycard_http::Reason;
    ///
    /// let outage = Error::key_source(std::io::Error::other("JWKS answered 503"));
    /// assert_eq!(Reason::of(&outage), Reason::Unavailable(ErrorKind::KeySource));
    /// let new_key = Error::unknown_key_id("k2").with_key_source_failure(outage);
    /// assert_eq!(Reason::of(&new_key), Reason::Unavailable(ErrorKind::UnknownKeyId));
    /// assert_eq!(Reason::of(&Error::unknown_key_id("k2")), Reason::InvalidToken(ErrorKind::UnknownKeyId));
    /// ```
    pub fn of(error: &Error) -> Reason {
        match (error.category(), error.kind()) {
            (ErrorCategory::Token, ErrorKind::InsufficientScope) => Reason::InsufficientScope,
            (ErrorCategory::Token, kind @ ErrorKind::UnknownKeyId)
                if error.key_source_failure().is_some() =>
            {
                match error.key_source_failure().map(Reason::of) {
                    // The refetch could not even run (a source misconfigured): ours to fix.
                    Some(internal @ Reason::Internal(_)) => internal,
                    _ => Reason::Unavailable(kind),
                }
            }
            (ErrorCategory::Token, kind) => Reason::InvalidToken(kind),
            (ErrorCategory::Configuration, kind) => Reason::Internal(Some(kind)),
            (ErrorCategory::Backend, kind @ (ErrorKind::KeySource | ErrorKind::Store)) => {
                Reason::Unavailable(kind)
            }
            (ErrorCategory::Backend, kind) => Reason::Internal(Some(kind)),
            // `ErrorCategory` is non-exhaustive: a new category fails closed until mapped above.
            (_, kind) => Reason::Internal(Some(kind)),
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> StatusCode {
        match self {
            Reason::MissingCredentials | Reason::UnsupportedScheme | Reason::InvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            Reason::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Reason::InsufficientScope | Reason::ClaimsRefused => StatusCode::FORBIDDEN,
            Reason::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Reason::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6750 §3.1 error code (`invalid_request`, `invalid_token`, `insufficient_scope`),
    /// or `None` for missing credentials and for server-side failures.
    pub const fn error_code(self) -> Option<&'static str> {
        match self {
            Reason::MissingCredentials
            | Reason::UnsupportedScheme
            | Reason::Unavailable(_)
            | Reason::Internal(_) => None,
            Reason::InvalidRequest(_) => Some("invalid_request"),
            Reason::InvalidToken(_) => Some("invalid_token"),
            Reason::InsufficientScope | Reason::ClaimsRefused => Some("insufficient_scope"),
        }
    }

    /// The one short, stable code a client sees (the challenge's `error_description`, the JSON
    /// body, the gRPC message) and logs and metrics can count: `missing_token`, a
    /// [`RequestError`] code, an [`ErrorKind`] name, `insufficient_scope`, `claims`,
    /// `temporarily_unavailable` or `server_error`. Never more of why.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::MissingCredentials => "missing_token",
            Reason::UnsupportedScheme => "not_bearer",
            Reason::InvalidRequest(why) => why.as_str(),
            Reason::InvalidToken(kind) => kind.as_str(),
            Reason::InsufficientScope => "insufficient_scope",
            Reason::ClaimsRefused => "claims",
            Reason::Unavailable(_) => "temporarily_unavailable",
            Reason::Internal(_) => "server_error",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How long a client is told to wait after a 503 unless the authorizer says otherwise:
/// keycard-jwks's default refetch cooldown.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A refused request: the [`Reason`], and what its answer needs (the realm, the scopes a route
/// requires, how long to wait). Framework adapters render it: keycard-axum as a response with a
/// small JSON body, keycard-tonic as a `tonic::Status`; both take the status and headers from here.
///
/// ```
/// use keycard::ErrorKind;
/// use keycard_http::{Reason, Rejection};
///
/// let rejection = Rejection::new(Reason::InvalidToken(ErrorKind::Expired)).with_realm("orders");
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(
///     rejection.challenge().as_deref(),
///     Some(r#"Bearer realm="orders", error="invalid_token", error_description="expired""#)
/// );
/// let scope = Rejection::new(Reason::InsufficientScope).with_scope("orders:read");
/// assert_eq!(scope.status(), 403);
/// assert!(scope.challenge().unwrap().contains(r#"scope="orders:read""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
    realm: Arc<str>,
    scope: Option<Box<str>>,
    retry_after: Duration,
}

impl Rejection {
    /// A rejection for `reason`, realm `api`, [`DEFAULT_RETRY_AFTER`].
    pub fn new(reason: Reason) -> Self {
        Rejection {
            reason,
            realm: Arc::from("api"),
            scope: None,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }

    /// The rejection for a keycard error ([`Reason::of`]); a missing scope names the scope the
    /// core found missing.
    pub fn from_error(error: &Error) -> Self {
        let rejection = Rejection::new(Reason::of(error));
        match error {
            Error::InsufficientScope { missing } => rejection.with_scope(missing.as_str()),
            _ => rejection,
        }
    }

    /// The realm of the challenge.
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<Arc<str>>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The scopes necessary for the resource (space-separated), for `insufficient_scope`.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<Box<str>>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// How long a 503 tells the client to wait (`Retry-After`, whole seconds, rounded up).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Why.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.reason.status()
    }

    /// [`Reason::error_code`].
    pub fn error_code(&self) -> Option<&'static str> {
        self.reason.error_code()
    }

    /// [`Reason::code`].
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }

    /// The `error_description`: the [`code`](Self::code) when there is an
    /// [`error_code`](Self::error_code), otherwise `None`.
    pub fn description(&self) -> Option<&'static str> {
        self.reason.error_code().map(|_| self.reason.code())
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The scopes the challenge names, for `insufficient_scope`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// `Retry-After` for a 503, `None` otherwise.
    pub fn retry_after(&self) -> Option<Duration> {
        matches!(self.reason, Reason::Unavailable(_)).then_some(self.retry_after)
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3): `Bearer realm="..."`, then `error`, `scope`
    /// for `insufficient_scope` and `error_description`, each a quoted-string escaped with
    /// [`keycard::text::escape`]. `None` for 500 and 503: no credential would help.
    pub fn challenge(&self) -> Option<String> {
        if matches!(self.reason, Reason::Unavailable(_) | Reason::Internal(_)) {
            return None;
        }
        let mut challenge = format!("Bearer realm=\"{}\"", quoted(&self.realm));
        if let Some(code) = self.error_code() {
            challenge.push_str(&format!(", error=\"{code}\""));
        }
        if let (Reason::InsufficientScope, Some(scope)) = (self.reason, &self.scope) {
            challenge.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        if let Some(description) = self.description() {
            challenge.push_str(&format!(", error_description=\"{}\"", quoted(description)));
        }
        Some(challenge)
    }

    /// The headers of the answer: `WWW-Authenticate` when there is a challenge, `Retry-After`
    /// for a 503.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let Some(wait) = self.retry_after() {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.code())
    }
}

impl std::error::Error for Rejection {}

/// A value inside a quoted-string (RFC 9110 §5.6.4): control and format characters escaped by the
/// workspace's one escaper, then quotes and backslashes backslash-escaped.
fn quoted(text: &str) -> String {
    let escaped = keycard::text::escape(text, usize::MAX);
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            Rejection::new(Reason::MissingCredentials)
                .challenge()
                .as_deref(),
            Some(r#"Bearer realm="api""#)
        );
        assert_eq!(
            Rejection::new(Reason::InvalidToken(ErrorKind::Expired))
                .with_realm("a \"b\"")
                .challenge()
                .as_deref(),
            Some(r#"Bearer realm="a \"b\"", error="invalid_token", error_description="expired""#)
        );
        assert_eq!(Rejection::new(Reason::Internal(None)).challenge(), None);
    }

    #[test]
    fn a_realm_cannot_break_the_header() {
        let rejection = Rejection::new(Reason::MissingCredentials).with_realm("a\r\nSet-Cookie: x");
        let headers = rejection.headers();
        let value = headers[WWW_AUTHENTICATE].to_str().unwrap();
        // The escaper writes `\r` as two characters; the quoted-string escapes the backslash.
        assert_eq!(value, r#"Bearer realm="a\\r\\nSet-Cookie: x""#);
    }

    #[test]
    fn outages_are_503_with_retry_after_and_no_challenge() {
        let rejection = Rejection::from_error(&Error::store(std::io::Error::other("down")))
            .with_retry_after(Duration::from_millis(1500));
        assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rejection.code(), "temporarily_unavailable");
        let headers = rejection.headers();
        assert_eq!(headers[RETRY_AFTER], "2");
        assert!(headers.get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn every_category_has_its_answer() {
        let cases = [
            (Error::unknown_key_id("k"), 401, "unknown_key_id"),
            (
                Error::InsufficientScope {
                    missing: "write".into(),
                },
                403,
                "insufficient_scope",
            ),
            (
                Error::signing(std::io::Error::other("kms")),
                500,
                "server_error",
            ),
            (Error::random_failure(), 500, "server_error"),
            (
                Error::key_source(std::io::Error::other("stale")),
                503,
                "temporarily_unavailable",
            ),
        ];
        for (error, status, code) in cases {
            let rejection = Rejection::from_error(&error);
            assert_eq!(
                (rejection.status().as_u16(), rejection.code()),
                (status, code)
            );
        }
        let misconfigured = keycard::HmacKey::new(keycard::Algorithm::HS256, b"short").unwrap_err();
        assert_eq!(
            Reason::of(&misconfigured),
            Reason::Internal(Some(ErrorKind::Key))
        );
        let refetch_misconfigured =
            Error::unknown_key_id("k").with_key_source_failure(misconfigured);
        assert_eq!(
            Reason::of(&refetch_misconfigured),
            Reason::Internal(Some(ErrorKind::Key))
        );
        let scope = Rejection::from_error(&Error::InsufficientScope {
            missing: "write".into(),
        });
        assert_eq!(scope.scope(), Some("write"));
    }
}
