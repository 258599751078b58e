//! The error answers of the endpoints: RFC 6749 §5.2 (token), RFC 7009 §2.2.1 (revocation),
//! RFC 7662 §2.3 (introspection). A description is always a fixed text, so that no secret, token
//! or other input is ever echoed.

use http::StatusCode;

/// The `error` code of an OAuth 2.0 error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: malformed, a parameter missing, repeated or not understood (400).
    InvalidRequest,
    /// `invalid_client`: client authentication failed (401 when Basic was used, else 400).
    InvalidClient,
    /// `invalid_grant`: the refresh token (or code) is invalid, expired, revoked, reused, or
    /// issued to another client (400).
    InvalidGrant,
    /// `unauthorized_client`: this client may not use this grant type (400).
    UnauthorizedClient,
    /// `unsupported_grant_type` (400).
    UnsupportedGrantType,
    /// `invalid_scope`: unknown, malformed, or wider than allowed (400).
    InvalidScope,
    /// `temporarily_unavailable`: a store failed; nothing was applied (503).
    TemporarilyUnavailable,
    /// `server_error`: the service cannot answer (500), no detail given.
    ServerError,
}

impl ErrorCode {
    /// The code as it appears in the `error` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
        }
    }
}

/// An error answer: its code, a fixed description, and whether the client authenticated with
/// HTTP Basic (RFC 6749 §5.2: then `invalid_client` is a 401 with a `WWW-Authenticate` challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: &'static str,
    basic: bool,
}

impl OAuthError {
    /// An error with `code` and a fixed, human-readable `description`.
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        OAuthError {
            code,
            description,
            basic: false,
        }
    }

    /// Marks the error as answering a request that authenticated with HTTP Basic.
    pub(crate) fn after_basic(mut self, basic: bool) -> Self {
        self.basic = basic;
        self
    }

    /// Whether the request this error answers authenticated with HTTP Basic.
    pub(crate) fn basic(&self) -> bool {
        self.basic
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The `error_description`: a fixed text, never a copy of the input.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidClient if self.basic => StatusCode::UNAUTHORIZED,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer to a keycard error from a store, the signer or the configuration: a store
    /// (backend) failure is `temporarily_unavailable`, anything else `server_error`.
    pub(crate) fn internal(error: &keycard::Error) -> Self {
        match error.category() {
            keycard::ErrorCategory::Backend => OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "a store the service depends on failed; nothing was applied, retry later",
            ),
            _ => OAuthError::new(ErrorCode::ServerError, "the service cannot answer"),
        }
    }

    /// The answer to a keycard error on a presented grant (a refresh token): a backend failure
    /// as [`internal`](Self::internal), any refusal of the token `invalid_grant`.
    pub(crate) fn grant(error: &keycard::Error) -> Self {
        match error.category() {
            keycard::ErrorCategory::Token => {
                OAuthError::new(ErrorCode::InvalidGrant, "the grant is invalid")
            }
            _ => OAuthError::internal(error),
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

pub(crate) const fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

pub(crate) const fn invalid_client() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
}
