//! The token-endpoint client against a real RFC 6749 server on 127.0.0.1: client
//! authentication, discovery, rotation, and every bad answer as a typed error; then the source
//! over it: a dead refresh token reaches every waiter as one "sign in again" with one request,
//! and an endpoint that is down is retried within the back-off and recovers.

use std::error::Error as _;
use std::sync::Arc;

use keycard::time::Duration;
use keycard::Clock as _;
use keycard_client::{Grant, Malformed, OAuthError, TokenEndpoint, TokenSet};
use keycard_test::{keys, TestClock};

use crate::auth_server::{AuthServer, Mode, CLIENT_ID, SECRET};

async fn server() -> (AuthServer, TestClock) {
    let clock = TestClock::new();
    (AuthServer::start(&clock).await, clock)
}

fn endpoint(server: &AuthServer, clock: &TestClock) -> TokenEndpoint {
    TokenEndpoint::builder(CLIENT_ID)
        .client_secret_post(SECRET)
        .clock(clock.clone())
        .url(&server.token_url())
        .unwrap()
}

#[tokio::test]
async fn every_client_authentication_method_is_accepted_by_a_conformant_server() {
    let (server, clock) = server().await;
    let key = keys::es256("client-key");
    server.accept_assertions_from(key.public_key());
    let builder = || TokenEndpoint::builder(CLIENT_ID).clock(clock.clone());
    let endpoints = [
        builder().client_secret_basic(SECRET),
        builder().client_secret_post(SECRET),
        builder().private_key_jwt(Arc::new(key)),
    ];
    for endpoint in endpoints {
        let endpoint = endpoint.url(&server.token_url()).unwrap();
        let set = endpoint.client_credentials(Some("read")).await.unwrap();
        assert!(set.access_token().starts_with("at-"));
        assert!(!format!("{endpoint:?}").contains(SECRET));
    }
    assert_eq!(
        server.auth_seen(),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]
    );
    // A wrong secret is a refusal, typed and not retryable.
    let wrong = TokenEndpoint::builder(CLIENT_ID)
        .client_secret_basic("wrong")
        .url(&server.token_url())
        .unwrap();
    let err = wrong.client_credentials(None).await.unwrap_err();
    assert!(
        matches!(&err, OAuthError::Refused { code, .. } if code == "invalid_client"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn discovery_finds_the_token_endpoint_and_a_rotated_refresh_token_is_returned() {
    let (server, clock) = server().await;
    let endpoint = TokenEndpoint::builder(CLIENT_ID)
        .client_secret_basic(SECRET)
        .clock(clock.clone())
        .discover(&server.issuer())
        .await
        .unwrap();
    assert_eq!(endpoint.url(), server.token_url());
    let signed_in = server.sign_in();
    let set = endpoint
        .refresh(signed_in.refresh_token().unwrap())
        .await
        .unwrap();
    assert_ne!(set.refresh_token(), signed_in.refresh_token());
    assert_eq!(set.expires_at(), clock.now() + Duration::minutes(10));
    // The old one is spent: presenting it again is reuse, and a dead grant.
    let err = endpoint
        .refresh(signed_in.refresh_token().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_sign_in_again(), "{err}");
    assert_eq!(server.reuse_detected(), 1);
}

#[tokio::test]
async fn bad_answers_from_the_server_are_typed_errors_without_tokens() {
    let (server, clock) = server().await;
    let endpoint = TokenEndpoint::builder(CLIENT_ID)
        .client_secret_post(SECRET)
        .clock(clock.clone())
        .max_body(4096)
        .url(&server.token_url())
        .unwrap();
    type Case = (Mode, fn(&OAuthError) -> bool);
    let cases: [Case; 7] = [
        (Mode::Reply(200, "<html>login</html>".into()), |e| {
            matches!(e, OAuthError::Malformed(Malformed::NotJson))
        }),
        (
            Mode::Reply(200, r#"{"token_type":"Bearer","expires_in":60}"#.into()),
            |e| matches!(e, OAuthError::Malformed(Malformed::MissingAccessToken)),
        ),
        (
            Mode::Reply(
                200,
                r#"{"access_token":"SECRET-AT","token_type":"DPoP","expires_in":60}"#.into(),
            ),
            |e| matches!(e, OAuthError::Malformed(Malformed::TokenType(_))),
        ),
        (
            Mode::Reply(
                200,
                r#"{"access_token":"SECRET-AT","token_type":"bearer","expires_in":1e12}"#.into(),
            ),
            |e| matches!(e, OAuthError::Malformed(Malformed::AbsurdExpiresIn(_))),
        ),
        (
            Mode::Reply(
                200,
                r#"{"error":"invalid_grant","access_token":"SECRET-AT"}"#.into(),
            ),
            |e| e.is_sign_in_again(),
        ),
        (
            Mode::Reply(200, format!("{{\"a\":\"{}\"}}", "x".repeat(10_000))),
            |e| {
                matches!(
                    e,
                    OAuthError::Malformed(Malformed::TooLarge { limit: 4096 })
                )
            },
        ),
        (Mode::Redirect, |e| {
            matches!(e, OAuthError::Redirected { status: 302 })
        }),
    ];
    for (mode, expected) in cases {
        server.set_mode(mode.clone());
        let err = endpoint.refresh("SECRET-RT").await.unwrap_err();
        assert!(expected(&err), "{mode:?}: {err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
    assert_eq!(server.token_requests(), 7);
}

#[tokio::test]
async fn a_stalled_endpoint_times_out_as_a_retryable_error() {
    let (server, clock) = server().await;
    let endpoint = TokenEndpoint::builder(CLIENT_ID)
        .client_secret_post(SECRET)
        .clock(clock.clone())
        .timeout(std::time::Duration::from_millis(200))
        .url(&server.token_url())
        .unwrap();
    server.hold_tokens(true);
    let err = endpoint.client_credentials(None).await.unwrap_err();
    assert!(
        matches!(err, OAuthError::Timeout { millis: 200 }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    server.hold_tokens(false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_reaches_every_waiter_as_one_sign_in_again_with_one_request() {
    let (server, clock) = server().await;
    let signed_in = server.sign_in();
    let refresh_token = signed_in.refresh_token().unwrap().to_owned();
    server.revoke_refresh(&refresh_token);
    let source = endpoint(&server, &clock)
        .token_source(Grant::RefreshToken(TokenSet::from_refresh_token(
            refresh_token,
        )))
        .build();

    // Hold the endpoint until every caller is waiting for the one refresh: each reads the
    // clock once under the source's lock before it starts or joins the flight, and the flight
    // reads it once when it sends (the revoked grant issues nothing, so no other reading).
    server.hold_tokens(true);
    const CALLERS: usize = 50;
    let before = clock.readings();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    server.token_arrivals(1).await;
    while clock.readings() < before + CALLERS + 1 {
        tokio::task::yield_now().await;
    }
    server.hold_tokens(false);

    let mut first_source: Option<*const ()> = None;
    for caller in callers {
        let err = caller.await.unwrap().unwrap_err();
        assert!(
            OAuthError::of(&err).is_some_and(OAuthError::is_sign_in_again),
            "{err}"
        );
        // The same error, shared: one failure fanned out, not fifty.
        let shared = err.source().unwrap() as *const _ as *const ();
        assert_eq!(*first_source.get_or_insert(shared), shared);
    }
    assert_eq!(server.token_requests(), 1);
    eprintln!("evidence: revoked refresh token: {CALLERS} waiters, 1 sign-in-again error shared, 1 request");

    // Never retried, however long and however often it is asked.
    clock.advance(Duration::hours(1));
    for _ in 0..100 {
        let err = source.token().await.unwrap_err();
        assert!(OAuthError::of(&err).is_some_and(OAuthError::is_sign_in_again));
    }
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_is_down_is_retried_within_the_back_off_and_the_source_recovers() {
    let (server, clock) = server().await;
    let source = endpoint(&server, &clock)
        .token_source(Grant::RefreshToken(server.sign_in()))
        .configure(|b| {
            b.min_backoff(Duration::seconds(4))
                .max_backoff(Duration::seconds(16))
        })
        .build();
    server.set_mode(Mode::Reply(503, "<html>down</html>".into()));

    // A 10-minute token, default margin 60 s: the saved token serves without any request...
    for _ in 0..540 {
        assert_eq!(&*source.token().await.unwrap(), "at-0");
        clock.advance(Duration::seconds(1));
    }
    assert_eq!(server.token_requests(), 0);
    // ...and inside the margin it still serves while background attempts fail (the first
    // call there starts one: wait until it reaches the endpoint).
    assert_eq!(&*source.token().await.unwrap(), "at-0");
    server.token_arrivals(1).await;
    for _ in 540..600 {
        assert_eq!(&*source.token().await.unwrap(), "at-0");
        clock.advance(Duration::seconds(1));
    }
    let in_margin = server.token_requests();
    assert!(in_margin >= 1, "{in_margin}");
    // Expired, endpoint down for 30 s more: typed, retryable errors, ten calls a second, and
    // attempts only as the back-off allows (at least 2 s apart at first, then 4, then 8).
    let mut errors = 0;
    for _ in 0..30 {
        for _ in 0..10 {
            let err = source.token().await.unwrap_err();
            let cause = OAuthError::of(&err).unwrap();
            assert!(
                matches!(cause, OAuthError::Status { status: 503 }),
                "{cause}"
            );
            assert!(cause.is_retryable());
            errors += 1;
        }
        clock.advance(Duration::seconds(1));
    }
    let attempts = server.token_requests();
    eprintln!("evidence: endpoint down: {in_margin} attempts inside the margin, {attempts} in all for 360 calls");
    assert_eq!(errors, 300);
    // 90 s of failures with delays of at least 2, 4, 8, 8, ... s: at most 14 attempts in all.
    assert!(attempts <= 14, "{attempts} attempts");
    assert!(attempts > in_margin, "it kept trying: {attempts}");

    // The endpoint comes back: once the back-off has passed, the next call recovers.
    server.set_mode(Mode::Normal);
    clock.advance(Duration::seconds(16));
    let token = source.token().await.unwrap();
    assert!(token.starts_with("at-"), "{token}");
    assert_ne!(&*token, "at-0");
    assert_eq!(server.refresh_requests(), 1);
}
