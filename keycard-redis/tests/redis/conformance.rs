//! `RedisStore` against keycard-test's store conformance suite, on a real `redis-server`: every
//! store the suite asks for is a fresh `RedisStore` (its own connections and view) under a key
//! prefix of its own, and settling waits for every such view to catch up with the feed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use keycard_lifecycle::{FamilyStore, RevocationStore};
use keycard_redis::{RedisConfig, RedisStore};
use keycard_test::conformance::{self, Backend, BoxFuture};
use keycard_test::{RedisServer, TestClock};

use crate::common::config;

/// Stores on one Redis (a server or a cluster), each under a prefix of its own.
pub(crate) struct Redis {
    base: RedisConfig,
    made: Mutex<Vec<RedisStore>>,
}

impl Redis {
    pub(crate) fn new(base: RedisConfig) -> Self {
        Redis {
            base,
            made: Mutex::new(Vec::new()),
        }
    }

    async fn store(&self, clock: &TestClock) -> RedisStore {
        let prefix = {
            let made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
            format!("conformance{}", made.len())
        };
        let store = RedisStore::connect(self.base.clone().prefix(prefix).clock(clock.clone()))
            .await
            .expect("connects");
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store.clone());
        store
    }
}

impl Backend for Redis {
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
    conformance::run(&Redis::new(config(&server))).await;
}
