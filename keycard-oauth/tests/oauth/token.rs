//! The token endpoint: RFC 6749 §3.2, §4.4, §5, §6, §2.3 and RFC 9068, through `handle`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::Request;
use keycard::{unverified, Claims};
use keycard_oauth::{Endpoint, MAX_BODY};

use crate::common::{basic, fixture, fixture_with, ISSUER};

#[tokio::test]
async fn client_credentials_issues_an_rfc9068_access_token_and_no_refresh_token() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials&scope=read").await;
    assert_eq!(reply.status, 200, "{}", reply.body());
    // RFC 6749 §5.1: no-store, no-cache.
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.json["scope"], "read");
    assert_eq!(reply.json["expires_in"], 900);
    // RFC 6749 §4.4.3: a refresh token SHOULD NOT be included.
    assert!(reply.json.get("refresh_token").is_none());

    let token = reply.json["access_token"].as_str().unwrap();
    let header = unverified::decode_header(token).unwrap();
    assert_eq!(header.token_type(), Some("at+jwt"));
    assert_eq!(header.key_id(), Some("k1"));
    let validator = f
        .service
        .access_validator()
        .require_scope("read")
        .build()
        .unwrap();
    let claims: Claims = validator.verify(token).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some(ISSUER));
    assert_eq!(claims.subject.as_deref(), Some("basic-client"));
    assert_eq!(claims.extra["client_id"], "basic-client");
    assert!(claims.jwt_id.is_some() && claims.issued_at.is_some() && claims.expires_at.is_some());
}

#[tokio::test]
async fn without_scope_the_client_receives_every_scope_it_is_allowed() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials").await;
    assert_eq!(reply.json["scope"], "read write");
}

#[tokio::test]
async fn client_secret_post_authenticates_in_the_body() {
    let f = fixture();
    let body = format!(
        "grant_type=client_credentials&client_id=post-client&client_secret={}",
        f.secret
    );
    let reply = f.post(Endpoint::Token, None, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body());
}

#[tokio::test]
async fn a_client_must_use_its_registered_method() {
    let f = fixture();
    let body = format!(
        "grant_type=client_credentials&client_id=basic-client&client_secret={}",
        f.secret
    );
    let reply = f.post(Endpoint::Token, None, &body).await;
    // Not Basic: a 400 without a challenge (RFC 6749 §5.2).
    assert_eq!((reply.status, reply.error()), (400, "invalid_client"));
    assert_eq!(reply.header("www-authenticate"), None);
}

