//! A Cognito, an Entra ID multi-tenant and a Google API, each protected with a provider preset
//! in a few lines (between the `// --- protect` markers), over real HTTP: a token of another
//! app client, tenant or audience is refused on every route, without any per-route code.

use axum::routing::{get, post};
use axum::Router;
use keycard::{Algorithm, Builder, EcdsaPrivateKey};
use keycard_axum::Authorizer;
use keycard_jwks::Provider;
use serde_json::{json, Value};

use crate::provider::Provider as IdentityProvider;
use crate::remote::jwks;
use crate::{get as fetch, serve};

fn key() -> EcdsaPrivateKey {
    EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1")
}

/// Three routes, none with a rule of its own.
fn routes() -> Router {
    Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route("/orders", post(|| async { "created" }))
        .route("/me", get(|| async { "me" }))
}

/// `claims` signed by `key`, valid 5 minutes, with this header `typ`.
fn bearer(key: &EcdsaPrivateKey, typ: &str, claims: Value) -> String {
    let mut builder = Builder::new()
        .token_type(typ)
        .expires_in(time::Duration::minutes(5));
    for (name, value) in claims.as_object().unwrap() {
        builder = builder.claim(name.as_str(), value.clone());
    }
    format!("Bearer {}", builder.sign(key).unwrap())
}

/// Every route answers `good` with 200 and `other` with 401.
async fn every_route(base: &str, good: &str, other: &str) {
    for path in ["/orders", "/me"] {
        let url = format!("{base}{path}");
        assert_eq!(fetch(&url, &[good]).await.status, 200, "{path}");
        let refused = fetch(&url, &[other]).await;
        assert_eq!(refused.status, 401, "{path}: {refused:?}");
        assert!(refused.challenge.unwrap().contains("invalid_token"));
    }
    let refused = reqwest::Client::new()
        .post(format!("{base}/orders"))
        .header("authorization", other)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn a_cognito_api_in_a_few_lines_refuses_other_app_clients_everywhere() {
    let key = key();
    let idp = IdentityProvider::start(jwks(&[&key])).await;
    let jwks_uri = idp.jwks_uri();
    // --- protect
    let cognito = Provider::cognito("eu-west-1", "eu-west-1_Example", "app-a")
        .algorithms([Algorithm::ES256]) // local
        .jwks_url(jwks_uri) // local
        .remote(|keys| keys.allow_http()) // local
        .connect()
        .await
        .unwrap();
    let auth = Authorizer::builder()
        .validator(cognito.validator().unwrap())
        .rules(cognito.rules())
        .build()
        .unwrap();
    let app = routes().layer(auth.layer());
    // --- protect
    let base = serve(app).await;
    let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let access =
        |client: &str| json!({"iss": iss, "client_id": client, "token_use": "access", "sub": "s"});
    let good = bearer(&key, "JWT", access("app-a"));
    every_route(&base, &good, &bearer(&key, "JWT", access("app-b"))).await;
    let id_token = json!({"iss": iss, "aud": "app-a", "token_use": "id", "sub": "s"});
    every_route(&base, &good, &bearer(&key, "JWT", id_token)).await;
}

#[tokio::test]
async fn an_entra_multi_tenant_api_in_a_few_lines_refuses_other_tenants_everywhere() {
    let key = key();
    let idp = IdentityProvider::start(jwks(&[&key])).await;
    let jwks_uri = idp.jwks_uri();
    // --- protect
    let entra = Provider::entra_multi_tenant("api-client", ["tenant-a", "tenant-b"])
        .algorithms([Algorithm::ES256]) // local
        .jwks_url(jwks_uri) // local
        .remote(|keys| keys.allow_http()) // local
        .connect()
        .await
        .unwrap();
    let auth = Authorizer::builder()
        .validator(entra.validator().unwrap())
        .rules(entra.rules())
        .build()
        .unwrap();
    let app = routes().layer(auth.layer());
    // --- protect
    let base = serve(app).await;
    let token = |tid: &str, aud: &str| {
        let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
        bearer(
            &key,
            "JWT",
            json!({"iss": iss, "tid": tid, "aud": aud, "scp": "orders.read"}),
        )
    };
    let good = token("tenant-b", "api-client");
    every_route(&base, &good, &token("tenant-c", "api-client")).await;
    every_route(&base, &good, &token("tenant-a", "another-app")).await;
}

#[tokio::test]
async fn a_google_api_in_a_few_lines_refuses_other_audiences_everywhere() {
    let key = key();
    let idp = IdentityProvider::start(jwks(&[&key])).await;
    let jwks_uri = idp.jwks_uri();
    // --- protect
    let google = Provider::google("1234.apps.googleusercontent.com")
        .algorithms([Algorithm::ES256]) // local
        .jwks_url(jwks_uri) // local
        .remote(|keys| keys.allow_http()) // local
        .connect()
        .await
        .unwrap();
    let auth = Authorizer::builder()
        .validator(google.validator().unwrap())
        .rules(google.rules())
        .build()
        .unwrap();
    let app = routes().layer(auth.layer());
    // --- protect
    let base = serve(app).await;
    let token = |aud: &str| {
        bearer(
            &key,
            "JWT",
            json!({"iss": "https://accounts.google.com", "aud": aud, "sub": "1"}),
        )
    };
    every_route(
        &base,
        &token("1234.apps.googleusercontent.com"),
        &token("9999.apps.googleusercontent.com"),
    )
    .await;
}

/// The protected part of each test above stays within 12 lines as rustfmt writes them, not
/// counting the three lines marked `// local`, which point the preset at the local provider
/// (its ES256 key and its http URL) and which a real deployment does not write.
#[test]
fn each_preset_protects_an_api_in_at_most_12_lines() {
    let source = include_str!("presets.rs");
    let blocks: Vec<&str> = source.split("// --- protect\n").collect();
    let protected: Vec<usize> = blocks
        .iter()
        .skip(1)
        .step_by(2)
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.trim().starts_with("//"))
                .filter(|l| !l.ends_with("// local"))
                .count()
        })
        .collect();
    assert_eq!(protected.len(), 3, "{protected:?}");
    assert!(protected.iter().all(|&lines| lines <= 12), "{protected:?}");
}
