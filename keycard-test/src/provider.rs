//! [`IdentityProvider`]: a local identity provider over real HTTP, with fault modes.

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use keycard::EcdsaPrivateKey;
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;

/// What the JWKS endpoint (`/jwks`) answers, from now on: a good document, or a fault.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JwksReply {
    /// 200 with this document and, if given, this `Cache-Control` value (e.g. `max-age=120`).
    Document(String, Option<&'static str>),
    /// This status (e.g. 500, 503), with an empty body.
    Status(u16),
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with 10 MiB, announced in `Content-Length`.
    Huge,
    /// 200 with 10 MiB in chunks, without `Content-Length`.
    HugeChunked,
    /// Never answers.
    Stall,
    /// Sends the headers and a first chunk of the body, then never finishes it.
    StallBody,
    /// A redirect: this status (301, 302, 307, 308) with `Location: location`.
    Redirect {
        /// The status code.
        status: u16,
        /// Where to: another provider's [`jwks_uri`](IdentityProvider::jwks_uri), or this
        /// one's for a redirect loop.
        location: String,
    },
}

/// What the discovery endpoints answer, instead of the default (an OpenID configuration naming
/// [`issuer`](IdentityProvider::issuer) and [`jwks_uri`](IdentityProvider::jwks_uri)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Discovery {
    /// `/.well-known/openid-configuration` answers with this document.
    OpenId(Value),
    /// `/.well-known/openid-configuration` answers 404; the RFC 8414
    /// `/.well-known/oauth-authorization-server` answers with this document.
    OAuth(Value),
}

/// Holds the JWKS endpoint's answers while closed ([`IdentityProvider::close_gate`]): each
/// request waits for one permit.
#[derive(Debug, Clone)]
pub struct Gate(Arc<Semaphore>);

impl Gate {
    /// Lets `requests` more JWKS requests (waiting or still to come) through.
    pub fn release(&self, requests: usize) {
        self.0.add_permits(requests);
    }
}

