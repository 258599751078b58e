//! The stores themselves, on two instances of one Redis: a session started on one is refreshed
//! on the other, a logout or sign-out on one is refused on the other, every key has a TTL, the
//! namespaces are apart, session limits hold across instances.

use crate::common::{inspect, instances};

use keycard::time::Duration;
use keycard::{Claims, ErrorKind, RevocationList};
use keycard_lifecycle::FamilyStore;
use keycard_test::{RedisServer, TestClock};

fn sid(token: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_between_instances_and_rotates_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 2, |b| b.grace_period(Duration::ZERO)).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_b = b.issuer.access_validator().build().unwrap();

    let login = a.issuer.issue("alice", &()).await.unwrap();
    api_b.verify::<Claims>(&login.access_token).unwrap();
    let next = b.issuer.refresh(&login.refresh_token).await.unwrap();
    // Rotated on B: the old token is now reuse on A, and the session ends everywhere.
    let err = a.issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    assert!(b
        .store
        .fetch_session_revoked(&sid(&next.access_token))
        .await
        .unwrap());
    assert!(b
        .store
        .get(&sid(&next.access_token))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        b.issuer
            .refresh(&next.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_instance_refuses_a_refresh_on_another_at_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let login = a.issuer.issue("alice", &()).await.unwrap();
    a.issuer.revoke_subject("alice").await.unwrap();
    clock.advance(Duration::seconds(1));
    // B's view may not have heard yet; the refresh reads Redis itself after its swap.
    let err = b.issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_has_a_ttl_and_the_namespaces_are_apart() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 1, |b| b).await;
    let node = &nodes[0];
    let mut logins = Vec::new();
    for i in 0..10 {
        logins.push(node.issuer.issue(&format!("user-{i}"), &()).await.unwrap());
    }
    node.issuer.revoke(&logins[0].access_token).await.unwrap();
    node.issuer.revoke(&logins[1].refresh_token).await.unwrap();
    node.issuer.revoke_subject("user-2").await.unwrap();

    let mut conn = inspect(&server);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("keycard:*")
        .query(&mut conn)
        .unwrap();
    // 10 families less the one logged out, 3 revocations, the feed.
    assert_eq!(keys.len(), 9 + 3 + 1, "{keys:?}");
    for key in keys.iter().filter(|k| !k.ends_with(":feed")) {
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut conn).unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
        assert!(
            i128::from(ttl) <= Duration::days(14).whole_milliseconds() + 301_000,
            "{key}"
        );
    }
    // The session id of login 1 is revoked as a session, not as a token id.
    let session = sid(&logins[1].access_token);
    assert!(node.store.is_session_revoked(&session).unwrap());
    assert!(!node.store.is_token_revoked(&session).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_limits_hold_across_instances() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 2, |b| {
        b.idle_timeout(Duration::hours(1))
            .session_lifetime(Duration::hours(3))
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    // Idle: refreshed on B within the hour, refused on A after an idle hour.
    let login = a.issuer.issue("alice", &()).await.unwrap();
    clock.advance(Duration::minutes(59));
    let next = b.issuer.refresh(&login.refresh_token).await.unwrap();
    clock.advance(Duration::minutes(60));
    let err = a.issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");

    // Absolute: refreshed every 50 minutes on alternate instances, over by 3 hours.
    let mut pair = a.issuer.issue("bob", &()).await.unwrap();
    for i in 0..3 {
        clock.advance(Duration::minutes(50));
        pair = nodes[i % 2]
            .issuer
            .refresh(&pair.refresh_token)
            .await
            .unwrap();
    }
    assert_eq!(pair.expires_in, Duration::minutes(15));
    clock.advance(Duration::minutes(50)); // 200 minutes in
    let err = b.issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Revoked | ErrorKind::Expired),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_forgets_its_family_in_the_same_step() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 1, |b| b).await;
    let node = &nodes[0];
    let login = node.issuer.issue("alice", &()).await.unwrap();
    let session = sid(&login.access_token);
    assert!(node.store.get(&session).await.unwrap().is_some());
    let now = keycard::Clock::now(&clock);
    keycard_lifecycle::RevocationStore::revoke_session(
        &node.store,
        &session,
        now + Duration::minutes(20),
        now,
    )
    .await
    .unwrap();
    // One script wrote the revocation and deleted the family: the issuer's `remove` after it
    // has nothing left to do, so a connection lost between the two cannot leave a family behind.
    assert!(node.store.get(&session).await.unwrap().is_none());
    assert!(node.store.fetch_session_revoked(&session).await.unwrap());
}
