//! Instances wired to one `redis-server` (keycard-test's [`RedisServer`]), on keycard-test's
//! [`TestClock`] (frozen near the real time, since Redis expires keys by the real time).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use keycard::{Algorithm, HmacKey};
use keycard_lifecycle::{TokenIssuer, TokenIssuerBuilder};
use keycard_redis::{RedisConfig, RedisStore};
use keycard_test::{RedisServer, TestClock};

/// The arguments of a server a test kills and restarts: every acknowledged write is on disk
/// (AOF, `appendfsync always`) before Redis answers.
pub(crate) const DURABLE: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "always"];

/// A plain connection to `server`, for inspecting the keys.
pub(crate) fn inspect(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .expect("a valid url")
        .get_connection()
        .expect("a connection")
}

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"keycard-redis test secret 32 b!!").expect("32 bytes")
}

pub(crate) fn config(server: &RedisServer) -> RedisConfig {
    RedisConfig::new(server.url()).response_timeout(StdDuration::from_millis(500))
}

/// One API instance: its own store (own connections, own view) and an issuer on it.
#[derive(Clone)]
pub(crate) struct Instance {
    pub(crate) store: RedisStore,
    pub(crate) issuer: TokenIssuer,
}

pub(crate) fn issuer_builder(clock: &TestClock, store: &RedisStore) -> TokenIssuerBuilder {
    TokenIssuer::builder(key(), key())
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock.clone())
        .families(Arc::new(store.clone()))
        .revocations(Arc::new(store.clone()))
}

pub(crate) async fn instances(
    server: &RedisServer,
    clock: &TestClock,
    n: usize,
    configure: impl Fn(TokenIssuerBuilder) -> TokenIssuerBuilder,
) -> Vec<Instance> {
    let mut out = Vec::new();
    for _ in 0..n {
        let store = RedisStore::connect(config(server)).await.expect("connects");
        let issuer = configure(issuer_builder(clock, &store))
            .build()
            .expect("valid configuration");
        out.push(Instance { store, issuer });
    }
    out
}

/// Waits (yielding, bounded) until `check` holds; false if it never did.
pub(crate) async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < StdDuration::from_secs(20) {
        if check() {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }
    check()
}

/// The p-th percentile (0-100) of sorted samples.
pub(crate) fn percentile(sorted: &[StdDuration], p: usize) -> StdDuration {
    let index = (sorted.len().saturating_sub(1) * p) / 100;
    sorted[index]
}
