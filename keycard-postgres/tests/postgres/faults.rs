//! Faults: the server stopped at once (`pg_ctl stop -m immediate`, as a crash: no checkpoint,
//! recovery from the WAL at the next start) under a view, under writes, and in the middle of a
//! refresh storm; then restarted. Each phase waits for progress (so many successes, so many
//! failures) or for the store's own signal, never for a length of time; time past the staleness
//! bound is the injected clock's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use crate::cluster::Cluster;
use crate::common::{caught_up, instances, sid, store, Instance, TestClock};

use keycard::time::Duration;
use keycard::{Claims, ErrorKind, RevocationList};
use keycard_lifecycle::TokenPair;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_cut_off_answers_within_its_bound_then_fails_closed_and_recovers() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = keycard::Clock::now(&clock);
    keycard_lifecycle::RevocationStore::revoke_token(&store, "r", now + Duration::hours(1), now)
        .await
        .unwrap();
    store.catch_up().await.unwrap();
    assert!(!store.is_token_revoked("x").unwrap());

    cluster.kill();
    // Within the bound (10 s by this clock) the view answers from what it holds.
    clock.advance(Duration::seconds(5));
    assert!(store.is_token_revoked("r").unwrap());
    assert!(!store.is_token_revoked("x").unwrap());
    assert_eq!(store.catch_up().await.unwrap_err().kind(), ErrorKind::Store);
    // Past it, every lookup fails closed: never a stale "not revoked".
    clock.advance(Duration::seconds(6));
    for err in [
        store.is_token_revoked("x").unwrap_err(),
        store.is_token_revoked("r").unwrap_err(),
        store.is_session_revoked("x").unwrap_err(),
        store.subject_cutoff("x").unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Store);
        assert!(err.to_string().contains("not been in sync"), "{err}");
    }

    cluster.restart();
    // The listener reconnects by itself and reloads; `catch_up` says when.
    caught_up(&store).await;
    assert!(store.is_token_revoked("r").unwrap());
    assert!(!store.is_token_revoked("x").unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_server_is_down_every_operation_fails_closed_and_half_applies_nothing() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b.grace_period(Duration::ZERO)).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let login = a.issuer.issue("alice", &()).await.unwrap();
    let next = a.issuer.refresh(&login.refresh_token).await.unwrap();

    cluster.kill();
    for result in [
        a.issuer.refresh(&login.refresh_token).await.map(|_| ()),
        a.issuer.refresh(&next.refresh_token).await.map(|_| ()),
        a.issuer.revoke(&next.access_token).await,
        a.issuer.revoke_subject("alice").await,
        a.issuer.issue("bob", &()).await.map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Store, "{err}");
        assert!(!err.to_string().contains(&sid(&next.access_token)), "{err}");
    }
    cluster.restart();
    caught_up(&a.store).await;

    // The replay, refused with `store` while the server was down, forgot nothing: now it is
    // detected and ends the session, on both instances.
    let mut replay = a.issuer.refresh(&login.refresh_token).await;
    for _ in 0..100 {
        if !matches!(&replay, Err(e) if e.kind() == ErrorKind::Store) {
            break;
        }
        replay = a.issuer.refresh(&login.refresh_token).await;
    }
    assert_eq!(replay.unwrap_err().kind(), ErrorKind::RefreshReuse);
    caught_up(&b.store).await;
    let api_b = b.issuer.access_validator().build().unwrap();
    let err = api_b.verify::<Claims>(&next.access_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    assert_eq!(
        b.issuer
            .refresh(&next.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

const SESSIONS: usize = 24;
const REVOKED_BEFORE: usize = 6;

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    store_errors: AtomicUsize,
    /// Any other error: none may happen to a live session.
    other: Mutex<Vec<String>>,
    /// The successor every presented refresh token received, to prove there is only one.
    successors: Mutex<HashMap<String, String>>,
    forks: AtomicUsize,
    /// Revocations acknowledged during the storm (the access tokens revoked).
    acknowledged: Mutex<Vec<String>>,
    revoke_errors: AtomicUsize,
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

/// Refreshes `token`'s session in a loop on every instance in turn, retrying a failed refresh
/// with the same token, as a client does.
fn storm(
    nodes: Vec<Instance>,
    start: usize,
    token: String,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut token = token;
        let mut n = start;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            match nodes[n % nodes.len()].issuer.refresh(&token).await {
                Ok(next) => {
                    let mut successors = tally.successors.lock().unwrap();
                    let first = successors
                        .entry(token.clone())
                        .or_insert_with(|| next.refresh_token.clone());
                    if *first != next.refresh_token {
                        tally.forks.fetch_add(1, Ordering::SeqCst);
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
}

/// Revokes one access token after another, on every instance in turn, recording the ones
/// acknowledged.
fn revoker(
    nodes: Vec<Instance>,
    pairs: Vec<TokenPair>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for (i, pair) in pairs.iter().enumerate() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match nodes[i % nodes.len()]
                .issuer
                .revoke(&pair.access_token)
                .await
            {
                Ok(()) => tally
                    .acknowledged
                    .lock()
                    .unwrap()
                    .push(pair.access_token.clone()),
                Err(_) => {
                    tally.revoke_errors.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(StdDuration::from_millis(5)).await;
                }
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_stop_and_restart_mid_storm_forks_nothing_and_loses_no_revocation() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 4, |b| b).await;

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
    // Sessions revoked before the storm, and access tokens for the revoker to revoke during it.
    let mut revoked = Vec::new();
    for i in 0..REVOKED_BEFORE {
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
    let mut to_revoke = Vec::new();
    for i in 0..2_000 {
        to_revoke.push(
            nodes[i % 4]
                .issuer
                .issue(&format!("reader-{i}"), &())
                .await
                .unwrap(),
        );
    }

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks: Vec<_> = live
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            storm(
                nodes.clone(),
                i,
                pair.refresh_token.clone(),
                Arc::clone(&tally),
                Arc::clone(&stop),
            )
        })
        .collect();
    tasks.push(revoker(
        nodes.clone(),
        to_revoke.clone(),
        Arc::clone(&tally),
        Arc::clone(&stop),
    ));

    until("a storm before the stop", || tally.ok() >= 300).await;
    cluster.kill();
    let ok_at_kill = tally.ok();
    let acknowledged_at_kill = tally.acknowledged.lock().unwrap().len();
    until("clients seeing store errors", || tally.store_errors() >= 50).await;
    let ok_while_down = tally.ok() - ok_at_kill;
    cluster.restart();
    let errors_at_restart = tally.store_errors();
    let ok_at_restart = tally.ok();
    until("normal service after the restart", || {
        tally.ok() >= ok_at_restart + 300
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let acknowledged = tally.acknowledged.lock().unwrap().clone();
    println!(
        "FIGURE immediate stop mid-storm: {} refreshes ok ({} before the stop, {} while down, \
         {} after the restart), {} store errors while down, {} forks; {} revocations \
         acknowledged ({} before the stop), {} refused with store",
        tally.ok(),
        ok_at_kill,
        ok_while_down,
        tally.ok() - ok_at_restart,
        errors_at_restart,
        tally.forks.load(Ordering::SeqCst),
        acknowledged.len(),
        acknowledged_at_kill,
        tally.revoke_errors.load(Ordering::SeqCst),
    );

    assert_eq!(
        tally.forks.load(Ordering::SeqCst),
        0,
        "a token had two successors"
    );
    let other = tally.other.lock().unwrap().clone();
    assert!(other.is_empty(), "{other:?}");
    assert!(acknowledged_at_kill > 0);

    // Nothing acknowledged was lost: in the tables, in every view, and to a refresh.
    for node in &nodes {
        caught_up(&node.store).await;
    }
    for pair in &revoked {
        for node in &nodes {
            assert!(node
                .store
                .fetch_session_revoked(&sid(&pair.access_token))
                .await
                .unwrap());
            let api = node.issuer.access_validator().build().unwrap();
            let err = api.verify::<Claims>(&pair.access_token).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Revoked);
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
    for node in &nodes {
        let api = node.issuer.access_validator().build().unwrap();
        for token in &acknowledged {
            let err = api.verify::<Claims>(token).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::Revoked,
                "an acknowledged revocation was lost"
            );
        }
    }
}
