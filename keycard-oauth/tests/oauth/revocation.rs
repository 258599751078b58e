//! Revocation (RFC 7009) and introspection (RFC 7662), and what each tells the other.

use keycard_oauth::Endpoint;
use serde_json::Value;

use crate::common::{basic, fixture, Fixture, ISSUER};

impl Fixture {
    async fn introspect(&self, token: &str) -> Value {
        // As a resource server would: another client than the tokens'.
        let body = format!(
            "token={token}&client_id=post-client&client_secret={}",
            self.secret
        );
        let reply = self.post(Endpoint::Introspection, None, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.body());
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        reply.json
    }

    async fn revoke(&self, token: &str) -> u16 {
        self.post(
            Endpoint::Revocation,
            Some(&basic("basic-client", &self.secret)),
            &format!("token={token}"),
        )
        .await
        .status
    }
}

#[tokio::test]
async fn introspection_describes_an_active_access_token_with_every_member() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials&scope=read").await;
    let token = reply.json["access_token"].as_str().unwrap();
    let answer = f.introspect(token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["client_id"], "basic-client");
    assert_eq!(answer["sub"], "basic-client");
    assert_eq!(answer["iss"], ISSUER);
    assert_eq!(answer["aud"], "api");
    assert_eq!(answer["token_type"], "Bearer");
    for member in ["exp", "iat", "jti"] {
        assert!(
            answer[member].is_string() || answer[member].is_number(),
            "{member}"
        );
    }
}

#[tokio::test]
async fn introspection_says_only_inactive_for_malformed_expired_and_foreign_tokens() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials").await;
    let token = reply.json["access_token"].as_str().unwrap().to_owned();
    let foreign = keycard::Builder::new()
        .issuer(ISSUER)
        .audience("api")
        .token_type("at+jwt")
        .random_jwt_id()
        .expires_in(time::Duration::minutes(5))
        .sign(&crate::common::key())
        .unwrap();
    for bad in ["not-a-token", foreign.as_str()] {
        assert_eq!(
            f.introspect(bad).await,
            serde_json::json!({ "active": false })
        );
    }
    f.clock.advance(time::Duration::hours(1));
    assert_eq!(
        f.introspect(&token).await,
        serde_json::json!({ "active": false })
    );
}

#[tokio::test]
async fn introspection_needs_an_authenticated_confidential_client() {
    let f = fixture();
    let reply = f.post(Endpoint::Introspection, None, "token=x").await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_client"));
    let reply = f
        .post(
            Endpoint::Introspection,
            None,
            "token=x&client_id=public-client",
        )
        .await;
    assert_eq!(reply.error(), "invalid_client");
}

#[tokio::test]
async fn a_revoked_access_token_is_inactive_and_refused() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials").await;
    let token = reply.json["access_token"].as_str().unwrap();
    assert_eq!(f.revoke(token).await, 200);
    assert_eq!(f.introspect(token).await["active"], false);
    let validator = f.service.access_validator().build().unwrap();
    assert!(validator.verify::<keycard::Claims>(token).is_err());
    assert_eq!(f.revoke(token).await, 200, "revoking twice is fine");
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_its_access_tokens() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    let refresh_answer = {
        let reply = f
            .post(
                Endpoint::Introspection,
                Some(&basic("basic-client", &f.secret)),
                &format!("token={refresh}"),
            )
            .await;
        reply.json
    };
    assert_eq!(refresh_answer["active"], true);
    assert_eq!(refresh_answer["token_type"], "refresh_token");
    assert_eq!(
        f.introspect(&refresh).await["active"],
        false,
        "not the caller's own"
    );

    assert_eq!(f.revoke(&refresh).await, 200);
    assert_eq!(f.introspect(&login.access_token).await["active"], false);
    let reply = f
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await;
    assert_eq!(reply.error(), "invalid_grant");
}

#[tokio::test]
async fn another_clients_token_and_unknown_tokens_answer_200_and_change_nothing() {
    let f = fixture();
    let reply = f.token("grant_type=client_credentials").await;
    let token = reply.json["access_token"].as_str().unwrap();
    let other = f
        .post(
            Endpoint::Revocation,
            None,
            &format!(
                "token={token}&client_id=post-client&client_secret={}",
                f.secret
            ),
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(f.introspect(token).await["active"], true);
    assert_eq!(f.revoke("garbage").await, 200);
    let unauthenticated = f
        .post(Endpoint::Revocation, None, &format!("token={token}"))
        .await;
    assert_eq!(unauthenticated.error(), "invalid_client");
    let missing = f
        .post(
            Endpoint::Revocation,
            Some(&basic("basic-client", &f.secret)),
            "token_type_hint=access_token",
        )
        .await;
    assert_eq!(missing.error(), "invalid_request");
}

#[tokio::test]
async fn a_failing_store_during_revocation_is_503_not_a_silent_200() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    f.families
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let reply = f
        .post(
            Endpoint::Revocation,
            Some(&basic("basic-client", &f.secret)),
            &format!("token={refresh}"),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (503, "temporarily_unavailable")
    );
    f.families
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(f.revoke(&refresh).await, 200);
    assert_eq!(f.introspect(&login.access_token).await["active"], false);
}
