//! Tokens: the JOSE [`Header`], the [`Claims`] and their registered members, compact
//! serialization (RFC 7515 §7.1), minting with [`Builder`], and reading without verifying
//! ([`unverified`]).
//!
//! One file per concern: `claims` (the claims model), `registered` (the registered claims'
//! table of types), `reader` (the validator's strict one-pass reading), `builder` (minting, with
//! its private writer), `header`, `compact`, `unverified`.

pub(crate) mod builder;
pub(crate) mod claims;
pub(crate) mod compact;
pub(crate) mod header;
pub(crate) mod reader;
pub(crate) mod registered;
pub mod unverified;

pub use builder::Builder;
pub use claims::{Audience, Claims, NumericDate};
