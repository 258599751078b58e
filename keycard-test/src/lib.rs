//! # keycard-test
//!
//! The keycard workspace's shared test kit (`publish = false`, a dev-dependency only): every
//! crate's tests use these instead of a copy of their own, and no test includes another
//! crate's test files by `#[path]`.
//!
//! - [`IdentityProvider`]: an identity provider over real HTTP on 127.0.0.1 (port 0) serving
//!   OpenID Connect / RFC 8414 discovery documents and a JWK Set, with fault modes
//!   ([`JwksReply`]: 500s, stalls, malformed JSON, oversized bodies, redirects), key rotation
//!   ([`IdentityProvider::publish_keys`]), request counters and a gate that holds requests.
//!   Stopped when dropped.
//! - [`TestClock`]: the one test [`Clock`](keycard::Clock), frozen or following the system
//!   time, moved by the test ([`advance`](TestClock::advance), [`set`](TestClock::set)),
//!   counting its readings.
//! - [`RedisServer`]: a real `redis-server` on a free loopback port in a directory of its own,
//!   stopped (and the directory removed) when dropped; skipped, loudly, when `redis-server` is
//!   not installed, unless `KEYCARD_REQUIRE_REDIS=1` makes that a failure.
//! - [`RedisCluster`]: a real Redis Cluster, 3 primaries and 3 replicas on free loopback ports
//!   (`redis-cli --cluster create`), with primaries to kill and restart; skipped or required as
//!   [`RedisServer`].
//! - [`keys`]: fresh signing keys and the JWK Set that publishes them.
//! - [`conformance`]: the suite every `FamilyStore` and `RevocationStore` backend runs
//!   unchanged (memory, Redis, PostgreSQL), up to a `TokenIssuer` on it.
//!
//! ```no_run
//! use keycard_test::{keys, IdentityProvider, JwksReply, TestClock};
//!
//! # async fn run() {
//! let key = keys::es256("k1");
//! let provider = IdentityProvider::start(keys::jwks(&[&key])).await;
//! // ... point the code under test at `provider.jwks_uri()` ...
//! provider.serve(JwksReply::Status(503)); // the provider fails from now on
//! assert_eq!(provider.jwks_hits(), 0);
//! let clock = TestClock::new();
//! clock.advance(std::time::Duration::from_secs(60));
//! # }
//! ```
//!
//! The helpers panic on a broken test environment (no free port, a server that does not
//! start): in a test that is the clearest failure.

#![forbid(unsafe_code)]

mod clock;
mod cluster;
pub mod conformance;
pub mod keys;
mod provider;
mod redis;

pub use clock::TestClock;
pub use cluster::RedisCluster;
pub use provider::{Discovery, Gate, IdentityProvider, JwksReply};
pub use redis::{redis_required, RedisServer};
