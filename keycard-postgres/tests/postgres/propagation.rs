//! Propagation: a revocation committed on instance A is refused by instance B's validator once
//! B's view has caught up (`catch_up`: a heartbeat through the notification queue came back),
//! never by waiting a length of time. Also what reaches the views besides the store's own
//! writes: an operator's `INSERT`, and an id too long for a notification.

use std::time::Instant;

use crate::cluster::Cluster;
use crate::common::{inspect, instances, percentile, sid, TestClock};

use keycard::time::Duration;
use keycard::{Claims, Clock, ErrorKind, RevocationList};
use keycard_lifecycle::RevocationStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_revocation_on_a_is_refused_by_b_once_b_caught_up() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_b = b.issuer.access_validator().build().unwrap();
    let token = a.issuer.issue("t", &()).await.unwrap();
    let session = a.issuer.issue("s", &()).await.unwrap();
    let subject = a.issuer.issue("u", &()).await.unwrap();
    for pair in [&token, &session, &subject] {
        api_b.verify::<Claims>(&pair.access_token).unwrap();
    }
    a.issuer.revoke(&token.access_token).await.unwrap();
    a.issuer.revoke(&session.refresh_token).await.unwrap();
    a.issuer.revoke_subject("u").await.unwrap();
    b.store.catch_up().await.unwrap();
    for pair in [&token, &session, &subject] {
        let err = api_b.verify::<Claims>(&pair.access_token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    }
    assert!(b
        .store
        .is_session_revoked(&sid(&session.access_token))
        .unwrap());
    assert!(b.store.subject_cutoff("u").unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_insert_and_an_oversized_id_reach_every_view() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    // A revocation written by hand is announced by the trigger like any other.
    let db = inspect(&cluster).await;
    db.batch_execute(
        "INSERT INTO keycard.revoked_sessions (sid, until) \
         VALUES ('by-hand', now() + interval '1 hour')",
    )
    .await
    .unwrap();
    b.store.catch_up().await.unwrap();
    assert!(b.store.is_session_revoked("by-hand").unwrap());

    // An id too long for a notification: the trigger asks every view to reload instead.
    let long = "j".repeat(9_000);
    let now = clock.now();
    a.store
        .revoke_token(&long, now + Duration::hours(1), now)
        .await
        .unwrap();
    b.store.catch_up().await.unwrap();
    assert!(b.store.is_token_revoked(&long).unwrap());
    assert!(a.store.is_token_revoked(&long).unwrap());
}

/// 200 revocations, each timed from `revoke` on A until `verify` on B refuses: printed, not
/// asserted (the evidence run does 1,000 in a release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_instance_reaches_verify_on_another() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (delays, after_ack) = measure_propagation(&nodes[0], &nodes[1], 200).await;
    println!(
        "FIGURE propagation over {} revocations (revoke on A until verify on B refuses, \
         loopback): p50 {:?}, p99 {:?}, max {:?}; from revoke's return: p50 {:?}, p99 {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1],
        percentile(&after_ack, 50),
        percentile(&after_ack, 99),
    );
}

/// Revokes `n` access tokens on `a`, and times each until `b`'s validator refuses it: from the
/// call to `revoke` (sorted), and from its return (sorted apart).
pub(crate) async fn measure_propagation(
    a: &crate::common::Instance,
    b: &crate::common::Instance,
    n: usize,
) -> (Vec<std::time::Duration>, Vec<std::time::Duration>) {
    let api_b = b.issuer.access_validator().build().unwrap();
    let mut tokens = Vec::new();
    for i in 0..n {
        let pair = a.issuer.issue(&format!("user-{i}"), &()).await.unwrap();
        api_b.verify::<Claims>(&pair.access_token).unwrap();
        tokens.push(pair.access_token);
    }
    let mut delays = Vec::with_capacity(n);
    let mut after_ack = Vec::with_capacity(n);
    for token in &tokens {
        let start = Instant::now();
        a.issuer.revoke(token).await.unwrap();
        let acknowledged = Instant::now();
        loop {
            match api_b.verify::<Claims>(token) {
                Err(e) if e.kind() == ErrorKind::Revoked => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
            // A bound on a hung test, not a timing claim.
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "never refused"
            );
            tokio::task::yield_now().await;
        }
        delays.push(start.elapsed());
        after_ack.push(acknowledged.elapsed());
    }
    delays.sort();
    after_ack.sort();
    (delays, after_ack)
}
