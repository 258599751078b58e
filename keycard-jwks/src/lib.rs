//! # keycard-jwks
//!
//! An identity provider's JSON Web Key Set (RFC 7517 §5), fetched over https from a JWKS URL or
//! found by discovery (OpenID Connect Discovery 1.0, RFC 8414), cached as its
//! `Cache-Control: max-age` says, refreshed in the background, and refetched (once, shared, at
//! most once per cooldown) when a token names a `kid` it does not have. No web framework: use it
//! from axum (with `keycard-axum`), actix, tonic or a queue consumer. Async on tokio.
//!
//! ```no_run
//! use keycard::{Algorithm, Claims, Validator};
//! use keycard_jwks::{RemoteKeySet, ValidatorExt};
//!
//! # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let keys = RemoteKeySet::discover("https://login.example.com/")
//!     .algorithms([Algorithm::RS256])
//!     .await?;
//! let validator = Validator::builder_with_remote(&keys).audience("api").build()?;
//!
//! // In a request handler: waits for a refetch only when the token's `kid` is new.
//! let claims: Claims = validator.verify_or_refetch(token).await?;
//! // Anywhere synchronous: never touches the network.
//! let claims: Claims = validator.verify(token)?;
//! # Ok(()) }
//! ```
//!
//! Observability: `tracing` events under the target `keycard_jwks` (fetch, refresh, failure,
//! cooldown, skipped keys), and [`RemoteKeySet::stats`] for counters.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod fetch;
mod remote;
mod validator;

pub use error::{Error, Skipped};
pub use remote::{
    Refetch, RemoteKeySet, RemoteKeySetBuilder, Stats, DEFAULT_COOLDOWN, DEFAULT_MAX_AGE,
    DEFAULT_MAX_KEYS, DEFAULT_MAX_RESPONSE_BYTES,
};
pub use validator::{RemoteValidator, RemoteValidatorBuilder, ValidatorExt};
