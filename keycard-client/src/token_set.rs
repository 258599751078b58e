//! [`TokenSet`]: what a token endpoint issued, in the form an application saves and loads.

use std::fmt;

use keycard::time::{Duration, OffsetDateTime};
use serde::{Deserialize, Serialize};

/// An access token with its lifetime, and the refresh token (if any) to get the next one: what
/// the persistence callback saves and what a restarted client resumes from. Serializable with
/// serde (times as Unix seconds); its `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// When it was obtained (the request was sent), Unix seconds.
    obtained_at: i64,
    /// Its lifetime from then, seconds (`expires_in`).
    expires_in: i64,
}

impl TokenSet {
    /// A token set obtained at `obtained_at`, living `expires_in` from then.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        obtained_at: OffsetDateTime,
        expires_in: Duration,
    ) -> Self {
        TokenSet {
            access_token: access_token.into(),
            refresh_token,
            scope: None,
            obtained_at: obtained_at.unix_timestamp(),
            expires_in: expires_in.whole_seconds(),
        }
    }

    /// Only a refresh token (e.g. after sign-in, before any access token): the first
    /// [`token`](crate::TokenSource::token) refreshes.
    pub fn from_refresh_token(refresh_token: impl Into<String>) -> Self {
        TokenSet {
            access_token: String::new(),
            refresh_token: Some(refresh_token.into()),
            scope: None,
            obtained_at: 0,
            expires_in: 0,
        }
    }

    /// With the granted `scope` (RFC 6749 §5.1).
    pub fn with_scope(mut self, scope: Option<String>) -> Self {
        self.scope = scope;
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, if the server issued one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The granted scope, when the server said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// When it was obtained.
    pub fn obtained_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.obtained_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Its lifetime from [`obtained_at`](Self::obtained_at).
    pub fn expires_in(&self) -> Duration {
        Duration::seconds(self.expires_in)
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.obtained_at()
            .checked_add(self.expires_in())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Whether the access token is usable at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        !self.access_token.is_empty() && now < self.expires_at()
    }

    /// RFC 6749 §6: a refresh response without a `refresh_token` leaves the old one in force.
    pub(crate) fn keeping(mut self, previous: Option<String>) -> Self {
        if self.refresh_token.is_none() {
            self.refresh_token = previous;
        }
        self
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at())
            .finish_non_exhaustive()
    }
}
