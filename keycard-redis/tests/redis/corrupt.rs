//! Issue 22: a revocation key whose value is corrupted, or of the wrong type, fails closed. A
//! fresh instance's snapshot used to skip it (so it accepted the revoked token), and the
//! revocation scripts failed on it (so it could never be revoked again).

use crate::common::instances;

use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::RevocationStore;
use keycard_test::{RedisServer, TestClock};

fn claim(token: &str, name: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

/// Replaces `key` by a string that is not a stored revocation, or by a hash.
fn corrupt(server: &RedisServer, key: &str, wrong_type: bool) {
    server.query(&["DEL", key]).unwrap();
    if wrong_type {
        server.query(&["HSET", key, "x", "y"]).unwrap();
    } else {
        server.query(&["SET", key, "garbage"]).unwrap();
    }
}

async fn corrupt_keys_fail_closed_and_are_revoked_again(wrong_type: bool) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 1, |b| b).await;
    let a = &nodes[0];

    // A revoked access token, a revoked session, a signed-out subject.
    let token = a.issuer.issue("alice", &()).await.unwrap();
    a.issuer.revoke(&token.access_token).await.unwrap();
    let session = a.issuer.issue("bob", &()).await.unwrap();
    a.issuer.revoke(&session.refresh_token).await.unwrap();
    let subject = a.issuer.issue("carol", &()).await.unwrap();
    a.issuer.revoke_subject("carol").await.unwrap();
    let keys = [
        format!("keycard:rt:{{{}}}", claim(&token.access_token, "jti")),
        format!("keycard:rs:{{{}}}", claim(&session.access_token, "sid")),
        "keycard:rc:{carol}".to_owned(),
    ];
    for key in &keys {
        corrupt(&server, key, wrong_type);
    }
    // Long ago: the feed no longer holds them (trimmed, or older than the minute a snapshot
    // replays), so a fresh view has only the keys to go by.
    server.query(&["DEL", "keycard:feed"]).unwrap();

    // A fresh instance's snapshot reads the corrupt keys: each still refuses its tokens.
    let fresh = instances(&server, &clock, 1, |b| b).await;
    let api = fresh[0].issuer.access_validator().build().unwrap();
    for (what, access) in [
        ("a corrupt token revocation", &token.access_token),
        ("a corrupt session revocation", &session.access_token),
        ("a corrupt subject cutoff", &subject.access_token),
    ] {
        let err = api.verify::<Claims>(access).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{what}: {err}");
    }

    // And each can be revoked again: the write overwrites the corrupt value (the scripts used
    // to fail on it).
    let now = keycard::Clock::now(&clock);
    let until = now + Duration::minutes(20);
    let sid = claim(&session.access_token, "sid");
    a.store
        .revoke_token(&claim(&token.access_token, "jti"), until, now)
        .await
        .unwrap();
    a.store.revoke_session(&sid, until, now).await.unwrap();
    a.store
        .revoke_subject("carol", now, until, now)
        .await
        .unwrap();
    for key in &keys[..2] {
        let value = server.query(&["GET", key]).unwrap().unwrap();
        assert!(value.parse::<i64>().is_ok(), "{key}: {value}");
    }
    let cutoff = server.query(&["GET", &keys[2]]).unwrap().unwrap();
    assert_eq!(
        cutoff.split_once(' ').map(|(c, _)| c.len()),
        Some(20),
        "{cutoff}"
    );
    // A fresh instance after the repair reads them as revocations again.
    let repaired = instances(&server, &clock, 1, |b| b).await;
    let api = repaired[0].issuer.access_validator().build().unwrap();
    for access in [
        &token.access_token,
        &session.access_token,
        &subject.access_token,
    ] {
        let err = api.verify::<Claims>(access).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_revocation_value_fails_closed_and_can_be_revoked_again() {
    corrupt_keys_fail_closed_and_are_revoked_again(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_key_of_the_wrong_type_fails_closed_and_can_be_revoked_again() {
    corrupt_keys_fail_closed_and_are_revoked_again(true).await;
}
