//! keycard-client's integration tests: one binary, a module per area (the crate links once).

mod auth_server;
mod common;

mod blocking;
mod blocking_threads;
mod middleware;
mod oauth;
mod persistence;
mod source;
