//! How axum answers a keycard-http [`Rejection`]: [`Responder`] (the layer's rendering: the
//! status and headers of the rejection over a small JSON body, or the authorizer's own body) and
//! [`AuthRejection`], the extractors' typed rejection.

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use keycard_http::{Reason, Rejection, Respond};
use serde_json::json;

pub(crate) type BodyFn = dyn Fn(&Rejection) -> Response + Send + Sync;

/// Draws the response for a [`Rejection`]: the body the authorizer was given
/// ([`AuthorizerBuilder::rejection_body`](crate::AuthorizerBuilder::rejection_body)) or the
/// default JSON one (`{"error": ..., "error_description": ...}`), then the rejection's status
/// and headers (`WWW-Authenticate`, `Retry-After`) set over it.
#[derive(Clone, Default)]
pub struct Responder {
    body: Option<Arc<BodyFn>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("custom_body", &self.body.is_some())
            .finish()
    }
}

impl Responder {
    pub(crate) fn new(body: Option<Arc<BodyFn>>) -> Self {
        Responder { body }
    }

    /// The response for `rejection`.
    pub fn respond(&self, rejection: &Rejection) -> Response {
        let mut response = match &self.body {
            Some(body) => body(rejection),
            None => axum::Json(default_body(rejection)).into_response(),
        };
        *response.status_mut() = rejection.status();
        let headers = response.headers_mut();
        headers.remove(axum::http::header::WWW_AUTHENTICATE);
        headers.extend(rejection.headers());
        response
    }
}

impl Respond<axum::body::Body> for Responder {
    fn respond(&self, rejection: &Rejection) -> Response {
        Responder::respond(self, rejection)
    }
}

/// The default body: `{"error": "invalid_token", "error_description": "expired"}`, or
/// `{"error": "missing_token"}`, `{"error": "temporarily_unavailable"}`,
/// `{"error": "server_error"}` where RFC 6750 has no error code.
pub fn default_body(rejection: &Rejection) -> serde_json::Value {
    match rejection.error_code() {
        Some(code) => json!({ "error": code, "error_description": rejection.code() }),
        None => json!({ "error": rejection.code() }),
    }
}

/// Why an extractor ([`Verified`](crate::Verified), [`VerifiedToken`](crate::VerifiedToken))
/// refused a request, answered like the layer of its route would: no verified token behind an
/// optional layer is 401 with the bare challenge, claims that do not read as the handler's type
/// are 401 `invalid_token` (`malformed`), an extractor on a route without a layer is 500.
pub struct AuthRejection {
    rejection: Rejection,
    responder: Responder,
}

impl AuthRejection {
    pub(crate) fn new(rejection: Rejection, responder: Option<&Responder>) -> Self {
        AuthRejection {
            rejection,
            responder: responder.cloned().unwrap_or_default(),
        }
    }

    /// Why.
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthRejection")
            .field(&self.rejection)
            .finish()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rejection.fmt(f)
    }
}

impl std::error::Error for AuthRejection {}

/// A rejection answered with the default JSON body, realm as the rejection says.
impl From<Rejection> for AuthRejection {
    fn from(rejection: Rejection) -> Self {
        AuthRejection::new(rejection, None)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.responder.respond(&self.rejection)
    }
}

/// The reason of an extractor on a route without a layer.
pub(crate) fn without_layer() -> Rejection {
    tracing::error!(
        target: "keycard_axum",
        "a keycard-axum extractor ran on a route without an AuthLayer: refusing with 500"
    );
    Rejection::new(Reason::Internal(None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue, StatusCode};
    use keycard::ErrorKind;
    use keycard_http::RequestError;

    #[test]
    fn default_bodies_name_the_code_and_nothing_more() {
        let body = |reason| default_body(&Rejection::new(reason));
        assert_eq!(
            body(Reason::MissingCredentials),
            json!({ "error": "missing_token" })
        );
        assert_eq!(
            body(Reason::UnsupportedScheme),
            json!({ "error": "not_bearer" })
        );
        assert_eq!(
            body(Reason::InvalidRequest(RequestError::EmptyToken)),
            json!({ "error": "invalid_request", "error_description": "empty_token" })
        );
        assert_eq!(
            body(Reason::InvalidToken(ErrorKind::Expired)),
            json!({ "error": "invalid_token", "error_description": "expired" })
        );
        assert_eq!(
            body(Reason::Unavailable(ErrorKind::KeySource)),
            json!({ "error": "temporarily_unavailable" })
        );
        assert_eq!(
            body(Reason::Internal(None)),
            json!({ "error": "server_error" })
        );
    }

    #[test]
    fn a_custom_body_gets_the_rejections_status_and_headers() {
        let responder = Responder::new(Some(Arc::new(|_: &Rejection| {
            let mut response = "custom".into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"stale\""),
            );
            response
        })));
        let outage = responder.respond(
            &Rejection::new(Reason::Unavailable(ErrorKind::Store))
                .with_retry_after(std::time::Duration::from_secs(12)),
        );
        assert_eq!(outage.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(outage.headers()[header::RETRY_AFTER], "12");
        assert!(
            outage.headers().get(header::WWW_AUTHENTICATE).is_none(),
            "no challenge for a 503, whatever the body set"
        );
        let expired = responder.respond(
            &Rejection::new(Reason::InvalidToken(ErrorKind::Expired)).with_realm("orders"),
        );
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            expired.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="orders", error="invalid_token", error_description="expired""#
        );
    }
}
