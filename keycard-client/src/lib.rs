//! An async access-token cache for tokio clients of a [keycard](https://docs.rs/keycard) issuer
//! (or any OAuth 2.0 token endpoint): [`TokenSource`]; and its synchronous counterpart for
//! threads without a runtime, [`blocking::TokenSource`].
//!
//! Both are front ends of one state machine (the private `machine` module), so they share every
//! rule: the token is refreshed ahead of its expiry (the margin: 10% of the lifetime, at least
//! 30 s, at most half), and however many callers need a token at once, the refresh function runs
//! once for all of them (single flight), and its outcome reaches every caller that waited for it.
//! What the async source adds:
//! - **callers never wait while the cached token is still valid**: inside the margin the first
//!   caller starts the refresh in the background and every caller receives the cached token at
//!   once; only a caller with no valid token waits, for the one refresh in flight;
//! - **failures back off with jitter**: after a failed refresh no new attempt is made before a
//!   delay that doubles with each consecutive failure (from [`min_backoff`](TokenSourceBuilder::min_backoff),
//!   default 1 s, up to [`max_backoff`](TokenSourceBuilder::max_backoff), default 60 s), drawn
//!   at random between half of it and all of it, so that a fleet of clients does not retry in
//!   step. Meanwhile callers receive the cached token while it is valid, and the last failure
//!   once it has expired, without calling the token endpoint again.
//!
//! The refresh runs in its own tokio task, so a caller that gives up (a timeout, a dropped
//! request) never cancels it for the others.
//!
//! Over an OAuth 2.0 authorization server, the refresh need not be written by hand:
//! [`TokenEndpoint`] is an RFC 6749 token-endpoint client (refresh-token and client-credentials
//! grants, three client authentication methods, discovery, typed errors with
//! [`OAuthError::SignInAgain`] for a dead grant), [`TokenEndpoint::token_source`] makes a
//! [`TokenSource`] of it with a persistence hook, and [`BearerLayer`] attaches the token to
//! outgoing requests and refreshes once on a 401 `invalid_token`. The README's "Calling an API
//! with a token that refreshes itself" shows the three together.
//!
//! ```
//! use keycard::time::Duration;
//! use keycard_client::{Lease, TokenSource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), keycard::Error> {
//! let source = TokenSource::builder(|| async {
//!     // A real client posts its refresh token to the token endpoint here.
//!     Ok::<_, std::io::Error>(Lease::new("an access token", Duration::minutes(15)))
//! })
//! .build();
//! assert_eq!(&*source.token().await?, "an access token");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

// The README's examples compile as doc tests, so the front page cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;

mod bearer;
pub mod blocking;
mod endpoint;
mod lease;
mod machine;
mod oauth_error;
mod oauth_source;
mod source;
mod token_set;

pub use bearer::{Bearer, BearerLayer, ReplayBody, ResponseFuture, Streamed};
pub use endpoint::{TokenEndpoint, TokenEndpointBuilder};
pub use lease::Lease;
pub use oauth_error::{Malformed, OAuthError};
pub use oauth_source::{Grant, OAuthSourceBuilder};
pub use source::{TokenSource, TokenSourceBuilder};
pub use token_set::TokenSet;
