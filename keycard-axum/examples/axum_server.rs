//! An axum server whose endpoints are guarded by keycard, through keycard-axum's layer.
//!
//! - `POST /login` `{"username", "password"}`: an access/refresh pair (OAuth 2.0 token response).
//! - `POST /refresh` `{"refresh_token"}`: the next pair; the presented refresh token is used up,
//!   and presenting it again revokes the whole session (refresh-token reuse detection).
//! - `POST /logout` (bearer access token) with `{"refresh_token"}`: revokes the session.
//! - `GET /me` (bearer access token): the caller's claims.
//! - `GET /admin` (bearer access token with the `admin` scope).
//!
//! The protected routes take `auth.layer()` or `auth.require_scope("admin")`; their failures
//! answer 400, 401 or 403 with `WWW-Authenticate` as RFC 6750 §3 says, naming only the error kind
//! (`expired`, `signature`, ...), never more of why a check failed. An identity provider's keys
//! work the same way: `Authorizer::new(Validator::builder_with_remote(&keys)...build()?)` with
//! `keycard_jwks::RemoteKeySet` (see `docs/axum.md`).
//!
//! Sessions and revocations live in memory, or in Redis when `REDIS_URL` is set
//! (`REDIS_URL=redis://127.0.0.1:6379/`): then several instances behind a load balancer share
//! them (keycard-redis; see `docs/several-instances.md`; the instances must also share the
//! signing key, which this demo generates at start-up).
//!
//! Run with `cargo run -p keycard-axum --example axum_server` (listens on 127.0.0.1:3000, or on the address in
//! `KEYCARD_ADDR`; `127.0.0.1:0` picks a free port) and try:
//!
//! ```text
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"wonderland"}'
//! curl -s localhost:3000/me -H "authorization: Bearer $ACCESS_TOKEN"
//! ```

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keycard::{Algorithm, Claims, Error, HmacKey};
use keycard_axum::{Authorizer, Verified};
use keycard_lifecycle::{TokenIssuer, TokenPair};
use keycard_redis::{RedisConfig, RedisStore};
use serde::Deserialize;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = router().await?;
    let addr = std::env::var("KEYCARD_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // The first line of output is the address, for whoever started us (the tests read it).
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn router() -> Result<Router, Error> {
    // One HMAC key that signs and verifies; an RS256 or ES256 key pair works the same way, with
    // the public key given to the validator.
    let key = HmacKey::generate(Algorithm::HS256)?;
    // No grace period, so that a replay is refused at once in this demo; a service keeps the
    // default (30 s), under which a client's concurrent refreshes get the same pair.
    let mut issuer = TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .grace_period(keycard::time::Duration::ZERO);
    if let Ok(url) = std::env::var("REDIS_URL") {
        // Refresh families and revocations shared by every instance on this Redis; the
        // validators below read revocations from the store's local view, without network I/O.
        let store = Arc::new(RedisStore::connect(RedisConfig::new(url)).await?);
        issuer = issuer.families(store.clone()).revocations(store);
    }
    let issuer = issuer.build()?;
    // The API's side: access tokens of this issuer (revocations included), realm "api".
    let auth = Authorizer::new(issuer.access_validator().build()?);
    Ok(Router::new()
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout).layer(auth.layer()))
        .route("/me", get(me).layer(auth.layer()))
        .route("/admin", get(admin).layer(auth.require_scope("admin")))
        .with_state(Arc::new(issuer)))
}

type Shared = Arc<TokenIssuer>;

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

/// A demo user table; a real service checks a password hash.
fn scopes_of(user: &Login) -> Option<&'static str> {
    match (user.username.as_str(), user.password.as_str()) {
        ("alice", "wonderland") => Some("read"),
        ("root", "correct horse battery staple") => Some("read admin"),
        _ => None,
    }
}

async fn login(
    State(issuer): State<Shared>,
    Json(user): Json<Login>,
) -> Result<Json<TokenPair>, GrantError> {
    let scope = scopes_of(&user).ok_or(GrantError("invalid_credentials"))?;
    // Issuing fails only on our side (a store, the signer): 500, telling nothing.
    let pair = issuer
        .issue(&user.username, &json!({ "scope": scope }))
        .await
        .map_err(|_| GrantError("server_error"))?;
    Ok(Json(pair))
}

async fn refresh(
    State(issuer): State<Shared>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, GrantError> {
    issuer
        .refresh(&request.refresh_token)
        .await
        .map(Json)
        .map_err(|e| GrantError(e.kind().as_str()))
}

async fn logout(
    State(issuer): State<Shared>,
    _caller: Verified<Claims>,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, GrantError> {
    // Whoever holds a refresh token may already use it; ending its session is no more power.
    // Revoking the session revokes its access tokens too.
    issuer
        .revoke(&request.refresh_token)
        .await
        .map_err(|e| GrantError(e.kind().as_str()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Verified(caller): Verified<Claims>) -> Json<Claims> {
    Json(caller)
}

async fn admin(Verified(caller): Verified<Claims>) -> Json<serde_json::Value> {
    Json(json!({ "welcome": caller.subject }))
}

/// The token endpoint's failures (login, refresh, logout): 400 `invalid_grant` (RFC 6749 §5.2);
/// `GrantError("server_error")` is a failure on our side: 500 `server_error` instead.
struct GrantError(&'static str);

impl IntoResponse for GrantError {
    fn into_response(self) -> Response {
        if self.0 == "server_error" {
            let body = json!({ "error": "server_error" });
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
        let body = json!({ "error": "invalid_grant", "error_description": self.0 });
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}
