//! The revocation lookup a validator makes: the [`RevocationList`] trait it consults, and the
//! step that refuses revoked tokens. Who writes revocations (`keycard-lifecycle`'s
//! `RevocationStore`, a shared store's local view) is not this layer's concern.

use std::fmt;

use time::OffsetDateTime;

use crate::error::{Error, RevokedBy};
use crate::token::claims::Registered;

/// What a [`Validator`](crate::Validator) consults to refuse revoked tokens, set with
/// [`ValidatorBuilder::revocations`](crate::ValidatorBuilder::revocations).
///
/// Lookups are synchronous and must not wait on a network: verifying runs on the request path.
/// A store kept elsewhere (Redis, SQL) is read through a local view that a background task keeps
/// current. An `Err` fails the verification closed with
/// [`ErrorKind::Store`](crate::ErrorKind::Store); it never lets a token through.
///
/// ```
/// use keycard::{Error, RevocationList};
/// use time::OffsetDateTime;
///
/// /// Refuses one token id, for a test.
/// #[derive(Debug)]
/// struct Deny(&'static str);
///
/// impl RevocationList for Deny {
///     fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
///         Ok(jti == self.0)
///     }
///     fn is_session_revoked(&self, _sid: &str) -> Result<bool, Error> {
///         Ok(false)
///     }
///     fn subject_cutoff(&self, _sub: &str) -> Result<Option<OffsetDateTime>, Error> {
///         Ok(None)
///     }
/// }
/// ```
pub trait RevocationList: fmt::Debug + Send + Sync {
    /// Whether the token with this `jti` is revoked.
    fn is_token_revoked(&self, jti: &str) -> Result<bool, Error>;

    /// Whether the session with this `sid` is revoked (every token of the session is refused).
    fn is_session_revoked(&self, sid: &str) -> Result<bool, Error>;

    /// The subject's cutoff, if one is in force: every token of `sub` issued at or before it is
    /// refused ("sign out everywhere").
    fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error>;
}

/// The validator step: refuses a token whose `jti` or `sid` is revoked, or whose subject has a
/// cutoff at or after its `iat` (a token without `iat` cannot prove it came later).
pub(crate) fn check(list: &dyn RevocationList, claims: &Registered<'_>) -> Result<(), Error> {
    if let Some(jti) = claims.jti.as_deref() {
        if list.is_token_revoked(jti)? {
            return Err(Error::revoked(RevokedBy::TokenId, jti, None));
        }
    }
    if let Some(sid) = claims.sid.as_deref() {
        if list.is_session_revoked(sid)? {
            return Err(Error::revoked(RevokedBy::Session, sid, None));
        }
    }
    if let Some(sub) = claims.sub.as_deref() {
        if let Some(cutoff) = list.subject_cutoff(sub)? {
            if claims.iat.is_none_or(|iat| iat.to_datetime() <= cutoff) {
                return Err(Error::revoked(RevokedBy::Subject, sub, Some(cutoff)));
            }
        }
    }
    Ok(())
}
