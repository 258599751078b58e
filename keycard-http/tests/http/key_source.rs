//! A validator over a `KeySource`: an unknown `kid` costs one refetch and a second verification;
//! a failing refetch, or a source whose keys are too old, is 503 with `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::{header, StatusCode};
use keycard::{Algorithm, Error, HmacKey, KeySet, KeySource, Validator};
use keycard_http::{Authorizer, EmptyBody};

use crate::{call, get, token_with};

/// Keys an identity provider publishes; `refetch` picks up `published`, or fails while `down`.
#[derive(Debug, Default)]
struct Provider {
    generation: AtomicU64,
    current: Mutex<Arc<KeySet>>,
    published: Mutex<KeySet>,
    refetches: AtomicUsize,
    down: AtomicBool,
    stale: AtomicBool,
}

impl KeySource for Provider {
    fn generation(&self) -> Result<u64, Error> {
        if self.stale.load(Ordering::SeqCst) {
            return Err(Error::key_source(std::io::Error::other("keys too old")));
        }
        Ok(self.generation.load(Ordering::SeqCst))
    }

    fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.lock().unwrap())
    }

    fn refetch(&self) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + '_>> {
        Box::pin(async move {
            self.refetches.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::key_source(std::io::Error::other(
                    "connection refused",
                )));
            }
            let published = self.published.lock().unwrap().clone();
            *self.current.lock().unwrap() = Arc::new(published);
            self.generation.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

fn hs256(kid: &str) -> HmacKey {
    HmacKey::generate(Algorithm::HS256)
        .unwrap()
        .with_key_id(kid)
}

#[tokio::test]
async fn an_unknown_kid_is_refetched_once_and_an_outage_is_503() {
    let old = hs256("old");
    let provider = Arc::new(Provider::default());
    *provider.current.lock().unwrap() = Arc::new(KeySet::from_iter([old.clone()]));
    let validator = Validator::builder_with_source(provider.clone())
        .build()
        .unwrap();
    let auth = Authorizer::builder()
        .validator(validator)
        .retry_after(std::time::Duration::from_secs(7))
        .build()
        .unwrap();
    let layer = auth.layer(EmptyBody);
    let bearer = |key: &HmacKey| format!("Bearer {}", token_with(key, &[]));

    assert_eq!(
        call(&layer, get("/", &[&bearer(&old)])).await.status,
        StatusCode::OK
    );
    assert_eq!(provider.refetches.load(Ordering::SeqCst), 0);

    // A rotation: the new key is published; its first token refetches, then passes.
    let new = hs256("new");
    *provider.published.lock().unwrap() = KeySet::from_iter([old.clone(), new.clone()]);
    assert_eq!(
        call(&layer, get("/", &[&bearer(&new)])).await.body,
        "alice|"
    );
    assert_eq!(provider.refetches.load(Ordering::SeqCst), 1);

    // A made-up kid: the refetch succeeds and finds nothing: 401.
    let stranger = call(&layer, get("/", &[&bearer(&hs256("stranger"))])).await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED);
    assert!(stranger.challenge().unwrap().contains("unknown_key_id"));

    // The provider is down: a new kid may be a key it could not fetch, so 503, not 401.
    provider.down.store(true, Ordering::SeqCst);
    let outage = call(&layer, get("/", &[&bearer(&hs256("newer"))])).await;
    assert_eq!(outage.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(outage.headers[header::RETRY_AFTER], "7");
    assert_eq!(outage.challenge(), None);
    // Known keys keep working meanwhile.
    assert_eq!(
        call(&layer, get("/", &[&bearer(&new)])).await.status,
        StatusCode::OK
    );

    // The keys at hand are too old to trust: every token is 503.
    provider.stale.store(true, Ordering::SeqCst);
    let stale = call(&layer, get("/", &[&bearer(&new)])).await;
    assert_eq!(stale.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(stale.headers[header::RETRY_AFTER], "7");
}

/// A key the provider published for an algorithm the set does not allow was answered "no key
/// has key id" and cost a refetch per cooldown, though the next document skips it again.
#[tokio::test]
async fn a_kid_the_key_set_skipped_is_reported_as_skipped_without_a_refetch() {
    use keycard::{Builder, EcdsaPrivateKey};

    let allowed = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("es256");
    let other = EcdsaPrivateKey::generate(Algorithm::ES384)
        .unwrap()
        .with_key_id("es384");
    let mut published = KeySet::new();
    published.insert(allowed.public_key());
    published.insert(other.public_key());
    let keys = KeySet::from_jwks_for(&published.to_json(), &[Algorithm::ES256]).unwrap();
    assert_eq!(keys.skipped().len(), 1);
    let provider = Arc::new(Provider::default());
    *provider.current.lock().unwrap() = Arc::new(keys);
    let validator = Validator::builder_with_source(provider.clone())
        .build()
        .unwrap();
    let layer = Authorizer::new(validator).layer(EmptyBody);
    let token = |key: &EcdsaPrivateKey| {
        let token = Builder::new()
            .subject("alice")
            .expires_in(time::Duration::minutes(5))
            .sign(key)
            .unwrap();
        format!("Bearer {token}")
    };

    let answer = call(&layer, get("/", &[&token(&other)])).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="algorithm""#)
    );
    assert_eq!(provider.refetches.load(Ordering::SeqCst), 0, "no refetch");
    assert_eq!(
        call(&layer, get("/", &[&token(&allowed)])).await.status,
        StatusCode::OK
    );
    // A kid nobody published still refetches, and is 401 `unknown_key_id`.
    let stranger = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("stranger");
    let answer = call(&layer, get("/", &[&token(&stranger)])).await;
    assert!(answer.challenge().unwrap().contains("unknown_key_id"));
    assert_eq!(provider.refetches.load(Ordering::SeqCst), 1);
}
