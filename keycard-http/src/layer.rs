//! [`AuthLayer`] and [`AuthService`]: the tower middleware that finds the credential, applies the
//! route's [`Policy`] and leaves the outcome in the request's extensions; [`Respond`], how a
//! framework draws the refusal; [`BodyToken`], whether the body may carry the token.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::{Request, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use crate::authorizer::Authorizer;
use crate::credentials::{self, Method};
use crate::policy::Policy;
use crate::rejection::{Reason, Rejection, RequestError};

/// How a framework answers a [`Rejection`]: its status and headers
/// ([`Rejection::headers`]), over a body of the framework's own. keycard-axum renders a small JSON
/// body, keycard-tonic a `tonic::Status`; [`EmptyBody`] renders none.
///
/// The layer also leaves a clone of it in the extensions of every request it lets through, so
/// that an extractor refusing later (claims that do not fit the handler's type) answers the same
/// way.
pub trait Respond<B>: Clone + Send + Sync + 'static {
    /// The response for `rejection`.
    fn respond(&self, rejection: &Rejection) -> Response<B>;
}

/// Answers a refusal with its status and headers and an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyBody;

impl<B: Default> Respond<B> for EmptyBody {
    fn respond(&self, rejection: &Rejection) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = rejection.status();
        response.headers_mut().extend(rejection.headers());
        response
    }
}

/// Whether an [`AuthLayer`] reads the token from the request body: [`IgnoreBody`] (the default)
/// or [`FormBody`] (RFC 6750 §2.2, opted in with [`AuthLayer::allow_form_token`]).
pub trait BodyToken<B>: Clone + Send + Sync + 'static {
    /// The request (its body as it was) and the body's `access_token`, if any.
    fn take(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Result<(Request<B>, Option<String>), RequestError>> + Send;
}

/// The body is the handler's: the token comes from the header (or the query) only.
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreBody;

impl<B: Send + 'static> BodyToken<B> for IgnoreBody {
    fn take(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Result<(Request<B>, Option<String>), RequestError>> + Send {
        std::future::ready(Ok((request, None)))
    }
}

/// The token may come in an `application/x-www-form-urlencoded` body (RFC 6750 §2.2) of a
/// request that is not a GET: the layer reads the body (at most
/// [`max_bytes`](AuthLayer::max_form_bytes), [`DEFAULT_MAX_FORM_BYTES`] by default), takes its
/// `access_token` and hands the handler the same bytes.
///
/// The RFC allows this method only where the client cannot send the `Authorization` header
/// (a browser form, say); the body must be single-part and the client must not also send the
/// token another way. Buffering a body before the token is checked costs memory per request,
/// which the limit bounds.
#[derive(Debug, Clone, Copy)]
pub struct FormBody {
    max_bytes: usize,
}

/// The default longest form body an [`AuthLayer`] reads for its token.
pub const DEFAULT_MAX_FORM_BYTES: usize = 64 * 1024;

impl<B> BodyToken<B> for FormBody
where
    B: http_body::Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn take(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Result<(Request<B>, Option<String>), RequestError>> + Send {
        let max_bytes = self.max_bytes;
        async move {
            if !credentials::is_form(request.method(), request.headers()) {
                return Ok((request, None));
            }
            let (parts, body) = request.into_parts();
            let bytes = match Limited::new(body, max_bytes).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(RequestError::FormTooLarge)
                }
                Err(_) => return Err(RequestError::MalformedForm),
            };
            let token = credentials::form(&bytes)?;
            Ok((Request::from_parts(parts, B::from(bytes)), token))
        }
    }
}

/// A tower [`Layer`] that refuses requests without a valid bearer token for its [`Policy`], and
/// leaves [`Authenticated`](crate::Authenticated) (or, when optional,
/// [`Anonymous`](crate::Anonymous)) in the extensions of those it lets through. From
/// [`Authorizer::layer`](crate::Authorizer::layer); framework adapters name it with their
/// [`Respond`].
///
/// ```
/// use http::{header, Request, Response, StatusCode};
/// use keycard::{Algorithm, Builder, HmacKey, Validator};
/// use keycard::time::Duration;
/// use keycard_http::{Authenticated, Authorizer, EmptyBody};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
///
/// # tokio_test(async {
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let auth = Authorizer::new(Validator::builder(key.clone()).build()?);
/// let service = ServiceBuilder::new()
///     .layer(auth.layer(EmptyBody).require_scope("read"))
///     .service(service_fn(|request: Request<String>| async move {
///         let caller = request.extensions().get::<Authenticated>().map(|a| a.claims()["sub"].clone());
///         Ok::<_, std::convert::Infallible>(Response::new(caller.unwrap_or_default().to_string()))
///     }));
///
/// let token = Builder::new().subject("alice").claim("scope", "read")
///     .expires_in(Duration::minutes(5)).sign(&key)?;
/// let request = Request::get("/").header(header::AUTHORIZATION, format!("Bearer {token}"))
///     .body(String::new())?;
/// let response = service.clone().oneshot(request).await?;
/// assert_eq!(response.into_body(), r#""alice""#);
///
/// let response = service.oneshot(Request::get("/").body(String::new())?).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(response.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="api""#);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[must_use = "a layer does nothing until it wraps a service"]
pub struct AuthLayer<R, T = IgnoreBody> {
    state: Arc<State<R, T>>,
}

