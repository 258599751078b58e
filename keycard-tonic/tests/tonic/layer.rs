//! The layer on a tonic server: the token's verified claims reach the handler; every refusal is a
//! status whose code, message and metadata say what the HTTP answer would.

use std::sync::Arc;

use keycard::{Error, RevocationList, Validator};
use keycard_tonic::Authorizer;
use serde::Deserialize;
use time::OffsetDateTime;
use tonic::transport::Server;
use tonic::Code;

use crate::grpc::{bind, connect, me, Who};
use crate::{key, token, ISSUER};

fn validator() -> Validator {
    Validator::builder(key())
        .issuer(ISSUER)
        .audience("api")
        .build()
        .unwrap()
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn the_layer_answers_every_refusal_as_a_status_with_its_challenge() {
    let auth = Authorizer::new(validator());
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .layer(keycard_tonic::layer(&auth).require_scope("read"))
            .add_service(Who)
            .serve_with_incoming(incoming),
    );
    let channel = connect(&url).await;
    let bearer = |scope: &str| format!("Bearer {}", token(&key(), scope));

    let ok = me(&channel, &[&bearer("read write")]).await;
    assert_eq!((ok.code, ok.message.as_str()), (Code::Ok, "alice"));

    let none = me(&channel, &[]).await;
    assert_eq!(
        (none.code, none.message.as_str()),
        (Code::Unauthenticated, "missing_token")
    );
    assert_eq!(none.challenge.as_deref(), Some(r#"Bearer realm="api""#));

    let basic = me(&channel, &["Basic YWxpY2U="]).await;
    assert_eq!(
        (basic.code, basic.message.as_str()),
        (Code::Unauthenticated, "not_bearer")
    );
    let two = me(&channel, &[&bearer("read"), &bearer("read")]).await;
    assert_eq!(two.message, "multiple_credentials");

    let bad = me(&channel, &["Bearer not.a.token"]).await;
    assert_eq!(
        (bad.code, bad.message.as_str()),
        (Code::Unauthenticated, "malformed")
    );
    assert_eq!(
        bad.challenge.as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="malformed""#)
    );

    let scope = me(&channel, &[&bearer("profile")]).await;
    assert_eq!(
        (scope.code, scope.message.as_str()),
        (Code::PermissionDenied, "insufficient_scope")
    );
    assert_eq!(
        scope.challenge.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="read", error_description="insufficient_scope""#
        )
    );
}

/// A revocation store whose backend is down.
#[derive(Debug)]
struct Down;

impl RevocationList for Down {
    fn is_token_revoked(&self, _: &str) -> Result<bool, Error> {
        Err(Error::store(std::io::Error::other("connection reset")))
    }
    fn is_session_revoked(&self, _: &str) -> Result<bool, Error> {
        Err(Error::store(std::io::Error::other("connection reset")))
    }
    fn subject_cutoff(&self, _: &str) -> Result<Option<OffsetDateTime>, Error> {
        Err(Error::store(std::io::Error::other("connection reset")))
    }
}

#[tokio::test]
async fn a_failing_store_is_unavailable_with_retry_after_and_claims_checks_are_permission_denied() {
    let down = Authorizer::new(
        Validator::builder(key())
            .issuer(ISSUER)
            .audience("api")
            .revocations(Arc::new(Down))
            .build()
            .unwrap(),
    );
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .layer(keycard_tonic::layer(&down))
            .add_service(Who)
            .serve_with_incoming(incoming),
    );
    let outage = me(
        &connect(&url).await,
        &[&format!("Bearer {}", token(&key(), ""))],
    )
    .await;
    assert_eq!(
        (outage.code, outage.message.as_str()),
        (Code::Unavailable, "temporarily_unavailable")
    );
    assert_eq!(outage.retry_after.as_deref(), Some("30"));
    assert_eq!(outage.challenge, None);
    assert!(!outage.message.contains("connection reset"));

    let acme = Authorizer::new(validator());
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .layer(keycard_tonic::layer(&acme).check(|t: &Tenant| t.tenant == "acme"))
            .add_service(Who)
            .serve_with_incoming(incoming),
    );
    let refused = me(
        &connect(&url).await,
        &[&format!("Bearer {}", token(&key(), ""))],
    )
    .await;
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (Code::PermissionDenied, "claims")
    );
}
