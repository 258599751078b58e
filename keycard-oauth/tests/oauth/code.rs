//! `authorization_code` with PKCE (RFC 6749 §4.1, RFC 7636 S256, RFC 9700 §2.1.1).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard_oauth::{AuthorizationRequest, Endpoint, ErrorCode};
use ring::digest::{digest, SHA256};

use crate::common::{fixture, Fixture, REDIRECT};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

impl Fixture {
    async fn code(&self, client_id: &str) -> String {
        let request =
            AuthorizationRequest::new(client_id, REDIRECT, challenge(VERIFIER), "S256", "alice")
                .scope("read");
        self.service.issue_code(&request).await.unwrap()
    }

    /// The public client redeems `code` with `verifier`.
    async fn redeem(&self, code: &str, verifier: &str) -> crate::common::Reply {
        let body = format!(
            "grant_type=authorization_code&client_id=public-client&code={code}\
             &redirect_uri={REDIRECT}&code_verifier={verifier}"
        );
        self.post(Endpoint::Token, None, &body).await
    }
}

#[tokio::test]
async fn a_public_client_redeems_its_code_with_the_verifier() {
    let f = fixture();
    let code = f.code("public-client").await;
    let reply = f.redeem(&code, VERIFIER).await;
    assert_eq!(reply.status, 200, "{}", reply.body());
    assert_eq!(reply.json["scope"], "read");
    assert!(reply.json["refresh_token"].is_string());
    let claims: keycard::Claims = f
        .service
        .access_validator()
        .build()
        .unwrap()
        .verify(reply.json["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("alice"));
    assert_eq!(claims.extra["client_id"], "public-client");
}

#[tokio::test]
async fn a_second_use_is_refused_and_revokes_the_tokens_of_the_first() {
    let f = fixture();
    let code = f.code("public-client").await;
    let first = f.redeem(&code, VERIFIER).await;
    let access = first.json["access_token"].as_str().unwrap().to_owned();
    let refresh = first.json["refresh_token"].as_str().unwrap().to_owned();
    // Even after a rotation, the session of the first use ends.
    let rotated = f
        .post(
            Endpoint::Token,
            None,
            &format!("grant_type=refresh_token&client_id=public-client&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(rotated.status, 200);
    let second = f.redeem(&code, VERIFIER).await;
    assert_eq!((second.status, second.error()), (400, "invalid_grant"));
    let validator = f.service.access_validator().build().unwrap();
    assert!(validator.verify::<keycard::Claims>(&access).is_err());
    let newer = rotated.json["access_token"].as_str().unwrap();
    assert!(validator.verify::<keycard::Claims>(newer).is_err());
}

#[tokio::test]
async fn a_wrong_verifier_redirect_or_client_is_invalid_grant_and_burns_the_code() {
    let f = fixture();
    let code = f.code("public-client").await;
    let wrong = "a".repeat(43);
    assert_eq!(f.redeem(&code, &wrong).await.error(), "invalid_grant");
    assert_eq!(
        f.redeem(&code, VERIFIER).await.error(),
        "invalid_grant",
        "used up"
    );

    let code = f.code("public-client").await;
    let body = format!(
        "grant_type=authorization_code&client_id=public-client&code={code}\
         &redirect_uri=https://evil.example/cb&code_verifier={VERIFIER}"
    );
    assert_eq!(
        f.post(Endpoint::Token, None, &body).await.error(),
        "invalid_grant"
    );

    let code = f.code("public-client").await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
    );
    assert_eq!(
        f.token(&body).await.error(),
        "invalid_grant",
        "another client"
    );

    let code = f.code("public-client").await;
    let body = format!(
        "grant_type=authorization_code&client_id=public-client&code={code}&redirect_uri={REDIRECT}"
    );
    assert_eq!(
        f.post(Endpoint::Token, None, &body).await.error(),
        "invalid_request"
    );
}

#[tokio::test]
async fn a_code_expires_after_its_minute() {
    let f = fixture();
    let code = f.code("public-client").await;
    f.clock.advance(time::Duration::seconds(61));
    assert_eq!(f.redeem(&code, VERIFIER).await.error(), "invalid_grant");
}

#[tokio::test]
async fn issuing_a_code_checks_the_redirect_uri_the_method_and_the_challenge() {
    let f = fixture();
    let refused = |r: AuthorizationRequest| {
        let service = f.service.clone();
        async move { service.issue_code(&r).await.unwrap_err().code() }
    };
    let c = challenge(VERIFIER);
    assert_eq!(
        refused(AuthorizationRequest::new(
            "public-client",
            "https://evil.example/cb",
            c.clone(),
            "S256",
            "a"
        ))
        .await,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        refused(AuthorizationRequest::new(
            "public-client",
            REDIRECT,
            VERIFIER,
            "plain",
            "a"
        ))
        .await,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        refused(AuthorizationRequest::new(
            "public-client",
            REDIRECT,
            "short",
            "S256",
            "a"
        ))
        .await,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        refused(AuthorizationRequest::new(
            "cc-only",
            REDIRECT,
            c.clone(),
            "S256",
            "a"
        ))
        .await,
        ErrorCode::UnauthorizedClient
    );
    assert_eq!(
        refused(
            AuthorizationRequest::new("public-client", REDIRECT, c, "S256", "a").scope("admin")
        )
        .await,
        ErrorCode::InvalidScope
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_code_presented_concurrently_succeeds_exactly_once() {
    let f = Arc::new(fixture());
    let code = f.code("public-client").await;
    f.codes.hold_first_redemptions(16);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let f = Arc::clone(&f);
            let code = code.clone();
            tokio::spawn(async move {
                let reply = f.redeem(&code, VERIFIER).await;
                (reply.status, reply.error().to_owned())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|(s, _)| *s == 200).count(), 1);
    assert!(outcomes
        .iter()
        .filter(|(s, _)| *s != 200)
        .all(|(s, e)| *s == 400 && e == "invalid_grant"));
}
