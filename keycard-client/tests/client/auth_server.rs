//! A small RFC 6749 authorization server and a resource server, over real HTTP on 127.0.0.1
//! (port 0), owned by the test and stopped when dropped: the token endpoint rotates refresh
//! tokens and detects their reuse, the resource server answers 401 `invalid_token` for an
//! expired or revoked access token. Both count what they see, and both can be held at a gate
//! so that a test forces the interleaving it needs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use keycard::time::Duration;
use keycard::{Clock, EcdsaPublicKey, Validator};
use keycard_client::TokenSet;
use keycard_test::TestClock;
use tokio::sync::watch;

pub(crate) const CLIENT_ID: &str = "the-client";
pub(crate) const SECRET: &str = "the secret/+";

/// What the token endpoint does with the next requests.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    Normal,
    /// Every request: this status and body (`content-type: text/html` unless it is JSON).
    Reply(u16, String),
    /// A redirect to another path.
    Redirect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    Active,
    Used,
    Revoked,
}

struct Inner {
    clock: TestClock,
    mode: Mutex<Mode>,
    lifetime: Mutex<Duration>,
    issued: AtomicUsize,
    refresh_tokens: Mutex<HashMap<String, Refresh>>,
    /// Access token -> expiry (Unix seconds); revoked ones are removed.
    access: Mutex<HashMap<String, i64>>,
    /// Every token-endpoint request, and those of the refresh grant.
    token_requests: AtomicUsize,
    token_arrived: watch::Sender<usize>,
    refresh_requests: AtomicUsize,
    reuse_detected: AtomicUsize,
    auth_seen: Mutex<Vec<String>>,
    assertion_key: Mutex<Option<EcdsaPublicKey>>,
    token_gate: watch::Sender<bool>,
    /// Resource requests, per `x-request-id`, and how many reached the gate.
    resource_requests: AtomicUsize,
    /// The resource server refuses every token.
    refuse_all: AtomicBool,
    /// Resource requests carrying anything that looks like a refresh token.
    refresh_token_leaks: AtomicUsize,
    per_request: Mutex<HashMap<String, usize>>,
    resource_arrived: watch::Sender<usize>,
    resource_gate: watch::Sender<bool>,
    addr: Mutex<Option<SocketAddr>>,
}

/// The servers; stopped when dropped.
pub(crate) struct AuthServer {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AuthServer {
    /// Both servers on one free loopback port, on `clock`; access tokens live 10 minutes.
    pub(crate) async fn start(clock: &TestClock) -> AuthServer {
        let (token_arrived, _) = watch::channel(0);
        let (resource_arrived, _) = watch::channel(0);
        let (token_gate, _) = watch::channel(true);
        let (resource_gate, _) = watch::channel(true);
        let inner = Arc::new(Inner {
            clock: clock.clone(),
            mode: Mutex::new(Mode::Normal),
            lifetime: Mutex::new(Duration::minutes(10)),
            issued: AtomicUsize::new(0),
            refresh_tokens: Mutex::new(HashMap::new()),
            access: Mutex::new(HashMap::new()),
            token_requests: AtomicUsize::new(0),
            token_arrived,
            refresh_requests: AtomicUsize::new(0),
            reuse_detected: AtomicUsize::new(0),
            auth_seen: Mutex::new(Vec::new()),
            assertion_key: Mutex::new(None),
            token_gate,
            resource_requests: AtomicUsize::new(0),
            refuse_all: AtomicBool::new(false),
            refresh_token_leaks: AtomicUsize::new(0),
            per_request: Mutex::new(HashMap::new()),
            resource_arrived,
            resource_gate,
            addr: Mutex::new(None),
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/api", any(resource))
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        *inner.addr.lock().unwrap() = Some(addr);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        AuthServer { inner, addr, task }
    }

    pub(crate) fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub(crate) fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    pub(crate) fn accept_assertions_from(&self, key: EcdsaPublicKey) {
        *self.inner.assertion_key.lock().unwrap() = Some(key);
    }

    /// A token set as sign-in would have issued it (no token-endpoint request is counted).
    pub(crate) fn sign_in(&self) -> TokenSet {
        let (access, refresh) = issue(&self.inner, true);
        let lifetime = *self.inner.lifetime.lock().unwrap();
        TokenSet::new(access, refresh, self.inner.clock.now(), lifetime)
    }

    /// From now on the resource server refuses every token, even a fresh one.
    pub(crate) fn refuse_all(&self) {
        self.inner.refuse_all.store(true, Ordering::SeqCst);
    }

    pub(crate) fn revoke_access(&self, token: &str) {
        self.inner.access.lock().unwrap().remove(token);
    }

    pub(crate) fn revoke_refresh(&self, token: &str) {
        self.inner
            .refresh_tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), Refresh::Revoked);
    }

