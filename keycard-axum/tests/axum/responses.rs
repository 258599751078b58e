//! Every status and `WWW-Authenticate` value of RFC 6750 §3, over HTTP, with static keys.

use std::sync::Arc;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use keycard::{Algorithm, Builder, Claims, Error, HmacKey, RevocationList, Validator};
use keycard_axum::{Authorizer, Rejection, Verified, VerifiedToken};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::{get as fetch, serve};

const SECRET: &[u8] = b"an example secret of 32 bytes!!!";
const ISSUER: &str = "https://auth.test";

fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, SECRET).unwrap()
}

fn validator() -> Validator {
    Validator::builder(key())
        .issuer(ISSUER)
        .audience("api")
        .build()
        .unwrap()
}

fn token(claims: serde_json::Value) -> String {
    let mut builder = Builder::new()
        .issuer(ISSUER)
        .audience("api")
        .subject("alice")
        .expires_in(Duration::minutes(5));
    for (name, value) in claims.as_object().unwrap() {
        builder = builder.claim(name, value.clone());
    }
    builder.sign(&key()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

#[derive(Deserialize)]
struct NeedsEmail {
    email: String,
}

#[derive(Deserialize)]
struct Borrowed<'a> {
    sub: &'a str,
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

async fn subject(Verified(claims): Verified<Claims>) -> String {
    claims.subject.unwrap_or_default()
}

async fn app() -> String {
    let auth = Authorizer::new(validator());
    let down = Authorizer::new(
        Validator::builder(key())
            .issuer(ISSUER)
            .audience("api")
            .revocations(Arc::new(Down))
            .build()
            .unwrap(),
    );
    let custom = Authorizer::builder()
        .validator(validator())
        .realm("orders")
        .rejection_body(|r: &Rejection| format!("refused: {}", r.status().as_u16()).into_response())
        .build()
        .unwrap();
    let query = Authorizer::builder()
        .validator(validator())
        .allow_query_token()
        .build()
        .unwrap();
    let scoped = Validator::builder(key())
        .issuer(ISSUER)
        .audience("api")
        .require_scope("write")
        .build()
        .unwrap();
    serve(
        Router::new()
            .route("/any", get(subject).layer(auth.layer()))
            .route(
                "/orders",
                get(subject).layer(auth.require_scope("orders:read")),
            )
            .route(
                "/both",
                get(subject).layer(auth.require_scope("a").require_scope("b")),
            )
            .route(
                "/scoped-validator",
                get(subject).layer(Authorizer::new(scoped).layer()),
            )
            .route(
                "/acme",
                get(subject).layer(auth.layer().check(|t: &Tenant| t.tenant == "acme")),
            )
            .route(
                "/optional",
                get(|caller: Option<Verified<Claims>>| async move {
                    caller.map_or("anonymous".to_owned(), |Verified(c)| {
                        c.subject.unwrap_or_default()
                    })
                })
                .layer(auth.optional()),
            )
            .route(
                "/optional-but-required",
                get(subject).layer(auth.optional()),
            )
            .route(
                "/typed",
                get(|Verified(c): Verified<NeedsEmail>| async move { c.email }).layer(auth.layer()),
            )
            .route(
                "/borrowed",
                get(|token: VerifiedToken| async move {
                    let caller: Borrowed<'_> = token.claims().unwrap();
                    Json(json!({ "sub": caller.sub, "token_len": token.token().len() }))
                })
                .layer(auth.layer()),
            )
            .route("/no-layer", get(subject))
            .route("/down", get(subject).layer(down.layer()))
            .route("/custom", get(subject).layer(custom.require_scope("x")))
            .route("/query", get(subject).layer(query.layer()))
            .route(
                "/form",
                axum::routing::post(|Verified(c): Verified<Claims>, body: String| async move {
                    format!("{}: {body}", c.subject.unwrap_or_default())
                })
                .layer(auth.layer().allow_form_token()),
            ),
    )
    .await
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let base = app().await;
    let ok = fetch(&format!("{base}/any"), &[&bearer(&token(json!({})))]).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "alice"));
    assert_eq!(ok.challenge, None);
    // The scheme is case-insensitive (RFC 7235 §2.1).
    let lower = fetch(
        &format!("{base}/any"),
        &[&format!("bearer {}", token(json!({})))],
    )
    .await;
    assert_eq!(lower.status, 200);
    let upper = fetch(
        &format!("{base}/any"),
        &[&format!("BEARER {}", token(json!({})))],
    )
    .await;
    assert_eq!(upper.status, 200);
}

