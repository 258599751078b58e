//! # keycard-jwks
//!
//! An identity provider's JSON Web Key Set (RFC 7517 §5), fetched over https from a JWKS URL or
//! found by discovery (OpenID Connect Discovery 1.0, RFC 8414), cached as its
//! `Cache-Control: max-age` says, refreshed in the background, and refetched (once, shared, at
//! most once per cooldown) when a token names a `kid` it does not have. No web framework: use it
//! from axum, actix, tonic or a queue consumer. Async on tokio.
//!
//! A [`RemoteKeySet`] is a keycard [`KeySource`](keycard::KeySource): a keycard
//! [`Validator`](keycard::Validator) built on it
//! ([`Validator::builder_with_remote`](ValidatorExt::builder_with_remote), or keycard's
//! `builder_with_source`) reads its keys, checks on every verification that they are not stale,
//! and stays synchronous: `verify` never touches the network. When a token names an unknown
//! `kid`, the async edge (`keycard_http::verify`, or the few lines below) awaits
//! [`refetch`](keycard::KeySource::refetch) and verifies once more.
//!
//! ```no_run
//! use keycard::{Algorithm, Claims, ErrorKind, KeySource, Validator};
//! use keycard_jwks::{RemoteKeySet, ValidatorExt};
//!
//! # async fn run(token: &str) -> Result<(), keycard::Error> {
//! let keys = RemoteKeySet::discover("https://login.example.com/")
//!     .algorithms([Algorithm::RS256])
//!     .await?;
//! let validator = Validator::builder_with_remote(&keys).audience("api").build()?;
//!
//! // Anywhere synchronous: never touches the network.
//! let claims: Result<Claims, _> = validator.verify(token);
//! // In a request handler: on a new `kid`, wait for the set's one shared refetch, then retry.
//! let claims: Claims = match claims {
//!     Err(e) if e.kind() == ErrorKind::UnknownKeyId => match keys.refetch().await {
//!         Ok(()) => validator.verify(token)?,
//!         // The provider is failing: say so in the `unknown_key_id` error.
//!         Err(failure) => return Err(e.with_key_source_failure(failure)),
//!     },
//!     other => other?,
//! };
//! # Ok(()) }
//! ```
//!
//! Errors: [`Error::kind`] places every failure in keycard's taxonomy: the caller's own
//! settings are `configuration`, everything the provider causes (unreachable, slow, a bad
//! answer, a set gone stale) is `key_source`, a backend failure, never the token's. A
//! `keycard_jwks::Error` converts into a [`keycard::Error`] with the same kind.
//!
//! Provider presets: [`Provider::cognito`], [`Provider::entra_multi_tenant`],
//! [`Provider::google`] and the others set the keys, algorithms, issuer, audience and token
//! type for the whole API; the claim rules a validator cannot express come out as
//! [`TokenRule`]s for `keycard_http::AuthorizerBuilder::rules`.
//!
//! Observability: `tracing` events under the target `keycard_jwks` (fetch, refresh, failure,
//! cooldown, skipped keys), and [`RemoteKeySet::stats`] for counters.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod fetch;
mod provider;
mod remote;
mod validator;

pub use error::{Error, Skipped};
pub use provider::{Connected, Provider, TokenRule};
pub use remote::{
    RemoteKeySet, RemoteKeySetBuilder, Stats, DEFAULT_COOLDOWN, DEFAULT_MAX_AGE, DEFAULT_MAX_KEYS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REFETCH_WAIT,
};
pub use validator::ValidatorExt;
