//! The three methods of RFC 6750 §2: header, form body (opted in per layer), query (opted in per
//! authorizer), never two at once; optional routes; route and authorizer checks.

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::Full;
use keycard::Validator;
use keycard_http::{Authorizer, EmptyBody};
use serde::Deserialize;
use serde_json::json;

use crate::{call, get, key, token_with};

fn form(uri: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn a_form_token_is_read_only_where_allowed_and_the_handler_gets_the_same_body() {
    let auth = Authorizer::new(Validator::builder(key()).build().unwrap());
    let token = token_with(&key(), &[]);
    let body = format!("note=hi&access_token={token}");
    let with_form = auth.layer(EmptyBody).allow_form_token();

    let answer = call(&with_form, form("/", &body)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, format!("alice|{body}"));

    // Without the opt-in, the body is the handler's and carries no credential.
    let answer = call(&auth.layer(EmptyBody), form("/", &body)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    // RFC 6750 §2.2: never on GET.
    let get_form = Request::get("/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    assert_eq!(
        call(&with_form, get_form).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Header and form at once: two methods (RFC 6750 §2).
    let mut both = form("/", &body);
    both.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let answer = call(&with_form, both).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.challenge(),
        Some(
            r#"Bearer realm="api", error="invalid_request", error_description="multiple_credentials""#
        )
    );

    let small = auth.layer(EmptyBody).allow_form_token().max_form_bytes(16);
    let answer = call(&small, form("/", &body)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.challenge().unwrap().contains("form_too_large"));
}

#[tokio::test]
async fn a_query_token_answer_is_private() {
    let auth = Authorizer::builder()
        .validator(Validator::builder(key()).build().unwrap())
        .allow_query_token()
        .build()
        .unwrap();
    let token = token_with(&key(), &[]);
    let answer = call(
        &auth.layer(EmptyBody),
        get(&format!("/?access_token={token}"), &[]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CACHE_CONTROL],
        "private",
        "RFC 6750 §2.3"
    );
    let answer = call(
        &auth.layer(EmptyBody),
        get("/", &[&format!("Bearer {token}")]),
    )
    .await;
    assert!(answer.headers.get(header::CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn optional_routes_let_anonymous_requests_through_but_not_bad_tokens() {
    let auth = Authorizer::new(Validator::builder(key()).build().unwrap());
    let optional = auth.layer(EmptyBody).optional();
    assert_eq!(call(&optional, get("/", &[])).await.body, "anonymous|");
    let bad = call(&optional, get("/", &["Bearer not.a.token"])).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad
        .challenge()
        .unwrap()
        .contains(r#"error_description="malformed""#));
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn authorizer_checks_run_on_every_route_after_the_routes_own() {
    let auth = Authorizer::builder()
        .validator(Validator::builder(key()).build().unwrap())
        .check(|t: &Tenant| t.tenant == "acme")
        .build()
        .unwrap();
    let acme = token_with(
        &key(),
        &[("tenant", json!("acme")), ("scope", json!("read"))],
    );
    let globex = token_with(
        &key(),
        &[("tenant", json!("globex")), ("scope", json!("read"))],
    );
    let layer = auth.layer(EmptyBody).require_scope("read");
    assert_eq!(
        call(&layer, get("/", &[&format!("Bearer {acme}")]))
            .await
            .status,
        StatusCode::OK
    );
    let refused = call(&layer, get("/", &[&format!("Bearer {globex}")])).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.challenge(),
        Some(r#"Bearer realm="api", error="insufficient_scope", error_description="claims""#)
    );
    let write = call(
        &auth.layer(EmptyBody).require_scope("write"),
        get("/", &[&format!("Bearer {acme}")]),
    )
    .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert!(write.challenge().unwrap().contains(r#"scope="write""#));
}

/// RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client ...
/// attempted using an unsupported authentication method), the resource server SHOULD NOT include
/// an error code or other error information": 401 and the bare challenge, on required and
/// optional routes alike. It was 400 `invalid_request`.
#[tokio::test]
async fn basic_credentials_get_a_bare_401_challenge_without_an_error_code() {
    let auth = Authorizer::new(Validator::builder(key()).build().unwrap());
    for layer in [auth.layer(EmptyBody), auth.layer(EmptyBody).optional()] {
        for scheme in [
            "Basic YWxpY2U6d29uZGVybGFuZA==",
            "Digest username=\"a\"",
            "Token abc",
        ] {
            let answer = call(&layer, get("/", &[scheme])).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{scheme}");
            assert_eq!(
                answer.challenge(),
                Some(r#"Bearer realm="api""#),
                "{scheme}"
            );
        }
    }
}

/// An authorizer's token rules run on every route before the route's own rules, and a token
/// that fails one is 401 `invalid_token` with the rule's kind (not 403: it is not for this API).
#[tokio::test]
async fn token_rules_refuse_a_token_on_every_route_with_the_rules_kind() {
    use std::sync::Arc;

    use keycard::ErrorKind;
    use keycard_http::TokenRule;

    let client_a: TokenRule = (
        ErrorKind::Audience,
        Arc::new(|claims: &serde_json::Value| claims["client_id"] == "app-a"),
    );
    let auth = Authorizer::builder()
        .validator(Validator::builder(key()).build().unwrap())
        .rules([client_a])
        .build()
        .unwrap();
    let mine = format!(
        "Bearer {}",
        token_with(
            &key(),
            &[("client_id", json!("app-a")), ("scope", json!("read"))]
        )
    );
    let theirs = format!(
        "Bearer {}",
        token_with(
            &key(),
            &[("client_id", json!("app-b")), ("scope", json!("read"))]
        )
    );
    for layer in [
        auth.layer(EmptyBody),
        auth.layer(EmptyBody).require_scope("write"),
        auth.layer(EmptyBody).optional(),
    ] {
        let refused = call(&layer, get("/", &[&theirs])).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.challenge(),
            Some(r#"Bearer realm="api", error="invalid_token", error_description="audience""#)
        );
        assert_ne!(
            call(&layer, get("/", &[&mine])).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}
