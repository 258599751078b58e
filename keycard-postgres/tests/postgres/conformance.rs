//! `PostgresStore` against keycard-test's store conformance suite, unchanged, on a real
//! PostgreSQL: every store the suite asks for is a fresh `PostgresStore` (its own pool and view)
//! in a schema of its own, migrated first; settling waits for every such view to catch up.

use std::sync::{Arc, Mutex, PoisonError};

use keycard_lifecycle::{FamilyStore, RevocationStore};
use keycard_postgres::{PostgresConfig, PostgresStore};
use keycard_test::conformance::{self, Backend, BoxFuture};
use keycard_test::TestClock;

use crate::cluster::Cluster;
use crate::common::{caught_up, config};

/// Stores on one PostgreSQL cluster, each in a schema of its own.
struct Postgres<'a> {
    cluster: &'a Cluster,
    made: Mutex<Vec<PostgresStore>>,
}

impl Postgres<'_> {
    async fn store(&self, clock: &TestClock) -> PostgresStore {
        let schema = {
            let made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
            format!("conformance{}", made.len())
        };
        let config: PostgresConfig = config(self.cluster, clock).schema(schema);
        PostgresStore::migrate(&config).await.expect("migrates");
        let store = PostgresStore::connect(config).await.expect("connects");
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store.clone());
        store
    }
}

impl Backend for Postgres<'_> {
    fn family_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn FamilyStore>> {
        let clock = clock.clone();
        Box::pin(async move { Arc::new(self.store(&clock).await) as Arc<dyn FamilyStore> })
    }

    fn revocation_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn RevocationStore>> {
        let clock = clock.clone();
        Box::pin(async move { Arc::new(self.store(&clock).await) as Arc<dyn RevocationStore> })
    }

    fn settle<'a>(&'a self, _store: &'a Arc<dyn RevocationStore>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let made = self
                .made
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for store in made {
                caught_up(&store).await;
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_pass_the_store_conformance_suite() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let backend = Postgres {
        cluster: &cluster,
        made: Mutex::new(Vec::new()),
    };
    conformance::run(&backend).await;
}
