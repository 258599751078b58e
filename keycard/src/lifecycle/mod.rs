//! The token lifecycle around the core: token kinds, access/refresh pairs with rotation and reuse
//! detection ([`TokenIssuer`]), revocation ([`RevocationStore`]), the client-side refresh-ahead
//! cache ([`TokenSource`]), and the extra validator steps for scopes and OpenID Connect ID tokens.
//!
//! Each store is one small object-safe trait with a bounded in-memory default; the validator step
//! in [`Checks`] costs nothing when none of it is configured.

use std::fmt;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::claims::Registered;
use crate::clock::Clock;
use crate::error::Error;

mod family;
mod issuer;
mod memory;
mod oidc;
mod revocation;
mod scope;
mod source;

pub use family::{Family, FamilyStore, MemoryFamilyStore, Superseded};
pub use issuer::{TokenIssuer, TokenIssuerBuilder, TokenPair};
pub use revocation::{MemoryRevocationStore, RevocationStore};
pub use source::{Lease, TokenSource};

/// The kinds of token a [`TokenIssuer`] mints, told apart by the header's `typ` (explicit typing,
/// RFC 8725 §3.11) and by their audience.
///
/// A kind converts into its `typ` string, so it can be given to
/// [`Builder::token_type`](crate::Builder::token_type) and
/// [`ValidatorBuilder::token_type`](crate::ValidatorBuilder::token_type):
///
/// ```
/// use keycard::{Algorithm, Builder, ErrorKind, HmacKey, TokenKind, Validator};
/// use time::Duration;
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let refresh = Builder::new()
///     .token_type(TokenKind::Refresh)
///     .expires_in(Duration::days(14))
///     .sign(&key)?;
/// let access_only = Validator::builder(key).token_type(TokenKind::Access).build()?;
/// let err = access_only.verify::<keycard::Claims>(&refresh).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TokenType);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token for a resource server: `typ: at+jwt` (RFC 9068 §2.1).
    Access,
    /// A refresh token, read only by the issuer that minted it: `typ: refresh+jwt`. No RFC
    /// registers a type for refresh tokens; this one is keycard's and differs from every other.
    Refresh,
}

impl TokenKind {
    /// The header `typ` of this kind.
    pub const fn typ(self) -> &'static str {
        match self {
            TokenKind::Access => "at+jwt",
            TokenKind::Refresh => "refresh+jwt",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.typ())
    }
}

impl From<TokenKind> for String {
    fn from(kind: TokenKind) -> String {
        kind.typ().to_owned()
    }
}

/// The validator steps that run after the registered-claim checks: revocation, scopes, and the
/// OpenID Connect rules. All empty by default, and then free.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    pub(crate) revocations: Option<Arc<dyn RevocationStore>>,
    pub(crate) scopes: Vec<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) max_age: Option<Duration>,
}

impl Checks {
    /// Runs the configured checks in order: revoked first (nothing else matters then), then
    /// scopes, then the ID token rules.
    #[inline]
    pub(crate) fn check(
        &self,
        claims: &Registered<'_>,
        now: OffsetDateTime,
        leeway: Duration,
    ) -> Result<(), Error> {
        if let Some(store) = &self.revocations {
            revocation::check(&**store, claims)?;
        }
        if !self.scopes.is_empty() {
            scope::check(&self.scopes, claims)?;
        }
        if self.client_id.is_some() || self.max_age.is_some() {
            oidc::check(self, claims, now, leeway)?;
        }
        Ok(())
    }

    /// Refuses configurations that can never pass.
    pub(crate) fn validate(&self, has_issuer: bool) -> Result<(), Error> {
        if let Some(bad) = self.scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
            return Err(Error::configuration(format!(
                "required scope `{bad}` can never match: a scope is one non-empty word \
                 (RFC 6749 §3.3); call `require_scope` once per scope"
            )));
        }
        if self.client_id.as_deref() == Some("") {
            return Err(Error::configuration("an empty client id can never match"));
        }
        if self.client_id.is_some() && !has_issuer {
            return Err(Error::configuration(
                "an ID token validator needs the expected `issuer` \
                 (OpenID Connect Core §3.1.3.7, step 2)",
            ));
        }
        if self.max_age.is_some_and(Duration::is_negative) {
            return Err(Error::configuration("max_age must not be negative"));
        }
        Ok(())
    }
}

/// A shared clock handed to the builders, which take a clock by value.
#[derive(Debug, Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> OffsetDateTime {
        self.0.now()
    }
}

/// `t + d`, or the last representable instant when that is out of range: the times computed here
/// say how long to keep an entry, and keeping it too long is the safe side.
pub(crate) fn later(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// `now` cut to whole seconds, as [`Builder`](crate::Builder) writes `iat`.
pub(crate) fn whole_seconds(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_nanosecond(0).unwrap_or(now)
}
