//! [`Lease`]: what a refresh function returns, an access token and its lifetime.

use std::fmt;

use keycard::time::Duration;

/// An access token as your refresh function obtained it, with its lifetime (an OAuth 2.0 token
/// response's `access_token` and `expires_in`, RFC 6749 §5.1). Its `Debug` never shows the
/// token.
#[derive(Clone)]
pub struct Lease {
    token: String,
    expires_in: Duration,
}

impl Lease {
    /// A token valid for `expires_in` from now.
    pub fn new(token: impl Into<String>, expires_in: Duration) -> Self {
        Lease {
            token: token.into(),
            expires_in,
        }
    }

    /// The access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its lifetime when it was obtained.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The token, by value.
    pub fn into_token(self) -> String {
        self.token
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
