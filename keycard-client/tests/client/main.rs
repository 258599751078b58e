//! keycard-client's integration tests: one binary, a module per area (the crate links once).

mod common;

mod blocking;
mod blocking_threads;
mod source;
