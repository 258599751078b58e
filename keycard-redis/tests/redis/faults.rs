//! Faults: `redis-server` SIGKILLed and restarted (AOF on, `appendfsync always`) in the middle
//! of a refresh storm, and a view cut off from Redis for longer than its bound. Each phase waits
//! for progress (so many successes, so many failures), never for a length of time.

use crate::common::{config, eventually, instances, Instance, DURABLE};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use keycard::{Claims, ErrorKind, RevocationList};
use keycard_redis::RedisStore;
use keycard_test::{RedisServer, TestClock};

const SESSIONS: usize = 24;
const REVOKED: usize = 6;

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    store_errors: AtomicUsize,
    /// Any other error: none may happen to a live session.
    other: Mutex<Vec<String>>,
    /// The successor every presented refresh token received, to prove there is only one.
    successors: Mutex<HashMap<String, String>>,
    two_successors: AtomicUsize,
}

impl Tally {
    fn ok(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
    }
    fn store_errors(&self) -> usize {
        self.store_errors.load(Ordering::SeqCst)
    }
}

/// Waits until `f` is true, polling; panics after a long bound (a hung test, not a timing claim).
async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..60_000 {
        if f() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }
    panic!("never reached: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_and_restart_mid_storm_loses_no_rotation_and_no_revocation() {
    let Some(mut server) = RedisServer::start_with(&DURABLE) else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 4, |b| b).await;

    // Sessions to storm, and sessions revoked before the crash.
    let mut live = Vec::new();
    for i in 0..SESSIONS {
        live.push(
            nodes[i % 4]
                .issuer
                .issue(&format!("user-{i}"), &())
                .await
                .unwrap(),
        );
    }
    let mut revoked = Vec::new();
    for i in 0..REVOKED {
        let pair = nodes[i % 4]
            .issuer
            .issue(&format!("gone-{i}"), &())
            .await
            .unwrap();
        nodes[(i + 1) % 4]
            .issuer
            .revoke(&pair.refresh_token)
            .await
            .unwrap();
        revoked.push(pair);
    }

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = live
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let nodes: Vec<Instance> = nodes.clone();
            let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
            let mut token = pair.refresh_token.clone();
            tokio::spawn(async move {
                let mut n = i;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    // A client retries a failed refresh with the same token, on any instance.
                    match nodes[n % 4].issuer.refresh(&token).await {
                        Ok(next) => {
                            let mut successors = tally.successors.lock().unwrap();
                            let first = successors
                                .entry(token.clone())
                                .or_insert_with(|| next.refresh_token.clone());
                            if *first != next.refresh_token {
                                tally.two_successors.fetch_add(1, Ordering::SeqCst);
                            }
                            drop(successors);
                            token = next.refresh_token;
                            tally.ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) if e.kind() == ErrorKind::Store => {
                            tally.store_errors.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(StdDuration::from_millis(5)).await;
                        }
                        Err(e) => tally.other.lock().unwrap().push(e.to_string()),
                    }
                }
            })
        })
        .collect();

    until("a storm before the crash", || tally.ok() >= 500).await;
    server.kill();
    let ok_at_kill = tally.ok();
    until("clients seeing store errors", || tally.store_errors() >= 50).await;
    let ok_while_down = tally.ok() - ok_at_kill;
    server.restart();
    let errors_at_restart = tally.store_errors();
    let ok_at_restart = tally.ok();
    until("normal service after the restart", || {
        tally.ok() >= ok_at_restart + 500
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "FIGURE restart: {} refreshes ok, {} store errors while down ({} refreshes succeeded \
         while it was down), {} after the restart",
        tally.ok(),
        errors_at_restart,
        ok_while_down,
        tally.ok() - ok_at_restart
    );

    assert_eq!(tally.two_successors.load(Ordering::SeqCst), 0);
    assert!(
        tally.other.lock().unwrap().is_empty(),
        "{:?}",
        tally.other.lock().unwrap()
    );
    // Nothing revoked came back: in Redis, in every view once resynced, and to a refresh.
    for pair in &revoked {
        let claims: serde_json::Value =
            keycard::unverified::decode_claims(&pair.access_token).unwrap();
        let sid = claims["sid"].as_str().unwrap();
        for node in &nodes {
            assert!(node.store.fetch_session_revoked(sid).await.unwrap());
            let api = node.issuer.access_validator().build().unwrap();
            assert!(
                eventually(|| api
                    .verify::<Claims>(&pair.access_token)
                    .is_err_and(|e| e.kind() == ErrorKind::Revoked))
                .await
            );
            assert_eq!(
                node.issuer
                    .refresh(&pair.refresh_token)
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::Revoked
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_cut_off_from_redis_fails_closed_after_its_bound_and_recovers() {
    let Some(mut server) = RedisServer::start_with(&DURABLE) else {
        return;
    };
    let store = RedisStore::connect(config(&server).max_staleness(StdDuration::from_millis(300)))
        .await
        .unwrap();
    assert!(!store.is_token_revoked("x").unwrap());
    server.kill();
    assert!(
        eventually(|| store
            .is_token_revoked("x")
            .is_err_and(|e| e.kind() == ErrorKind::Store))
        .await
    );
    let err = store.is_session_revoked("x").unwrap_err();
    assert!(err.to_string().contains("not been in sync"), "{err}");
    server.restart();
    assert!(eventually(|| store.is_token_revoked("x").is_ok()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_refresh_and_revoke_fail_closed_and_half_apply_nothing() {
    let Some(mut server) = RedisServer::start_with(&DURABLE) else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 2, |b| {
        b.grace_period(keycard::time::Duration::ZERO)
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let login = a.issuer.issue("alice", &()).await.unwrap();
    let next = a.issuer.refresh(&login.refresh_token).await.unwrap();

    server.kill();
    for result in [
        a.issuer.refresh(&login.refresh_token).await.map(|_| ()),
        a.issuer.refresh(&next.refresh_token).await.map(|_| ()),
        a.issuer.revoke(&next.access_token).await,
        a.issuer.revoke_subject("alice").await,
        a.issuer.issue("bob", &()).await.map(|_| ()),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Store);
    }
    server.restart();

    // The replay, refused with `store` while Redis was down, forgot nothing: once Redis is back
    // it is detected and ends the session, on both instances.
    let mut replay = a.issuer.refresh(&login.refresh_token).await;
    for _ in 0..100 {
        if !matches!(&replay, Err(e) if e.kind() == ErrorKind::Store) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        replay = a.issuer.refresh(&login.refresh_token).await;
    }
    assert_eq!(replay.unwrap_err().kind(), ErrorKind::RefreshReuse);
    let api_b = b.issuer.access_validator().build().unwrap();
    assert!(
        eventually(|| api_b
            .verify::<Claims>(&next.access_token)
            .is_err_and(|e| e.kind() == ErrorKind::Revoked))
        .await
    );
    assert_eq!(
        b.issuer
            .refresh(&next.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}
