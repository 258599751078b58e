//! Every bound keycard puts on input, in one place: what a crafted token, header or key set can
//! cost is read off this page.
//!
//! The bounds are checked before the work they limit. They are constants, not settings, except
//! the token length, whose default a validator can change with
//! [`max_token_len`](crate::ValidatorBuilder::max_token_len).
//!
//! ```
//! use keycard::limits;
//!
//! assert_eq!(limits::DEFAULT_MAX_TOKEN_LEN, 8 * 1024);
//! assert!(limits::MAX_KEYS_TRIED >= 1);
//! ```

use time::Duration;

/// The default longest token a validator accepts, in bytes, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// The largest clock leeway a validator may be given.
pub const MAX_LEEWAY: Duration = Duration::minutes(5);

/// The most members one object (a header, a claims set, a JWK) may have. Ordinary ones have
/// a few dozen; the limit bounds the work and memory a crafted object costs whatever the size
/// limit of the token.
pub const MAX_JSON_MEMBERS: usize = 1024;

/// The most members a JOSE header may have: it is read before the signature is checked, and an
/// ordinary one has two to five (the registered parameters are eleven).
pub const MAX_HEADER_MEMBERS: usize = 64;

/// The deepest nesting of arrays and objects accepted in a header, a claims set or one JWK,
/// counting the outer object as 1. It is the same for every type the claims are read into
/// (serde_json's own limit, 128, applies only to the values it builds), and below that limit,
/// so that no target type meets it.
pub const MAX_JSON_DEPTH: usize = 64;

/// The most keys of one JWK Set document that are read; the rest are skipped (and reported as
/// one [`SkippedKey`](crate::jwk::SkippedKey)). Identity providers publish a handful.
pub const MAX_JWKS_KEYS: usize = 100;

/// The most signature verifications one token costs: the keys that fit its `kid` (or its lack
/// of one) and its algorithm are tried in set order, keys with that `kid` first, up to this many.
/// Two lets a token without `kid` pass during a rotation between two keys without `kid`, and
/// keeps refusing any token within twice the cost of refusing one bad signature.
pub const MAX_KEYS_TRIED: usize = 2;

/// The longest value, in bytes of the escaped text, that keycard copies from input into an error
/// message (before the `…` that marks a cut): see [`text::escape`](crate::text::escape).
pub const MAX_ECHO: usize = 64;
