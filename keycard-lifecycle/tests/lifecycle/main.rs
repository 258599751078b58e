//! keycard-lifecycle's integration tests: one binary, a module per area (the crate links once).
//!
//! The issuer's methods are async. A test awaits them on tokio's current-thread runtime; a test
//! that needs another request on another thread (a race, a hook that lands exactly at one point
//! of a refresh) runs it there with [`common::block_on`], a runtime of that thread's own.

mod common;

mod concurrency;
mod conformance;
mod interleavings;
mod issuer;
mod memory;
mod revocation;
mod store_errors;
