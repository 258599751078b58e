//! # keycard-lifecycle
//!
//! The token endpoint of an authorization server, on [keycard](https://docs.rs/keycard): a
//! [`TokenIssuer`] mints an access token (`typ: at+jwt`) and a refresh token (`typ: refresh+jwt`)
//! per login, rotates refresh tokens and revokes the whole session when a used one comes back
//! (RFC 9700 §4.14.2), and revokes single tokens (RFC 7009), sessions, or every token of a
//! subject. Resource servers check those revocations with an ordinary keycard
//! [`Validator`](keycard::Validator), which reads the store's synchronous side
//! ([`RevocationList`](keycard::RevocationList)).
//!
//! ## Login, verify, rotate, sign out
//!
//! ```
//! use keycard::{Algorithm, Claims, ErrorKind, HmacKey};
//! use keycard_lifecycle::TokenIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), keycard::Error> {
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let issuer = TokenIssuer::builder(key.clone(), key)
//!     .issuer("https://auth.example.com")
//!     .audience("api")
//!     .build()?;
//! // The API's validator: this issuer's access tokens, its revocations included.
//! let api = issuer.access_validator().require_scope("read").build()?;
//!
//! let login = issuer.issue("alice", &serde_json::json!({ "scope": "read" })).await?;
//! let claims: Claims = api.verify(&login.access_token)?;
//! assert_eq!(claims.subject.as_deref(), Some("alice"));
//!
//! let next = issuer.refresh(&login.refresh_token).await?; // rotation
//! issuer.revoke(&next.refresh_token).await?; // logout: the whole session ends
//! let err = api.verify::<Claims>(&next.access_token).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Revoked);
//! # Ok(())
//! # }
//! ```
//!
//! `cargo run --example refresh_flow` shows the whole life of a login step by step, a replayed
//! refresh token included.
//!
//! ## Stores, and why the API is async
//!
//! The issuer keeps refresh-token families in a [`FamilyStore`] and revocations in a
//! [`RevocationStore`]: two small object-safe traits whose methods return a [`StoreFuture`], with
//! bounded in-memory defaults ([`MemoryFamilyStore`], [`MemoryRevocationStore`]) for one
//! process. Several instances share them in Redis with `keycard-redis`. The one requirement on a
//! store is an atomic compare-and-set of a family: it is what makes N concurrent refreshes with
//! one token issue one pair.
//!
//! Every method of the issuer that touches a store is `async` and awaits it: there is no
//! blocking variant and no executor inside, so a store on the network never parks the thread
//! that drives its connection. The in-memory stores' futures are ready at once, so any executor
//! will do for them (the examples use tokio's current-thread runtime).
//!
//! ## Design choices
//!
//! - **Kinds cannot pass for each other** (RFC 8725 §3.11, RFC 9068): access and refresh tokens
//!   differ in `typ` and audience; a refresh token is addressed to the issuer itself.
//! - **A replay ends the session**: a retired refresh token presented again (after the short
//!   [`grace_period`](TokenIssuerBuilder::grace_period) for a client's concurrent retries)
//!   revokes every token of its session.
//! - **Fail closed**: a store that cannot record a revocation fails the whole operation with
//!   [`ErrorKind::Store`](keycard::ErrorKind::Store); nothing is half-applied and nothing is
//!   issued.
//! - **Only keycard's public API**: this crate mints with [`Builder`](keycard::Builder) and
//!   checks with [`Validator`](keycard::Validator), as any crate could.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::future::Future;
use std::pin::Pin;

use keycard::Error;

mod family;
mod issuer;
mod kind;
mod memory;
mod revocation;

pub use family::{Family, FamilyStore, MemoryFamilyStore, Superseded};
pub use issuer::{TokenIssuer, TokenIssuerBuilder, TokenPair};
pub use kind::TokenKind;
pub use revocation::{MemoryRevocationStore, RevocationStore};

/// The README's code blocks, compiled as doc tests so that it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// What every method of [`FamilyStore`] and [`RevocationStore`] returns: a boxed, `Send` future
/// of a result, so that the traits stay object-safe without an async-trait crate.
///
/// An implementation with nothing to wait for returns `Box::pin(std::future::ready(result))`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;
