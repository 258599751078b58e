//! An OAuth 2.0 token service in an axum app: keycard-oauth's endpoints mounted with
//! `keycard_axum::oauth::router`, one confidential client (`backend`, client_secret_basic), one
//! public client (`spa`, refresh tokens from the app's own `/login`), and a protected `/api/me`.
//!
//! ```text
//! cargo run -p keycard-axum --example token_service        # PORT=8080 to choose the port
//! ```
//!
//! It prints curl commands that work against it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use keycard::{Algorithm, Claims, EcdsaPrivateKey};
use keycard_axum::{Authorizer, Verified};
use keycard_oauth::{AuthMethod, Client, GrantType, SecretHash, StaticClients, TokenService};
use serde::Deserialize;

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The application's own login page, first-party, without redirects: it checks the user itself
/// (here a demo password), then asks the service for a pair for its public client.
async fn login(
    State(service): State<TokenService>,
    Json(login): Json<Login>,
) -> Result<Json<keycard_oauth::TokenResponse>, StatusCode> {
    if login.password != "demo" {
        return Err(StatusCode::UNAUTHORIZED);
    }
    service
        .issue_pair("spa", &login.username, None)
        .await
        .map(Json)
        .map_err(|e| e.status())
}

async fn me(Verified(claims): Verified<Claims>) -> String {
    format!("hello {}\n", claims.subject.unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let base = format!("http://{}", listener.local_addr()?);

    let (secret, hash) = SecretHash::generate()?;
    let clients = StaticClients::new()
        .with(
            Client::confidential("backend", AuthMethod::ClientSecretBasic, hash)
                .grant(GrantType::ClientCredentials)
                .scope("orders:read"),
        )
        .with(
            Client::public("spa")
                .grant(GrantType::RefreshToken)
                .scope("orders:read")
                .scope("profile"),
        );
    let key = EcdsaPrivateKey::generate(Algorithm::ES256)?.with_key_id("example-1");
    let service = TokenService::builder(base.clone(), key)
        .audience("api")
        .clients(clients)
        .build()?;

    // The resource server in the same process: the service's own validator, revocations
    // included. One elsewhere would discover `base` with keycard-jwks.
    let auth = Authorizer::new(service.access_validator().build()?);
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me).layer(auth.layer()))
        .with_state(service.clone())
        .merge(keycard_axum::oauth::router(service));

    println!("token service at {base}; try:\n");
    println!("  # service-to-service (client_credentials, HTTP Basic)");
    println!("  curl -s -u backend:{secret} -d grant_type=client_credentials {base}/token\n");
    println!("  # the app's own login, then refresh and sign out with its public client");
    println!("  LOGIN=$(curl -s -H 'content-type: application/json' -d '{{\"username\":\"alice\",\"password\":\"demo\"}}' {base}/login); echo \"$LOGIN\"");
    println!("  REFRESH=$(echo \"$LOGIN\" | sed 's/.*\"refresh_token\":\"\\([^\"]*\\)\".*/\\1/')");
    println!("  ACCESS=$(echo \"$LOGIN\" | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')");
    println!("  curl -s -H \"Authorization: Bearer $ACCESS\" {base}/api/me");
    println!("  curl -s -u backend:{secret} -d token=$ACCESS {base}/introspect");
    println!("  curl -s -d grant_type=refresh_token -d client_id=spa -d scope=profile -d refresh_token=$REFRESH {base}/token");
    println!("  curl -s -d client_id=spa -d token=$REFRESH {base}/revoke");
    println!("  curl -s -H \"Authorization: Bearer $ACCESS\" {base}/api/me   # 401 now\n");
    println!("  # discovery and keys");
    println!("  curl -s {base}/.well-known/oauth-authorization-server");
    println!("  curl -s {base}/jwks.json");
    axum::serve(listener, app).await?;
    Ok(())
}
