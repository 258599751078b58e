//! # keycard-tonic
//!
//! Protects a gRPC server on tonic with bearer tokens checked by keycard: the layer and the
//! policy are [`keycard_http`]'s, the same as an axum service's (credentials from the
//! `authorization` metadata, issuer routing, scopes and claims checks, one key-source refetch on
//! an unknown `kid`); this crate draws its refusals as a [`tonic::Status`] and reads the verified
//! claims in a handler.
//!
//! ```no_run
//! use keycard::{Algorithm, HmacKey, Validator};
//! use keycard_tonic::Authorizer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let auth = Authorizer::new(Validator::builder(key).audience("api").build()?);
//! let server = tonic::transport::Server::builder()
//!     .layer(keycard_tonic::layer(&auth).require_scope("orders:read"));
//! // server.add_service(OrdersServer::new(orders)).serve(addr).await?;
//! # Ok(()) }
//! ```
//!
//! In a handler, [`verified`] reads the claims the layer verified (once; nothing is parsed
//! again): `let caller: Caller = keycard_tonic::verified(&request)?;`.
//!
//! Where a service, not the whole server, needs a token, wrap it in an [`Interceptor`]
//! (`OrdersServer::with_interceptor(orders, keycard_tonic::interceptor(&auth))`). tonic's
//! interceptors are synchronous, so an interceptor cannot wait for a key refetch: a token whose
//! `kid` the validator does not know yet is refused at once. Use the layer when keys come from an
//! identity provider.
//!
//! ## Refusals
//!
//! | HTTP answer (keycard-http) | gRPC code |
//! |---|---|
//! | 400 `invalid_request`, 401 (missing credentials, `invalid_token`) | `UNAUTHENTICATED` |
//! | 403 `insufficient_scope` (a scope, a claims check) | `PERMISSION_DENIED` |
//! | 503 (a failing key source or store) | `UNAVAILABLE` |
//! | 500 | `INTERNAL` |
//!
//! The status message is the [`Reason::code`] (`expired`, `insufficient_scope`,
//! `temporarily_unavailable`, ...), never more of why; the metadata carries the headers the HTTP
//! answer would have: `www-authenticate` (the RFC 6750 §3 challenge) and, for `UNAVAILABLE`,
//! `retry-after`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use http::Response;
use keycard_http::{Anonymous, Authenticated, Policy, Respond};
use serde::de::DeserializeOwned;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

pub use keycard_http::{
    Authorizer, AuthorizerBuilder, ConfigurationError, Reason, Rejection, TokenVerifier,
};

/// keycard-http's layer answering refusals as gRPC statuses. From [`layer`]; chain
/// `.require_scope(..)`, `.check(..)`, `.optional()`. Put it on the server
/// (`Server::builder().layer(..)`) or around one service (`tower::ServiceBuilder`).
pub type AuthLayer = keycard_http::AuthLayer<GrpcResponder>;

/// The service an [`AuthLayer`] makes.
pub type AuthService<S> = keycard_http::AuthService<S, GrpcResponder>;

/// The layer for a tonic server: every request needs a valid token of `auth`.
pub fn layer(auth: &Authorizer) -> AuthLayer {
    auth.layer(GrpcResponder)
}

/// Draws a [`Rejection`] as a trailers-only gRPC response: [`status`]`(rejection).into_http()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcResponder;

impl<B: Default> Respond<B> for GrpcResponder {
    fn respond(&self, rejection: &Rejection) -> Response<B> {
        status(rejection).into_http()
    }
}