    pub(crate) fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn refresh_requests(&self) -> usize {
        self.inner.refresh_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn reuse_detected(&self) -> usize {
        self.inner.reuse_detected.load(Ordering::SeqCst)
    }

    pub(crate) fn auth_seen(&self) -> Vec<String> {
        self.inner.auth_seen.lock().unwrap().clone()
    }

    /// Resource requests that carried a refresh token anywhere in their headers.
    pub(crate) fn refresh_token_leaks(&self) -> usize {
        self.inner.refresh_token_leaks.load(Ordering::SeqCst)
    }

    pub(crate) fn resource_requests(&self) -> usize {
        self.inner.resource_requests.load(Ordering::SeqCst)
    }

    /// The most requests the resource server saw with one `x-request-id`.
    pub(crate) fn most_sends_of_one_request(&self) -> usize {
        let per = self.inner.per_request.lock().unwrap();
        per.values().copied().max().unwrap_or(0)
    }

    pub(crate) fn hold_tokens(&self, hold: bool) {
        self.inner.token_gate.send_replace(!hold);
    }

    pub(crate) fn hold_resources(&self, hold: bool) {
        self.inner.resource_gate.send_replace(!hold);
    }

    /// Waits until `n` token-endpoint requests have arrived.
    pub(crate) async fn token_arrivals(&self, n: usize) {
        let mut arrived = self.inner.token_arrived.subscribe();
        let _ = arrived.wait_for(|seen| *seen >= n).await;
    }

    /// Waits until `n` resource requests have arrived (and wait at the gate, if it is shut).
    pub(crate) async fn resource_arrivals(&self, n: usize) {
        let mut arrived = self.inner.resource_arrived.subscribe();
        let _ = arrived.wait_for(|seen| *seen >= n).await;
    }
}

/// A new access token (and refresh token if asked), recorded.
fn issue(inner: &Inner, with_refresh: bool) -> (String, Option<String>) {
    let n = inner.issued.fetch_add(1, Ordering::SeqCst);
    let lifetime = *inner.lifetime.lock().unwrap();
    let access = format!("at-{n}");
    let expires = inner.clock.now().unix_timestamp() + lifetime.whole_seconds();
    inner.access.lock().unwrap().insert(access.clone(), expires);
    let refresh = with_refresh.then(|| {
        let refresh = format!("rt-{n}");
        inner
            .refresh_tokens
            .lock()
            .unwrap()
            .insert(refresh.clone(), Refresh::Active);
        refresh
    });
    (access, refresh)
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(code: &str) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({ "error": code, "error_description": "refused by the test server" }),
    )
}

async fn metadata(State(inner): State<Arc<Inner>>) -> Response {
    let addr = inner.addr.lock().unwrap().expect("bound");
    json(
        StatusCode::OK,
        serde_json::json!({
            "issuer": format!("http://{addr}"),
            "token_endpoint": format!("http://{addr}/token"),
        }),
    )
}

async fn token(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let seen = inner.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    inner.token_arrived.send_replace(seen);
    let mut gate = inner.token_gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;

    let mode = inner.mode.lock().unwrap().clone();
    match mode {
        Mode::Normal => {}
        Mode::Reply(status, body) => {
            let kind = if body.starts_with('{') {
                "application/json"
            } else {
                "text/html"
            };
            let status = StatusCode::from_u16(status).expect("a status");
            return (status, [(header::CONTENT_TYPE, kind)], body).into_response();
        }
        Mode::Redirect => {
            return (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response();
        }
    }

    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(method) = authenticate(&inner, &headers, &form) else {
        return oauth_error("invalid_client");
    };
    inner.auth_seen.lock().unwrap().push(method.to_owned());
    let issued = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            inner.refresh_requests.fetch_add(1, Ordering::SeqCst);
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            let mut tokens = inner.refresh_tokens.lock().unwrap();
            match tokens.get(&presented).copied() {
                Some(Refresh::Active) => {
                    tokens.insert(presented, Refresh::Used);
                    drop(tokens);
                    issue(&inner, true)
                }
                Some(Refresh::Used) => {
                    inner.reuse_detected.fetch_add(1, Ordering::SeqCst);
                    return oauth_error("invalid_grant");
                }
                Some(Refresh::Revoked) | None => return oauth_error("invalid_grant"),
            }
        }
        Some("client_credentials") => issue(&inner, false),
        _ => return oauth_error("unsupported_grant_type"),
    };
    let lifetime = *inner.lifetime.lock().unwrap();
    let mut answer = serde_json::json!({
        "access_token": issued.0,
        "token_type": "Bearer",
        "expires_in": lifetime.whole_seconds(),
    });
    if let Some(refresh) = issued.1 {
        answer["refresh_token"] = refresh.into();
    }
    json(StatusCode::OK, answer)
}

