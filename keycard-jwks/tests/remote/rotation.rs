//! The provider rotates its key: one refetch, new tokens pass, old ones pass while published.

use keycard::{Claims, ErrorKind, Validator};
use keycard_jwks::{Refetch, ValidatorExt};

use crate::provider::Provider;
use crate::{es256, jwks, remote, token};

#[tokio::test]
async fn rotation_costs_one_refetch_and_old_tokens_pass_while_published() {
    let old = es256("2026-11");
    let provider = Provider::start(jwks(&[&old])).await;
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
    provider.publish(jwks(&[&old, &new]));
    let new_token = token(&new, "https://idp.test");
    let err = validator.verify::<Claims>(&new_token).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::UnknownKeyId,
        "sync verify never fetches"
    );
    assert_eq!(provider.jwks_hits(), 1);

    let claims: Claims = validator.verify_or_refetch(&new_token).await.unwrap();
    assert_eq!(claims.subject.as_deref(), Some("user-42"));
    assert_eq!(provider.jwks_hits(), 2, "exactly one refetch");
    // Both keys now verify, synchronously, without another request.
    validator.verify::<Claims>(&new_token).unwrap();
    validator.verify::<Claims>(&old_token).unwrap();
    assert_eq!(provider.jwks_hits(), 2);
    assert_eq!(keys.stats().unknown_kid_refetches, 1);

    // The old key is withdrawn: after the next refresh its tokens fail, and a retry within the
    // cooldown does not reach the provider.
    provider.publish(jwks(&[&new]));
    keys.refresh().await.unwrap();
    assert_eq!(provider.jwks_hits(), 3);
    let err = validator
        .verify_or_refetch::<Claims>(&old_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    assert_eq!(provider.jwks_hits(), 3, "cooldown: no refetch");
    assert_eq!(keys.stats().cooldown_skips, 1);
    validator.verify::<Claims>(&new_token).unwrap();
}

#[tokio::test]
async fn every_validator_and_clone_on_a_set_sees_the_new_keys() {
    let old = es256("a");
    let provider = Provider::start(jwks(&[&old])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let first = keys.validator().audience("api").build().unwrap();
    let second = keys.validator().audience("api").build().unwrap();
    let clone = first.clone();
    let new = es256("b");
    provider.publish(jwks(&[&new]));
    let seen = keys.generation();
    assert!(matches!(
        keys.refetch_unknown_kid(seen).await,
        Refetch::Fetched
    ));
    let new_token = token(&new, "https://idp.test");
    for validator in [&first, &second, &clone] {
        validator.verify::<Claims>(&new_token).unwrap();
        let err = validator
            .verify::<Claims>(&token(&old, "https://idp.test"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    }
}

#[tokio::test]
async fn dropped_validators_stop_following_the_set() {
    let provider = Provider::start(jwks(&[&es256("a")])).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let kept = keys.validator().audience("api").build().unwrap();
    let clone = kept.clone();
    for _ in 0..100 {
        drop(keys.validator().audience("api").build().unwrap());
    }
    let last = keys.validator().audience("api").build().unwrap();
    assert_eq!(
        keys.stats().validators,
        2,
        "the 100 dropped ones are pruned"
    );
    drop(kept);
    assert_eq!(
        keys.stats().validators,
        2,
        "a clone keeps its validator attached"
    );
    drop((clone, last));
    assert_eq!(keys.stats().validators, 0);
}
