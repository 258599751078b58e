//! 1,000 concurrent verifications with random unknown `kid`s: the provider sees one refetch
//! per cooldown, counted on its side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keycard::{Algorithm, Claims, EcdsaPrivateKey, ErrorKind};

use keycard_test::TestClock;

use crate::{es256, jwks, remote, start, token, validator, verify_or_refetch};

/// `n` tokens under random `kid`s the provider does not publish.
fn strangers(n: usize) -> Vec<String> {
    let der = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .to_der();
    (0..n)
        .map(|_| {
            let mut random = [0u8; 8];
            getrandom::getrandom(&mut random).unwrap();
            let kid: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let key = EcdsaPrivateKey::from_der(Algorithm::ES256, &der)
                .unwrap()
                .with_key_id(kid);
            token(&key, "https://idp.test")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_costs_one_fetch_per_cooldown() {
    let key = es256("good");
    let provider = start(jwks(&[&key])).await;
    let clock = TestClock::new();
    let keys = remote(provider.jwks_uri())
        .clock(clock.clone())
        .refetch_wait(Duration::from_secs(10))
        .await
        .unwrap();
    let validator = validator(&keys);
    assert_eq!(provider.jwks_hits(), 1);

    // Wave 1: the provider holds the refetch until all 1,000 requests are in flight, so every
    // one of them meets the unknown `kid` while the fetch is under way.
    let gate = provider.close_gate();
    let started = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = strangers(1000)
        .into_iter()
        .map(|t| {
            let validator = validator.clone();
            let started = Arc::clone(&started);
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                verify_or_refetch::<Claims>(&validator, &t).await
            })
        })
        .collect();
    provider.wait_for_hits(2).await;
    while started.load(Ordering::SeqCst) < 1000 {
        tokio::task::yield_now().await;
    }
    gate.release(1);
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
        assert!(
            err.key_source_failure().is_none(),
            "the provider answered: {err}"
        );
    }
    assert_eq!(
        provider.jwks_hits(),
        2,
        "one refetch for 1,000 unknown kids"
    );

    // Wave 2, within the cooldown: no request at all.
    gate.release(1000);
    let tasks: Vec<_> = strangers(1000)
        .into_iter()
        .map(|t| {
            let validator = validator.clone();
            tokio::spawn(async move { verify_or_refetch::<Claims>(&validator, &t).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap().unwrap_err().kind(),
            ErrorKind::UnknownKeyId
        );
    }
    assert_eq!(provider.jwks_hits(), 2, "cooldown: no refetch");
    let stats = keys.stats();
    assert_eq!(stats.unknown_kid_refetches, 1);
    assert!(stats.cooldown_skips >= 1000, "{stats:?}");

    // After the cooldown, the next unknown kid may refetch once more.
    clock.advance(Duration::from_secs(31));
    let tasks: Vec<_> = strangers(100)
        .into_iter()
        .map(|t| {
            let validator = validator.clone();
            tokio::spawn(async move { verify_or_refetch::<Claims>(&validator, &t).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    assert_eq!(provider.jwks_hits(), 3);
    // The good key was never disturbed.
    validator
        .verify::<Claims>(&token(&key, "https://idp.test"))
        .unwrap();
}
