//! Keys in the JOSE formats: one JSON Web Key ([`Jwk`], RFC 7517 §4) and a JWK Set ([`KeySet`],
//! RFC 7517 §5), the form identity providers publish their keys in.
//!
//! PEM and DER live with each key type in `signature/`; this module adds the JSON forms, the
//! `from_jwk`/`to_jwk` constructors of the key types, RFC 7638 thumbprints, and the key set a
//! [`Validator`](crate::Validator) picks keys from by `kid` and `alg`.

mod jwk;
mod jwks;
mod shared;

pub use jwk::Jwk;
pub use jwks::{KeySet, SkippedKey};
pub(crate) use shared::SharedKeys;
