//! [`Authorizer`]: which validators check a request's bearer token, and how refusals look.

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use keycard::{Error, ErrorKind, Validator};
use keycard_jwks::RemoteValidator;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::layer::AuthLayer;
use crate::rejection::Rejection;

/// A validator with static keys or with a remote key set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyValidator {
    /// Keys known at start-up (a PEM file, an HMAC secret, a fixed JWK Set).
    Static(Validator),
    /// Keys from an identity provider's JWKS ([`keycard_jwks`]); an unknown `kid` waits for
    /// the set's one shared refetch.
    Remote(RemoteValidator),
}

impl From<Validator> for AnyValidator {
    fn from(validator: Validator) -> Self {
        AnyValidator::Static(validator)
    }
}

impl From<RemoteValidator> for AnyValidator {
    fn from(validator: RemoteValidator) -> Self {
        AnyValidator::Remote(validator)
    }
}

impl AnyValidator {
    /// Verifies `token`; the claims stay JSON text, read by each consumer into its own type.
    async fn verify(&self, token: &str) -> Result<Box<RawValue>, Error> {
        match self {
            AnyValidator::Static(validator) => validator.verify(token),
            AnyValidator::Remote(validator) => validator.verify_or_refetch(token).await,
        }
    }
}

type Body = dyn Fn(&Rejection) -> Response + Send + Sync;

/// What every layer made from one [`Authorizer`] shares.
pub(crate) struct Shared {
    pub(crate) realm: String,
    /// One validator for every token, or one per issuer.
    validators: Validators,
    pub(crate) allow_query: bool,
    body: Option<Arc<Body>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("realm", &self.realm)
            .field("validators", &self.validators)
            .field("allow_query", &self.allow_query)
            .field("custom_body", &self.body.is_some())
            .finish()
    }
}

#[derive(Debug)]
enum Validators {
    One(AnyValidator),
    ByIssuer(Vec<(String, AnyValidator)>),
}

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
    pub(crate) shared: Arc<Shared>,
}

/// Configures an [`Authorizer`].
#[must_use = "call `build` to get an Authorizer"]
pub struct AuthorizerBuilder {
    realm: String,
    one: Option<AnyValidator>,
    issuers: Vec<(String, AnyValidator)>,
    allow_query: bool,
    body: Option<Arc<Body>>,
}

impl fmt::Debug for AuthorizerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerBuilder")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer that checks every token with `validator`, realm `api`.
    pub fn new(validator: impl Into<AnyValidator>) -> Self {
        Authorizer {
            shared: Arc::new(Shared {
                realm: "api".to_owned(),
                validators: Validators::One(validator.into()),
                allow_query: false,
                body: None,
            }),
        }
    }

    /// Starts an authorizer with more options: several issuers, the realm, query-string tokens,
    /// the rejection body.
    pub fn builder() -> AuthorizerBuilder {
        AuthorizerBuilder {
            realm: "api".to_owned(),
            one: None,
            issuers: Vec::new(),
            allow_query: false,
            body: None,
        }
    }

    /// A layer that lets through requests with a valid token.
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone(), false)
    }

    /// A layer that lets through requests with a valid token granting `scope` (in `scope` or
    /// `scp`); chain [`AuthLayer::require_scope`] for more.
    pub fn require_scope(&self, scope: impl Into<String>) -> AuthLayer {
        self.layer().require_scope(scope)
    }

    /// A layer for optional authentication: a request without credentials goes through
    /// unauthenticated (`Option<Verified<T>>` is then `None`); one with credentials must have a
    /// valid token like everywhere else.
    pub fn optional(&self) -> AuthLayer {
        AuthLayer::new(self.clone(), true)
    }

    /// The response for `rejection`: the configured body (or the default JSON one) with the
    /// status and `WWW-Authenticate` of RFC 6750 §3.
    pub fn reject(&self, rejection: &Rejection) -> Response {
        let body = match &self.shared.body {
            Some(body) => body(rejection),
            None => axum::Json(rejection.default_body()).into_response(),
        };
        rejection.respond(&self.shared.realm, body)
    }

    /// Verifies `token` with the validator for its issuer.
    pub(crate) async fn verify(&self, token: &str) -> Result<Box<RawValue>, Rejection> {
        let (validator, expected) = match &self.shared.validators {
            Validators::One(validator) => (validator, None),
            Validators::ByIssuer(issuers) => {
                #[derive(Deserialize)]
                struct Issuer {
                    iss: Option<String>,
                }
                // Only to pick the validator: the token is then verified by that issuer's
                // own keys and rules, `iss` included.
                let issuer: Issuer = keycard::unverified::decode_claims(token)
                    .map_err(|e| Rejection::InvalidToken(e.kind()))?;
                let iss = issuer
                    .iss
                    .ok_or(Rejection::InvalidToken(ErrorKind::Issuer))?;
                issuers
                    .iter()
                    .find(|(name, _)| *name == iss)
                    .map(|(name, validator)| (validator, Some(name.as_str())))
                    .ok_or(Rejection::InvalidToken(ErrorKind::Issuer))?
            }
        };
        let claims = validator
            .verify(token)
            .await
            .map_err(|e| rejection_for(&e))?;
        if let Some(expected) = expected {
            #[derive(Deserialize)]
            struct Issuer<'a> {
                #[serde(borrow)]
                iss: Option<std::borrow::Cow<'a, str>>,
            }
            let verified: Issuer<'_> = serde_json::from_str(claims.get())
                .map_err(|_| Rejection::InvalidToken(ErrorKind::Issuer))?;
            if verified.iss.as_deref() != Some(expected) {
                return Err(Rejection::InvalidToken(ErrorKind::Issuer));
            }
        }
        Ok(claims)
    }
}