#[tokio::test]
async fn a_wrong_basic_secret_is_a_401_with_a_basic_challenge_and_echoes_nothing() {
    let f = fixture();
    let wrong = "a-wrong-secret-that-is-long-enough-to-be-one";
    let reply = f
        .post(
            Endpoint::Token,
            Some(&basic("basic-client", wrong)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!((reply.status, reply.error()), (401, "invalid_client"));
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic "));
    assert!(!reply.body().contains(wrong));
    let unknown = f
        .post(
            Endpoint::Token,
            Some(&basic("nobody", &f.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!((unknown.status, unknown.error()), (401, "invalid_client"));
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_an_invalid_request() {
    let f = fixture();
    let reply = f
        .token(&format!(
            "grant_type=client_credentials&client_secret={}",
            f.secret
        ))
        .await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn repeated_failures_slow_a_client_id_down_until_its_window_passes() {
    let f = fixture();
    let wrong = basic(
        "basic-client",
        "a-wrong-secret-that-is-long-enough-to-be-one",
    );
    for _ in 0..3 {
        let reply = f
            .post(
                Endpoint::Token,
                Some(&wrong),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(reply.status, 401);
    }
    // Inside the window even the right secret is refused, without a secret check.
    assert_eq!(f.token("grant_type=client_credentials").await.status, 401);
    f.clock.advance(time::Duration::seconds(1));
    assert_eq!(f.token("grant_type=client_credentials").await.status, 200);
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let f = fixture();
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "scope=read",
        "grant_type=client_credentials&scope=%FF",
    ] {
        let reply = f.token(body).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_request"),
            "{body}"
        );
    }
    let big = format!("grant_type=client_credentials&x={}", "a".repeat(MAX_BODY));
    assert_eq!(f.token(&big).await.error(), "invalid_request");

    let auth = basic("basic-client", &f.secret);
    let json = Request::post(f.service.url(Endpoint::Token))
        .header("content-type", "application/json")
        .header("authorization", &auth)
        .body(Bytes::from_static(
            b"{\"grant_type\":\"client_credentials\"}",
        ))
        .unwrap();
    assert_eq!(
        f.send(Endpoint::Token, json).await.error(),
        "invalid_request"
    );

    let get = Request::get(f.service.url(Endpoint::Token))
        .body(Bytes::new())
        .unwrap();
    let reply = f.send(Endpoint::Token, get).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[tokio::test]
async fn grant_types_are_checked_against_the_service_and_the_client() {
    let f = fixture();
    let reply = f.token("grant_type=password&username=a&password=b").await;
    assert_eq!(reply.error(), "unsupported_grant_type");
    let cc_only = basic("cc-only", &f.secret);
    let reply = f
        .post(
            Endpoint::Token,
            Some(&cc_only),
            "grant_type=refresh_token&refresh_token=x",
        )
        .await;
    assert_eq!(reply.error(), "unauthorized_client");
    let reply = f
        .post(
            Endpoint::Token,
            None,
            "grant_type=client_credentials&client_id=public-client",
        )
        .await;
    assert_eq!(reply.error(), "unauthorized_client");
    let reply = f.token("grant_type=client_credentials&scope=admin").await;
    assert_eq!(reply.error(), "invalid_scope");
}

#[tokio::test]
async fn refresh_rotates_narrows_and_never_widens() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", Some("read write"))
        .await
        .unwrap();
    let refresh = login.refresh_token.clone().unwrap();
    let reply = f
        .token(&format!(
            "grant_type=refresh_token&refresh_token={refresh}&scope=read"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body());
    assert_eq!(reply.json["scope"], "read");
    let next = reply.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, refresh);
    let claims: Claims = f
        .service
        .access_validator()
        .build()
        .unwrap()
        .verify(reply.json["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("alice"));
    assert_eq!(claims.scope.as_deref(), Some("read"));

    // The refresh token keeps the scope first granted (RFC 6749 §6): asking for it all again
    // works, asking for more does not.
    let reply = f
        .token(&format!(
            "grant_type=refresh_token&refresh_token={next}&scope=read+admin"
        ))
        .await;
    assert_eq!(reply.error(), "invalid_scope");
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={next}"))
        .await;
    assert_eq!(reply.json["scope"], "read write", "{}", reply.body());
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant_and_rotates_nothing() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id=post-client&client_secret={}",
        f.secret
    );
    let reply = f.post(Endpoint::Token, None, &body).await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_grant"));
    assert!(!reply.body().contains(&refresh));
    assert_eq!(f.families.rotations.load(Ordering::SeqCst), 0);
    // A public client's family is bound to it as well.
    let reply = f
        .post(
            Endpoint::Token,
            None,
            &format!("grant_type=refresh_token&refresh_token={refresh}&client_id=public-client"),
        )
        .await;
    assert_eq!(reply.error(), "invalid_grant");
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_reused_refresh_token_is_invalid_grant_and_ends_the_family() {
    let f = fixture_with(|b| b.grace_period(time::Duration::ZERO));
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let first = login.refresh_token.unwrap();
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={first}"))
        .await;
    let second = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let access = reply.json["access_token"].as_str().unwrap().to_owned();
    let reused = f
        .token(&format!("grant_type=refresh_token&refresh_token={first}"))
        .await;
    assert_eq!(reused.error(), "invalid_grant");
    let after = f
        .token(&format!("grant_type=refresh_token&refresh_token={second}"))
        .await;
    assert_eq!(after.error(), "invalid_grant");
    let validator = f.service.access_validator().build().unwrap();
    assert!(
        validator.verify::<Claims>(&access).is_err(),
        "the session's access tokens end too"
    );
}

#[tokio::test]
async fn a_failing_store_is_503_temporarily_unavailable_and_rotates_nothing() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    f.families.failing.store(true, Ordering::SeqCst);
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (503, "temporarily_unavailable")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(f
        .service
        .issue_pair("basic-client", "bob", None)
        .await
        .is_err());
    f.families.failing.store(false, Ordering::SeqCst);
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await;
    assert_eq!(
        reply.status, 200,
        "the token still works once the store is back"
    );
}
