//! # keycard
//!
//! JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515), with the safe choice as the default.
//! A JWT works like a hotel key card: the front desk (your auth service) mints it with an expiry,
//! and every door (each API handler) checks it without calling the desk.
//!
//! ## Mint
//!
//! ```
//! use keycard::{Algorithm, Builder, HmacKey};
//! use time::Duration;
//!
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let token = Builder::new()
//!     .issuer("https://auth.example.com")
//!     .subject("user-42")
//!     .audience("api")
//!     .expires_in(Duration::minutes(15))
//!     .claim("scope", "read write")
//!     .sign(&key)?;
//! # Ok::<(), keycard::Error>(())
//! ```
//!
//! ## Verify
//!
//! Build a [`Validator`] once, at start-up, and call [`Validator::verify`] for every request. It
//! returns the claims only when every check passed, as [`Claims`] or as your own type:
//!
//! ```
//! # use keycard::{Algorithm, Builder, HmacKey};
//! # use time::Duration;
//! # let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! # let token = Builder::new().issuer("https://auth.example.com").subject("user-42")
//! #     .audience("api").expires_in(Duration::minutes(15)).claim("scope", "read write").sign(&key)?;
//! use keycard::Validator;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Session { sub: String, scope: String }
//!
//! let validator = Validator::builder(key)
//!     .issuer("https://auth.example.com")
//!     .audience("api")
//!     .build()?;
//! let session: Session = validator.verify(&token)?;
//! assert_eq!(session.sub, "user-42");
//! assert_eq!(session.scope, "read write");
//! # Ok::<(), keycard::Error>(())
//! ```
//!
//! ## Keys
//!
//! Every key is bound to one [`Algorithm`] when it is made, and only that algorithm is accepted
//! for it: [`HmacKey`] (HS256/384/512), [`RsaPrivateKey`] and [`RsaPublicKey`] (RS256/384/512,
//! PS256/384/512), [`EcdsaPrivateKey`] and [`EcdsaPublicKey`] (ES256, ES384), [`Ed25519PrivateKey`]
//! and [`Ed25519PublicKey`] (EdDSA). Keys read PEM and DER; weak keys (short HMAC secrets, RSA
//! under 2048 bits, EC points off the curve, small-order Ed25519 points) are refused when made.
//! Your own type (an HSM, a cloud KMS) signs by implementing [`Signer`] and verifies by
//! implementing [`Verifier`].
//!
//! Claims that borrow (`&str` fields) come from [`Validator::verify_borrowed`], which decodes into
//! a buffer you reuse: verifying then allocates nothing.
//!
//! ## Key sets and rotation
//!
//! An API that trusts an identity provider verifies with its JSON Web Key Set (RFC 7517 §5).
//! [`KeySet::from_jwks`] reads one (keys it cannot use are skipped and listed, not fatal), the
//! validator picks a key by the token's `kid` and the key's own algorithm, and a `kid` that no key
//! has fails with [`ErrorKind::UnknownKeyId`], the cue to fetch the set again and hand it to
//! [`Validator::replace_keys`], which swaps it atomically under running verifications. Every key
//! type reads and writes its JWK form (`from_jwk`, `to_jwk`) beside PEM and DER; [`Jwk`] and the
//! typed values of its members live in [`jwk`], with RFC 7638 thumbprints.
//!
//! ```
//! use keycard::{ErrorKind, KeySet, Validator};
//!
//! // RFC 7520 Figure 5: a symmetric key for HS256 with a key id. A published set never holds
//! // secrets (`from_jwks` skips them); this one is a private document of secrets.
//! let jwks = r#"{"keys":[{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037",
//!     "use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}"#;
//! let validator = Validator::builder_with_keys(KeySet::from_jwks_with_secrets(jwks)?).build()?;
//! let token = "eyJhbGciOiJIUzI1NiIsImtpZCI6Im90aGVyIn0.e30.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMzItYnl0ZXMh";
//! let err = validator.verify::<keycard::Claims>(token).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::UnknownKeyId); // `kid: other`: time to refresh the set
//! # Ok::<(), keycard::Error>(())
//! ```
//!
//! ## Revocation, scopes and ID tokens
//!
//! Validators refuse revoked tokens through the [`RevocationList`] a store provides (synchronous:
//! a store on the network answers from a local view), can require scopes
//! ([`require_scope`](ValidatorBuilder::require_scope)) and check OpenID Connect ID tokens
//! ([`id_token`](ValidatorBuilder::id_token)).
//!
//! ## Token lifecycle
//!
//! Access/refresh pairs, rotation with reuse detection and revocation of sessions and subjects
//! are the `keycard-lifecycle` crate's `TokenIssuer`, built on this crate's public API.
//!
//! ## Errors
//!
//! Everything returns [`Error`]. Match on [`Error::kind`] ([`ErrorKind`]) in code, or on
//! [`Error::category`] ([`ErrorCategory`]) to tell a bad token from your own configuration or a
//! failing backend without listing kinds; show the message to people:
//! `token expired at 2026-11-28T10:00:00Z, 90 s ago (leeway 30 s)`.
//!
//! ## Design choices: what keycard refuses to do
//!
//! - **The header never picks the algorithm** (RFC 8725 §3.1). The key does; a token whose `alg`
//!   differs from its key's is refused. `none` cannot even be named.
//! - **`exp` is required** unless the validator opts out with
//!   [`dangerous().allow_missing_expiry()`](DangerousOptions::allow_missing_expiry).
//! - **`aud` is enforced** (RFC 7519 §4.1.3): a token that names an audience is refused by a
//!   validator that does not name it, unless it opts out with
//!   [`dangerous().allow_any_audience()`](DangerousOptions::allow_any_audience).
//! - **Every weakening is named**: the options that turn a default check off are reached only
//!   through [`ValidatorBuilder::dangerous`], so a reviewer finds them all by one word.
//! - **Explicit typing** (RFC 8725 §3.11): a validator accepts `typ` absent or `JWT` unless told
//!   to expect another type such as `at+jwt`, so one kind of token cannot pass for another.
//! - **No extensions**: any `crit` header, unencoded payloads (`b64: false`), nested JWTs and JWE
//!   are refused. Keys embedded in or linked from a header (`jwk`, `jku`, `x5u`, `x5c`) are
//!   ignored.
//! - **Strict parsing**: exactly three parts, canonical unpadded base64url, JSON objects without
//!   duplicate member names, typed registered claims, 8 KiB maximum (configurable).
//! - **Signature first**: the claims are not parsed until the signature has verified.
//! - Reading a token without verifying it is possible, in the module named for what it is:
//!   [`unverified`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]

// The layers, bottom first: each module uses only the ones listed before it (ARCHITECTURE.md).
mod algorithm;
mod clock;
pub mod limits;

pub mod text;

mod error;

mod encoding;

pub mod jwk;

mod keys;

mod key_set;

mod token;

mod validation;

pub use algorithm::Algorithm;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorCategory, ErrorKind, RevokedBy};
pub use jwk::Jwk;
pub use key_set::{KeySet, KeySource};
pub use keys::{
    pem, EcdsaPrivateKey, EcdsaPublicKey, Ed25519PrivateKey, Ed25519PublicKey, HmacKey,
    RsaPrivateKey, RsaPublicKey, Signer, Verifier,
};
pub use token::{unverified, Audience, Builder, Claims, NumericDate};
pub use validation::{scope, DangerousOptions, RevocationList, Validator, ValidatorBuilder};

/// Re-exported so callers name the same `time` types keycard uses.
pub use time;
