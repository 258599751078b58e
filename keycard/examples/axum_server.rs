//! An axum server whose endpoints are guarded by keycard.
//!
//! - `POST /login` `{"username", "password"}`: an access/refresh pair (OAuth 2.0 token response).
//! - `POST /refresh` `{"refresh_token"}`: the next pair; the presented refresh token is used up,
//!   and presenting it again revokes the whole session (refresh-token reuse detection).
//! - `POST /logout` (bearer access token) with `{"refresh_token"}`: revokes the session.
//! - `GET /me` (bearer access token): the caller's claims.
//! - `GET /admin` (bearer access token with the `admin` scope).
//!
//! Failures of a protected route answer 401 or 403 with `WWW-Authenticate` as RFC 6750 §3 says,
//! naming only the error kind (`expired`, `signature`, ...), never more of why a check failed.
//!
//! Run with `cargo run --example axum_server` (listens on 127.0.0.1:3000, or on the address in
//! `KEYCARD_ADDR`; `127.0.0.1:0` picks a free port) and try:
//!
//! ```text
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"wonderland"}'
//! curl -s localhost:3000/me -H "authorization: Bearer $ACCESS_TOKEN"
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keycard::{Algorithm, Claims, Error, ErrorKind, HmacKey, TokenIssuer, TokenPair, Validator};
use serde::Deserialize;
use serde_json::json;

/// What every handler shares: the issuer (the auth service's side) and one validator per access
/// policy (the API's side), all built once at start-up.
struct App {
    issuer: TokenIssuer,
    any_caller: Validator,
    admins: Validator,
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = Arc::new(app()?);
    let addr = std::env::var("KEYCARD_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // The first line of output is the address, for whoever started us (the tests read it).
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(app)).await?;
    Ok(())
}

fn app() -> Result<App, Error> {
    // One HMAC key that signs and verifies; an RS256 or ES256 key pair works the same way, with
    // the public key given to the validators.
    let key = HmacKey::generate(Algorithm::HS256)?;
    // No grace period, so that a replay is refused at once in this demo; a service keeps the
    // default (30 s), under which a client's concurrent refreshes get the same pair.
    let issuer = TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .grace_period(keycard::time::Duration::ZERO)
        .build()?;
    Ok(App {
        any_caller: issuer.access_validator().build()?,
        admins: issuer.access_validator().require_scope("admin").build()?,
        issuer,
    })
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/admin", get(admin))
        .with_state(app)
}

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
    State(app): State<Shared>,
    Json(user): Json<Login>,
) -> Result<Json<TokenPair>, ApiError> {
    let scope = scopes_of(&user).ok_or(ApiError::InvalidGrant("invalid_credentials"))?;
    let pair = app
        .issuer
        .issue(&user.username, &json!({ "scope": scope }))?;
    Ok(Json(pair))
}

async fn refresh(
    State(app): State<Shared>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    app.issuer
        .refresh(&request.refresh_token)
        .map(Json)
        .map_err(|e| ApiError::InvalidGrant(e.kind().as_str()))
}

async fn logout(
    State(app): State<Shared>,
    _caller: Authorized<AnyCaller>,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    // Whoever holds a refresh token may already use it; ending its session is no more power.
    // Revoking the session revokes its access tokens too.
    app.issuer
        .revoke(&request.refresh_token)
        .map_err(|e| ApiError::InvalidGrant(e.kind().as_str()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Authorized(caller, _): Authorized<AnyCaller>) -> Json<Claims> {
    Json(caller)
}

async fn admin(Authorized(caller, _): Authorized<AdminsOnly>) -> Json<serde_json::Value> {
    Json(json!({ "welcome": caller.subject }))
}

/// Which validator guards a route.
trait Policy: Send + Sync + 'static {
    fn validator(app: &App) -> &Validator;
}

/// Any valid access token.
struct AnyCaller;

impl Policy for AnyCaller {
    fn validator(app: &App) -> &Validator {
        &app.any_caller
    }
}

/// Access tokens with the `admin` scope.
struct AdminsOnly;

impl Policy for AdminsOnly {
    fn validator(app: &App) -> &Validator {
        &app.admins
    }
}

/// The verified claims of the request's bearer token (RFC 6750 §2.1), checked by `P`'s
/// validator. A handler that takes this argument runs only for a valid token.
struct Authorized<P>(Claims, PhantomData<P>);

impl<P: Policy> FromRequestParts<Shared> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::NoToken)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(ApiError::InvalidRequest)?;
        let claims = P::validator(app).verify(token)?;
        Ok(Authorized(claims, PhantomData))
    }
}

/// How a request fails, mapped to HTTP as RFC 6750 §3 and RFC 6749 §5.2 say.
#[derive(Debug)]
enum ApiError {
    /// No credentials at all: a bare challenge (RFC 6750 §3.1).
    NoToken,
    /// An `Authorization` header that is not a bearer token.
    InvalidRequest,
    /// The token failed a check; only the kind is told.
    Token(Error),
    /// The token endpoint's failures (login, refresh, logout): 400 `invalid_grant`.
    InvalidGrant(&'static str),
    /// Something on our side.
    Internal,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e.kind() {
            ErrorKind::Store | ErrorKind::Signing | ErrorKind::Configuration => ApiError::Internal,
            _ => ApiError::Token(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match self {
            ApiError::NoToken => (
                StatusCode::UNAUTHORIZED,
                Some(r#"Bearer realm="api""#.to_owned()),
                json!({ "error": "missing_token" }),
            ),
            ApiError::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                Some(r#"Bearer realm="api", error="invalid_request""#.to_owned()),
                json!({ "error": "invalid_request" }),
            ),
            ApiError::Token(e) if e.kind() == ErrorKind::InsufficientScope => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    r#"Bearer realm="api", error="insufficient_scope", scope="admin", error_description="{}""#,
                    e.kind()
                )),
                json!({ "error": "insufficient_scope" }),
            ),
            ApiError::Token(e) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                    e.kind()
                )),
                json!({ "error": "invalid_token", "error_description": e.kind().as_str() }),
            ),
            ApiError::InvalidGrant(why) => (
                StatusCode::BAD_REQUEST,
                None,
                json!({ "error": "invalid_grant", "error_description": why }),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                json!({ "error": "server_error" }),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(challenge) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
