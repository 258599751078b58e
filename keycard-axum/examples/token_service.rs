//! An OAuth 2.0 token service in an axum app: keycard-oauth's endpoints mounted with
//! `keycard_axum::oauth::router`, one confidential client (`backend`, client_secret_basic), one
//! public client (`spa`: the code flow with PKCE through the app's `/authorize`, or a pair from
//! its first-party `/login`; refresh and revocation), and a protected `/api/me`.
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
use keycard_oauth::{
    AuthMethod, AuthorizationRequest, Client, GrantType, SecretHash, StaticClients, TokenService,
};
use serde::Deserialize;

/// What the demo login page receives: the client's authorization request (RFC 6749 §4.1.1,
/// RFC 7636 §4.3) and the user's credentials. A real page shows a form; JSON keeps the demo short.
#[derive(Deserialize)]
struct Authorize {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    code_challenge_method: String,
    username: String,
    password: String,
}

/// The application's login page for the code flow: it signs the user in, asks the service for
/// a one-time code, and redirects back to the client with it.
async fn authorize(
    State(service): State<TokenService>,
    Json(request): Json<Authorize>,
) -> Result<axum::response::Redirect, StatusCode> {
    if request.password != "demo" {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let code = service
        .issue_code(&AuthorizationRequest::new(
            request.client_id,
            request.redirect_uri.clone(),
            request.code_challenge,
            request.code_challenge_method,
            request.username,
        ))
        .await
        .map_err(|e| e.status())?;
    // The redirect URI was checked against the client's registration by `issue_code`.
    Ok(axum::response::Redirect::to(&format!(
        "{}?code={code}",
        request.redirect_uri
    )))
}

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

/// The public client's registered redirect URI.
const CALLBACK: &str = "http://127.0.0.1/callback";

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
                .grant(GrantType::AuthorizationCode)
                .redirect_uri(CALLBACK)
                .scope("orders:read")
                .scope("profile"),
        );
    let key = EcdsaPrivateKey::generate(Algorithm::ES256)?.with_key_id("example-1");
    let service = TokenService::builder(base.clone(), key)
        .audience("api")
        .clients(clients)
        .authorization_endpoint(format!("{base}/authorize"))
        .build()?;

    // The resource server in the same process: the service's own validator, revocations
    // included. One elsewhere would discover `base` with keycard-jwks.
    let auth = Authorizer::new(service.access_validator().build()?);
    let app = Router::new()
        .route("/login", post(login))
        .route("/authorize", post(authorize))
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
    println!("  # authorization_code + PKCE (the RFC 7636 Appendix B verifier and challenge)");
    println!("  CODE=$(curl -s -o /dev/null -w '%{{redirect_url}}' -H 'content-type: application/json' -d '{{\"client_id\":\"spa\",\"redirect_uri\":\"{CALLBACK}\",\"code_challenge\":\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\",\"code_challenge_method\":\"S256\",\"username\":\"bob\",\"password\":\"demo\"}}' {base}/authorize | sed 's/.*code=//')");
    println!("  curl -s -d grant_type=authorization_code -d client_id=spa -d code=$CODE -d redirect_uri={CALLBACK} -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk {base}/token");
    println!("  curl -s -d grant_type=authorization_code -d client_id=spa -d code=$CODE -d redirect_uri={CALLBACK} -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk {base}/token   # invalid_grant: used\n");
    println!("  # discovery and keys");
    println!("  curl -s {base}/.well-known/oauth-authorization-server");
    println!("  curl -s {base}/jwks.json");
    axum::serve(listener, app).await?;
    Ok(())
}