/// An identity provider on 127.0.0.1 (port 0), over real HTTP: discovery documents (OpenID
/// Connect Discovery 1.0 at `/.well-known/openid-configuration`, RFC 8414 at
/// `/.well-known/oauth-authorization-server`) and a JWK Set at `/jwks`, whose answers the test
/// sets ([`serve`](Self::serve), [`publish`](Self::publish)) and whose requests it counts.
/// Every answer closes its connection, so that a stopped provider is really unreachable.
///
/// Stopped by [`stop`](Self::stop), or when dropped. Needs a tokio runtime with I/O and time.
pub struct IdentityProvider {
    shared: Arc<Shared>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    server: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    base: String,
    jwks: Mutex<JwksReply>,
    discovery: Mutex<Option<Discovery>>,
    gate: Mutex<Option<Gate>>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    /// Notified on every JWKS request.
    hit: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values, replaced whole: consistent after any panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IdentityProvider {
    /// Starts a provider whose JWKS endpoint serves `document` (200, no `Cache-Control`).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(document: String) -> IdentityProvider {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => panic!("the identity provider cannot bind 127.0.0.1:0: {e}"),
        };
        let base = match listener.local_addr() {
            Ok(address) => format!("http://{address}"),
            Err(e) => panic!("the identity provider's address: {e}"),
        };
        let shared = Arc::new(Shared {
            base,
            jwks: Mutex::new(JwksReply::Document(document, None)),
            discovery: Mutex::new(None),
            gate: Mutex::new(None),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            hit: Notify::new(),
        });
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(openid))
            .route("/.well-known/oauth-authorization-server", get(oauth))
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                panic!("the identity provider's server failed: {e}");
            }
        });
        IdentityProvider {
            shared,
            shutdown: Mutex::new(Some(stop)),
            server: Mutex::new(Some(server)),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.shared.base
    }

    /// The issuer the default discovery documents name: [`base`](Self::base) and `/`.
    pub fn issuer(&self) -> String {
        format!("{}/", self.shared.base)
    }

    /// The JWKS endpoint: [`base`](Self::base) and `/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.shared.base)
    }

    /// The default discovery document: `issuer` and `jwks_uri`.
    pub fn configuration(&self) -> Value {
        self.shared.configuration()
    }

    /// What the JWKS endpoint answers from the next request on.
    pub fn serve(&self, reply: JwksReply) {
        *lock(&self.shared.jwks) = reply;
    }

    /// Serves `document` (200, no `Cache-Control`) from the next request on.
    pub fn publish(&self, document: String) {
        self.serve(JwksReply::Document(document, None));
    }

    /// Rotates the keys: publishes the public halves of `keys` (and only those) from the next
    /// request on. Publish the next key beside the current one first, then withdraw the old.
    pub fn publish_keys(&self, keys: &[&EcdsaPrivateKey]) {
        self.publish(crate::keys::jwks(keys));
    }

    /// What the discovery endpoints answer from now on.
    pub fn set_discovery(&self, discovery: Discovery) {
        *lock(&self.shared.discovery) = Some(discovery);
    }

    /// Makes every JWKS request from now on wait for a permit of the returned [`Gate`] before it
    /// is answered: to hold a fetch in flight while the test lines other requests up.
    pub fn close_gate(&self) -> Gate {
        let gate = Gate(Arc::new(Semaphore::new(0)));
        *lock(&self.shared.gate) = Some(gate.clone());
        gate
    }

    /// JWKS requests from now on are answered at once again (those already waiting still wait
    /// for their gate's permits).
    pub fn open_gate(&self) {
        *lock(&self.shared.gate) = None;
    }

    /// JWKS requests received so far (counted on arrival, before any gate or stall).
    pub fn jwks_hits(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    /// Discovery requests received so far, both endpoints.
    pub fn discovery_hits(&self) -> usize {
        self.shared.discovery_hits.load(Ordering::SeqCst)
    }

    /// Waits until the JWKS endpoint has received `n` requests.
    ///
    /// # Panics
    /// After 10 s without them, naming how many arrived.
    pub async fn wait_for_hits(&self, n: usize) {
        let wait = async {
            loop {
                let notified = self.shared.hit.notified();
                if self.jwks_hits() >= n {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            panic!(
                "the identity provider saw {} JWKS requests, not {n}",
                self.jwks_hits()
            );
        }
    }

    /// Stops the server: connections are refused from now on. Requests in flight get 1 s to
    /// finish (a stalled one is cut off).
    pub async fn stop(&self) {
        if let Some(stop) = lock(&self.shutdown).take() {
            let _ = stop.send(());
        }
        let server = lock(&self.server).take();
        if let Some(mut server) = server {
            if tokio::time::timeout(Duration::from_secs(1), &mut server)
                .await
                .is_err()
            {
                server.abort();
                let _ = server.await;
            }
        }
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        if let Some(server) = lock(&self.server).take() {
            server.abort();
        }
    }
}

impl fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("base", &self.shared.base)
            .field("jwks_hits", &self.jwks_hits())
            .field("discovery_hits", &self.discovery_hits())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn configuration(&self) -> Value {
        json!({ "issuer": format!("{}/", self.base), "jwks_uri": format!("{}/jwks", self.base) })
    }
}

/// Every answer closes its connection, so that a stopped provider is really unreachable.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_hits.fetch_add(1, Ordering::SeqCst);
    shared.hit.notify_waiters();
    let gate = lock(&shared.gate).clone();
    if let Some(Gate(gate)) = gate {
        if let Ok(permit) = gate.acquire().await {
            permit.forget();
        }
    }
    let reply = lock(&shared.jwks).clone();
    let response = match reply {
        JwksReply::Document(document, cache_control) => {
            let mut response =
                ([(header::CONTENT_TYPE, "application/json")], document).into_response();
            if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(v).ok()) {
                response.headers_mut().insert(header::CACHE_CONTROL, value);
            }
            response
        }
        JwksReply::Status(code) => status(code).into_response(),
        JwksReply::Malformed => "<html>this is not JSON</html>".into_response(),
        JwksReply::Huge => format!("{{\"keys\":[\"{}\"]}}", "A".repeat(10 << 20)).into_response(),
        JwksReply::HugeChunked => {
            let chunks = (0..160).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b' '; 64 << 10])));
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        JwksReply::Stall => std::future::pending().await,
        JwksReply::StallBody => {
            let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(
                b"{\"keys\":",
            ))]);
            let never = futures_util::stream::pending();
            Body::from_stream(futures_util::StreamExt::chain(first, never)).into_response()
        }
        JwksReply::Redirect {
            status: code,
            location,
        } => match HeaderValue::from_str(&location) {
            Ok(location) => (status(code), [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    closing(response)
}

async fn openid(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let discovery = lock(&shared.discovery).clone();
    closing(match discovery {
        None => axum::Json(shared.configuration()).into_response(),
        Some(Discovery::OpenId(document)) => axum::Json(document).into_response(),
        Some(Discovery::OAuth(_)) => StatusCode::NOT_FOUND.into_response(),
    })
}

async fn oauth(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let discovery = lock(&shared.discovery).clone();
    closing(match discovery {
        Some(Discovery::OAuth(document)) => axum::Json(document).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
}
