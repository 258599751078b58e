//! Concurrent presentations of one refresh token, on one instance and on two: the reads are held
//! at a barrier until all have read the family, so every request races on the one
//! compare-and-set.

use std::sync::atomic::Ordering;

use std::sync::Arc;

use keycard_oauth::Endpoint;

use crate::common::{basic, clients, fixture, fixture_with, key, ISSUER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_refreshes_rotate_once_and_all_receive_the_same_refresh_token() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    f.families.hold_first_reads(16);
    let f = std::sync::Arc::new(f);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let f = std::sync::Arc::clone(&f);
            let body = format!("grant_type=refresh_token&refresh_token={refresh}");
            tokio::spawn(async move {
                let reply = f.token(&body).await;
                (
                    reply.status,
                    reply.json["refresh_token"].as_str().map(str::to_owned),
                )
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let (status, token) = task.await.unwrap();
        assert_eq!(status, 200);
        tokens.push(token.unwrap());
    }
    assert_eq!(
        f.families.rotations.load(Ordering::SeqCst),
        1,
        "one rotation"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "the rest from the grace period"
    );
}

/// Two instances on shared stores (families, revocations, key ring), 16 tasks each, one refresh
/// token: every read is held until all 32 have read the family, so all race on one swap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_with_sixteen_tasks_each_rotate_once() {
    use keycard_lifecycle::MemoryRevocationStore;
    use keycard_oauth::{MemoryKeyRingStore, SecretHash, TokenService};

    let revocations = Arc::new(MemoryRevocationStore::new());
    let ring = Arc::new(MemoryKeyRingStore::new());
    let a = fixture_with(|b| b.revocations(revocations.clone()).key_ring(ring.clone()));
    let b = TokenService::builder(ISSUER, key())
        .audience("api")
        .clients(clients(&SecretHash::of(&a.secret).unwrap()))
        .families(a.families.clone())
        .revocations(revocations)
        .key_ring(ring)
        .clock(a.clock.clone())
        .build()
        .unwrap();
    let login = a
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        login.refresh_token.unwrap()
    );
    a.families.hold_first_reads(32);
    let a = Arc::new(a);
    let auth = basic("basic-client", &a.secret);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (a, b, body, auth) = (Arc::clone(&a), b.clone(), body.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let request = http::Request::post(a.service.url(Endpoint::Token))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", auth)
                .body(bytes::Bytes::from(body))
                .unwrap();
            let service = if i % 2 == 0 { &a.service } else { &b };
            let response = service.handle(Endpoint::Token, request).await;
            let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            (
                response.status().as_u16(),
                json["refresh_token"].as_str().map(str::to_owned),
            )
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        let (status, token) = task.await.unwrap();
        assert_eq!(status, 200);
        tokens.push(token.unwrap());
    }
    assert_eq!(
        a.families.rotations.load(Ordering::SeqCst),
        1,
        "one rotation"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]));
}
