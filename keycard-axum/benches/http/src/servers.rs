//! The servers, one process each, on 127.0.0.1:0 and a current-thread tokio runtime (the runner
//! pins each to one core). Every server has the routes `/hs256` and `/rs256`, and every handler
//! answers the token's `sub` (the bare routes: the same text, no token read).
//!
//! The process prints `PORT <port>`, then answers each line on its stdin with
//! `ALLOCS <allocations> <reallocations>` (the counting allocator's totals).

use std::io::{BufRead, Write};

use serde::Deserialize;

use crate::fixtures::{self, AUDIENCE, ISSUER, SUBJECT};

/// The claims every protected handler reads.
#[derive(Debug, Clone, Deserialize)]
struct Sub {
    sub: String,
}

/// The kinds of server, as named on the command line and in the tables.
pub const KINDS: &[&str] = &[
    "bare-axum-0.8",
    "keycard-axum",
    #[cfg(feature = "cache")]
    "keycard-axum+cache",
    "jwt-authorizer",
    "bare-axum-0.7",
];

/// Runs the server `kind` until the process is killed.
pub fn serve(kind: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let port = listener.local_addr().expect("bound").port();
        let mut out = std::io::stdout().lock();
        writeln!(out, "PORT {port}")
            .and_then(|()| out.flush())
            .expect("stdout");
        drop(out);
        std::thread::spawn(report_allocations);
        match kind {
            "bare-axum-0.8" => axum::serve(listener, bare_08()).await,
            "keycard-axum" => axum::serve(listener, keycard_axum(false)).await,
            #[cfg(feature = "cache")]
            "keycard-axum+cache" => axum::serve(listener, keycard_axum(true)).await,
            "jwt-authorizer" => axum07::serve(listener, jwt_authorizer().await).await,
            "bare-axum-0.7" => axum07::serve(listener, bare_07()).await,
            other => panic!("unknown server {other:?}; one of {KINDS:?}"),
        }
        .expect("serving");
    });
}

fn report_allocations() {
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            return;
        }
        let (allocations, reallocations) = crate::alloc::counts();
        let mut out = std::io::stdout().lock();
        if writeln!(out, "ALLOCS {allocations} {reallocations}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

fn bare_08() -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/hs256", get(|| async { SUBJECT }))
        .route("/rs256", get(|| async { SUBJECT }))
}

fn bare_07() -> axum07::Router {
    use axum07::routing::get;
    axum07::Router::new()
        .route("/hs256", get(|| async { SUBJECT }))
        .route("/rs256", get(|| async { SUBJECT }))
}

/// keycard-axum's layer with the validator's defaults plus issuer and audience (what
/// jwt-authorizer checks: signature, `exp`, `nbf`, `iss`, `aud`), and a `Verified<Sub>` handler.
fn keycard_axum(cache: bool) -> axum::Router {
    use axum::routing::get;
    use keycard::Validator;
    use keycard_axum::{Authorizer, Verified};

    async fn handler(Verified(claims): Verified<Sub>) -> String {
        claims.sub
    }
    let hmac = fixtures::hmac();
    let rsa = fixtures::rsa().public_key();
    let hs256 = Validator::builder(hmac).issuer(ISSUER).audience(AUDIENCE);
    let rs256 = Validator::builder(rsa).issuer(ISSUER).audience(AUDIENCE);
    let (hs256, rs256) = if cache {
        with_cache(hs256, rs256)
    } else {
        (hs256, rs256)
    };
    let hs256 = Authorizer::new(hs256.build().expect("HS256 validator"));
    let rs256 = Authorizer::new(rs256.build().expect("RS256 validator"));
    axum::Router::new()
        .route("/hs256", get(handler).layer(hs256.layer()))
        .route("/rs256", get(handler).layer(rs256.layer()))
}

/// The verified-token cache of the core `Validator` (issue 23), on with `--features cache`. The
/// API is `ValidatorBuilder::cache_verified(max_entries, max_age)` as on branch `perf`; until it
/// is merged, building with the feature fails here and nowhere else.
#[cfg(feature = "cache")]
fn with_cache(
    hs256: keycard::ValidatorBuilder,
    rs256: keycard::ValidatorBuilder,
) -> (keycard::ValidatorBuilder, keycard::ValidatorBuilder) {
    use keycard::time::Duration;
    (
        hs256.cache_verified(10_000, Duration::minutes(5)),
        rs256.cache_verified(10_000, Duration::minutes(5)),
    )
}

#[cfg(not(feature = "cache"))]
fn with_cache(
    _: keycard::ValidatorBuilder,
    _: keycard::ValidatorBuilder,
) -> (keycard::ValidatorBuilder, keycard::ValidatorBuilder) {
    unreachable!("the cache row exists only with --features cache")
}

/// jwt-authorizer 0.15 (axum 0.7) checking signature, `exp`, `nbf`, `iss` and `aud`, and a
/// `JwtClaims<Sub>` handler.
async fn jwt_authorizer() -> axum07::Router {
    use axum07::routing::get;
    use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};

    async fn handler(JwtClaims(claims): JwtClaims<Sub>) -> String {
        claims.sub
    }
    let validation = || Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]).nbf(true);
    let rsa_pem = fixtures::rsa().public_key().to_pem();
    let hs256: Authorizer<Sub> = JwtAuthorizer::from_secret(fixtures::SECRET)
        .validation(validation())
        .build()
        .await
        .expect("jwt-authorizer HS256");
    let rs256: Authorizer<Sub> = JwtAuthorizer::from_rsa_pem_text(&rsa_pem)
        .validation(validation())
        .build()
        .await
        .expect("jwt-authorizer RS256");
    axum07::Router::new()
        .route("/hs256", get(handler).layer(hs256.into_layer()))
        .route("/rs256", get(handler).layer(rs256.into_layer()))
}

/// `claims`: what the keycard route's claims cost, counted by the allocator, to set beside the
/// allocations per request of the table: one `Validator::verify` into a JSON value (what the
/// layer does once), `Sub` read from that value (what `Verified<Sub>` does), and a parse of the
/// claims JSON text, which a second parse per request would add.
pub fn claims() {
    use keycard::Validator;
    let count = |f: &mut dyn FnMut()| {
        f();
        let before = crate::alloc::counts().0;
        f();
        crate::alloc::counts().0 - before
    };
    let hmac = fixtures::hmac();
    let token = fixtures::token(&hmac, SUBJECT, 0);
    let validator = Validator::builder(hmac)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("HS256 validator");
    let value: serde_json::Value = validator.verify(&token).expect("a valid token");
    let text = value.to_string();
    let verify = count(&mut || drop(validator.verify::<serde_json::Value>(&token)));
    let extract = count(&mut || drop(Sub::deserialize(&value)));
    let parse = count(&mut || drop(serde_json::from_str::<serde_json::Value>(&text)));
    println!("HS256 token of {} bytes, claims {text}", token.len());
    println!("allocations: Validator::verify into a Value {verify}, Sub from the Value {extract}, the claims JSON parsed again {parse}");
}
