//! Extractors: [`Verified`] (typed, owned claims) and [`VerifiedToken`] (the verified token,
//! claims borrowed from it).

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keycard::ErrorKind;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::authorizer::Authorizer;
use crate::rejection::Rejection;

/// What the layer leaves in the request's extensions for the extractors.
#[derive(Clone)]
pub(crate) struct Authenticated(Arc<Inner>);

struct Inner {
    claims: Box<RawValue>,
    token: String,
    auth: Authorizer,
}

impl Authenticated {
    pub(crate) fn new(claims: Box<RawValue>, token: String, auth: Authorizer) -> Self {
        Authenticated(Arc::new(Inner {
            claims,
            token,
            auth,
        }))
    }
}

/// Left by an optional layer on a request without credentials.
#[derive(Clone)]
pub(crate) struct Anonymous(pub(crate) Authorizer);

/// The refusal for an extractor that found no verified token: 401 on a route whose optional
/// layer let an anonymous request through, 500 on a route without a layer.
fn unauthenticated(parts: &Parts) -> Response {
    match parts.extensions.get::<Anonymous>() {
        Some(Anonymous(auth)) => auth.reject(&Rejection::MissingCredentials),
        None => without_layer(),
    }
}

fn without_layer() -> Response {
    tracing::error!(
        target: "keycard_axum",
        "a keycard-axum extractor ran on a route without an AuthLayer: refusing with 500"
    );
    Rejection::Internal.into_response()
}

/// The verified claims of the request's bearer token, as `T` (your own `Deserialize` type,
/// [`keycard::Claims`], or `serde_json::Value`). Needs an [`AuthLayer`](crate::AuthLayer) on
/// the route; `Option<Verified<T>>` is `None` for a request without credentials under
/// [`Authorizer::optional`].
///
/// Claims that do not read as `T` (a missing field the type requires) are refused with 401
/// `invalid_token`, `error_description="malformed"`.
///
/// ```
/// use keycard_axum::Verified;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Caller { sub: String, tenant: String }
///
/// async fn whoami(Verified(caller): Verified<Caller>) -> String {
///     format!("{} of {}", caller.sub, caller.tenant)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Verified<T>(pub T);

impl<T: DeserializeOwned> Verified<T> {
    /// The claims as `T`, if they read as `T`.
    fn read(authenticated: &Authenticated) -> Option<Self> {
        serde_json::from_str(authenticated.0.claims.get())
            .ok()
            .map(Verified)
    }
}

impl Authenticated {
    #[cold]
    fn malformed(&self) -> Response {
        self.0
            .auth
            .reject(&Rejection::InvalidToken(ErrorKind::Malformed))
    }
}

impl<T, S> FromRequestParts<S> for Verified<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => {
                Self::read(authenticated).ok_or_else(|| authenticated.malformed())
            }
            None => Err(unauthenticated(parts)),
        }
    }
}

impl<T, S> OptionalFromRequestParts<S> for Verified<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Response> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => Self::read(authenticated)
                .map(Some)
                .ok_or_else(|| authenticated.malformed()),
            None => Ok(None),
        }
    }
}

/// The verified token itself: its text and its claims, which [`claims`](Self::claims) reads
/// into types that borrow from it (`&str` fields) without copying.
///
/// ```
/// use keycard_axum::VerifiedToken;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Caller<'a> { sub: &'a str }
///
/// async fn whoami(token: VerifiedToken) -> String {
///     match token.claims::<Caller<'_>>() {
///         Ok(caller) => caller.sub.to_owned(),
///         Err(_) => String::new(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct VerifiedToken(Authenticated);

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("VerifiedToken").finish_non_exhaustive()
    }
}

impl VerifiedToken {
    /// The token, e.g. to pass on to a downstream service.
    pub fn token(&self) -> &str {
        &self.0 .0.token
    }

    /// The verified claims object, as the JSON text the token carried.
    pub fn claims_json(&self) -> &str {
        self.0 .0.claims.get()
    }

    /// The claims as `T`, which may borrow from this value.
    ///
    /// # Errors
    /// The claims do not read as `T`.
    pub fn claims<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0 .0.claims.get())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => Ok(VerifiedToken(authenticated.clone())),
            None => Err(unauthenticated(parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Response> {
        Ok(parts
            .extensions
            .get::<Authenticated>()
            .map(|a| VerifiedToken(a.clone())))
    }
}
