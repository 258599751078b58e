//! 100,000 families: how many keys and how much memory Redis holds, that every key has a TTL
//! (so memory is bounded by live sessions), and that short-lived families really expire.

use crate::common::{config, inspect, issuer_builder};

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use keycard::time::{Duration, OffsetDateTime};
use keycard_lifecycle::FamilyStore;
use keycard_redis::RedisStore;
use keycard_test::{RedisServer, TestClock};

const FAMILIES: usize = 100_000;
const TASKS: usize = 8;

fn info(conn: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(conn).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

fn used_memory(conn: &mut redis::Connection) -> i64 {
    info(conn, "memory")["used_memory"].parse().unwrap()
}

/// `db0:keys=N,expires=M,...` as (N, M).
fn keyspace(conn: &mut redis::Connection) -> (u64, u64) {
    let info = info(conn, "keyspace");
    let Some(db0) = info.get("db0") else {
        return (0, 0);
    };
    let field = |name: &str| {
        db0.split(',')
            .find_map(|kv| kv.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("keys="), field("expires="))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_families_all_expire() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut conn = inspect(&server);
    let store = RedisStore::connect(config(&server)).await.unwrap();
    let before = used_memory(&mut conn);

    // One family made by a real login, stored under 100,000 session ids by 8 tasks (the issuer's
    // signing would only slow a debug build down; the records are the same).
    let clock = TestClock::new();
    let issuer = issuer_builder(&clock, &store).build().unwrap();
    let login = issuer.issue("template", &()).await.unwrap();
    let claims: serde_json::Value =
        keycard::unverified::decode_claims(&login.access_token).unwrap();
    let template = store
        .get(claims["sid"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    store.remove(claims["sid"].as_str().unwrap()).await.unwrap();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (store, template) = (store.clone(), template.clone());
            let now = keycard::Clock::now(&clock);
            tokio::spawn(async move {
                for i in 0..FAMILIES / TASKS {
                    let mut family = template.clone();
                    // Same length as a real refresh `jti` and session id (22 characters).
                    family.current = format!("jti-{t:02}-{i:015}");
                    store
                        .insert(&format!("sid-{t:02}-{i:015}"), family, now)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let (keys, expires) = keyspace(&mut conn);
    let after = used_memory(&mut conn);
    println!(
        "FIGURE memory: {FAMILIES} families (14-day refresh tokens) -> {keys} keys, {} MiB \
         ({} bytes a family); stored in {:.1} s by {TASKS} tasks (debug build)",
        (after - before) / (1024 * 1024),
        (after - before) / i64::try_from(FAMILIES).unwrap(),
        elapsed.as_secs_f64()
    );
    // One family before and after a rotation (which adds the grace-period successor pair).
    let login = issuer.issue("rotated", &()).await.unwrap();
    let claims: serde_json::Value =
        keycard::unverified::decode_claims(&login.access_token).unwrap();
    let family_key = format!("keycard:fam:{{{}}}", claims["sid"].as_str().unwrap());
    let usage = |conn: &mut redis::Connection| -> i64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&family_key)
            .query(conn)
            .unwrap()
    };
    let fresh = usage(&mut conn);
    issuer.refresh(&login.refresh_token).await.unwrap();
    let rotated = usage(&mut conn);
    println!("FIGURE family key: {fresh} bytes after login, {rotated} bytes after a rotation");
    store.remove(claims["sid"].as_str().unwrap()).await.unwrap();
    assert_eq!(keys, FAMILIES as u64);
    // Every key has a TTL: memory follows live sessions, never logins ever made.
    assert_eq!(expires, keys);

    // Families whose refresh tokens end a few seconds from now are gone after that, without a
    // cleaning job: Redis expires them.
    let short = RedisStore::connect(config(&server).prefix("short"))
        .await
        .unwrap();
    let clock = TestClock::new();
    let issuer = issuer_builder(&clock, &short)
        .access_lifetime(Duration::seconds(1))
        .refresh_lifetime(Duration::seconds(2))
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..1_000 {
        let pair = issuer.issue(&format!("u{i}"), &()).await.unwrap();
        let claims: serde_json::Value =
            keycard::unverified::decode_claims(&pair.access_token).unwrap();
        ids.push(format!("short:fam:{{{}}}", claims["sid"].as_str().unwrap()));
    }
    let deadline = keycard::Clock::now(&clock) + Duration::seconds(2);
    while OffsetDateTime::now_utc() <= deadline + Duration::milliseconds(50) {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let existing: i64 = redis::cmd("EXISTS").arg(&ids).query(&mut conn).unwrap();
    assert_eq!(existing, 0);
}
