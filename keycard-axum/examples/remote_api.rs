//! An API that accepts access tokens from an identity provider, found by OpenID Connect
//! discovery: `GET /orders` needs the `orders:read` scope, `GET /catalog` is open to anonymous
//! callers and greets signed-in ones.
//!
//! ```text
//! KEYCARD_ISSUER=https://your-tenant.auth0.com/ KEYCARD_AUDIENCE=https://api.example.com \
//!     cargo run -p keycard-axum --example remote_api
//! curl -s localhost:3000/orders -H "authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! A start-up failure (discovery, the first fetch) prints its message and kind, e.g.
//! ``Error: `https://…/jwks` answered HTTP 503, not 200 [key_source]``.
//!
//! For Google, Entra ID, Auth0, Okta, Cognito and Keycloak, `keycard_jwks::Provider` sets that
//! provider's rules for the whole API (docs/axum.md, "Provider presets").

use axum::routing::get;
use axum::{Json, Router};
use keycard::{Algorithm, Validator};
use keycard_axum::{Authorizer, Verified};
use keycard_jwks::{RemoteKeySet, ValidatorExt};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Caller {
    sub: String,
}

async fn orders(Verified(caller): Verified<Caller>) -> Json<Value> {
    Json(json!({ "orders": [], "for": caller.sub }))
}

async fn catalog(caller: Option<Verified<Caller>>) -> Json<Value> {
    let greeting = caller.map_or("welcome".to_owned(), |Verified(c)| {
        format!("welcome back, {}", c.sub)
    });
    Json(json!({ "items": ["tea", "cake"], "greeting": greeting }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("KEYCARD_ISSUER")?;
    let audience = std::env::var("KEYCARD_AUDIENCE")?;
    let keys = RemoteKeySet::discover(issuer)
        .algorithms([Algorithm::RS256, Algorithm::ES256])
        .await?;
    println!(
        "keys from {} ({} loaded)",
        keys.jwks_uri(),
        keys.stats().keys
    );
    let auth = Authorizer::new(
        Validator::builder_with_remote(&keys)
            .audience(audience)
            // RFC 9068 access tokens say `at+jwt`; `JWT` also admits untyped ones.
            .token_type("at+jwt")
            .token_type("JWT")
            .build()?,
    );
    let app = Router::new()
        .route(
            "/orders",
            get(orders).layer(auth.require_scope("orders:read")),
        )
        .route("/catalog", get(catalog).layer(auth.optional()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
