//! Extractors: [`Verified`] (typed, owned claims) and [`VerifiedToken`] (the verified token,
//! claims borrowed from it). Both read what the layer left in the request's extensions (keycard-
//! http's [`Authenticated`]): the claims were read once, by the validator; nothing is verified or
//! parsed again here.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use keycard_http::{Anonymous, Authenticated};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::rejection::{without_layer, AuthRejection, Responder};

/// The refusal for an extractor that found no verified token: 401 on a route whose optional
/// layer let an anonymous request through, 500 on a route without a layer.
fn unauthenticated(parts: &Parts) -> AuthRejection {
    let rejection = match parts.extensions.get::<Anonymous>() {
        Some(anonymous) => anonymous.missing(),
        None => without_layer(),
    };
    AuthRejection::new(rejection, parts.extensions.get::<Responder>())
}

#[cold]
fn malformed(parts: &Parts, authenticated: &Authenticated) -> AuthRejection {
    AuthRejection::new(
        authenticated.malformed(),
        parts.extensions.get::<Responder>(),
    )
}

fn read<T: DeserializeOwned>(
    parts: &Parts,
    authenticated: &Authenticated,
) -> Result<T, AuthRejection> {
    authenticated
        .claims_as()
        .map_err(|_| malformed(parts, authenticated))
}

/// The verified claims of the request's bearer token, as `T` (your own `Deserialize` type,
/// [`keycard::Claims`], or `serde_json::Value`). Needs an [`AuthLayer`](crate::AuthLayer) on
/// the route; `Option<Verified<T>>` is `None` for a request without credentials under
/// [`Authorizer::optional`](crate::Authorizer::optional).
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

impl<T, S> FromRequestParts<S> for Verified<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => read(parts, authenticated).map(Verified),
            None => Err(unauthenticated(parts)),
        }
    }
}

impl<T, S> OptionalFromRequestParts<S> for Verified<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, AuthRejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => read(parts, authenticated).map(|t| Some(Verified(t))),
            None => Ok(None),
        }
    }
}

/// The verified token itself: its text and its claims, which [`claims`](Self::claims) reads
/// into types that borrow from them (`&str` fields) without copying.
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
#[derive(Debug, Clone)]
pub struct VerifiedToken(Authenticated);

impl VerifiedToken {
    /// The token, e.g. to pass on to a downstream service.
    pub fn token(&self) -> &str {
        self.0.token()
    }

    /// The verified claims object as compact JSON text (written once from the claims the
    /// validator read; members in name order).
    pub fn claims_json(&self) -> &str {
        self.0.claims_json()
    }

    /// The claims as `T`, which may borrow from this value.
    ///
    /// # Errors
    /// The claims do not read as `T`.
    pub fn claims<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.0.claims_as()
    }

    /// What the layer verified: the claims as a JSON value, the token, the realm.
    pub fn authenticated(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(authenticated) => Ok(VerifiedToken(authenticated.clone())),
            None => Err(unauthenticated(parts)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, AuthRejection> {
        Ok(parts
            .extensions
            .get::<Authenticated>()
            .map(|a| VerifiedToken(a.clone())))
    }
}
