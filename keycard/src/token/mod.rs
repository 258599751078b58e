//! Tokens: the JOSE [`Header`], the [`Claims`] and their registered members, compact
//! serialization (RFC 7515 §7.1), minting with [`Builder`], and reading without verifying
//! ([`unverified`]).

pub(crate) mod builder;
pub(crate) mod claims;
pub(crate) mod compact;
pub(crate) mod header;
pub mod unverified;

pub use builder::Builder;
pub use claims::{Audience, Claims, NumericDate};
