//! keycard's integration tests: one binary, a module per area (the crate links once).
//!
//! Data lives beside them: `tests/keys/` (keys written by OpenSSL) and `tests/vectors/` (RFC and
//! Wycheproof vectors, each file naming its source).

mod common;

mod allocations;
mod architecture;
mod attacks;
mod builder;
mod builder_times;
mod fuzz_corpus;
mod hardening;
mod jwk;
mod jwk_robustness;
mod jwk_round_trips;
mod jwks;
mod jwks_wycheproof;
mod key_formats;
mod key_source;
mod oidc;
mod properties;
mod rfc7515_vectors;
mod rfc_vectors_algorithms;
mod rotation;
mod scopes;
mod secrets;
mod token_cache;
mod validator_rules;
mod wycheproof;
mod wycheproof_jose;
