//! The provider rotates its key: one refetch, new tokens pass, old ones pass while published;
//! every validator on the set follows it, and validators keep the set alive, no longer.

use std::time::Duration;

use keycard::{Claims, ErrorKind, KeySource, Validator};
use keycard_jwks::ValidatorExt;

use crate::{es256, generation, jwks, remote, start, token, validator, verify_or_refetch};

#[tokio::test]
async fn rotation_costs_one_refetch_and_old_tokens_pass_while_published() {
    let old = es256("2026-11");
    let provider = start(jwks(&[&old])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let validator = Validator::builder_with_remote(&keys)
        .issuer("https://idp.test")
        .audience("api")
        .build()
        .unwrap();
    let old_token = token(&old, "https://idp.test");
    validator.verify::<Claims>(&old_token).unwrap();
    assert_eq!(provider.jwks_hits(), 1);

    // The provider starts publishing the next key beside the old one and signs with it.
    let new = es256("2026-12");
    provider.publish_keys(&[&old, &new]);
    let new_token = token(&new, "https://idp.test");
    let err = validator.verify::<Claims>(&new_token).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::UnknownKeyId,
        "sync verify never fetches"
    );
    assert_eq!(provider.jwks_hits(), 1);

    let claims: Claims = verify_or_refetch(&validator, &new_token).await.unwrap();
    assert_eq!(claims.subject.as_deref(), Some("user-42"));
    assert_eq!(provider.jwks_hits(), 2, "exactly one refetch");
    // Both keys now verify, synchronously, without another request.
    validator.verify::<Claims>(&new_token).unwrap();
    validator.verify::<Claims>(&old_token).unwrap();
    assert_eq!(provider.jwks_hits(), 2);
    assert_eq!(keys.stats().unknown_kid_refetches, 1);

    // The old key is withdrawn: after the next refresh its tokens fail, and a retry within the
    // cooldown does not reach the provider (which is fine, so no failure is attached).
    provider.publish_keys(&[&new]);
    keys.refresh().await.unwrap();
    assert_eq!(provider.jwks_hits(), 3);
    let err = verify_or_refetch::<Claims>(&validator, &old_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    assert!(err.key_source_failure().is_none(), "{err}");
    assert_eq!(provider.jwks_hits(), 3, "cooldown: no refetch");
    assert_eq!(keys.stats().cooldown_skips, 1);
    validator.verify::<Claims>(&new_token).unwrap();
}

#[tokio::test]
async fn every_validator_and_clone_on_a_set_sees_the_new_keys() {
    let old = es256("a");
    let provider = start(jwks(&[&old])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let first = validator(&keys);
    let second = validator(&keys);
    let clone = first.clone();
    let new = es256("b");
    provider.publish_keys(&[&new]);
    keys.refetch().await.unwrap();
    assert_eq!(provider.jwks_hits(), 2);
    let new_token = token(&new, "https://idp.test");
    for validator in [&first, &second, &clone] {
        validator.verify::<Claims>(&new_token).unwrap();
        let err = validator
            .verify::<Claims>(&token(&old, "https://idp.test"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
        assert_eq!(validator.keys().len(), 1);
    }
    // The set alone replaces a remote validator's keys.
    let err = first.replace_keys(keycard::KeySet::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    first.verify::<Claims>(&new_token).unwrap();
}

#[tokio::test]
async fn validators_keep_the_set_refreshing_until_the_last_one_is_dropped() {
    let key = es256("a");
    let provider = start(String::new()).await;
    provider.serve(keycard_test::JwksReply::Document(
        jwks(&[&key]),
        Some("max-age=0"),
    ));
    let keys = keycard_jwks::RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .max_age_bounds(Duration::ZERO, Duration::from_secs(60))
        .await
        .unwrap();
    for _ in 0..100 {
        drop(validator(&keys));
    }
    let kept = validator(&keys);
    let clone = kept.clone();
    drop((keys, kept));
    // The clone of the last validator holds the set: its background refresh goes on (every
    // 100 ms, the least delay, for a zero lifetime), and the validator follows it.
    provider.wait_for_hits(3).await;
    clone
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();
    drop(clone);
    // Nothing holds the set now: its background task has stopped.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hits = provider.jwks_hits();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provider.jwks_hits(), hits, "no refresh after the last drop");
}

#[tokio::test]
async fn the_generation_counts_new_sets_only() {
    let key = es256("a");
    let provider = start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    assert_eq!(generation(&keys), 1, "the first set");
    provider.serve(keycard_test::JwksReply::Status(500));
    keys.refresh().await.unwrap_err();
    keys.refetch().await.unwrap_err();
    assert_eq!(generation(&keys), 1, "failed fetches install nothing");
    provider.publish_keys(&[&key]);
    keys.refresh().await.unwrap();
    assert_eq!(generation(&keys), 2, "a new set, even an equal one");
}
