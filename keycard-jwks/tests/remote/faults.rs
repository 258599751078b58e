//! The provider fails after a good first fetch: cached keys keep working, the error says what
//! went wrong, the bad answer never replaces the good set, an unknown `kid` meanwhile carries
//! the provider's failure, nothing panics.

use std::time::Duration;

use keycard::{Claims, ErrorKind, Validator};
use keycard_jwks::{Error, RemoteKeySet};
use keycard_test::{IdentityProvider, JwksReply};

use crate::verify_or_refetch;
use crate::{es256, generation, jwks, jwks_error, remote, start, token, validator};

struct Setup {
    provider: IdentityProvider,
    keys: RemoteKeySet,
    validator: Validator,
    token: String,
}

async fn setup() -> Setup {
    let key = es256("good");
    let provider = start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri())
        .timeout(Duration::from_millis(200))
        .await
        .unwrap();
    let validator = validator(&keys);
    Setup {
        token: token(&key, "https://idp.test"),
        provider,
        keys,
        validator,
    }
}

/// Refreshes against a failing provider and checks that the cached set still verifies, both
/// after the explicit refresh and after an unknown `kid`'s refetch, which names the failure.
async fn fails_and_cache_serves(s: &Setup) -> Error {
    let before = s.keys.stats();
    let err = s.keys.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeySource, "{err}");
    s.validator.verify::<Claims>(&s.token).unwrap();
    let stats = s.keys.stats();
    assert_eq!(stats.failures, before.failures + 1);
    assert_eq!(stats.keys, 1, "the good set stays");
    assert_eq!(stats.last_error.as_deref(), Some(err.to_string().as_str()));

    let stranger = token(&es256("unknown"), "https://idp.test");
    let refused = verify_or_refetch::<Claims>(&s.validator, &stranger)
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        ErrorKind::UnknownKeyId,
        "a failed fetch weakens nothing"
    );
    // The refetch failed the same way, or (within the cooldown) was not made while the
    // provider is failing: either way the outage is named, not hidden behind the unknown kid.
    let failure = refused
        .key_source_failure()
        .unwrap_or_else(|| panic!("no key source failure in {refused}"));
    assert_eq!(jwks_error(failure).to_string(), err.to_string());
    assert!(
        std::error::Error::source(&refused).is_some(),
        "the failure is the error's source"
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
    s.provider.serve(JwksReply::Status(500));
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
    s.provider.serve(JwksReply::Malformed);
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
    s.provider.serve(JwksReply::Huge);
    let err = fails_and_cache_serves(&s).await;
    assert!(
        matches!(err, Error::TooLarge { limit: 524_288, .. }),
        "{err}"
    );
    s.provider.serve(JwksReply::HugeChunked);
    let err = fails_and_cache_serves(&s).await;
    assert!(
        matches!(err, Error::TooLarge { .. }),
        "without Content-Length too: {err}"
    );
}

#[tokio::test]
async fn provider_stalls_past_the_timeout() {
    let s = setup().await;
    s.provider.serve(JwksReply::Stall);
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    s.provider.serve(JwksReply::StallBody);
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Timeout { .. }), "stalled body: {err}");
}