/// RFC 6749 §2.3: Basic, a secret in the body, or a JWT assertion (RFC 7523), verified; the
/// method used, or `None` to refuse.
fn authenticate(
    inner: &Inner,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<&'static str> {
    use base64::Engine as _;
    let refuse = || None;
    let method = if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap_or_default();
        let decoded = String::from_utf8(decoded).unwrap_or_default();
        let (id, secret) = decoded.split_once(':').unwrap_or_default();
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        if decode(id) != CLIENT_ID || decode(secret) != SECRET {
            return refuse();
        }
        "client_secret_basic"
    } else if let Some(secret) = form.get("client_secret") {
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) || secret != SECRET {
            return refuse();
        }
        "client_secret_post"
    } else if let Some(assertion) = form.get("client_assertion") {
        let Some(key) = inner.assertion_key.lock().unwrap().clone() else {
            return refuse();
        };
        let addr = inner.addr.lock().unwrap().expect("bound");
        let validator = Validator::builder(key)
            .issuer(CLIENT_ID)
            .audience(format!("http://{addr}/token"))
            .clock(inner.clock.clone())
            .build()
            .expect("a validator");
        let claims: serde_json::Value = match validator.verify(assertion) {
            Ok(claims) => claims,
            Err(_) => return refuse(),
        };
        if claims["sub"] != CLIENT_ID || !claims["jti"].is_string() || !claims["exp"].is_i64() {
            return refuse();
        }
        "private_key_jwt"
    } else {
        "none"
    };
    Some(method)
}

async fn resource(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    inner.resource_requests.fetch_add(1, Ordering::SeqCst);
    let known = inner
        .refresh_tokens
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    if headers.values().any(|value| {
        let value = String::from_utf8_lossy(value.as_bytes());
        known.iter().any(|refresh| value.contains(refresh.as_str()))
    }) {
        inner.refresh_token_leaks.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        *inner
            .per_request
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_insert(0) += 1;
    }
    inner.resource_arrived.send_modify(|n| *n += 1);
    let mut gate = inner.resource_gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;

    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let now = inner.clock.now().unix_timestamp();
    let valid = inner
        .access
        .lock()
        .unwrap()
        .get(token)
        .is_some_and(|expires| now < *expires);
    if valid && !inner.refuse_all.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                r#"Bearer realm="api", error="invalid_token""#,
            )],
        )
            .into_response()
    }
}
