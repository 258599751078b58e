//! Authorization codes (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1.1): one-time, short-lived,
//! bound to a client, a redirect URI, a PKCE challenge (S256), a scope and a user; stored by
//! their SHA-256 digest, redeemed atomically.

use std::collections::HashMap;
use std::fmt;
use std::future::ready;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard::Error;
use keycard_lifecycle::StoreFuture;
use ring::digest::{digest, SHA256};
use time::{Duration, OffsetDateTime};

/// How long a code may be redeemed: about a minute (RFC 6749 §4.1.2 recommends at most ten).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);

/// How long a redeemed code is remembered, so that a late replay still revokes the tokens of
/// its first use (RFC 6749 §4.1.2).
pub(crate) const REMEMBER_USED: Duration = Duration::minutes(15);

/// What a code was issued for. `Debug` shows no challenge.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeGrant {
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request, to be repeated exactly.
    pub redirect_uri: String,
    /// The PKCE challenge, `BASE64URL(SHA256(code_verifier))` (RFC 7636 §4.2, S256).
    pub code_challenge: String,
    /// The scope granted.
    pub scope: String,
    /// The user who signed in.
    pub subject: String,
    /// When the code stops being redeemable.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for CodeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeGrant")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The outcome of presenting a code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redeemed {
    /// First use, within its lifetime: the grant. The code is used from now on.
    Fresh(CodeGrant),
    /// A code already used: refuse, and revoke the refresh token of its first use when it is
    /// bound already. A replay that races the first use (before [`CodeStore::bind`]) finds no
    /// token: it is refused, and the first use keeps its tokens, which were not issued yet
    /// when the replay came (RFC 6749 §4.1.2 revokes "tokens previously issued").
    Replayed(Option<String>),
    /// Unknown or expired.
    Unknown,
}

/// Where codes live between the login page and the token request. Shared by instances, each
/// operation atomic on its code. Keys are the codes' SHA-256 digests, never the codes.
pub trait CodeStore: fmt::Debug + Send + Sync {
    /// Records `grant` under `key`, kept until `keep_until`.
    fn insert<'a>(
        &'a self,
        key: &'a str,
        grant: CodeGrant,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()>;

    /// Marks the code `key` used and says what it was, atomically: of N concurrent calls, one
    /// at most sees [`Redeemed::Fresh`].
    fn redeem<'a>(&'a self, key: &'a str, now: OffsetDateTime) -> StoreFuture<'a, Redeemed>;

    /// Binds the refresh token issued for the code's first use, for a later replay to revoke.
    fn bind<'a>(&'a self, key: &'a str, refresh_token: String) -> StoreFuture<'a, ()>;
}

#[derive(Debug)]
struct Record {
    grant: CodeGrant,
    keep_until: OffsetDateTime,
    used: bool,
    refresh_token: Option<String>,
}

/// The default [`CodeStore`]: a bounded map in memory, one process.
#[derive(Default)]
pub struct MemoryCodeStore {
    records: Mutex<HashMap<String, Record>>,
}

impl fmt::Debug for MemoryCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCodeStore")
            .field("codes", &self.lock().len())
            .finish()
    }
}

impl MemoryCodeStore {
    /// The most codes kept at once; beyond, issuing fails with a store error until some expire.
    pub const CAPACITY: usize = 100_000;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the in-memory code store is full")
    }
}

impl std::error::Error for Full {}

impl CodeStore for MemoryCodeStore {
    fn insert<'a>(
        &'a self,
        key: &'a str,
        grant: CodeGrant,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        let mut records = self.lock();
        if records.len() >= Self::CAPACITY {
            records.retain(|_, r| r.keep_until > now);
        }
        let result = if records.len() >= Self::CAPACITY {
            Err(Error::store(Full))
        } else {
            records.insert(
                key.to_owned(),
                Record {
                    grant,
                    keep_until,
                    used: false,
                    refresh_token: None,
                },
            );
            Ok(())
        };
        Box::pin(ready(result))
    }

    fn redeem<'a>(&'a self, key: &'a str, now: OffsetDateTime) -> StoreFuture<'a, Redeemed> {
        let mut records = self.lock();
        let outcome = match records.get_mut(key) {
            None => Redeemed::Unknown,
            Some(record) if record.keep_until <= now => Redeemed::Unknown,
            Some(record) if record.used => Redeemed::Replayed(record.refresh_token.clone()),
            Some(record) => {
                record.used = true;
                if record.grant.expires_at <= now {
                    Redeemed::Unknown
                } else {
                    Redeemed::Fresh(record.grant.clone())
                }
            }
        };
        Box::pin(ready(Ok(outcome)))
    }

    fn bind<'a>(&'a self, key: &'a str, refresh_token: String) -> StoreFuture<'a, ()> {
        if let Some(record) = self.lock().get_mut(key) {
            record.refresh_token = Some(refresh_token);
        }
        Box::pin(ready(Ok(())))
    }
}

/// The store key of `code`: its SHA-256 digest, base64url.
pub(crate) fn key(code: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, code.as_bytes()))
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    key(verifier)
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub(crate) fn is_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc7636_appendix_b_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_verifier(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!is_verifier("short"));
        assert!(!is_verifier(&"a+".repeat(30)));
    }
}
