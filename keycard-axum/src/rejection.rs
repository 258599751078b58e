//! [`Rejection`]: why a request was refused, and its RFC 6750 §3 response.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keycard::ErrorKind;
use serde_json::json;

/// Why the layer or an extractor refused a request. Each maps to the status and
/// `WWW-Authenticate` challenge RFC 6750 §3 prescribes; the body is JSON by default and can be
/// replaced with [`AuthorizerBuilder::rejection_body`](crate::AuthorizerBuilder::rejection_body).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No credentials at all: 401 with a bare challenge, no error code (RFC 6750 §3.1).
    MissingCredentials,
    /// A malformed request (not a bearer credential, two credentials, a token in the query
    /// string where that is not allowed): 400 `invalid_request`. The text is a fixed short
    /// code, never input.
    InvalidRequest(&'static str),
    /// The token failed a check: 401 `invalid_token`, with the kind of the failure (`expired`,
    /// `signature`, ...) as `error_description`, and nothing more of why.
    InvalidToken(ErrorKind),
    /// The token lacks a scope the route requires: 403 `insufficient_scope` with `scope` set to
    /// the scopes required (space-separated).
    InsufficientScope(String),
    /// The caller-supplied claims check refused the token: 403 `insufficient_scope` with
    /// `error_description="claims"`.
    ClaimsRefused,
    /// A failure on the server's side (a key store, a stale remote key set, the configuration,
    /// an extractor without its layer): 500, revealing nothing.
    Internal,
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingCredentials | Rejection::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Rejection::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::InsufficientScope(_) | Rejection::ClaimsRefused => StatusCode::FORBIDDEN,
            Rejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6750 error code (`invalid_request`, `invalid_token`, `insufficient_scope`), or
    /// `None` for a missing credential and for server errors.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Rejection::MissingCredentials | Rejection::Internal => None,
            Rejection::InvalidRequest(_) => Some("invalid_request"),
            Rejection::InvalidToken(_) => Some("invalid_token"),
            Rejection::InsufficientScope(_) | Rejection::ClaimsRefused => {
                Some("insufficient_scope")
            }
        }
    }

    /// The `error_description`: a fixed, short code.
    pub fn description(&self) -> Option<&'static str> {
        match self {
            Rejection::MissingCredentials | Rejection::Internal => None,
            Rejection::InvalidRequest(why) => Some(why),
            Rejection::InvalidToken(kind) => Some(kind.as_str()),
            Rejection::InsufficientScope(_) => Some("insufficient_scope"),
            Rejection::ClaimsRefused => Some("claims"),
        }
    }

    /// The `WWW-Authenticate` value for `realm`, or `None` for a 500.
    pub fn challenge(&self, realm: &str) -> Option<String> {
        if *self == Rejection::Internal {
            return None;
        }
        let mut challenge = format!("Bearer realm=\"{}\"", quoted(realm));
        if let Some(code) = self.error_code() {
            challenge.push_str(&format!(", error=\"{code}\""));
        }
        if let Rejection::InsufficientScope(scope) = self {
            challenge.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        if let Some(description) = self.description() {
            challenge.push_str(&format!(", error_description=\"{description}\""));
        }
        Some(challenge)
    }

    /// The default JSON body: `{"error": ..., "error_description": ...}`.
    pub fn default_body(&self) -> serde_json::Value {
        match (self, self.error_code(), self.description()) {
            (Rejection::Internal, _, _) => json!({ "error": "server_error" }),
            (_, None, _) => json!({ "error": "missing_token" }),
            (_, Some(code), Some(description)) => {
                json!({ "error": code, "error_description": description })
            }
            (_, Some(code), None) => json!({ "error": code }),
        }
    }

    /// The response: `body` with this rejection's status and `WWW-Authenticate` set over it.
    pub(crate) fn respond(&self, realm: &str, body: Response) -> Response {
        let mut response = body;
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.remove(header::WWW_AUTHENTICATE);
        if let Some(value) = self
            .challenge(realm)
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A realm or scope inside a quoted-string: quotes and backslashes escaped, control characters
/// dropped (they are configuration, but a header must stay valid).
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

impl IntoResponse for Rejection {
    /// The default response, with realm `api`.
    fn into_response(self) -> Response {
        let body = axum::Json(self.default_body()).into_response();
        self.respond("api", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            Rejection::MissingCredentials.challenge("api").as_deref(),
            Some(r#"Bearer realm="api""#)
        );
        assert_eq!(
            Rejection::InvalidToken(ErrorKind::Expired)
                .challenge("a \"b\"")
                .as_deref(),
            Some(r#"Bearer realm="a \"b\"", error="invalid_token", error_description="expired""#)
        );
        assert_eq!(Rejection::Internal.challenge("api"), None);
    }
}
