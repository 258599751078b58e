//! # keycard-axum
//!
//! Protects axum routes with bearer tokens (RFC 6750) checked by keycard. The policy lives in
//! [`keycard_http`] (credentials, issuer routing, scopes and claims checks, the one [`Rejection`]
//! and its status and challenge, the tower layer); this crate adds what is axum's: the
//! extractors that hand the handler the verified claims, and the rendering of refusals as axum
//! responses with a small JSON body. Keys are static (a keycard [`Validator`](keycard::Validator))
//! or an identity provider's, with `keycard-jwks` (a validator over a `RemoteKeySet`).
//!
//! ```no_run
//! use axum::{routing::get, Json, Router};
//! use keycard::{Algorithm, Validator};
//! use keycard_axum::{Authorizer, Verified};
//! use keycard_jwks::{RemoteKeySet, ValidatorExt};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct MyClaims { sub: String }
//!
//! async fn orders(Verified(claims): Verified<MyClaims>) -> Json<Vec<String>> {
//!     Json(vec![format!("order of {}", claims.sub)])
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = RemoteKeySet::discover("https://login.example.com/").algorithms([Algorithm::RS256]).await?;
//! let auth = Authorizer::new(Validator::builder_with_remote(&keys).audience("api").build()?);
//! let app: Router = Router::new().route("/orders", get(orders).layer(auth.require_scope("orders:read")));
//! # Ok(()) }
//! ```
//!
//! | Request | Response |
//! |---|---|
//! | no credentials | 401, `WWW-Authenticate: Bearer realm="api"` |
//! | not a single bearer credential, a refused query token | 400 `invalid_request` |
//! | a token that fails a check | 401 `invalid_token`, `error_description` = the kind (`expired`, ...) |
//! | a missing scope | 403 `insufficient_scope`, `scope="..."` |
//! | a refused claims check | 403 `insufficient_scope`, `error_description="claims"` |
//! | a failing key source or revocation store, an unknown `kid` the failing source could not fetch | 503, `Retry-After`, `{"error":"temporarily_unavailable"}` |
//! | a configuration failure, an extractor without its layer | 500 `{"error":"server_error"}`, no detail |
//!
//! With the `oauth` feature (on by default), [`oauth::router`] mounts keycard-oauth's token
//! service: the token, revocation and introspection endpoints, the metadata and the JWK Set.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod authorizer;
mod extract;
#[cfg(feature = "oauth")]
pub mod oauth;
mod rejection;

pub use authorizer::{AuthLayer, AuthService, Authorizer, AuthorizerBuilder};
pub use extract::{Verified, VerifiedToken};
pub use keycard_http::{ConfigurationError, Reason, Rejection, RequestError, TokenVerifier};
pub use rejection::{default_body, AuthRejection, Responder};

/// The workspace README's code blocks, compiled as doc tests here, the one crate that depends on
/// everything they use, so that the front page cannot drift.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
