//! `RedisOAuthStore` on a real redis-server (keycard-test's guard; skipped without one unless
//! `KEYCARD_REQUIRE_REDIS` is set): two instances redeem each code once and share one key ring.
//! Run with `cargo test -p keycard-oauth --features redis`.

use std::sync::Arc;

use keycard_oauth::{AuthorizationRequest, Endpoint, RedisOAuthStore, SecretHash, TokenService};
use keycard_test::RedisServer;

use crate::common::{basic, clients, fixture_with, key, Fixture, ISSUER, REDIRECT};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn two_instances(server: &RedisServer) -> (Fixture, TokenService) {
    let store = Arc::new(
        RedisOAuthStore::connect(&server.url(), "test:")
            .await
            .unwrap(),
    );
    let a = fixture_with(|b| b.codes(store.clone()).key_ring(store.clone()));
    let b = TokenService::builder(ISSUER, key())
        .audience("api")
        .clients(clients(&SecretHash::of(&a.secret).unwrap()))
        .codes(store.clone())
        .key_ring(store)
        .clock(a.clock.clone())
        .build()
        .unwrap();
    (a, b)
}

fn redeem_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id=public-client&code={code}\
         &redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
    )
}

async fn post(service: &TokenService, body: &str, auth: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = http::Request::post(service.url(Endpoint::Token))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = service
        .handle(
            Endpoint::Token,
            request.body(bytes::Bytes::from(body.to_owned())).unwrap(),
        )
        .await;
    let json = serde_json::from_slice(response.body()).unwrap_or_default();
    (response.status().as_u16(), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_by_one_instance_is_redeemed_once_across_both() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&server).await;
    let request = AuthorizationRequest::new("public-client", REDIRECT, CHALLENGE, "S256", "alice");
    let code = a.service.issue_code(&request).await.unwrap();
    let (status, first) = post(&b, &redeem_body(&code), None).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = post(&a.service, &redeem_body(&code), None).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Concurrently, on both instances: exactly one success.
    let code = a.service.issue_code(&request).await.unwrap();
    let a = Arc::new(a);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (a, b, body) = (Arc::clone(&a), b.clone(), redeem_body(&code));
            tokio::spawn(async move {
                let service = if i % 2 == 0 { &a.service } else { &b };
                post(service, &body, None).await.0
            })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        if task.await.unwrap() == 200 {
            successes += 1;
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_on_one_instance_is_followed_by_the_other() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = two_instances(&server).await;
    let auth = basic("basic-client", &a.secret);
    let kid = |json: &serde_json::Value| {
        keycard::unverified::decode_header(json["access_token"].as_str().unwrap())
            .unwrap()
            .key_id()
            .unwrap()
            .to_owned()
    };
    let (_, from_a) = post(&a.service, "grant_type=client_credentials", Some(&auth)).await;
    let (_, from_b) = post(&b, "grant_type=client_credentials", Some(&auth)).await;
    assert_eq!(kid(&from_a), kid(&from_b));
    a.clock.advance(time::Duration::minutes(7));
    assert!(a.service.rotate_keys().await.unwrap());
    b.sync_keys().await.unwrap();
    let (_, after_a) = post(&a.service, "grant_type=client_credentials", Some(&auth)).await;
    let (_, after_b) = post(&b, "grant_type=client_credentials", Some(&auth)).await;
    assert_ne!(kid(&after_a), kid(&from_a));
    assert_eq!(kid(&after_a), kid(&after_b));
}
