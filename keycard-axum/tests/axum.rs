//! keycard-axum over real HTTP on 127.0.0.1: every RFC 6750 status and challenge, typed and
//! optional extraction, several issuers, remote keys from a local identity provider (rotation,
//! outage, a flood of unknown `kid`s), and the rebuilt example server.

/// The workspace's test identity provider (keycard-test), under the names this suite uses.
mod provider {
    pub(crate) use keycard_test::{IdentityProvider as Provider, JwksReply as Jwks};
}

#[path = "axum/example_server.rs"]
mod example_server;
#[path = "axum/issuers.rs"]
mod issuers;
#[path = "axum/oauth.rs"]
mod oauth;
#[path = "axum/oauth_e2e.rs"]
mod oauth_e2e;
#[path = "axum/presets.rs"]
mod presets;
#[path = "axum/remote.rs"]
mod remote;
#[path = "axum/responses.rs"]
mod responses;

use axum::Router;

/// Serves `app` on 127.0.0.1 (port 0) and returns its base URL.
pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Status, `WWW-Authenticate` and body of a response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) challenge: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// GETs `url` with these `Authorization` header values.
pub(crate) async fn get(url: &str, authorization: &[&str]) -> Reply {
    let mut request = reqwest::Client::new().get(url);
    for value in authorization {
        request = request.header("authorization", *value);
    }
    let response = request.send().await.unwrap();
    Reply {
        status: response.status().as_u16(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
    }
}