/// The gRPC code of a refusal: the HTTP status keycard-http gives it, mapped once.
///
/// ```
/// use keycard::ErrorKind;
/// use keycard_http::{Reason, Rejection};
/// use tonic::Code;
///
/// let code = |reason| keycard_tonic::code(&Rejection::new(reason));
/// assert_eq!(code(Reason::InvalidToken(ErrorKind::Expired)), Code::Unauthenticated);
/// assert_eq!(code(Reason::InsufficientScope), Code::PermissionDenied);
/// assert_eq!(code(Reason::Unavailable(ErrorKind::KeySource)), Code::Unavailable);
/// assert_eq!(code(Reason::Internal(None)), Code::Internal);
/// ```
pub fn code(rejection: &Rejection) -> Code {
    match rejection.status().as_u16() {
        // A malformed `authorization` is no valid credential either: gRPC has no 400 for it.
        400 | 401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

/// The [`Status`] for a refusal: [`code`], the [`Reason::code`] as message, and the answer's
/// headers (`www-authenticate`, `retry-after`) as metadata.
///
/// ```
/// use keycard::ErrorKind;
/// use keycard_http::{Reason, Rejection};
///
/// let status = keycard_tonic::status(&Rejection::new(Reason::InvalidToken(ErrorKind::Expired)));
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.message(), "expired");
/// assert_eq!(
///     status.metadata().get("www-authenticate").unwrap(),
///     r#"Bearer realm="api", error="invalid_token", error_description="expired""#
/// );
/// ```
pub fn status(rejection: &Rejection) -> Status {
    Status::with_metadata(
        code(rejection),
        rejection.code(),
        MetadataMap::from_headers(rejection.headers()),
    )
}

/// A tonic [`Interceptor`](tonic::service::Interceptor) that applies a keycard-http [`Policy`]
/// to each request's `authorization` metadata, synchronously (no key refetch), and leaves
/// [`Authenticated`] (or [`Anonymous`]) in the request's extensions. From [`interceptor`].
///
/// ```
/// # use keycard::{Algorithm, HmacKey, Validator};
/// use keycard_tonic::Authorizer;
///
/// # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let auth = Authorizer::new(Validator::builder(key).build()?);
/// let admins = keycard_tonic::interceptor(&auth).require_scope("admin");
/// // AdminServer::with_interceptor(admin_service, admins)
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Interceptor {
    policy: Policy,
}

/// An interceptor with `auth`'s policy: a valid token.
pub fn interceptor(auth: &Authorizer) -> Interceptor {
    Interceptor::new(auth.policy())
}

impl Interceptor {
    /// An interceptor for `policy`.
    pub fn new(policy: Policy) -> Self {
        Interceptor { policy }
    }

    /// Also requires `scope` ([`Policy::require_scope`]).
    #[must_use]
    pub fn require_scope(self, scope: impl Into<String>) -> Self {
        Interceptor::new(self.policy.require_scope(scope))
    }

    /// Also requires `check` to accept the claims read as `C` ([`Policy::check`]).
    #[must_use]
    pub fn check<C, F>(self, check: F) -> Self
    where
        C: DeserializeOwned,
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        Interceptor::new(self.policy.check(check))
    }

    /// Lets requests without credentials through ([`Policy::optional`]).
    #[must_use]
    pub fn optional(self) -> Self {
        Interceptor::new(self.policy.optional())
    }
}

impl tonic::service::Interceptor for Interceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let (metadata, mut extensions, message) = request.into_parts();
        let headers = metadata.into_headers();
        let auth = self.policy.authorizer();
        let token = auth
            .credential(&headers, None)
            .map_err(|rejection| status(&rejection))?;
        match self.policy.authenticate_now(token) {
            Ok(Some(authenticated)) => {
                extensions.insert(authenticated);
            }
            Ok(None) => {
                extensions.insert(auth.anonymous());
            }
            Err(rejection) => return Err(status(&rejection)),
        }
        Ok(tonic::Request::from_parts(
            MetadataMap::from_headers(headers),
            extensions,
            message,
        ))
    }
}

/// What the layer or the interceptor verified for `request`.
///
/// # Errors
/// `UNAUTHENTICATED` (`missing_token`) for a request an optional policy let through without
/// credentials; `INTERNAL` when neither a layer nor an interceptor ran for it.
pub fn authenticated<M>(request: &tonic::Request<M>) -> Result<&Authenticated, Status> {
    let extensions = request.extensions();
    match extensions.get::<Authenticated>() {
        Some(authenticated) => Ok(authenticated),
        None => Err(match extensions.get::<Anonymous>() {
            Some(anonymous) => status(&anonymous.missing()),
            None => {
                tracing::error!(
                    target: "keycard_tonic",
                    "keycard_tonic::verified on a request no keycard layer or interceptor saw: refusing with INTERNAL"
                );
                status(&Rejection::new(Reason::Internal(None)))
            }
        }),
    }
}

/// The verified claims of `request`'s token as `T` (your own `Deserialize` type,
/// [`keycard::Claims`], `serde_json::Value`), read from what the layer left, not parsed again.
///
/// # Errors
/// As [`authenticated`]; claims that do not read as `T` are `UNAUTHENTICATED` (`malformed`).
pub fn verified<T: DeserializeOwned, M>(request: &tonic::Request<M>) -> Result<T, Status> {
    let authenticated = authenticated(request)?;
    authenticated
        .claims_as()
        .map_err(|_| status(&authenticated.malformed()))
}
