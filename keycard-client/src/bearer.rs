//! [`BearerLayer`]: outgoing requests carry `Authorization: Bearer` from a [`TokenSource`], and a
//! 401 `invalid_token` (RFC 6750 §3.1) refreshes once and replays the request once. A tower
//! layer, so it wraps a hyper or axum client and any tower-based HTTP client.
//!
//! It never loops (one replay at most, and none when the refresh yields the token that was just
//! refused), never replays a body it cannot copy ([`ReplayBody`]; wrap a stream in
//! [`Streamed`]), and sends only the access token: the refresh token goes to the token endpoint
//! alone.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{Empty, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::machine::BoxError;
use crate::TokenSource;

/// A request body that may be sent twice: [`try_clone`](Self::try_clone) returns a copy to
/// replay, or `None` for a body that cannot be replayed (it is then never retried).
pub trait ReplayBody: Sized {
    /// A copy of the body as it was before it was sent, if one can be made.
    fn try_clone(&self) -> Option<Self>;
}

impl<D: Clone> ReplayBody for Full<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> ReplayBody for Empty<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(Empty::new())
    }
}

impl ReplayBody for Bytes {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl ReplayBody for String {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl ReplayBody for Vec<u8> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

/// A body that is streamed, so never replayed: wrap any [`http_body::Body`] in it to send it
/// through [`BearerLayer`] (a 401 then reaches the caller as it is).
#[derive(Debug)]
pub struct Streamed<B>(pub B);

impl<B> ReplayBody for Streamed<B> {
    fn try_clone(&self) -> Option<Self> {
        None
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Streamed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

/// A tower [`Layer`] (a hyper or axum client, any tower-based HTTP client): each request
/// carries `Authorization: Bearer` from a [`TokenSource`], and a 401 whose `WWW-Authenticate`
/// says `error="invalid_token"` (RFC 6750 §3.1) refreshes once (one refresh for every task
/// sharing the source) and replays the request once.
///
/// It never loops (one replay at most, and none when the refresh yields the token that was just
/// refused), never replays a body it cannot copy ([`ReplayBody`]; wrap a stream in
/// [`Streamed`]), and sends only the access token: the refresh token goes to the token endpoint
/// alone.
///
/// ```
/// use keycard_client::{BearerLayer, Lease, TokenSource};
/// use keycard::time::Duration;
///
/// let source = TokenSource::builder(|| async {
///     Ok::<_, std::io::Error>(Lease::new("an access token", Duration::minutes(15)))
/// })
/// .build();
/// let layer = BearerLayer::new(source); // e.g. tower::ServiceBuilder::new().layer(layer)
/// ```
#[derive(Clone, Debug)]
pub struct BearerLayer {
    source: TokenSource,
}

impl BearerLayer {
    /// Attaches tokens from `source` (shared: every service the layer makes uses the same
    /// cache, so a refresh is made once for all of them).
    pub fn new(source: TokenSource) -> Self {
        BearerLayer { source }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer {
            inner,
            source: self.source.clone(),
        }
    }
}

/// The service [`BearerLayer`] makes around an HTTP client `S`.
#[derive(Clone, Debug)]
pub struct Bearer<S> {
    inner: S,
    source: TokenSource,
}

/// The future of [`Bearer`]'s response.
pub type ResponseFuture<R> = Pin<Box<dyn Future<Output = Result<R, BoxError>> + Send>>;

impl<S, B, R> Service<Request<B>> for Bearer<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: ReplayBody + Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = BoxError;
    type Future = ResponseFuture<Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was made ready serves this call (tower's usual hand-over).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = self.source.clone();
        Box::pin(async move {
            let token = source.token().await?;
            let spare = copy(&request);
            let response = inner
                .call(authorized(request, &token)?)
                .await
                .map_err(Into::into)?;
            if !refused_token(&response) {
                return Ok(response);
            }
            // The token is dead for every request, replayable or not.
            source.invalidate(&token);
            let Some(spare) = spare else {
                return Ok(response);
            };
            let fresh = source.token().await?;
            if fresh == token {
                // No new token to try: the refusal is the answer.
                return Ok(response);
            }
            drop(response);
            std::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner
                .call(authorized(spare, &fresh)?)
                .await
                .map_err(Into::into)
        })
    }
}

/// A copy of `request` to replay, when its body can be copied.
fn copy<B: ReplayBody>(request: &Request<B>) -> Option<Request<B>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

fn authorized<B>(mut request: Request<B>, token: &str) -> Result<Request<B>, BoxError> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| NotAHeaderValue)?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

/// The token endpoint issued an access token that cannot be sent in a header.
#[derive(Debug)]
struct NotAHeaderValue;

impl fmt::Display for NotAHeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the access token has characters that an HTTP header cannot carry")
    }
}

impl std::error::Error for NotAHeaderValue {}

/// RFC 6750 §3.1: a 401 whose Bearer challenge says `error="invalid_token"` (expired, revoked,
/// malformed). A 401 without it (no credentials, another scheme) is not about our token.
fn refused_token<R>(response: &Response<R>) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        && response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(says_invalid_token)
}

/// Whether a `WWW-Authenticate` value holds a Bearer challenge with `error="invalid_token"`.
fn says_invalid_token(challenge: &str) -> bool {
    let trimmed = challenge.trim_start();
    let Some(scheme_end) = trimmed.find(|c: char| c.is_ascii_whitespace()) else {
        return false;
    };
    let (scheme, params) = trimmed.split_at(scheme_end);
    scheme.eq_ignore_ascii_case("bearer")
        && params.split(',').any(|param| {
            let mut parts = param.splitn(2, '=');
            let name = parts.next().unwrap_or_default().trim();
            let value = parts.next().unwrap_or_default().trim().trim_matches('"');
            name.eq_ignore_ascii_case("error") && value == "invalid_token"
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_invalid_token_challenge_counts() {
        assert!(says_invalid_token(
            r#"Bearer realm="api", error="invalid_token", error_description="expired""#
        ));
        assert!(says_invalid_token("bearer error=invalid_token"));
        assert!(!says_invalid_token(r#"Bearer realm="api""#));
        assert!(!says_invalid_token(r#"Bearer error="insufficient_scope""#));
        assert!(!says_invalid_token(r#"Basic error="invalid_token""#));
        assert!(!says_invalid_token("Bearer"));
    }

    #[test]
    fn a_streamed_body_has_no_copy() {
        let request = Request::new(Streamed(Full::new(Bytes::from_static(b"x"))));
        assert!(copy(&request).is_none());
        let request = Request::post("/x")
            .header("x-id", "7")
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        let replay = copy(&request).unwrap();
        assert_eq!(replay.method(), http::Method::POST);
        assert_eq!(replay.headers()["x-id"], "7");
    }
}
