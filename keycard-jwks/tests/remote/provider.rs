//! A local identity provider on 127.0.0.1 (port 0): discovery documents and a JWKS endpoint
//! whose answers the test sets, counting every request it gets.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{Notify, Semaphore};

/// What the JWKS endpoint answers.
#[derive(Clone, Debug)]
pub(crate) enum Jwks {
    /// 200 with this document and, if given, this `Cache-Control`.
    Document(String, Option<&'static str>),
    /// This status, empty body.
    Status(u16),
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with 10 MiB, announced in `Content-Length`.
    Huge,
    /// 200 with 10 MiB in chunks, no `Content-Length`.
    HugeChunked,
    /// Never answers.
    Stall,
    /// Sends the headers and a first chunk, then never finishes the body.
    StallBody,
}

/// What the discovery endpoints answer.
#[derive(Clone, Debug)]
pub(crate) enum Discovery {
    /// `/.well-known/openid-configuration` answers with this document.
    OpenId(Value),
    /// `/.well-known/openid-configuration` is 404; the RFC 8414 one answers with this document.
    OAuth(Value),
}

#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) base: String,
    jwks: Mutex<Jwks>,
    discovery: Mutex<Option<Discovery>>,
    /// When set, JWKS requests wait for a permit before answering.
    gate: Mutex<Option<Arc<Semaphore>>>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    /// Notified on every JWKS request.
    pub(crate) hit: Notify,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Provider {
    /// Starts a provider whose JWKS endpoint serves `document`.
    pub(crate) async fn start(document: String) -> Arc<Provider> {
        // Before any test makes a request: see `events`.
        crate::events::install();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let provider = Arc::new(Provider {
            base,
            jwks: Mutex::new(Jwks::Document(document, None)),
            discovery: Mutex::new(None),
            gate: Mutex::new(None),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            hit: Notify::new(),
            shutdown: Mutex::new(Some(stop)),
            server: Mutex::new(None),
        });
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(openid))
            .route("/.well-known/oauth-authorization-server", get(oauth))
            .with_state(Arc::clone(&provider));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        *provider.server.lock().unwrap() = Some(server);
        provider
    }

    /// The issuer this provider's discovery documents name by default.
    pub(crate) fn issuer(&self) -> String {
        format!("{}/", self.base)
    }

    pub(crate) fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.base)
    }

    /// An OpenID configuration naming this provider's issuer and JWKS.
    pub(crate) fn configuration(&self) -> Value {
        json!({ "issuer": self.issuer(), "jwks_uri": self.jwks_uri() })
    }

    pub(crate) fn serve(&self, jwks: Jwks) {
        *self.jwks.lock().unwrap() = jwks;
    }

    pub(crate) fn publish(&self, document: String) {
        self.serve(Jwks::Document(document, None));
    }

    pub(crate) fn set_discovery(&self, discovery: Discovery) {
        *self.discovery.lock().unwrap() = Some(discovery);
    }

    /// Makes JWKS requests wait until `release` is called.
    pub(crate) fn close_gate(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(Arc::clone(&gate));
        gate
    }

    pub(crate) fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub(crate) fn discovery_hits(&self) -> usize {
        self.discovery_hits.load(Ordering::SeqCst)
    }

    /// Waits until the JWKS endpoint has had `n` requests (bounded: panics after 10 s).
    pub(crate) async fn wait_for_hits(&self, n: usize) {
        let wait = async {
            loop {
                let notified = self.hit.notified();
                if self.jwks_hits() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the provider saw {} JWKS requests, not {n}",
                    self.jwks_hits()
                )
            });
    }

    /// Stops the server: connections are refused from now on.
    pub(crate) async fn stop(&self) {
        if let Some(stop) = self.shutdown.lock().unwrap().take() {
            let _ = stop.send(());
        }
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            server.await.unwrap();
        }
    }
}

/// Every answer closes its connection, so that a stopped provider is really unreachable.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn jwks(State(provider): State<Arc<Provider>>) -> Response {
    provider.jwks_hits.fetch_add(1, Ordering::SeqCst);
    provider.hit.notify_waiters();
    let gate = provider.gate.lock().unwrap().clone();
    if let Some(gate) = gate {
        gate.acquire().await.unwrap().forget();
    }
    let jwks = provider.jwks.lock().unwrap().clone();
    let response = match jwks {
        Jwks::Document(document, cache_control) => {
            let mut response =
                ([(header::CONTENT_TYPE, "application/json")], document).into_response();
            if let Some(value) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
            }
            response
        }
        Jwks::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Jwks::Garbage => "<html>this is not JSON</html>".into_response(),
        Jwks::Huge => format!("{{\"keys\":[\"{}\"]}}", "A".repeat(10 << 20)).into_response(),
        Jwks::HugeChunked => {
            let chunks = (0..160).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b' '; 64 << 10])));
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        Jwks::Stall => std::future::pending().await,
        Jwks::StallBody => {
            let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(
                b"{\"keys\":",
            ))]);
            let never = futures_util::stream::pending();
            Body::from_stream(futures_util::StreamExt::chain(first, never)).into_response()
        }
    };
    closing(response)
}

async fn openid(State(provider): State<Arc<Provider>>) -> Response {
    provider.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let discovery = provider.discovery.lock().unwrap().clone();
    closing(match discovery {
        None => axum::Json(provider.configuration()).into_response(),
        Some(Discovery::OpenId(document)) => axum::Json(document).into_response(),
        Some(Discovery::OAuth(_)) => StatusCode::NOT_FOUND.into_response(),
    })
}

async fn oauth(State(provider): State<Arc<Provider>>) -> Response {
    provider.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let discovery = provider.discovery.lock().unwrap().clone();
    closing(match discovery {
        Some(Discovery::OAuth(document)) => axum::Json(document).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
}
