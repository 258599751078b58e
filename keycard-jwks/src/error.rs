//! [`Error`]: what failed while fetching or reading a remote key set, and why.

use std::fmt;

/// The longest text copied from a response or from a lower layer into an error.
const MAX_ECHO: usize = 200;

/// Cuts `text` to a bounded length for an error message (at a character boundary).
pub(crate) fn bounded(text: impl fmt::Display) -> String {
    let mut text = text.to_string();
    if text.len() > MAX_ECHO {
        let mut end = MAX_ECHO;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A key of a fetched JWK Set that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The key's position in the document's `keys` array, from 0.
    pub index: usize,
    /// The key's `kid`, when it has a readable one (shortened).
    pub key_id: Option<String>,
    /// Why the key was left out.
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key #{}", self.index)?;
        if let Some(kid) = &self.key_id {
            write!(f, " (kid `{kid}`)")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Everything that can fail in keycard-jwks.
///
/// Messages name the URL (configuration, not input) and what went wrong; text taken from a
/// response is cut to a short length. No variant holds a whole response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configured URL or issuer does not parse as an absolute URL.
    #[error("`{url}` is not a valid URL: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A URL (configured, or a discovery document's `jwks_uri`) is not https.
    #[error(
        "`{url}` is not an https URL; plain http is refused unless `allow_http` is set (for \
         loopback tests)"
    )]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// The request failed before a response: DNS, connect, TLS, a reset connection.
    #[error("fetching `{url}` failed: {reason}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// The HTTP client's account of the failure (shortened).
        reason: String,
    },
    /// The provider did not answer, or did not finish its answer, within the timeout.
    #[error("fetching `{url}` timed out")]
    Timeout {
        /// What was fetched.
        url: String,
    },
    /// The provider answered with a status other than 200.
    #[error("`{url}` answered HTTP {status}, not 200")]
    Status {
        /// What was fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The response body is larger than the configured limit.
    #[error("`{url}` sent more than the {limit} bytes allowed")]
    TooLarge {
        /// What was fetched.
        url: String,
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The response is not the document it should be (not UTF-8, not JSON, no `keys` array, a
    /// discovery document without `jwks_uri`, ...).
    #[error("`{url}` is not a valid {what}: {reason}")]
    InvalidDocument {
        /// What was fetched.
        url: String,
        /// Which kind of document was expected.
        what: &'static str,
        /// What is wrong with it (shortened).
        reason: String,
    },
    /// The JWK Set lists more keys than the configured limit.
    #[error("`{url}` lists {count} keys, more than the {limit} allowed")]
    TooManyKeys {
        /// What was fetched.
        url: String,
        /// How many keys the document lists.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The JWK Set holds no key usable with the configured algorithms; every key is listed
    /// with the reason it was skipped.
    #[error("no usable key in `{url}` ({} skipped){}", skipped.len(), list(skipped))]
    NoUsableKeys {
        /// What was fetched.
        url: String,
        /// Every key of the document, and why it was not loaded.
        skipped: Vec<Skipped>,
    },
    /// The discovery document names another issuer than the configured one (OpenID Connect
    /// Discovery 1.0 §4.3, RFC 8414 §3.3): the comparison is exact.
    #[error(
        "the discovery document at `{url}` names issuer `{found}`, not the configured \
         `{expected}` (they must be equal, OpenID Connect Discovery §4.3)"
    )]
    IssuerMismatch {
        /// The discovery document's URL.
        url: String,
        /// The configured issuer.
        expected: String,
        /// The document's `issuer` (shortened).
        found: String,
    },
    /// The provider has failed for longer than the configured maximum staleness: the last good
    /// key set is no longer used.
    #[error(
        "the key set from `{url}` is stale: it expired {expired_secs} s ago and every refresh \
         since has failed (last: {last_error})"
    )]
    Stale {
        /// The JWKS URL.
        url: String,
        /// Seconds since the set's cache lifetime ended.
        expired_secs: u64,
        /// The last refresh failure.
        last_error: String,
    },
    /// The configuration cannot work (for instance an empty algorithm list or an HMAC
    /// algorithm, which a published key set cannot serve).
    #[error("invalid remote key set configuration: {0}")]
    Configuration(String),
}

fn list(skipped: &[Skipped]) -> String {
    skipped.iter().map(|s| format!("; {s}")).collect()
}