#[tokio::test]
async fn no_credentials_is_401_with_a_bare_challenge() {
    let base = app().await;
    let reply = fetch(&format!("{base}/any"), &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge.as_deref(), Some(r#"Bearer realm="api""#));
    assert_eq!(reply.json(), json!({ "error": "missing_token" }));
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let base = app().await;
    let url = format!("{base}/any");
    let good = bearer(&token(json!({})));
    for (authorization, why) in [
        (vec!["Bearer"], "empty_token"),
        (vec!["Bearer a.b.c d.e.f"], "multiple_credentials"),
        (vec![good.as_str(), good.as_str()], "multiple_credentials"),
        (vec!["Bearer <script>"], "malformed_authorization"),
    ] {
        let reply = fetch(&url, &authorization).await;
        assert_eq!(reply.status, 400, "{authorization:?}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some(
                format!(
                    r#"Bearer realm="api", error="invalid_request", error_description="{why}""#
                )
                .as_str()
            ),
            "{authorization:?}"
        );
        assert_eq!(
            reply.json(),
            json!({ "error": "invalid_request", "error_description": why })
        );
    }
}

#[tokio::test]
async fn query_string_tokens_are_refused_unless_opted_in() {
    let base = app().await;
    let t = token(json!({}));
    let refused = fetch(&format!("{base}/any?access_token={t}"), &[]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.challenge.as_deref(),
        Some(
            r#"Bearer realm="api", error="invalid_request", error_description="query_token_refused""#
        )
    );
    let allowed = fetch(&format!("{base}/query?access_token={t}"), &[]).await;
    assert_eq!((allowed.status, allowed.body.as_str()), (200, "alice"));
    let both = fetch(&format!("{base}/query?access_token={t}"), &[&bearer(&t)]).await;
    assert_eq!(both.status, 400, "two methods at once (RFC 6750 §3.1)");
}

#[tokio::test]
async fn bad_tokens_are_401_invalid_token_naming_the_kind_only() {
    let base = app().await;
    let url = format!("{base}/any");
    let expired = Builder::new()
        .issuer(ISSUER)
        .audience("api")
        .expires_at(OffsetDateTime::now_utc() - Duration::minutes(1))
        .sign(&key())
        .unwrap();
    let other_key = HmacKey::new(Algorithm::HS256, b"another secret of 32 bytes!!!!!!").unwrap();
    let forged = Builder::new()
        .issuer(ISSUER)
        .audience("api")
        .expires_in(Duration::minutes(5))
        .sign(&other_key)
        .unwrap();
    let wrong_audience = Builder::new()
        .issuer(ISSUER)
        .audience("billing")
        .expires_in(Duration::minutes(5))
        .sign(&key())
        .unwrap();
    for (token, kind) in [
        ("not.a.token".to_owned(), "malformed"),
        (expired, "expired"),
        (forged, "signature"),
        (wrong_audience, "audience"),
    ] {
        let reply = fetch(&url, &[&bearer(&token)]).await;
        assert_eq!(reply.status, 401, "{kind}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some(
                format!(r#"Bearer realm="api", error="invalid_token", error_description="{kind}""#)
                    .as_str()
            )
        );
        assert_eq!(
            reply.json(),
            json!({ "error": "invalid_token", "error_description": kind })
        );
    }
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_the_scopes() {
    let base = app().await;
    let reader = bearer(&token(json!({ "scope": "orders:read profile" })));
    let nobody = bearer(&token(json!({ "scope": "profile" })));
    assert_eq!(
        fetch(&format!("{base}/orders"), &[&reader]).await.status,
        200
    );
    let scp = bearer(&token(json!({ "scp": ["orders:read"] })));
    assert_eq!(
        fetch(&format!("{base}/orders"), &[&scp]).await.status,
        200,
        "`scp` arrays count"
    );
    let denied = fetch(&format!("{base}/orders"), &[&nobody]).await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.challenge.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="orders:read", error_description="insufficient_scope""#
        )
    );
    assert_eq!(denied.json()["error"], "insufficient_scope");
    let one_of_two = fetch(
        &format!("{base}/both"),
        &[&bearer(&token(json!({ "scope": "a" })))],
    )
    .await;
    assert_eq!(one_of_two.status, 403);
    assert!(one_of_two.challenge.unwrap().contains(r#"scope="a b""#));
    // A scope the validator itself requires answers the same way.
    let validator_scope = fetch(&format!("{base}/scoped-validator"), &[&nobody]).await;
    assert_eq!(validator_scope.status, 403);
    assert_eq!(
        validator_scope.challenge.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="write", error_description="insufficient_scope""#
        )
    );
}

#[tokio::test]
async fn a_refused_claims_check_is_403() {
    let base = app().await;
    let acme = fetch(
        &format!("{base}/acme"),
        &[&bearer(&token(json!({ "tenant": "acme" })))],
    )
    .await;
    assert_eq!(acme.status, 200);
    for claims in [json!({ "tenant": "globex" }), json!({})] {
        let refused = fetch(&format!("{base}/acme"), &[&bearer(&token(claims))]).await;
        assert_eq!(refused.status, 403);
        assert_eq!(
            refused.challenge.as_deref(),
            Some(r#"Bearer realm="api", error="insufficient_scope", error_description="claims""#)
        );
    }
}

#[tokio::test]
async fn server_side_failures_are_503_or_500_and_reveal_nothing() {
    let base = app().await;
    let down = fetch(&format!("{base}/down"), &[&bearer(&token(json!({})))]).await;
    // Issue 18: a failing store is a backend outage, 503 with Retry-After (was 500).
    assert_eq!(down.status, 503);
    assert_eq!(down.challenge, None);
    assert_eq!(down.json(), json!({ "error": "temporarily_unavailable" }));
    assert!(!down.body.contains("connection reset"));
    let no_layer = fetch(&format!("{base}/no-layer"), &[&bearer(&token(json!({})))]).await;
    assert_eq!(no_layer.status, 500);
    assert_eq!(no_layer.json(), json!({ "error": "server_error" }));
}

#[tokio::test]
async fn optional_auth_lets_anonymous_requests_through_but_not_bad_tokens() {
    let base = app().await;
    let url = format!("{base}/optional");
    let anonymous = fetch(&url, &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (200, "anonymous")
    );
    let known = fetch(&url, &[&bearer(&token(json!({})))]).await;
    assert_eq!((known.status, known.body.as_str()), (200, "alice"));
    let bad = fetch(&url, &[&bearer("not.a.token")]).await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["error_description"], "malformed");
    // A handler that takes `Verified<T>` (not `Option`) behind an optional layer still needs a
    // token: 401 with the bare challenge.
    let required = fetch(&format!("{base}/optional-but-required"), &[]).await;
    assert_eq!(required.status, 401);
    assert_eq!(required.challenge.as_deref(), Some(r#"Bearer realm="api""#));
    let known = fetch(
        &format!("{base}/optional-but-required"),
        &[&bearer(&token(json!({})))],
    )
    .await;
    assert_eq!((known.status, known.body.as_str()), (200, "alice"));
}

#[tokio::test]
async fn claims_are_extracted_typed_and_borrowed() {
    let base = app().await;
    let with_email = token(json!({ "email": "alice@example.com" }));
    let typed = fetch(&format!("{base}/typed"), &[&bearer(&with_email)]).await;
    assert_eq!(
        (typed.status, typed.body.as_str()),
        (200, "alice@example.com")
    );
    let without = fetch(&format!("{base}/typed"), &[&bearer(&token(json!({})))]).await;
    assert_eq!(
        without.status, 401,
        "claims that do not fit the handler's type"
    );
    assert_eq!(
        without.challenge.as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="malformed""#)
    );
    let borrowed = fetch(&format!("{base}/borrowed"), &[&bearer(&with_email)]).await;
    assert_eq!(borrowed.status, 200);
    assert_eq!(
        borrowed.json(),
        json!({ "sub": "alice", "token_len": with_email.len() })
    );
}

#[tokio::test]
async fn a_custom_rejection_body_keeps_the_status_and_challenge() {
    let base = app().await;
    let none = fetch(&format!("{base}/custom"), &[]).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body, "refused: 401");
    assert_eq!(none.challenge.as_deref(), Some(r#"Bearer realm="orders""#));
    let scope = fetch(&format!("{base}/custom"), &[&bearer(&token(json!({})))]).await;
    assert_eq!(scope.status, 403);
    assert_eq!(scope.body, "refused: 403");
    assert_eq!(
        scope.challenge.as_deref(),
        Some(
            r#"Bearer realm="orders", error="insufficient_scope", scope="x", error_description="insufficient_scope""#
        )
    );
}

#[tokio::test]
async fn a_form_token_is_accepted_where_opted_in_and_the_handler_gets_the_whole_body() {
    let base = app().await;
    let body = format!("note=hi&access_token={}", token(json!({})));
    let post = |authorization: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/form"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    let ok = post(None).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), format!("alice: {body}"));
    let twice = post(Some(bearer(&token(json!({}))))).await.unwrap();
    assert_eq!(
        twice.status(),
        400,
        "header and body: two methods (RFC 6750 §2)"
    );
}
