//! How long a set lives: `Cache-Control: max-age` within bounds, 10 minutes without it, the
//! maximum staleness while the provider fails, and the background refresh ahead of expiry.

use std::time::Duration;

use keycard::{Claims, ErrorKind, KeySource};
use keycard_jwks::{Error, RemoteKeySetBuilder};
use keycard_test::{JwksReply, TestClock};

use crate::{es256, jwks, jwks_error, remote, start, validator};

/// A token that outlives every clock jump of these tests (2 days).
fn token(key: &dyn keycard::Signer, issuer: &str) -> String {
    keycard::Builder::new()
        .issuer(issuer)
        .audience("api")
        .expires_in(time::Duration::days(2))
        .sign(key)
        .unwrap()
}

/// Serves one key with `cache_control`, then checks the set is served `fresh` after the fetch
/// and refused (as stale) `stale` after it, with no staleness allowance.
async fn lifetime(
    cache_control: Option<&'static str>,
    configure: impl FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder,
    fresh: Duration,
    stale: Duration,
) {
    let key = es256("k");
    let provider = start(String::new()).await;
    provider.serve(JwksReply::Document(jwks(&[&key]), cache_control));
    let clock = TestClock::new();
    let keys = configure(
        remote(provider.jwks_uri())
            .clock(clock.clone())
            .max_stale(Duration::ZERO),
    )
    .await
    .unwrap();
    let validator = validator(&keys);
    let token = token(&key, "https://idp.test");
    clock.advance(fresh);
    validator.verify::<Claims>(&token).unwrap();
    clock.advance(stale - fresh);
    let stale = KeySource::generation(&keys).unwrap_err();
    assert!(matches!(jwks_error(&stale), Error::Stale { .. }), "{stale}");
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::KeySource,
        "a server-side failure, not the token's"
    );
    assert_eq!(err.category(), keycard::ErrorCategory::Backend);
    assert!(matches!(jwks_error(&err), Error::Stale { .. }), "{err}");
    assert!(err.to_string().contains("is stale"), "{err}");
}

const S: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test]
async fn max_age_is_honoured() {
    lifetime(Some("public, max-age=120"), |b| b, S(119), S(121)).await;
}

#[tokio::test]
async fn without_max_age_a_set_lives_10_minutes() {
    lifetime(None, |b| b, S(599), S(601)).await;
}

#[tokio::test]
async fn max_age_is_held_to_its_bounds() {
    lifetime(Some("max-age=1"), |b| b, S(59), S(61)).await;
    lifetime(Some("no-store"), |b| b, S(59), S(61)).await;
    lifetime(Some("max-age=9999999"), |b| b, S(86_399), S(86_401)).await;
    lifetime(
        Some("max-age=9999999"),
        |b| b.max_age_bounds(S(10), S(300)),
        S(299),
        S(301),
    )
    .await;
}

#[tokio::test]
async fn the_last_good_set_serves_until_the_maximum_staleness_then_fails_clearly() {
    let key = es256("k");
    let provider = start(String::new()).await;
    provider.serve(JwksReply::Document(jwks(&[&key]), Some("max-age=120")));
    let clock = TestClock::new();
    let keys = remote(provider.jwks_uri())
        .clock(clock.clone())
        .max_stale(S(3600))
        .await
        .unwrap();
    let validator = validator(&keys);
    let token = token(&key, "https://idp.test");

    provider.serve(JwksReply::Status(503));
    clock.advance(S(120 + 3599));
    keys.refresh().await.unwrap_err();
    validator.verify::<Claims>(&token).unwrap();
    let stats = keys.stats();
    assert!(
        stats.age >= S(120 + 3599),
        "the age of the set in service: {stats:?}"
    );
    assert_eq!((stats.fetches, stats.failures), (2, 1));
    clock.advance(S(2));
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeySource);
    let message = err.to_string();
    assert!(message.contains("expired 3601 s ago"), "{message}");
    assert!(
        message.contains("answered HTTP 503"),
        "names the last failure: {message}"
    );

    // The provider recovers: the next refresh puts the set back in service.
    provider.serve(JwksReply::Document(jwks(&[&key]), Some("max-age=120")));
    keys.refresh().await.unwrap();
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(keys.stats().last_error, None);
}

#[tokio::test]
async fn the_set_is_refreshed_in_the_background_ahead_of_expiry() {
    let key = es256("k");
    let provider = start(String::new()).await;
    provider.serve(JwksReply::Document(jwks(&[&key]), Some("max-age=1")));
    let next = es256("next");
    let keys = keycard_jwks::RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .max_age_bounds(Duration::ZERO, S(60))
        .max_stale(Duration::ZERO)
        .await
        .unwrap();
    let validator = validator(&keys);
    provider.serve(JwksReply::Document(
        jwks(&[&key, &next]),
        Some("max-age=60"),
    ));
    // At 80% of the one-second lifetime the background task fetches again, unprompted.
    provider.wait_for_hits(2).await;
    let refreshed = async {
        while keys.keys().len() < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(S(10), refreshed).await.unwrap();
    validator
        .verify::<Claims>(&token(&next, "https://idp.test"))
        .unwrap();
    assert_eq!(keys.stats().fetches, 2);
    assert_eq!(keys.stats().unknown_kid_refetches, 0);
}

#[tokio::test]
async fn a_failed_background_refresh_is_retried_and_the_set_keeps_serving() {
    let key = es256("k");
    let provider = start(String::new()).await;
    provider.serve(JwksReply::Document(jwks(&[&key]), Some("max-age=1")));
    let keys = keycard_jwks::RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([keycard::Algorithm::ES256])
        .allow_http()
        .max_age_bounds(Duration::ZERO, S(60))
        .retry_interval(Duration::from_millis(100))
        .await
        .unwrap();
    let validator = validator(&keys);
    provider.serve(JwksReply::Status(502));
    // The refresh at 80% of the lifetime fails, and is tried again every 100 ms.
    provider.wait_for_hits(4).await;
    assert!(keys.stats().failures >= 2, "{:?}", keys.stats());
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();
}
