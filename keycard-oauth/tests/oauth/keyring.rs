//! The signing-key ring: next published before it signs, retired kept until its tokens expire,
//! rotation on demand and on schedule, two instances sharing one ring store.

use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use keycard::{unverified, Claims, KeySet, Validator};
use keycard_oauth::{Endpoint, MemoryKeyRingStore};
use time::Duration;

use crate::common::{fixture_with, Fixture, ISSUER};

async fn published(f: &Fixture) -> KeySet {
    let request = Request::get(f.service.url(Endpoint::Jwks))
        .body(Bytes::new())
        .unwrap();
    KeySet::from_jwks(&f.send(Endpoint::Jwks, request).await.body()).unwrap()
}

fn kids(set: &KeySet) -> Vec<String> {
    set.iter()
        .filter_map(|k| k.key_id().map(str::to_owned))
        .collect()
}

/// A resource server holding `set`, as a keycard-jwks cache would.
fn resource_server(f: &Fixture, set: KeySet) -> Validator {
    Validator::builder_with_keys(set)
        .token_type("at+jwt")
        .issuer(ISSUER)
        .audience("api")
        .clock(f.clock.clone())
        .build()
        .unwrap()
}

async fn access_token(f: &Fixture) -> String {
    f.token("grant_type=client_credentials").await.json["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn kid(token: &str) -> String {
    unverified::decode_header(token)
        .unwrap()
        .key_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_next_key_signs_only_once_published_for_a_cache_lifetime() {
    let f = fixture_with(|b| b.jwks_max_age(Duration::minutes(5)));
    let before = published(&f).await;
    assert_eq!(kids(&before).len(), 2);
    let old = access_token(&f).await;
    assert_eq!(kid(&old), "k1");

    // Too early: the next key has not been published for max-age + a minute yet.
    assert!(!f.service.rotate_keys().await.unwrap());
    f.clock.advance(Duration::minutes(6));
    assert!(f.service.rotate_keys().await.unwrap());
    let new = access_token(&f).await;
    assert_ne!(kid(&new), "k1");
    // A resource server that cached the set before the rotation accepts both tokens.
    let cached = resource_server(&f, before);
    cached.verify::<Claims>(&old).unwrap();
    cached.verify::<Claims>(&new).unwrap();
    // The retired key is still published, with the new current and a new next.
    let after = published(&f).await;
    assert_eq!(kids(&after).len(), 3);
    assert!(kids(&after).contains(&"k1".to_owned()));

    // Once its last access token has expired, the retired key is no longer published.
    f.clock.advance(Duration::minutes(30));
    assert!(!kids(&published(&f).await).contains(&"k1".to_owned()));
}

#[tokio::test]
async fn refresh_tokens_of_a_retired_key_keep_working() {
    let f = fixture_with(|b| b);
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(7));
    assert!(f.service.rotate_keys().await.unwrap());
    let reply = f
        .token(&format!(
            "grant_type=refresh_token&refresh_token={}",
            login.refresh_token.unwrap()
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body());
}

#[tokio::test]
async fn the_schedule_rotates_and_two_instances_share_the_ring() {
    let store = Arc::new(MemoryKeyRingStore::new());
    let a = fixture_with(|b| {
        b.key_ring(store.clone())
            .rotation_period(Duration::hours(1))
    });
    let b = fixture_with(|b| {
        b.key_ring(store.clone())
            .rotation_period(Duration::hours(1))
    });
    // Both instances follow A's ring once they have synced (their first request does).
    let from_a = access_token(&a).await;
    let from_b = access_token(&b).await;
    assert_eq!(kid(&from_a), kid(&from_b));
    assert_eq!(kids(&published(&a).await), kids(&published(&b).await));

    a.clock.advance(Duration::minutes(61));
    b.clock.advance(Duration::minutes(61));
    a.service.sync_keys().await.unwrap(); // the schedule: due, and the next key is old enough
    let rotated = access_token(&a).await;
    assert_ne!(kid(&rotated), kid(&from_a));
    b.service.sync_keys().await.unwrap();
    let from_b = access_token(&b).await;
    assert_eq!(kid(&from_b), kid(&rotated), "B adopted A's rotation");
    // A resource server on B's set verifies both instances' tokens.
    let at_b = resource_server(&b, published(&b).await);
    at_b.verify::<Claims>(&rotated).unwrap();
    at_b.verify::<Claims>(&from_b).unwrap();
}