/// The rejection for a verification failure; server-side failures are logged, not told.
fn rejection_for(e: &Error) -> Rejection {
    match e {
        Error::InsufficientScope { missing } => Rejection::InsufficientScope(missing.clone()),
        _ => match e.kind() {
            ErrorKind::Store
            | ErrorKind::Signing
            | ErrorKind::Configuration
            | ErrorKind::Refresh => {
                tracing::error!(target: "keycard_axum", error = %e, "token check failed on the server's side");
                Rejection::Internal
            }
            kind => {
                tracing::debug!(target: "keycard_axum", error = %e, "token refused");
                Rejection::InvalidToken(kind)
            }
        },
    }
}

impl AuthorizerBuilder {
    /// Checks every token with `validator` (instead of choosing by issuer).
    pub fn validator(mut self, validator: impl Into<AnyValidator>) -> Self {
        self.one = Some(validator.into());
        self
    }

    /// Accepts tokens from `issuer`, verified with `validator` only (its keys and its rules):
    /// each token's unverified `iss` picks the validator, which then checks everything, and
    /// the verified `iss` must be `issuer`. Give each validator its issuer too
    /// (`.issuer(..)` on its builder) so that it also refuses tokens of other issuers.
    pub fn issuer(mut self, issuer: impl Into<String>, validator: impl Into<AnyValidator>) -> Self {
        self.issuers.push((issuer.into(), validator.into()));
        self
    }

    /// The realm of the `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Accepts a token in the `access_token` query parameter (RFC 6750 §2.3) when there is no
    /// `Authorization` header. Off by default: URLs end up in logs and browser history.
    pub fn allow_query_token(mut self) -> Self {
        self.allow_query = true;
        self
    }

    /// Replaces the body of every refusal. The layer still sets the status and the
    /// `WWW-Authenticate` header of RFC 6750 over whatever `body` returns.
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
        let configuration = |why: &'static str| ConfigurationError(why);
        let validators =
            match (self.one, self.issuers.is_empty()) {
                (Some(one), true) => Validators::One(one),
                (None, false) => {
                    for (i, (issuer, _)) in self.issuers.iter().enumerate() {
                        if self.issuers[..i].iter().any(|(other, _)| other == issuer) {
                            return Err(configuration("an issuer is named twice"));
                        }
                    }
                    Validators::ByIssuer(self.issuers)
                }
                (None, true) => {
                    return Err(configuration("no validator: call `validator` or `issuer`"))
                }
                (Some(_), false) => return Err(configuration(
                    "both `validator` and `issuer` given: use `issuer` for each accepted issuer",
                )),
            };
        Ok(Authorizer {
            shared: Arc::new(Shared {
                realm: self.realm,
                validators,
                allow_query: self.allow_query,
                body: self.body,
            }),
        })
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
