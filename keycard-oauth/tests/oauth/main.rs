//! keycard-oauth's integration tests, one binary: the service answered through
//! `TokenService::handle`, as any HTTP adapter calls it. keycard-axum's tests run the same
//! service behind a real server.

mod assertion;
mod code;
mod common;
mod concurrency;
mod keyring;
mod metadata;
#[cfg(feature = "redis")]
mod redis;
mod revocation;
mod token;
