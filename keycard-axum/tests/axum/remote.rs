//! The protected API on remote keys from a local identity provider, both over HTTP: rotation,
//! outage and staleness, and 1,000 concurrent requests with random unknown `kid`s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::routing::get;
use axum::Router;
use keycard::{Algorithm, Builder, Claims, EcdsaPrivateKey, KeySet, Validator};
use keycard_axum::{Authorizer, Verified};
use keycard_jwks::{RemoteKeySet, RemoteKeySetBuilder, ValidatorExt};
use keycard_test::TestClock;

use crate::provider::{Jwks, Provider};
use crate::{get as fetch, serve};

pub(crate) fn jwks(keys: &[&EcdsaPrivateKey]) -> String {
    let mut set = KeySet::new();
    for key in keys {
        set.insert(key.public_key());
    }
    set.to_json()
}

fn es256(kid: &str) -> EcdsaPrivateKey {
    EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id(kid)
}

fn bearer(key: &EcdsaPrivateKey) -> String {
    let token = Builder::new()
        .audience("api")
        .subject("carol")
        .expires_in(time::Duration::days(2))
        .sign(key)
        .unwrap();
    format!("Bearer {token}")
}

fn remote(provider: &Provider) -> RemoteKeySetBuilder {
    RemoteKeySet::from_url(provider.jwks_uri())
        .algorithms([Algorithm::ES256])
        .allow_http()
        .timeout(Duration::from_millis(500))
        .no_background_refresh()
}

/// The API: `/me` behind the layer; counts the requests that reached it.
async fn api(keys: &RemoteKeySet, arrived: Arc<AtomicUsize>) -> String {
    let auth = Authorizer::new(
        Validator::builder_with_remote(keys)
            .audience("api")
            .build()
            .unwrap(),
    );
    let app = Router::new()
        .route(
            "/me",
            get(|Verified(c): Verified<Claims>| async move { c.subject.unwrap_or_default() })
                .layer(auth.layer()),
        )
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let arrived = Arc::clone(&arrived);
            async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                next.run(request).await
            }
        }));
    serve(app).await
}

#[tokio::test]
async fn a_rotated_key_costs_one_refetch_and_both_keys_pass_while_published() {
    let old = es256("old");
    let provider = Provider::start(jwks(&[&old])).await;
    let keys = remote(&provider).await.unwrap();
    let base = api(&keys, Arc::default()).await;
    let url = format!("{base}/me");
    let reply = fetch(&url, &[&bearer(&old)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "carol"));

    let new = es256("new");
    provider.publish(jwks(&[&old, &new]));
    assert_eq!(fetch(&url, &[&bearer(&new)]).await.status, 200);
    assert_eq!(provider.jwks_hits(), 2, "one refetch");
    assert_eq!(fetch(&url, &[&bearer(&old)]).await.status, 200);
    assert_eq!(fetch(&url, &[&bearer(&new)]).await.status, 200);
    assert_eq!(provider.jwks_hits(), 2);
}

#[tokio::test]
async fn an_outage_keeps_cached_keys_working_until_they_are_stale_then_503() {
    let key = es256("k");
    let provider = Provider::start(String::new()).await;
    provider.serve(Jwks::Document(jwks(&[&key]), Some("max-age=300")));
    let clock = TestClock::following_system();
    let keys = remote(&provider)
        .clock(clock.clone())
        .max_stale(Duration::from_secs(60))
        .await
        .unwrap();
    let base = api(&keys, Arc::default()).await;
    let url = format!("{base}/me");

    provider.stop().await;
    assert!(keys.refresh().await.is_err());
    assert_eq!(
        fetch(&url, &[&bearer(&key)]).await.status,
        200,
        "cached keys serve"
    );
    // Issue 18: a `kid` the failing provider could not be asked about may be a new key, not a
    // forgery: 503 (was 401 `unknown_key_id`).
    let unknown = fetch(&url, &[&bearer(&es256("unknown"))]).await;
    assert_eq!(unknown.status, 503);
    assert_eq!(
        unknown.json(),
        serde_json::json!({ "error": "temporarily_unavailable" })
    );

    clock.advance(time::Duration::seconds(300 + 61));
    let stale = fetch(&url, &[&bearer(&key)]).await;
    // Issue 18: a failing key source is a backend outage, 503 with Retry-After (was 500).
    assert_eq!(
        stale.status, 503,
        "past the maximum staleness: a server-side failure"
    );
    assert_eq!(stale.challenge, None);
    assert_eq!(
        stale.json(),
        serde_json::json!({ "error": "temporarily_unavailable" })
    );
}

/// `n` requests' `Authorization` values, each under a random `kid` the provider does not have.
fn strangers(n: usize) -> Vec<String> {
    let der = EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .to_der();
    (0..n)
        .map(|_| {
            let mut random = [0u8; 8];
            getrandom::getrandom(&mut random).unwrap();
            let kid: String = random.iter().map(|b| format!("{b:02x}")).collect();
            bearer(
                &EcdsaPrivateKey::from_der(Algorithm::ES256, &der)
                    .unwrap()
                    .with_key_id(kid),
            )
        })
        .collect()
}

async fn flood(
    url: &str,
    client: &reqwest::Client,
    authorizations: Vec<String>,
) -> Vec<tokio::task::JoinHandle<(u16, String)>> {
    authorizations
        .into_iter()
        .map(|authorization| {
            let request = client.get(url).header("authorization", authorization);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let challenge = response.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (status, challenge)
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_unknown_kids_make_one_provider_fetch() {
    let key = es256("good");
    let provider = Provider::start(jwks(&[&key])).await;
    let keys = remote(&provider)
        .refetch_wait(Duration::from_secs(30))
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    let arrived = Arc::new(AtomicUsize::new(0));
    let base = api(&keys, Arc::clone(&arrived)).await;
    let url = format!("{base}/me");
    let client = reqwest::Client::new();

    // The provider holds the refetch until all 1,000 requests have reached the API.
    let gate = provider.close_gate();
    let tasks = flood(&url, &client, strangers(1000)).await;
    provider.wait_for_hits(2).await;
    let all_in = async {
        while arrived.load(Ordering::SeqCst) < 1000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all_in)
        .await
        .unwrap();
    gate.release(1000);
    for task in tasks {
        let (status, challenge) = task.await.unwrap();
        assert_eq!(status, 401);
        assert_eq!(
            challenge,
            r#"Bearer realm="api", error="invalid_token", error_description="unknown_key_id""#
        );
    }
    assert_eq!(provider.jwks_hits(), 2, "1,000 unknown kids, one fetch");

    // A second wave within the cooldown reaches the provider not at all.
    let tasks = flood(&url, &client, strangers(1000)).await;
    for task in tasks {
        assert_eq!(task.await.unwrap().0, 401);
    }
    assert_eq!(provider.jwks_hits(), 2);
    assert_eq!(arrived.load(Ordering::SeqCst), 2000);
    assert_eq!(fetch(&url, &[&bearer(&key)]).await.status, 200);
    println!("provider-side JWKS fetches for 2,000 unknown-kid requests: 1 (plus the first load)");
}
