//! keycard-redis against a real `redis-server` that each test starts on a free loopback port in
//! a private directory, and stops when its guard drops. Without `redis-server` on the PATH the
//! tests print that they were skipped (and how to enable them) and pass, unless
//! `KEYCARD_REQUIRE_REDIS=1` (as in `.ci/run`), which makes a missing server a failure.

mod common;

mod cluster;
mod concurrency;
mod conformance;
mod corrupt;
mod faults;
mod memory;
mod propagation;
mod store_errors;
mod stores;