#[derive(Clone)]
struct State<R, T> {
    policy: Policy,
    respond: R,
    body: T,
}

impl<R, T> Clone for AuthLayer<R, T> {
    fn clone(&self) -> Self {
        AuthLayer {
            state: Arc::clone(&self.state),
        }
    }
}

impl<R, T: fmt::Debug> fmt::Debug for AuthLayer<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("policy", &self.state.policy)
            .field("body", &self.state.body)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// A tower layer with this authorizer's [`policy`](Self::policy), answering refusals with
    /// `respond` (a framework adapter's rendering, or [`EmptyBody`]).
    pub fn layer<R>(&self, respond: R) -> AuthLayer<R> {
        AuthLayer::new(self.policy(), respond)
    }
}

impl<R> AuthLayer<R> {
    /// A layer for `policy`, answering refusals with `respond`.
    pub fn new(policy: Policy, respond: R) -> Self {
        AuthLayer {
            state: Arc::new(State {
                policy,
                respond,
                body: IgnoreBody,
            }),
        }
    }
}

impl<R: Clone, T: Clone> AuthLayer<R, T> {
    fn with_policy(mut self, f: impl FnOnce(Policy) -> Policy) -> Self {
        let state = Arc::make_mut(&mut self.state);
        state.policy = f(state.policy.clone());
        self
    }

    /// The layer's rules.
    pub fn policy(&self) -> &Policy {
        &self.state.policy
    }

    /// Also requires `scope` ([`Policy::require_scope`]).
    pub fn require_scope(self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.with_policy(|policy| policy.require_scope(scope))
    }

    /// Also requires `check` to accept the claims, read as `C` ([`Policy::check`]).
    pub fn check<C, F>(self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        self.with_policy(|policy| policy.check(check))
    }

    /// Lets requests without credentials through ([`Policy::optional`]).
    pub fn optional(self) -> Self {
        self.with_policy(Policy::optional)
    }

    /// Also accepts the token in a form body (RFC 6750 §2.2; see [`FormBody`] for the
    /// conditions and the cost). Needs a request body type that can be rebuilt from bytes
    /// (axum's `Body`, `http_body_util::Full`).
    pub fn allow_form_token(self) -> AuthLayer<R, FormBody> {
        AuthLayer {
            state: Arc::new(State {
                policy: self.state.policy.clone(),
                respond: self.state.respond.clone(),
                body: FormBody {
                    max_bytes: DEFAULT_MAX_FORM_BYTES,
                },
            }),
        }
    }
}

impl<R: Clone> AuthLayer<R, FormBody> {
    /// The longest form body read for its token (default [`DEFAULT_MAX_FORM_BYTES`]); a longer
    /// one is 400 `invalid_request`, `form_too_large`.
    pub fn max_form_bytes(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.state).body.max_bytes = bytes;
        self
    }
}

impl<S, R, T> Layer<S> for AuthLayer<R, T> {
    type Service = AuthService<S, R, T>;

    fn layer(&self, inner: S) -> AuthService<S, R, T> {
        AuthService {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service [`AuthLayer`] makes.
pub struct AuthService<S, R, T = IgnoreBody> {
    inner: S,
    state: Arc<State<R, T>>,
}

impl<S: Clone, R, T> Clone for AuthService<S, R, T> {
    fn clone(&self) -> Self {
        AuthService {
            inner: self.inner.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<S, R, T> fmt::Debug for AuthService<S, R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("policy", &self.state.policy)
            .finish_non_exhaustive()
    }
}

impl<S, B, ResB, R, T> Service<Request<B>> for AuthService<S, R, T>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResB: 'static,
    R: Respond<ResB>,
    T: BodyToken<B>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual hand-over).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let refuse = |rejection: &Rejection| Ok(state.respond.respond(rejection));
            let auth = state.policy.authorizer();
            let credential = match auth.credential_of(request.headers(), request.uri().query()) {
                Ok(credential) => credential,
                Err(rejection) => return refuse(&rejection),
            };
            let (mut request, form) = match state.body.take(request).await {
                Ok(taken) => taken,
                Err(why) => return refuse(&auth.reject(Reason::InvalidRequest(why))),
            };
            let (token, method) = match (credential, form) {
                // RFC 6750 §2: never more than one method.
                (Some(_), Some(_)) => {
                    let why = RequestError::MultipleCredentials;
                    return refuse(&auth.reject(Reason::InvalidRequest(why)));
                }
                (Some((token, method)), None) => (Some(token), Some(method)),
                (None, Some(token)) => (Some(token), Some(Method::Form)),
                (None, None) => (None, None),
            };
            match state.policy.authenticate(token).await {
                Ok(Some(authenticated)) => {
                    request.extensions_mut().insert(authenticated);
                }
                Ok(None) => {
                    request.extensions_mut().insert(auth.anonymous());
                }
                Err(rejection) => return refuse(&rejection),
            }
            request.extensions_mut().insert(state.respond.clone());
            let mut response = inner.call(request).await?;
            // RFC 6750 §2.3: a success answer to a query-token request SHOULD be private.
            if method == Some(Method::Query)
                && response.status().is_success()
                && !response.headers().contains_key(CACHE_CONTROL)
            {
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("private"));
            }
            Ok(response)
        })
    }
}
