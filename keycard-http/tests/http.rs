//! keycard-http through its tower layer, in process (`tower::ServiceExt::oneshot`): the
//! credential methods of RFC 6750 §2, issuer routing on a bounded peek, the key-source refetch and
//! the 503 of an outage, route and authorizer checks.

#[path = "http/architecture.rs"]
mod architecture;
#[path = "http/issuers.rs"]
mod issuers;
#[path = "http/key_source.rs"]
mod key_source;
#[path = "http/methods.rs"]
mod methods;

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use keycard::{Algorithm, Builder, HmacKey};
use keycard_http::{Anonymous, AuthLayer, Authenticated, BodyToken, EmptyBody};
use time::Duration;
use tower::{service_fn, Layer, ServiceExt};

pub(crate) const SECRET: &[u8] = b"an example secret of 32 bytes!!!";

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, SECRET).unwrap()
}

/// A token of `key` with these extra claims, valid for five minutes.
pub(crate) fn token_with(key: &HmacKey, claims: &[(&str, serde_json::Value)]) -> String {
    let mut builder = Builder::new()
        .subject("alice")
        .expires_in(Duration::minutes(5));
    for (name, value) in claims {
        builder = builder.claim(*name, value.clone());
    }
    builder.sign(key).unwrap()
}

/// What the protected service saw, or what the layer answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: String,
}

/// Calls a service behind `layer` that answers `{sub}|{body}`: the verified caller's `sub` (or
/// `anonymous`) and the body it received.
pub(crate) async fn call<T>(
    layer: &AuthLayer<EmptyBody, T>,
    request: Request<Full<Bytes>>,
) -> Answer
where
    T: BodyToken<Full<Bytes>>,
{
    let service = layer.layer(service_fn(|request: Request<Full<Bytes>>| async move {
        let caller = match request.extensions().get::<Authenticated>() {
            Some(caller) => caller.claims()["sub"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            None if request.extensions().get::<Anonymous>().is_some() => "anonymous".to_owned(),
            None => "nobody".to_owned(),
        };
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let text = format!("{caller}|{}", String::from_utf8_lossy(&body));
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    }));
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A GET of `uri` with these `Authorization` values.
pub(crate) fn get(uri: &str, authorization: &[&str]) -> Request<Full<Bytes>> {
    let mut request = Request::get(uri);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    request.body(Full::default()).unwrap()
}

impl Answer {
    pub(crate) fn challenge(&self) -> Option<&str> {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }
}
