//! [`OAuthError`]: what can go wrong talking to a token endpoint, typed so that a program can
//! tell "sign in again" from "try later" from "this server is broken".

use std::error::Error as StdError;
use std::fmt;

use keycard::ErrorCategory;

/// The error of a token-endpoint call. It never holds a token, a secret or the response body;
/// values the server chose (its error code and description) are escaped and shortened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The grant is dead: RFC 6749 §5.2 `invalid_grant` (a refresh token revoked, expired,
    /// already used or issued to another client). Never retried: the user must sign in again.
    #[error("sign in again: the authorization server refused the grant (invalid_grant){}", describe(.description))]
    SignInAgain {
        /// The server's `error_description`, escaped.
        description: Option<String>,
    },
    /// Another RFC 6749 §5.2 error (`invalid_client`, `unauthorized_client`, `invalid_scope`,
    /// ...): the request or the client's credentials are wrong. Not retried.
    #[error("the token endpoint refused the request: {code} (HTTP {status}){}", describe(.description))]
    Refused {
        /// The `error` code, escaped.
        code: String,
        /// The server's `error_description`, escaped.
        description: Option<String>,
        /// The HTTP status (a 200 carrying an `error` member counts here too).
        status: u16,
    },
    /// The token endpoint answered a status that is neither success nor an RFC 6749 §5.2
    /// error: a 5xx is retried after the source's back-off.
    #[error("the token endpoint answered HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The token endpoint answered with a redirect, which is not followed (the request carries
    /// credentials).
    #[error("the token endpoint answered a redirect (HTTP {status}), which is not followed")]
    Redirected {
        /// The HTTP status.
        status: u16,
    },
    /// No answer within the timeout. Retried after the back-off.
    #[error("the token endpoint did not answer within {} ms", .millis)]
    Timeout {
        /// The timeout.
        millis: u128,
    },
    /// The endpoint could not be reached (connection refused, TLS, DNS). Retried after the
    /// back-off.
    #[error("could not reach the token endpoint: {0}")]
    Unreachable(String),
    /// A success response that is not a usable RFC 6749 §5.1 token response.
    #[error("the token endpoint's response is not usable: {0}")]
    Malformed(Malformed),
    /// The grant needs a refresh token and there is none.
    #[error("no refresh token to refresh with: sign in first")]
    NoRefreshToken,
    /// Discovery (RFC 8414 or OpenID Connect) did not yield a token endpoint.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// The token endpoint's URL, or an option, cannot work.
    #[error("bad token endpoint configuration: {0}")]
    Configuration(String),
    /// The `private_key_jwt` client assertion could not be signed.
    #[error("signing the client assertion failed")]
    Assertion(#[source] keycard::Error),
    /// The application's persistence callback failed: the new token set is kept in memory
    /// (its refresh token is the only valid one) but not used until it is saved.
    #[error("saving the new token set failed")]
    Persist(#[source] Box<dyn StdError + Send + Sync>),
}

/// Why a success response is not a usable token response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not a JSON object (an HTML error page, truncated JSON).
    NotJson,
    /// Longer than the configured limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No `access_token` string.
    MissingAccessToken,
    /// A `token_type` other than `Bearer` (compared case-insensitively, RFC 6749 §5.1).
    TokenType(String),
    /// No `expires_in`.
    MissingExpiresIn,
    /// An `expires_in` that is not a positive number of seconds up to a year.
    AbsurdExpiresIn(String),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::NotJson => f.write_str("not a JSON object"),
            Malformed::TooLarge { limit } => write!(f, "longer than {limit} bytes"),
            Malformed::MissingAccessToken => f.write_str("no access_token"),
            Malformed::TokenType(found) => write!(f, "token_type {found}, not Bearer"),
            Malformed::MissingExpiresIn => f.write_str("no expires_in"),
            Malformed::AbsurdExpiresIn(found) => write!(f, "expires_in {found} is absurd"),
        }
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

impl OAuthError {
    /// Whether the user must sign in again ([`OAuthError::SignInAgain`]).
    pub fn is_sign_in_again(&self) -> bool {
        matches!(self, OAuthError::SignInAgain { .. })
    }

    /// Whether trying again later may help: every error but a dead grant, a refused request
    /// and a bad configuration. A [`TokenSource`](crate::TokenSource) retries these after its
    /// back-off (so a broken server never sees a retry storm) and never retries the others.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            OAuthError::SignInAgain { .. }
                | OAuthError::Refused { .. }
                | OAuthError::NoRefreshToken
                | OAuthError::Configuration(_)
        )
    }

    /// The workspace's error category: [`Token`](ErrorCategory::Token) for a dead grant,
    /// [`Configuration`](ErrorCategory::Configuration) for a refused request or a bad setup,
    /// [`Backend`](ErrorCategory::Backend) for the rest (the server or the network).
    pub fn category(&self) -> ErrorCategory {
        match self {
            OAuthError::SignInAgain { .. } => ErrorCategory::Token,
            OAuthError::Refused { .. }
            | OAuthError::NoRefreshToken
            | OAuthError::Configuration(_) => ErrorCategory::Configuration,
            OAuthError::Status { .. }
            | OAuthError::Redirected { .. }
            | OAuthError::Timeout { .. }
            | OAuthError::Unreachable(_)
            | OAuthError::Malformed(_)
            | OAuthError::Discovery(_)
            | OAuthError::Assertion(_)
            | OAuthError::Persist(_) => ErrorCategory::Backend,
        }
    }

    /// The token-endpoint error behind a [`TokenSource`](crate::TokenSource)'s
    /// [`ErrorKind::Refresh`](keycard::ErrorKind::Refresh) error, if that is what it is.
    ///
    /// ```
    /// # fn handle(error: keycard::Error) {
    /// use keycard_client::OAuthError;
    /// if OAuthError::of(&error).is_some_and(OAuthError::is_sign_in_again) {
    ///     // show the sign-in page
    /// }
    /// # }
    /// ```
    pub fn of(error: &keycard::Error) -> Option<&OAuthError> {
        let source: &(dyn StdError + 'static) = error.source()?;
        // The refresh error is shared by every waiter behind an `Arc`, which may be the source
        // itself rather than the error inside it.
        match source.downcast_ref::<std::sync::Arc<dyn StdError + Send + Sync>>() {
            Some(shared) => (**shared).downcast_ref::<OAuthError>(),
            None => source.downcast_ref::<OAuthError>(),
        }
    }
}

/// Whether the source must stop calling the refresh function after `error`: a dead grant or a
/// refused request, which no retry can fix.
pub(crate) fn is_permanent(error: &(dyn StdError + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<OAuthError>()
        .is_some_and(|e| !e.is_retryable())
}
