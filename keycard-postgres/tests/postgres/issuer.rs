//! A `TokenIssuer` on the store, end to end, on two instances of one database: a session made
//! on A is refreshed on B, a replay is reuse and ends the session everywhere, a logout or a
//! sign-out on one instance is refused on the other, session limits hold across instances.

use crate::cluster::Cluster;
use crate::common::{instances, sid, Instance, TestClock};

use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::FamilyStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_between_instances_and_reuse_ends_it_everywhere() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b.grace_period(Duration::ZERO)).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_a = a.issuer.access_validator().build().unwrap();
    let api_b = b.issuer.access_validator().build().unwrap();

    let login = a.issuer.issue("alice", &()).await.unwrap();
    api_b.verify::<Claims>(&login.access_token).unwrap();
    let next = b.issuer.refresh(&login.refresh_token).await.unwrap();
    api_a.verify::<Claims>(&next.access_token).unwrap();

    // Rotated on B: the old token is now reuse on A, and the session ends everywhere.
    let err = a.issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    let session = sid(&next.access_token);
    assert!(b.store.fetch_session_revoked(&session).await.unwrap());
    assert!(b.store.get(&session).await.unwrap().is_none());
    b.store.catch_up().await.unwrap();
    for api in [&api_a, &api_b] {
        let err = api.verify::<Claims>(&next.access_token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    }
    let err = b.issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_refused_on_another() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_b = b.issuer.access_validator().build().unwrap();

    // An access token alone (RFC 7009): that token, not its session.
    let first = a.issuer.issue("alice", &()).await.unwrap();
    a.issuer.revoke(&first.access_token).await.unwrap();
    b.store.catch_up().await.unwrap();
    let err = api_b.verify::<Claims>(&first.access_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    b.issuer.refresh(&first.refresh_token).await.unwrap();

    // A refresh token: the whole session, its access tokens included.
    let second = a.issuer.issue("bob", &()).await.unwrap();
    a.issuer.revoke(&second.refresh_token).await.unwrap();
    b.store.catch_up().await.unwrap();
    let err = api_b.verify::<Claims>(&second.access_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    let err = b.issuer.refresh(&second.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_everywhere_on_one_instance_refuses_a_refresh_on_another_at_once() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_b = b.issuer.access_validator().build().unwrap();
    let login = a.issuer.issue("alice", &()).await.unwrap();
    let other = a.issuer.issue("bob", &()).await.unwrap();
    a.issuer.revoke_subject("alice").await.unwrap();
    clock.advance(Duration::seconds(1));
    // Whatever B's view has heard, the refresh reads the cutoff from the database after its
    // swap.
    let err = b.issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    b.store.catch_up().await.unwrap();
    let err = api_b.verify::<Claims>(&login.access_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    // Another subject is untouched, and alice may sign in again a second later.
    api_b.verify::<Claims>(&other.access_token).unwrap();
    let again = b.issuer.issue("alice", &()).await.unwrap();
    api_b.verify::<Claims>(&again.access_token).unwrap();
    a.issuer.refresh(&again.refresh_token).await.unwrap();
}

/// Moves the clock. The views are confirmed by the stores' clock, which the test moves: after
/// each move, wait for a confirmation at the new time before verifying.
async fn advance(clock: &TestClock, nodes: &[Instance], by: Duration) {
    clock.advance(by);
    for node in nodes {
        node.store.catch_up().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_limits_hold_across_instances() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| {
        b.idle_timeout(Duration::hours(1))
            .session_lifetime(Duration::hours(3))
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let advance = |by: Duration| advance(&clock, &nodes, by);
    // Idle: refreshed on B within the hour, refused on A after an idle hour.
    let login = a.issuer.issue("alice", &()).await.unwrap();
    advance(Duration::minutes(59)).await;
    let next = b.issuer.refresh(&login.refresh_token).await.unwrap();
    advance(Duration::minutes(60)).await;
    let err = a.issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");

    // Absolute: refreshed every 50 minutes on alternate instances, over by 3 hours.
    let mut pair = a.issuer.issue("bob", &()).await.unwrap();
    for i in 0..3 {
        advance(Duration::minutes(50)).await;
        pair = nodes[i % 2]
            .issuer
            .refresh(&pair.refresh_token)
            .await
            .unwrap();
    }
    advance(Duration::minutes(50)).await; // 200 minutes in
    let err = b.issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Revoked | ErrorKind::Expired),
        "{err}"
    );
}
