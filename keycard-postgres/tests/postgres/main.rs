//! keycard-postgres against a real PostgreSQL that each test starts: `initdb` in a private
//! temporary directory, the server on a free loopback port, stopped and removed when its guard
//! drops (`cluster.rs`). Without PostgreSQL the tests print that they were SKIPPED (and how to
//! enable them) and pass, unless `KEYCARD_REQUIRE_POSTGRES=1` (as in `.ci/run`), which makes a
//! missing server a failure.

mod cluster;
mod common;

mod conformance;
mod evidence;
mod faults;
mod issuer;
mod propagation;
mod stores;
mod storm;
