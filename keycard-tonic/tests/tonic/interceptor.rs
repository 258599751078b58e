//! The interceptor on one service: the same answers, synchronously; optional authentication; a
//! handler reading claims on a request no keycard code saw is refused, not let through.

use keycard::Validator;
use keycard_tonic::Authorizer;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;
use tonic::Code;

use crate::grpc::{bind, connect, me, Who};
use crate::{key, token, ISSUER};

#[tokio::test]
async fn the_interceptor_checks_each_call_of_its_service() {
    let auth = Authorizer::new(
        Validator::builder(key())
            .issuer(ISSUER)
            .audience("api")
            .build()
            .unwrap(),
    );
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .add_service(InterceptedService::new(
                Who,
                keycard_tonic::interceptor(&auth).require_scope("admin"),
            ))
            .serve_with_incoming(incoming),
    );
    let channel = connect(&url).await;
    let ok = me(&channel, &[&format!("Bearer {}", token(&key(), "admin"))]).await;
    assert_eq!((ok.code, ok.message.as_str()), (Code::Ok, "alice"));
    let scope = me(&channel, &[&format!("Bearer {}", token(&key(), "read"))]).await;
    assert_eq!(scope.code, Code::PermissionDenied);
    assert!(scope.challenge.unwrap().contains(r#"scope="admin""#));
    let none = me(&channel, &[]).await;
    assert_eq!(
        (none.code, none.message.as_str()),
        (Code::Unauthenticated, "missing_token")
    );
}

#[tokio::test]
async fn an_optional_interceptor_lets_anonymous_calls_in_but_verified_still_needs_a_token() {
    let auth = Authorizer::new(Validator::builder(key()).audience("api").build().unwrap());
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .add_service(InterceptedService::new(
                Who,
                keycard_tonic::interceptor(&auth).optional(),
            ))
            .serve_with_incoming(incoming),
    );
    let channel = connect(&url).await;
    // The handler asks for verified claims: an anonymous call is refused there, with the bare
    // challenge, as keycard-axum's `Verified<T>` refuses it behind an optional layer.
    let anonymous = me(&channel, &[]).await;
    assert_eq!(
        (anonymous.code, anonymous.message.as_str()),
        (Code::Unauthenticated, "missing_token")
    );
    assert_eq!(
        anonymous.challenge.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
    let bad = me(&channel, &["Bearer not.a.token"]).await;
    assert_eq!(bad.message, "malformed");

    // No keycard layer or interceptor at all: `verified` fails closed.
    let (incoming, url) = bind().await;
    tokio::spawn(
        Server::builder()
            .add_service(Who)
            .serve_with_incoming(incoming),
    );
    let unguarded = me(
        &connect(&url).await,
        &[&format!("Bearer {}", token(&key(), ""))],
    )
    .await;
    assert_eq!(
        (unguarded.code, unguarded.message.as_str()),
        (Code::Internal, "server_error")
    );
}
