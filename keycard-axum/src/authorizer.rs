//! [`Authorizer`]: keycard-http's authorizer with axum's rendering of refusals, and the layers
//! it hands out.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use keycard_http::{ConfigurationError, IgnoreBody, Rejection, TokenVerifier};
use serde::de::DeserializeOwned;

use crate::rejection::Responder;

/// The tower layer of an axum route: keycard-http's [`AuthLayer`](keycard_http::AuthLayer)
/// answering refusals with axum's [`Responder`]. From [`Authorizer::layer`],
/// [`Authorizer::require_scope`] or [`Authorizer::optional`]; chain `.require_scope(..)`,
/// `.check(..)`, `.allow_form_token()`.
///
/// ```
/// # use keycard::{Algorithm, HmacKey, Validator};
/// use keycard_axum::Authorizer;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Tenant { tenant: String }
///
/// # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let auth = Authorizer::new(Validator::builder(key).build()?);
/// let acme_only = auth.layer().check(|t: &Tenant| t.tenant == "acme");
/// # Ok::<(), keycard::Error>(())
/// ```
pub type AuthLayer<T = IgnoreBody> = keycard_http::AuthLayer<Responder, T>;

/// The service an [`AuthLayer`] makes.
pub type AuthService<S, T = IgnoreBody> = keycard_http::AuthService<S, Responder, T>;

/// Checks bearer tokens for an axum app: make it once, then take layers from it for routes
/// ([`layer`](Self::layer), [`require_scope`](Self::require_scope), [`optional`](Self::optional)).
/// Cheap to clone.
///
/// ```
/// use axum::{routing::get, Router};
/// use keycard::{Algorithm, Claims, HmacKey, Validator};
/// use keycard_axum::{Authorizer, Verified};
///
/// async fn orders(Verified(claims): Verified<Claims>) -> String {
///     format!("orders of {}", claims.subject.unwrap_or_default())
/// }
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let auth = Authorizer::new(Validator::builder(key).audience("api").build()?);
/// let app: Router = Router::new().route("/orders", get(orders).layer(auth.require_scope("orders:read")));
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Authorizer {
    http: keycard_http::Authorizer,
    responder: Responder,
}

impl Authorizer {
    /// An authorizer that checks every token with `validator` (a keycard
    /// [`Validator`](keycard::Validator), whose key source, if any, is refetched on an unknown
    /// `kid`), realm `api`.
    pub fn new(validator: impl TokenVerifier) -> Self {
        Authorizer {
            http: keycard_http::Authorizer::new(validator),
            responder: Responder::default(),
        }
    }

    /// Starts an authorizer with more options: several issuers, the realm, query-string tokens,
    /// checks for every route, the rejection body.
    pub fn builder() -> AuthorizerBuilder {
        AuthorizerBuilder {
            http: keycard_http::Authorizer::builder(),
            body: None,
        }
    }

    /// A layer that lets through requests with a valid token.
    pub fn layer(&self) -> AuthLayer {
        self.http.layer(self.responder.clone())
    }

    /// A layer that lets through requests with a valid token granting `scope` (in `scope` or
    /// `scp`); chain `.require_scope(..)` for more.
    pub fn require_scope(&self, scope: impl Into<String>) -> AuthLayer {
        self.layer().require_scope(scope)
    }

    /// A layer for optional authentication: a request without credentials goes through
    /// unauthenticated (`Option<Verified<T>>` is then `None`); one with credentials must have a
    /// valid token like everywhere else.
    pub fn optional(&self) -> AuthLayer {
        self.layer().optional()
    }

    /// The response for `rejection`: the configured body (or the default JSON one) with the
    /// status and headers of RFC 6750 §3.
    pub fn reject(&self, rejection: &Rejection) -> Response {
        self.responder.respond(rejection)
    }

