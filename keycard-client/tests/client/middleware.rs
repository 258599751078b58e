//! BearerLayer over a hyper client, against the real servers on 127.0.0.1: a thousand
//! concurrent requests across an expiry, and across an early revocation, make one refresh and
//! no failure; no request is sent more than twice; a streamed body is never replayed.
//! Interleavings are forced with the servers' gates, never left to timing.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use keycard::time::Duration;
use keycard_client::{Bearer, BearerLayer, Grant, Streamed, TokenEndpoint, TokenSource};
use keycard_test::TestClock;
use tower::{Layer, ServiceExt};

use crate::auth_server::{AuthServer, CLIENT_ID, SECRET};

const REQUESTS: usize = 1000;

type Http<B> = Bearer<Client<HttpConnector, B>>;

/// The servers, a source resumed from a signed-in token set (no refresh yet), and the client.
async fn rig() -> (AuthServer, TestClock, TokenSource, Http<Full<Bytes>>) {
    let clock = TestClock::new();
    let server = AuthServer::start(&clock).await;
    let endpoint = TokenEndpoint::builder(CLIENT_ID)
        .client_secret_basic(SECRET)
        .clock(clock.clone())
        .url(&server.token_url())
        .unwrap();
    let source = endpoint
        .token_source(Grant::RefreshToken(server.sign_in()))
        .build();
    let http = Client::builder(TokioExecutor::new()).build_http();
    let client = BearerLayer::new(source.clone()).layer(http);
    (server, clock, source, client)
}

/// Sends `ids` concurrently; their statuses, in order.
fn send(
    client: &Http<Full<Bytes>>,
    url: &str,
    ids: std::ops::Range<usize>,
) -> Vec<tokio::task::JoinHandle<StatusCode>> {
    ids.map(|id| {
        let client = client.clone();
        let request = Request::post(url)
            .header("x-request-id", id.to_string())
            .body(Full::new(Bytes::from(format!("request {id}"))))
            .unwrap();
        tokio::spawn(async move { client.oneshot(request).await.unwrap().status() })
    })
    .collect()
}

async fn statuses(tasks: Vec<tokio::task::JoinHandle<StatusCode>>) -> Vec<StatusCode> {
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_across_an_expiry_make_one_refresh_and_none_fails() {
    let (server, clock, _source, client) = rig().await;
    let url = server.api_url();
    // Half the requests go out with the first token and are held at the resource server...
    server.hold_resources(true);
    let early = send(&client, &url, 0..REQUESTS / 2);
    server.resource_arrivals(REQUESTS / 2).await;
    // ...the token expires while they are held; the other half start after the expiry: they
    // wait for the one refresh, and reach the resource server with the new token...
    clock.advance(Duration::minutes(10));
    let late = send(&client, &url, REQUESTS / 2..REQUESTS);
    server.resource_arrivals(REQUESTS).await;
    assert_eq!(server.refresh_requests(), 1);
    // ...then the held half is refused as expired, and replayed with the token already there.
    server.hold_resources(false);
    let mut all = statuses(early).await;
    all.extend(statuses(late).await);

    eprintln!(
        "evidence: across an expiry: {} refresh, {} of {REQUESTS} ok, {} resource requests, at most {} sends of one",
        server.refresh_requests(),
        all.iter().filter(|s| **s == StatusCode::OK).count(),
        server.resource_requests(),
        server.most_sends_of_one_request()
    );
    assert_eq!(all.len(), REQUESTS);
    assert!(all.iter().all(|s| *s == StatusCode::OK), "a request failed");
    assert_eq!(server.refresh_requests(), 1, "exactly one refresh");
    assert_eq!(server.resource_requests(), REQUESTS + REQUESTS / 2);
    assert_eq!(
        server.most_sends_of_one_request(),
        2,
        "replayed at most once"
    );
    assert_eq!(server.reuse_detected(), 0);
    assert_eq!(
        server.refresh_token_leaks(),
        0,
        "the refresh token went to the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_refused_before_expiry_make_one_refresh_and_none_fails() {
    let (server, _clock, source, client) = rig().await;
    let url = server.api_url();
    let first = source.token().await.unwrap();
    server.hold_resources(true);
    let tasks = send(&client, &url, 0..REQUESTS);
    server.resource_arrivals(REQUESTS).await;
    // All thousand carry the first token; the resource server revokes it early.
    server.revoke_access(&first);
    server.hold_resources(false);
    let all = statuses(tasks).await;
    eprintln!(
        "evidence: revoked early: {} refresh, {} of {REQUESTS} ok, {} resource requests, at most {} sends of one",
        server.refresh_requests(),
        all.iter().filter(|s| **s == StatusCode::OK).count(),
        server.resource_requests(),
        server.most_sends_of_one_request()
    );

    assert!(all.iter().all(|s| *s == StatusCode::OK), "a request failed");
    assert_eq!(server.refresh_requests(), 1, "exactly one refresh");
    assert_eq!(server.resource_requests(), 2 * REQUESTS);
    assert_eq!(
        server.most_sends_of_one_request(),
        2,
        "replayed at most once"
    );
    assert_ne!(source.token().await.unwrap(), first);
    assert_eq!(
        server.refresh_token_leaks(),
        0,
        "the refresh token went to the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_is_never_replayed_and_the_401_reaches_the_caller() {
    let (server, _clock, source, _) = rig().await;
    let http = Client::builder(TokioExecutor::new()).build_http::<Streamed<Full<Bytes>>>();
    let client = BearerLayer::new(source.clone()).layer(http);
    let first = source.token().await.unwrap();
    server.revoke_access(&first);
    let request = Request::post(server.api_url())
        .header("x-request-id", "streamed")
        .body(Streamed(Full::new(Bytes::from_static(b"a stream"))))
        .unwrap();
    let response = client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.resource_requests(), 1);
    assert_eq!(server.refresh_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_again_after_its_replay_gets_the_401_and_no_loop() {
    let (server, _clock, _source, client) = rig().await;
    server.refuse_all();
    let request = Request::get(server.api_url())
        .header("x-request-id", "refused")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.resource_requests(),
        2,
        "sent, replayed once, then the answer"
    );
    assert_eq!(server.refresh_requests(), 1);
}
