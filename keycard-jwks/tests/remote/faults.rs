//! The provider fails after a good first fetch: cached keys keep working, the error says what
//! went wrong, the bad answer never replaces the good set, nothing panics.

use std::time::Duration;

use keycard::{Claims, ErrorKind};
use keycard_jwks::{Error, RemoteKeySet, RemoteValidator};

use crate::provider::{Jwks, Provider};
use crate::{es256, jwks, remote, token};

struct Setup {
    provider: std::sync::Arc<Provider>,
    keys: RemoteKeySet,
    validator: RemoteValidator,
    token: String,
}

async fn setup() -> Setup {
    let key = es256("good");
    let provider = Provider::start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri())
        .timeout(Duration::from_millis(200))
        .await
        .unwrap();
    let validator = keys.validator().audience("api").build().unwrap();
    Setup {
        token: token(&key, "https://idp.test"),
        provider,
        keys,
        validator,
    }
}

/// Refreshes against a failing provider and checks that the cached set still verifies, both
/// after the explicit refresh and after an unknown `kid`'s refetch.
async fn fails_and_cache_serves(s: &Setup) -> Error {
    let before = s.keys.stats();
    let err = s.keys.refresh().await.unwrap_err();
    s.validator.verify::<Claims>(&s.token).unwrap();
    let stats = s.keys.stats();
    assert_eq!(stats.failures, before.failures + 1);
    assert_eq!(stats.keys, 1, "the good set stays");
    assert_eq!(stats.last_error.as_deref(), Some(err.to_string().as_str()));

    let stranger = token(&es256("unknown"), "https://idp.test");
    let refused = s
        .validator
        .verify_or_refetch::<Claims>(&stranger)
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        ErrorKind::UnknownKeyId,
        "a failed fetch weakens nothing"
    );
    s.validator.verify::<Claims>(&s.token).unwrap();
    err
}

#[tokio::test]
async fn provider_down() {
    let s = setup().await;
    s.provider.stop().await;
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Fetch { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with(&format!("fetching `{}` failed", s.provider.jwks_uri())));
}

#[tokio::test]
async fn provider_answers_500() {
    let s = setup().await;
    s.provider.serve(Jwks::Status(500));
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Status { status: 500, .. }), "{err}");
    assert!(
        err.to_string().ends_with("answered HTTP 500, not 200"),
        "{err}"
    );
}

#[tokio::test]
async fn provider_answers_invalid_json() {
    let s = setup().await;
    s.provider.serve(Jwks::Garbage);
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::InvalidDocument { .. }), "{err}");
    assert!(err.to_string().contains("is not a valid JWK Set"), "{err}");
}

#[tokio::test]
async fn provider_answers_an_empty_set() {
    let s = setup().await;
    s.provider.publish(r#"{"keys":[]}"#.to_owned());
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::NoUsableKeys { .. }), "{err}");
}

#[tokio::test]
async fn provider_answers_10_mib() {
    let s = setup().await;
    s.provider.serve(Jwks::Huge);
    let err = fails_and_cache_serves(&s).await;
    assert!(
        matches!(err, Error::TooLarge { limit: 524_288, .. }),
        "{err}"
    );
    s.provider.serve(Jwks::HugeChunked);
    let err = fails_and_cache_serves(&s).await;
    assert!(
        matches!(err, Error::TooLarge { .. }),
        "without Content-Length too: {err}"
    );
}

#[tokio::test]
async fn provider_stalls_past_the_timeout() {
    let s = setup().await;
    s.provider.serve(Jwks::Stall);
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    s.provider.serve(Jwks::StallBody);
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Timeout { .. }), "stalled body: {err}");
}

#[tokio::test]
async fn the_first_fetch_failing_is_an_error_not_an_empty_validator() {
    let provider = Provider::start(String::new()).await;
    provider.serve(Jwks::Status(503));
    let err = remote(provider.jwks_uri()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 503, .. }), "{err}");
}

#[tokio::test]
async fn waiting_for_a_stalled_refetch_is_bounded_and_the_refetch_still_lands() {
    let key = es256("good");
    let provider = Provider::start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri())
        .timeout(Duration::from_secs(30))
        .refetch_wait(Duration::from_millis(200))
        .await
        .unwrap();
    let validator = keys.validator().audience("api").build().unwrap();
    let gate = provider.close_gate();
    let new = es256("new");
    provider.publish(jwks(&[&key, &new]));
    let new_token = token(&new, "https://idp.test");
    let err = validator
        .verify_or_refetch::<Claims>(&new_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "gave up waiting");
    // The refetch reached the provider, which is still holding it.
    provider.wait_for_hits(2).await;
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();

    // Released, the refetch completes on its own and serves the next requests.
    gate.add_permits(1);
    let landed = async {
        while keys.generation() < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), landed)
        .await
        .unwrap();
    validator.verify::<Claims>(&new_token).unwrap();
    assert_eq!(provider.jwks_hits(), 2);
}
