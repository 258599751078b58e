//! [`Authorizer`]: which verifier checks a request's token (one, or one per issuer), where the
//! token may come from, and the realm and checks every route shares. It names no route: a
//! [`Policy`](crate::Policy) and an [`AuthLayer`](crate::AuthLayer) hold an authorizer, never the
//! other way round.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Uri};
use keycard::{Error, ErrorKind};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::authenticated::Anonymous;
use crate::credentials::{self, Method};
use crate::rejection::{Reason, Rejection, DEFAULT_RETRY_AFTER};
use crate::verify::TokenVerifier;

/// A claims check: the verified claims in, accepted or not.
pub(crate) type Check = dyn Fn(&Value) -> bool + Send + Sync;

/// A rule every token of an [`Authorizer`] must meet, over its verified claims, and the kind of
/// the 401 `invalid_token` it answers when the token does not (for instance
/// [`ErrorKind::Audience`] for a Cognito token of another app client, [`ErrorKind::Issuer`] for
/// an Entra ID token of another tenant). keycard-jwks's provider presets make them; any
/// `(ErrorKind, Arc<Fn>)` pair is one.
pub type TokenRule = (ErrorKind, Arc<dyn Fn(&Value) -> bool + Send + Sync>);

/// `check` over the claims read as `C`; claims that do not read as `C` are refused.
pub(crate) fn check_fn<C, F>(check: F) -> Arc<Check>
where
    C: DeserializeOwned,
    F: Fn(&C) -> bool + Send + Sync + 'static,
{
    Arc::new(move |claims: &Value| C::deserialize(claims).is_ok_and(|c| check(&c)))
}

/// Checks bearer tokens for an HTTP service: make it once, then take a
/// [`Policy`](crate::Policy) ([`policy`](Self::policy)) or an [`AuthLayer`](crate::AuthLayer)
/// ([`layer`](Self::layer)) from it per route. Cheap to clone.
///
/// ```
/// use keycard::{Algorithm, Builder, HmacKey, Validator};
/// use keycard::time::Duration;
/// use keycard_http::{Authorizer, Reason};
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let auth = Authorizer::new(Validator::builder(key.clone()).audience("api").build()?);
/// let orders = auth.policy().require_scope("orders:read");
///
/// let token = Builder::new().audience("api").claim("scope", "profile")
///     .expires_in(Duration::minutes(5)).sign(&key)?;
/// let refused = orders.authenticate_now(Some(token)).unwrap_err();
/// assert_eq!(refused.reason(), Reason::InsufficientScope);
/// assert_eq!(refused.status(), 403);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Clone)]
pub struct Authorizer {
    shared: Arc<Shared>,
}

struct Shared {
    realm: Arc<str>,
    verifiers: Verifiers,
    allow_query: bool,
    max_token_len: usize,
    retry_after: Duration,
    rules: Vec<TokenRule>,
    checks: Vec<Arc<Check>>,
}

enum Verifiers {
    One(Arc<dyn TokenVerifier>),
    ByIssuer(Vec<(String, Arc<dyn TokenVerifier>)>),
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &*self.shared;
        let mut debug = f.debug_struct("Authorizer");
        debug.field("realm", &shared.realm);
        match &shared.verifiers {
            Verifiers::One(one) => debug.field("verifier", one),
            Verifiers::ByIssuer(issuers) => debug.field("issuers", issuers),
        };
        debug
            .field("allow_query", &shared.allow_query)
            .field("max_token_len", &shared.max_token_len)
            .field("rules", &shared.rules.len())
            .field("checks", &shared.checks.len())
            .finish()
    }
}

impl Authorizer {
    /// An authorizer that checks every token with `verifier` (a keycard
    /// [`Validator`](keycard::Validator)), realm `api`.
    pub fn new(verifier: impl TokenVerifier) -> Self {
        Self::builder().assemble(Verifiers::One(Arc::new(verifier)))
    }

