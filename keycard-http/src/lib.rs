//! # keycard-http
//!
//! The framework-neutral half of protecting an HTTP (or gRPC) service with keycard, on the types
//! of the `http` and `tower` crates only: adapters for a framework (keycard-axum, keycard-tonic)
//! add their extractors and their rendering, and nothing of the policy.
//!
//! ## The story of a request
//!
//! 1. **The credential** ([`Authorizer::credential`]): the `Authorization: Bearer` header (RFC
//!    6750 §2.1: one header, the scheme in any case, one `b64token`), or, when opted in, the
//!    `access_token` query parameter (§2.3, [`AuthorizerBuilder::allow_query_token`]) or form
//!    body (§2.2, [`AuthLayer::allow_form_token`]). Two credentials are `invalid_request`.
//! 2. **The verifier**: one keycard [`Validator`](keycard::Validator), or one per issuer, picked
//!    by the token's unverified `iss` after a length check ([`AuthorizerBuilder::issuer`]).
//! 3. **Verification** ([`verify`]): the validator checks everything, synchronously; a token
//!    whose `kid` is unknown to a validator over a [`KeySource`](keycard::KeySource) waits for
//!    one refetch and is verified again. The claims are read once, into a JSON value.
//! 4. **The route's policy** ([`Policy`]): required scopes (keycard's `scope` / `scp` rule),
//!    claims checks, then the authorizer's own checks.
//! 5. **The outcome**: [`Authenticated`] (or, for an optional route, [`Anonymous`]) in the
//!    request's extensions, or a [`Rejection`]: one typed [`Reason`], derived from the error's
//!    [`category`](keycard::Error::category) by one match ([`Reason::of`]), with its status and
//!    RFC 6750 §3 challenge.
//!
//! ```
//! use http::{header, Request, Response, StatusCode};
//! use keycard::{Algorithm, Builder, HmacKey, Validator};
//! use keycard::time::Duration;
//! use keycard_http::{Authorizer, Reason};
//!
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let auth = Authorizer::new(Validator::builder(key.clone()).audience("api").build()?);
//! let orders = auth.policy().require_scope("orders:read");
//!
//! let token = Builder::new().audience("api").subject("alice").claim("scope", "orders:read")
//!     .expires_in(Duration::minutes(5)).sign(&key)?;
//! let request = Request::get("/orders")
//!     .header(header::AUTHORIZATION, format!("Bearer {token}"))
//!     .body(())?;
//! let token = auth.credential(request.headers(), Some(request.uri()))?;
//! let caller = orders.authenticate_now(token)?.expect("a credential was sent");
//! assert_eq!(caller.claims()["sub"], "alice");
//!
//! let refused = orders.authenticate_now(None).unwrap_err();
//! assert_eq!(refused.reason(), Reason::MissingCredentials);
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(refused.challenge().as_deref(), Some(r#"Bearer realm="api""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What a refusal answers
//!
//! | Error category (kind) | Reason | HTTP | gRPC (keycard-tonic) |
//! |---|---|---|---|
//! | no credentials | `MissingCredentials` | 401, bare challenge | `UNAUTHENTICATED` |
//! | not one bearer credential | `InvalidRequest` | 400 `invalid_request` | `UNAUTHENTICATED` |
//! | Token | `InvalidToken(kind)` | 401 `invalid_token` | `UNAUTHENTICATED` |
//! | Token (`insufficient_scope`), a route's scope | `InsufficientScope` | 403 `insufficient_scope` | `PERMISSION_DENIED` |
//! | a refused claims check | `ClaimsRefused` | 403 `insufficient_scope` | `PERMISSION_DENIED` |
//! | Backend (`key_source`, `store`); `unknown_key_id` while the key source fails | `Unavailable` | 503, `Retry-After` | `UNAVAILABLE` |
//! | Configuration; Backend (`signing`, `random`, `refresh`) | `Internal` | 500 | `INTERNAL` |
//!
//! The `error_description` is the [`Reason::code`] (`expired`, `signature`, ...), never more of
//! why; server-side failures are logged (`tracing`, target `keycard_http`) and not told.
//!
//! ## What this crate names
//!
//! `http`, `http-body` and `tower`'s `Layer` / `Service` traits; no framework, no server, no
//! runtime. The one await on the verify path is the key source's refetch.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod authenticated;
mod authorizer;
mod credentials;
mod layer;
mod policy;
mod rejection;
mod verify;

pub use authenticated::{Anonymous, Authenticated};
pub use authorizer::{Authorizer, AuthorizerBuilder, ConfigurationError, TokenRule};
pub use layer::{
    AuthLayer, AuthService, BodyToken, EmptyBody, FormBody, IgnoreBody, Respond,
    DEFAULT_MAX_FORM_BYTES,
};
pub use policy::Policy;
pub use rejection::{Reason, Rejection, RequestError, DEFAULT_RETRY_AFTER};
pub use verify::{verify, TokenVerifier, VerifyFuture};

/// The README's code blocks, compiled as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