    /// The framework-neutral authorizer underneath, e.g. to share one configuration with a
    /// keycard-tonic service.
    pub fn http(&self) -> &keycard_http::Authorizer {
        &self.http
    }
}

/// Configures an [`Authorizer`]: keycard-http's
/// [`AuthorizerBuilder`](keycard_http::AuthorizerBuilder) plus the rejection body.
#[must_use = "call `build` to get an Authorizer"]
pub struct AuthorizerBuilder {
    http: keycard_http::AuthorizerBuilder,
    body: Option<Arc<crate::rejection::BodyFn>>,
}

impl std::fmt::Debug for AuthorizerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizerBuilder")
            .field("http", &self.http)
            .field("custom_body", &self.body.is_some())
            .finish()
    }
}

impl AuthorizerBuilder {
    fn with(
        mut self,
        f: impl FnOnce(keycard_http::AuthorizerBuilder) -> keycard_http::AuthorizerBuilder,
    ) -> Self {
        self.http = f(self.http);
        self
    }

    /// Checks every token with `validator` (instead of choosing by issuer).
    pub fn validator(self, validator: impl TokenVerifier) -> Self {
        self.with(|http| http.validator(validator))
    }

    /// Accepts tokens from `issuer`, verified with `validator` only (its keys and its rules):
    /// each token's unverified `iss` picks the validator, which then checks everything, and
    /// the verified `iss` must be `issuer`
    /// ([`keycard_http::AuthorizerBuilder::issuer`]).
    pub fn issuer(self, issuer: impl Into<String>, validator: impl TokenVerifier) -> Self {
        self.with(|http| http.issuer(issuer, validator))
    }

    /// The realm of the `WWW-Authenticate` challenges (default `api`).
    pub fn realm(self, realm: impl Into<String>) -> Self {
        self.with(|http| http.realm(realm))
    }

    /// Accepts a token in the `access_token` query parameter (RFC 6750 §2.3); off by default,
    /// see [`keycard_http::AuthorizerBuilder::allow_query_token`] for why.
    pub fn allow_query_token(self) -> Self {
        self.with(keycard_http::AuthorizerBuilder::allow_query_token)
    }

    /// The longest token whose unverified `iss` is read to choose among issuers
    /// ([`keycard_http::AuthorizerBuilder::max_token_len`]).
    pub fn max_token_len(self, bytes: usize) -> Self {
        self.with(|http| http.max_token_len(bytes))
    }

    /// How long a 503 tells the client to wait
    /// ([`keycard_http::AuthorizerBuilder::retry_after`]).
    pub fn retry_after(self, wait: Duration) -> Self {
        self.with(|http| http.retry_after(wait))
    }

    /// Rules every token must meet on every route, 401 otherwise: a provider preset's
    /// (`keycard_jwks::Connected::rules`; [`keycard_http::AuthorizerBuilder::rules`]).
    pub fn rules(self, rules: impl IntoIterator<Item = keycard_http::TokenRule>) -> Self {
        self.with(|http| http.rules(rules))
    }

    /// A claims check for every route ([`keycard_http::AuthorizerBuilder::check`]).
    pub fn check<C, F>(self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        self.with(|http| http.check(check))
    }

    /// Replaces the body of every refusal. The layer still sets the status and the headers of
    /// RFC 6750 (`WWW-Authenticate`, and `Retry-After` for a 503) over whatever `body` returns.
    pub fn rejection_body(
        mut self,
        body: impl Fn(&Rejection) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.body = Some(Arc::new(body));
        self
    }

    /// Builds the authorizer.
    ///
    /// # Errors
    /// [`ConfigurationError`] when no validator is given, when both
    /// [`validator`](Self::validator) and [`issuer`](Self::issuer) are, or when an issuer is
    /// named twice.
    pub fn build(self) -> Result<Authorizer, ConfigurationError> {
        Ok(Authorizer {
            http: self.http.build()?,
            responder: Responder::new(self.body),
        })
    }
}