    /// Starts an authorizer with more options: several issuers, the realm, query-string tokens,
    /// checks for every route.
    pub fn builder() -> AuthorizerBuilder {
        AuthorizerBuilder {
            realm: Arc::from("api"),
            one: None,
            issuers: Vec::new(),
            allow_query: false,
            max_token_len: keycard::limits::DEFAULT_MAX_TOKEN_LEN,
            retry_after: DEFAULT_RETRY_AFTER,
            rules: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The realm of the challenges.
    pub fn realm(&self) -> &str {
        &self.shared.realm
    }

    pub(crate) fn shared_realm(&self) -> Arc<str> {
        Arc::clone(&self.shared.realm)
    }

    /// The request's bearer token: the `Authorization` header (RFC 6750 §2.1) or, when allowed,
    /// the `access_token` query parameter of `uri` (§2.3); `None` without credentials.
    ///
    /// # Errors
    /// A 400 `invalid_request` rejection: another scheme, two credentials, a token that is not a
    /// `b64token`, a query token where none is allowed.
    pub fn credential(
        &self,
        headers: &HeaderMap,
        uri: Option<&Uri>,
    ) -> Result<Option<String>, Rejection> {
        self.credential_of(headers, uri.and_then(Uri::query))
            .map(|found| found.map(|(token, _)| token))
    }

    pub(crate) fn credential_of(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<(String, Method)>, Rejection> {
        credentials::bearer(headers, query, self.shared.allow_query)
            .map_err(|reason| self.reject(reason))
    }

    /// What an optional route leaves in the extensions of a request without credentials.
    pub fn anonymous(&self) -> Anonymous {
        Anonymous::new(self.shared_realm())
    }

    /// A refusal for `reason`, in this authorizer's realm and with its `Retry-After`.
    pub fn reject(&self, reason: Reason) -> Rejection {
        Rejection::new(reason)
            .with_realm(Arc::clone(&self.shared.realm))
            .with_retry_after(self.shared.retry_after)
    }

    /// The refusal for a verification failure; failures on the server's side are logged here
    /// (with the core's message, whose echoed values are escaped) and never told.
    #[cold]
    pub(crate) fn refuse(&self, error: &Error) -> Rejection {
        let rejection = Rejection::from_error(error)
            .with_realm(Arc::clone(&self.shared.realm))
            .with_retry_after(self.shared.retry_after);
        match rejection.reason() {
            Reason::Internal(_) => {
                tracing::error!(target: "keycard_http", error = %error, "token check failed on the server's side");
            }
            // One event per outage kind, so that an alert can tell the key source's from a
            // store's, and a new key during an outage from the outage itself.
            Reason::Unavailable(ErrorKind::KeySource) => {
                let retry_after_secs = self.shared.retry_after.as_secs();
                tracing::warn!(target: "keycard_http", error = %error, retry_after_secs, "key source unavailable: answering 503");
            }
            Reason::Unavailable(ErrorKind::UnknownKeyId) => {
                let retry_after_secs = self.shared.retry_after.as_secs();
                tracing::warn!(target: "keycard_http", error = %error, retry_after_secs, "unknown kid while the key source is failing: answering 503");
            }
            Reason::Unavailable(_) => {
                tracing::warn!(target: "keycard_http", error = %error, "token check unavailable: a backend is failing");
            }
            _ => tracing::debug!(target: "keycard_http", error = %error, "token refused"),
        }
        rejection
    }

    /// The token rules every route runs first: the kind of the first one the claims fail.
    pub(crate) fn broken_rule(&self, claims: &Value) -> Option<ErrorKind> {
        self.shared
            .rules
            .iter()
            .find(|(_, rule)| !rule(claims))
            .map(|(kind, _)| *kind)
    }

    /// The checks every route of this authorizer runs after its own.
    pub(crate) fn checks(&self) -> &[Arc<Check>] {
        &self.shared.checks
    }

    /// The verifier for `token` and, when chosen by issuer, the issuer its verified `iss` must
    /// be.
    ///
    /// With several issuers, the unverified `iss` picks the verifier. It is read only after the
    /// token's length is checked against the limit, by keycard's unverified reader, into a type
    /// that holds nothing but `iss`: a crafted token costs at most one bounded decode here, and
    /// the chosen verifier checks everything again, `iss` included.
    pub(crate) fn select(
        &self,
        token: &str,
    ) -> Result<(&dyn TokenVerifier, Option<&str>), Rejection> {
        let issuers = match &self.shared.verifiers {
            Verifiers::One(verifier) => return Ok((&**verifier, None)),
            Verifiers::ByIssuer(issuers) => issuers,
        };
        if token.len() > self.shared.max_token_len {
            return Err(self.reject(Reason::InvalidToken(ErrorKind::Malformed)));
        }
        #[derive(Deserialize)]
        struct Issuer {
            iss: Option<String>,
        }
        let issuer: Issuer = keycard::unverified::decode_claims(token)
            .map_err(|e| self.reject(Reason::InvalidToken(e.kind())))?;
        let iss = issuer
            .iss
            .ok_or_else(|| self.reject(Reason::InvalidToken(ErrorKind::Issuer)))?;
        issuers
            .iter()
            .find(|(name, _)| *name == iss)
            .map(|(name, verifier)| (&**verifier, Some(name.as_str())))
            .ok_or_else(|| self.reject(Reason::InvalidToken(ErrorKind::Issuer)))
    }
}

/// Configures an [`Authorizer`].
#[must_use = "call `build` to get an Authorizer"]
pub struct AuthorizerBuilder {
    realm: Arc<str>,
    one: Option<Arc<dyn TokenVerifier>>,
    issuers: Vec<(String, Arc<dyn TokenVerifier>)>,
    allow_query: bool,
    max_token_len: usize,
    retry_after: Duration,
    rules: Vec<TokenRule>,
    checks: Vec<Arc<Check>>,
}

impl fmt::Debug for AuthorizerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerBuilder")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl AuthorizerBuilder {
    /// Checks every token with `verifier` (instead of choosing by issuer).
    pub fn validator(mut self, verifier: impl TokenVerifier) -> Self {
        self.one = Some(Arc::new(verifier));
        self
    }

    /// Accepts tokens from `issuer`, checked by `verifier` only (its keys and its rules): each
    /// token's unverified `iss` picks the verifier, which then checks everything, and the
    /// verified `iss` must be `issuer`. Give each validator its issuer too (`.issuer(..)` on its
    /// builder) so that it also refuses tokens of other issuers.
    pub fn issuer(mut self, issuer: impl Into<String>, verifier: impl TokenVerifier) -> Self {
        self.issuers.push((issuer.into(), Arc::new(verifier)));
        self
    }

    /// The realm of the `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Arc::from(realm.into());
        self
    }

    /// Accepts a token in the `access_token` query parameter (RFC 6750 §2.3) when there is no
    /// other credential. Off by default, and best left off: URLs end up in server and proxy
    /// logs, browser history and `Referer` headers, and the RFC calls this method a last resort
    /// ("SHOULD NOT be used unless it is impossible to transport the access token in the
    /// `Authorization` request header field or the HTTP request entity-body"). Successful
    /// answers to such requests get `Cache-Control: private`, as §2.3 asks.
    pub fn allow_query_token(mut self) -> Self {
        self.allow_query = true;
        self
    }

    /// The longest token whose unverified `iss` is read to choose among several issuers
    /// (default [`keycard::limits::DEFAULT_MAX_TOKEN_LEN`]); a longer one is refused before
    /// anything is decoded. Set it to the validators' own limit when you raise theirs.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// How long a 503 (a failing key source or store) tells the client to wait (default
    /// [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Requires every token, on every route, to meet `rules` (a provider preset's
    /// [`TokenRule`]s: `keycard_jwks::Provider::rules`), before any route rule: a token that
    /// fails one is not for this service, 401 `invalid_token` with the rule's kind.
    pub fn rules(mut self, rules: impl IntoIterator<Item = TokenRule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Also requires `check` to accept the claims (read as `C`) on every route, after the
    /// route's own checks: otherwise 403 `insufficient_scope`, `error_description="claims"`.
    pub fn check<C, F>(mut self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        self.checks.push(check_fn(check));
        self
    }

    /// Builds the authorizer.
    ///
    /// # Errors
    /// [`ConfigurationError`] when no verifier is given, when both
    /// [`validator`](Self::validator) and [`issuer`](Self::issuer) are, or when an issuer is
    /// named twice.
    pub fn build(mut self) -> Result<Authorizer, ConfigurationError> {
        let issuers = std::mem::take(&mut self.issuers);
        let verifiers =
            match (self.one.take(), issuers.is_empty()) {
                (Some(one), true) => Verifiers::One(one),
                (None, false) => {
                    for (i, (issuer, _)) in issuers.iter().enumerate() {
                        if issuers[..i].iter().any(|(other, _)| other == issuer) {
                            return Err(ConfigurationError("an issuer is named twice"));
                        }
                    }
                    Verifiers::ByIssuer(issuers)
                }
                (None, true) => {
                    return Err(ConfigurationError(
                        "no validator: call `validator` or `issuer`",
                    ))
                }
                (Some(_), false) => return Err(ConfigurationError(
                    "both `validator` and `issuer` given: use `issuer` for each accepted issuer",
                )),
            };
        Ok(self.assemble(verifiers))
    }

    fn assemble(self, verifiers: Verifiers) -> Authorizer {
        Authorizer {
            shared: Arc::new(Shared {
                realm: self.realm,
                verifiers,
                allow_query: self.allow_query,
                max_token_len: self.max_token_len,
                retry_after: self.retry_after,
                rules: self.rules,
                checks: self.checks,
            }),
        }
    }
}

/// Why [`AuthorizerBuilder::build`] refused its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationError(&'static str);

impl fmt::Display for ConfigurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid authorizer configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigurationError {}
