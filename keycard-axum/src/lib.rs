//! # keycard-axum
//!
//! Protects axum routes with bearer tokens (RFC 6750) checked by keycard: a tower layer that
//! verifies the `Authorization: Bearer` token, requires scopes and claims per route, chooses
//! among several issuers, and answers refusals as RFC 6750 §3 says; extractors that hand the
//! handler the verified claims. Keys are static (a keycard [`Validator`](keycard::Validator))
//! or fetched from an identity provider with [`keycard_jwks`].
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
//! | a store or configuration failure, a stale key set | 500, no detail |

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod authorizer;
mod extract;
mod layer;
mod rejection;

pub use authorizer::{AnyValidator, Authorizer, AuthorizerBuilder, ConfigurationError};
pub use extract::{Verified, VerifiedToken};
pub use layer::{AuthLayer, AuthService};
pub use rejection::Rejection;

/// The workspace README's code blocks, compiled as doc tests here, the one crate that depends on
/// everything they use, so that the front page cannot drift.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
