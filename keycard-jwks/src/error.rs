//! [`Error`]: what failed while fetching or reading a remote key set, and why; its
//! [`kind`](Error::kind) in keycard's one taxonomy.

use std::fmt;

use keycard::{ErrorCategory, ErrorKind};

/// The longest text of a lower layer (the HTTP client's account of a failure, the JSON
/// parser's) copied into an error, escaped.
const MAX_REASON: usize = 256;

/// Text that came from the provider (a `kid`, an `issuer`, a URL it named): escaped and cut by
/// keycard's one policy ([`keycard::text::escape`]), so that it cannot forge a log line.
pub(crate) fn echo(text: &str) -> String {
    keycard::text::escape(text, keycard::limits::MAX_ECHO)
}

/// A lower layer's account of a failure, which may quote the provider's answer: escaped, and
/// cut to a longer bound than an echoed value.
pub(crate) fn reason(text: impl fmt::Display) -> String {
    keycard::text::escape(&text.to_string(), MAX_REASON)
}

/// A key of a fetched JWK Set that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The key's position in the document's `keys` array, from 0.
    pub index: usize,
    /// The key's `kid`, when it has a readable one (escaped and shortened).
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
/// Messages name the URL and what went wrong; text taken from a response (or from a URL the
/// provider named) is escaped and cut ([`keycard::text::escape`]). No variant holds a whole
/// response.
///
/// [`kind`](Self::kind) places every variant in keycard's taxonomy: the caller's own settings
/// are [`ErrorKind::Configuration`]; everything the provider's answer (or its silence) causes
/// is [`ErrorKind::KeySource`], a backend failure ([`ErrorCategory::Backend`]), never the
/// token's. Converted into a [`keycard::Error`] (`?` or `From`), it keeps that kind:
///
/// ```
/// use keycard::{ErrorCategory, ErrorKind};
///
/// let err = keycard_jwks::Error::Status { url: "https://idp.example/jwks".into(), status: 503 };
/// assert_eq!(err.kind(), ErrorKind::KeySource);
/// assert_eq!(err.category(), ErrorCategory::Backend);
/// let err = keycard::Error::from(err);
/// assert_eq!(err.kind(), ErrorKind::KeySource);
/// assert_eq!(err.to_string(), "key source failed: `https://idp.example/jwks` answered HTTP 503, not 200");
/// ```
#[derive(Clone, thiserror::Error)]
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
    /// Discovery 1.0 §4.3, RFC 8414 §3.3): the comparison is exact. A key source failure (the
    /// provider's document is not for this issuer), though often a typo in the configured
    /// issuer.
    #[error(
        "the discovery document at `{url}` names issuer `{found}`, not the configured \
         `{expected}` (they must be equal, OpenID Connect Discovery §4.3)"
    )]
    IssuerMismatch {
        /// The discovery document's URL.
        url: String,
        /// The configured issuer.
        expected: String,
        /// The document's `issuer` (escaped and shortened).
        found: String,
    },
    /// The provider has failed for longer than the configured maximum staleness: the last good
    /// key set is no longer used, and every verification on it fails with this (kind
    /// [`ErrorKind::KeySource`]).
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
    /// A caller of [`refetch`](keycard::KeySource::refetch) waited longer than the configured
    /// [`refetch_wait`](crate::RemoteKeySetBuilder::refetch_wait) for the set to be fetched
    /// again; the fetch itself goes on, and serves the next requests when it lands.
    #[error("gave up after {waited:?} waiting for `{url}` to be fetched again")]
    RefetchTimedOut {
        /// The JWKS URL.
        url: String,
        /// How long the caller waited.
        waited: std::time::Duration,
    },
    /// The configuration cannot work (for instance an empty algorithm list or an HMAC
    /// algorithm, which a published key set cannot serve).
    #[error("invalid remote key set configuration: {0}")]
    Configuration(String),
}

/// The message, as [`Display`](fmt::Display) writes it: `main` returning `Result<_, Box<dyn
/// Error>>` prints a start-up failure with `Debug`, and it should read as the message that says
/// what to fix, not as a struct dump.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} [{}]", self.kind().as_str())
    }
}

