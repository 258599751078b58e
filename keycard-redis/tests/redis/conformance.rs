//! `RedisStore` against keycard-test's store conformance suite, on a real `redis-server`: every
//! store the suite asks for is a fresh `RedisStore` (its own connections and view) under a key
//! prefix of its own, and settling waits for every such view to catch up with the feed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use keycard_lifecycle::{FamilyStore, RevocationStore};
use keycard_redis::RedisStore;
use keycard_test::conformance::{self, Backend, BoxFuture};
use keycard_test::{RedisServer, TestClock};

use crate::common::config;

struct Redis<'a> {
    server: &'a RedisServer,
    made: Mutex<Vec<RedisStore>>,
}

impl Redis<'_> {
    async fn store(&self, clock: &TestClock) -> RedisStore {
        let prefix = {
            let made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
            format!("conformance{}", made.len())
        };
        let store = RedisStore::connect(config(self.server).prefix(prefix).clock(clock.clone()))
            .await
            .expect("connects");
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store.clone());
        store
    }
}

impl Backend for Redis<'_> {
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
                store
                    .sync_view(StdDuration::from_secs(10))
                    .await
                    .expect("the view catches up");
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stores_pass_the_store_conformance_suite() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = Redis {
        server: &server,
        made: Mutex::new(Vec::new()),
    };
    conformance::run(&backend).await;
}