#[tokio::test]
async fn provider_redirects_in_a_loop() {
    let s = setup().await;
    s.provider.serve(JwksReply::Redirect {
        status: 302,
        location: s.provider.jwks_uri(),
    });
    let err = fails_and_cache_serves(&s).await;
    assert!(matches!(err, Error::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");
}

/// reqwest's default policy followed up to 10 redirects to any host, so keys came from an origin
/// nobody configured.
#[tokio::test]
async fn keycard_jwks_refuses_redirects_to_other_hosts() {
    let key = es256("moved");
    let old = start(String::new()).await;
    let new = start(jwks(&[&key])).await;
    old.serve(JwksReply::Redirect {
        status: 307,
        location: new.jwks_uri(),
    });
    let err = remote(old.jwks_uri()).await.unwrap_err();
    assert!(matches!(err, Error::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("another origin"), "{err}");
    assert_eq!((old.jwks_hits(), new.jwks_hits()), (1, 0));
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let provider = start(String::new()).await;
    // To the same host and port: followed (to the discovery document, which is no JWK Set).
    provider.serve(JwksReply::Redirect {
        status: 302,
        location: format!("{}/.well-known/openid-configuration", provider.base()),
    });
    let err = remote(provider.jwks_uri()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidDocument { .. }), "{err}");
    assert_eq!(provider.discovery_hits(), 1);
}

#[tokio::test]
async fn the_first_fetch_failing_is_an_error_not_an_empty_validator() {
    let provider = start(String::new()).await;
    provider.serve(JwksReply::Status(503));
    let err = remote(provider.jwks_uri()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 503, .. }), "{err}");
    assert_eq!(keycard::Error::from(err).kind(), ErrorKind::KeySource);
}

#[tokio::test]
async fn waiting_for_a_stalled_refetch_is_bounded_and_the_refetch_still_lands() {
    let key = es256("good");
    let provider = start(jwks(&[&key])).await;
    let keys = remote(provider.jwks_uri())
        .timeout(Duration::from_secs(30))
        .refetch_wait(Duration::from_millis(200))
        .await
        .unwrap();
    let validator = validator(&keys);
    let gate = provider.close_gate();
    let new = es256("new");
    provider.publish(jwks(&[&key, &new]));
    let new_token = token(&new, "https://idp.test");
    let err = verify_or_refetch::<Claims>(&validator, &new_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "gave up waiting");
    let waited = jwks_error(err.key_source_failure().unwrap());
    assert!(
        matches!(waited, Error::RefetchTimedOut { waited, .. } if *waited == Duration::from_millis(200)),
        "{waited}"
    );
    // The refetch reached the provider, which is still holding it.
    provider.wait_for_hits(2).await;
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();

    // Released, the refetch completes on its own and serves the next requests.
    gate.release(1);
    let landed = async {
        while generation(&keys) < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), landed)
        .await
        .unwrap();
    validator.verify::<Claims>(&new_token).unwrap();
    assert_eq!(provider.jwks_hits(), 2);
}

/// The cooldown was checked only after the fetch lock: during a provider stall a second
/// unknown-`kid` request inside the cooldown still waited the whole `refetch_wait` for the lock.
#[tokio::test]
async fn the_cooldown_is_checked_before_waiting_on_the_fetch_lock() {
    let key = es256("good");
    let provider = start(jwks(&[&key])).await;
    let wait = Duration::from_millis(600);
    let keys = remote(provider.jwks_uri())
        .timeout(Duration::from_secs(30))
        .refetch_wait(wait)
        .await
        .unwrap();
    let validator = validator(&keys);
    let _gate = provider.close_gate();
    let stranger = |kid: &str| token(&es256(kid), "https://idp.test");

    // The first unknown `kid` starts the refetch, which stalls, and waits `refetch_wait`.
    let started = std::time::Instant::now();
    let err = verify_or_refetch::<Claims>(&validator, &stranger("one"))
        .await
        .unwrap_err();
    assert!(started.elapsed() >= wait);
    assert!(matches!(
        jwks_error(err.key_source_failure().unwrap()),
        Error::RefetchTimedOut { .. }
    ));
    // The next ones, inside the cooldown and past the first one's wait, are told at once.
    for kid in ["two", "three"] {
        let started = std::time::Instant::now();
        let err = verify_or_refetch::<Claims>(&validator, &stranger(kid))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < wait / 2,
            "waited {:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
        assert!(matches!(
            jwks_error(err.key_source_failure().unwrap()),
            Error::RefetchTimedOut { .. }
        ));
    }
    assert_eq!(provider.jwks_hits(), 2, "one refetch, still stalled");
    // The known key is served all along.
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();
}