impl Error {
    /// What failed, in keycard's taxonomy: [`ErrorKind::Configuration`] for the caller's own
    /// settings ([`InvalidUrl`](Self::InvalidUrl), [`InsecureUrl`](Self::InsecureUrl),
    /// [`Configuration`](Self::Configuration)), [`ErrorKind::KeySource`] for everything else.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidUrl { .. } | Error::InsecureUrl { .. } | Error::Configuration(_) => {
                ErrorKind::Configuration
            }
            Error::Fetch { .. }
            | Error::Timeout { .. }
            | Error::Status { .. }
            | Error::TooLarge { .. }
            | Error::InvalidDocument { .. }
            | Error::TooManyKeys { .. }
            | Error::NoUsableKeys { .. }
            | Error::IssuerMismatch { .. }
            | Error::Stale { .. }
            | Error::RefetchTimedOut { .. } => ErrorKind::KeySource,
        }
    }

    /// Whose problem this is: [`ErrorCategory::Configuration`] or [`ErrorCategory::Backend`]
    /// (never [`ErrorCategory::Token`]).
    pub fn category(&self) -> ErrorCategory {
        self.kind().category()
    }
}

impl From<Error> for keycard::Error {
    /// Keeps the [`kind`](Error::kind): a [`keycard::Error::KeySource`] wrapping `error` (its
    /// [`source`](std::error::Error::source), to downcast), or a
    /// [`keycard::Error::Configuration`] with its message.
    fn from(error: Error) -> Self {
        match error.kind() {
            ErrorKind::Configuration => keycard::Error::Configuration {
                reason: error.to_string().into(),
            },
            _ => keycard::Error::key_source(error),
        }
    }
}

fn list(skipped: &[Skipped]) -> String {
    skipped.iter().map(|s| format!("; {s}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_text_is_escaped_and_bounded() {
        assert_eq!(echo("k1\nINFO forged"), "k1\\nINFO forged");
        assert_eq!(echo("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert!(echo(&"x".repeat(1000)).len() <= keycard::limits::MAX_ECHO + '…'.len_utf8());
        let long = reason(format!("{}\r\n", "y".repeat(1000)));
        assert!(long.len() <= MAX_REASON + '…'.len_utf8() && !long.contains('\n'));
    }

    #[test]
    fn startup_errors_are_readable_with_question_mark() {
        let err = Error::Status {
            url: "https://idp.example/jwks".into(),
            status: 503,
        };
        // What `fn main() -> Result<(), Box<dyn Error>>` prints for `?`.
        let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
        assert_eq!(
            format!("{boxed:?}"),
            "`https://idp.example/jwks` answered HTTP 503, not 200 [key_source]"
        );
        assert!(format!("{:?}", Error::Configuration("x".into())).ends_with("[configuration]"));
    }

    #[test]
    fn only_the_callers_settings_are_configuration_errors() {
        let url = || "https://idp.example/jwks".to_owned();
        for err in [
            Error::InvalidUrl {
                url: url(),
                reason: "x".into(),
            },
            Error::InsecureUrl { url: url() },
            Error::Configuration("x".into()),
        ] {
            assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
            assert_eq!(err.category(), ErrorCategory::Configuration);
            let core = keycard::Error::from(err.clone());
            assert_eq!(core.kind(), ErrorKind::Configuration);
            assert!(core.to_string().ends_with(&err.to_string()), "{core}");
        }
        for err in [
            Error::Fetch {
                url: url(),
                reason: "reset".into(),
            },
            Error::Timeout { url: url() },
            Error::Status {
                url: url(),
                status: 500,
            },
            Error::TooLarge {
                url: url(),
                limit: 1,
            },
            Error::InvalidDocument {
                url: url(),
                what: "JWK Set",
                reason: "x".into(),
            },
            Error::TooManyKeys {
                url: url(),
                count: 2,
                limit: 1,
            },
            Error::NoUsableKeys {
                url: url(),
                skipped: Vec::new(),
            },
            Error::IssuerMismatch {
                url: url(),
                expected: "a".into(),
                found: "b".into(),
            },
            Error::Stale {
                url: url(),
                expired_secs: 1,
                last_error: "x".into(),
            },
        ] {
            assert_eq!(err.kind(), ErrorKind::KeySource, "{err}");
            assert_eq!(err.category(), ErrorCategory::Backend);
            let core = keycard::Error::from(err.clone());
            assert_eq!(core.kind(), ErrorKind::KeySource);
            let source = std::error::Error::source(&core).and_then(|s| s.downcast_ref::<Error>());
            assert_eq!(source.map(Error::to_string), Some(err.to_string()));
        }
    }
}
