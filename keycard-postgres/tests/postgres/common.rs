//! The store configuration of the tests, and instances wired to
//! one cluster, each with its own store (its own pool and view).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use keycard::{Algorithm, HmacKey};
use keycard_lifecycle::{TokenIssuer, TokenIssuerBuilder};
use keycard_postgres::{PostgresConfig, PostgresStore};

use crate::cluster::Cluster;

/// The workspace's test clock: frozen at the current second, moved by the test.
pub(crate) use keycard_test::TestClock;

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"keycard-pg test secret of 32 b!!").expect("32 bytes")
}

/// The tests' configuration: short timeouts, the cleanup task off (tests call `cleanup`).
pub(crate) fn config(cluster: &Cluster, clock: &TestClock) -> PostgresConfig {
    PostgresConfig::new(&cluster.url())
        .response_timeout(StdDuration::from_millis(1000))
        .cleanup_interval(StdDuration::ZERO)
        .clock(clock.clone())
}

/// Migrates the cluster's default schema and connects one store.
pub(crate) async fn store(cluster: &Cluster, clock: &TestClock) -> PostgresStore {
    let config = config(cluster, clock);
    PostgresStore::migrate(&config).await.expect("migrates");
    PostgresStore::connect(config).await.expect("connects")
}

/// One API instance: its own store and an issuer on it.
#[derive(Clone)]
pub(crate) struct Instance {
    pub(crate) store: PostgresStore,
    pub(crate) issuer: TokenIssuer,
}

pub(crate) fn issuer_builder(clock: &TestClock, store: &PostgresStore) -> TokenIssuerBuilder {
    TokenIssuer::builder(key(), key())
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock.clone())
        .families(Arc::new(store.clone()))
        .revocations(Arc::new(store.clone()))
}

pub(crate) async fn instances(
    cluster: &Cluster,
    clock: &TestClock,
    n: usize,
    configure: impl Fn(TokenIssuerBuilder) -> TokenIssuerBuilder,
) -> Vec<Instance> {
    let mut out = Vec::new();
    for _ in 0..n {
        let store = store(cluster, clock).await;
        let issuer = configure(issuer_builder(clock, &store))
            .build()
            .expect("valid configuration");
        out.push(Instance { store, issuer });
    }
    out
}

/// Retries `catch_up` until the store has reconnected and confirmed its view (bounded).
pub(crate) async fn caught_up(store: &PostgresStore) {
    let start = std::time::Instant::now();
    while start.elapsed() < StdDuration::from_secs(60) {
        if store.catch_up().await.is_ok() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("the view never caught up");
}

/// The p-th percentile (0-100) of sorted samples.
pub(crate) fn percentile(sorted: &[StdDuration], p: usize) -> StdDuration {
    let index = (sorted.len().saturating_sub(1) * p) / 100;
    sorted[index]
}

/// The `sid` of a token.
pub(crate) fn sid(token: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).expect("claims");
    claims["sid"].as_str().expect("a sid").to_owned()
}

/// A plain connection to the cluster, for looking at the tables.
pub(crate) async fn inspect(cluster: &Cluster) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    client
}
