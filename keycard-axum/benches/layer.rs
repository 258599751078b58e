#![allow(missing_docs)] // criterion_group! generates an undocumented function.
//! What the layer costs over a bare `Validator::verify`: the same token verified directly, and
//! through a one-route axum `Router` with the layer and a `Verified<Claims>` handler, called
//! in-process with `tower::ServiceExt::oneshot` (no sockets). A third line is the same router
//! with the check written by hand in the handler, for what the layer adds over doing it
//! yourself.
//!
//! Run with `cargo bench -p keycard-axum` (about a minute).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keycard::{Algorithm, Builder, Claims, EcdsaPrivateKey, HmacKey, Signer, Validator};
use keycard_axum::{Authorizer, Verified};
use time::Duration;
use tower::ServiceExt;

fn token(key: &dyn Signer) -> String {
    Builder::new()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .audience("api")
        .expires_in(Duration::hours(1))
        .claim("scope", "read write")
        .sign(key)
        .unwrap_or_default()
}

fn request(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap_or_default()
}

fn bench(c: &mut Criterion, name: &str, validator: Validator, token: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let auth = Authorizer::new(validator.clone());
    let layered = Router::new().route(
        "/me",
        get(|Verified(claims): Verified<Claims>| async move {
            black_box(claims);
            StatusCode::OK
        })
        .layer(auth.require_scope("read")),
    );
    let by_hand = {
        let validator = validator.clone();
        Router::new().route(
            "/me",
            get(move |headers: axum::http::HeaderMap| async move {
                let token = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match token.map(|t| validator.verify::<Claims>(t)) {
                    Some(Ok(claims)) => {
                        black_box(claims);
                        StatusCode::OK
                    }
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
    };
    assert_eq!(
        runtime
            .block_on(layered.clone().oneshot(request(token)))
            .map(|r| r.status())
            .ok(),
        Some(StatusCode::OK)
    );

    let mut group = c.benchmark_group(name);
    group.bench_function("bare verify", |b| {
        b.iter(|| validator.verify::<Claims>(black_box(token)))
    });
    group.bench_function("router + layer", |b| {
        b.iter(|| runtime.block_on(layered.clone().oneshot(request(token))))
    });
    group.bench_function("router + verify in handler", |b| {
        b.iter(|| runtime.block_on(by_hand.clone().oneshot(request(token))))
    });
    group.finish();
}

fn layer(c: &mut Criterion) {
    let hmac = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")
        .unwrap_or_else(|e| panic!("{e}"));
    let hs256 = token(&hmac);
    let validator = Validator::builder(hmac)
        .issuer("https://auth.example.com")
        .audience("api")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    bench(c, "HS256", validator, &hs256);

    let ec = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap_or_else(|e| panic!("{e}"));
    let es256 = token(&ec);
    let validator = Validator::builder(ec.public_key())
        .issuer("https://auth.example.com")
        .audience("api")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    bench(c, "ES256", validator, &es256);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = layer
}
criterion_main!(benches);
