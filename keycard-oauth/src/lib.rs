//! # keycard-oauth
//!
//! An OAuth 2.0 token service to embed in your own application, on
//! [keycard-lifecycle](https://docs.rs/keycard-lifecycle)'s `TokenIssuer` and its stores:
//!
//! - the **token endpoint** (RFC 6749 §3.2): `authorization_code` with PKCE (§4.1, RFC 7636
//!   S256 only; the application's login page calls [`TokenService::issue_code`]),
//!   `client_credentials` (§4.4) and `refresh_token` (§6: rotation with reuse detection and a
//!   grace period, scope narrowing only, the family bound to its client), and
//!   [`TokenService::issue_pair`] for a first-party login without redirects;
//! - **client authentication** (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//!   `private_key_jwt` (RFC 7523 §2.2) and public clients; secrets kept only as SHA-256 hashes
//!   ([`SecretHash`]), compared in constant time; repeated failures per client id slow down, in
//!   bounded memory;
//! - **RFC 9068 access tokens** (`typ: at+jwt`, `client_id`, `scope`, `jti`), which any keycard
//!   validator over the published keys accepts;
//! - **revocation** (RFC 7009) and **introspection** (RFC 7662);
//! - a **signing-key ring**: the next key published before it signs, retired keys kept until
//!   their tokens expire, rotated on a schedule or on demand, shared through a
//!   [`KeyRingStore`];
//! - **metadata** (RFC 8414, and the OpenID configuration subset discovery reads) and the
//!   **JWK Set** (public keys only, cacheable).
//!
//! The service is framework-neutral ([`TokenService::handle`] on `http` types); `keycard-axum`
//! mounts it as a `Router`. See the README for the conformance table.
//!
//! With the `redis` feature, `RedisOAuthStore` shares authorization codes and the key ring
//! between instances.
//!
//! ## Design choices
//!
//! - **Nothing is echoed**: every error description is a fixed text.
//! - **Fail closed**: a store failure answers `temporarily_unavailable` (503) and nothing is
//!   issued or half-applied.
//! - **Exact parameters**: one value per parameter (RFC 6749 §3.1), form bodies only, 16 KiB at
//!   most.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod auth;
mod client;
mod code;
mod error;
mod form;
mod keyring;
#[cfg(feature = "redis")]
mod redis_store;
mod scope;
mod service;
mod throttle;

pub use client::{AuthMethod, Client, ClientRegistry, GrantType, SecretHash, StaticClients};
pub use code::{CodeGrant, CodeStore, MemoryCodeStore, Redeemed, CODE_LIFETIME};
pub use error::{ErrorCode, OAuthError};
pub use form::MAX_BODY;
pub use keyring::{KeyRingStore, MemoryKeyRingStore, RingDocument, StoredKey};
#[cfg(feature = "redis")]
pub use redis_store::RedisOAuthStore;
pub use service::{
    AuthorizationRequest, Endpoint, TokenResponse, TokenService, TokenServiceBuilder,
};

/// The README's code blocks, compiled as doc tests so that it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
