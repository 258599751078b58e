//! The scope check of [`ValidatorBuilder::require_scope`](crate::ValidatorBuilder::require_scope).

use crate::error::{echo, Error};
use crate::token::claims::{AudienceRef, Registered};

/// Refuses a token that lacks any of `required`, naming the first one missing.
pub(crate) fn check(required: &[String], claims: &Registered<'_>) -> Result<(), Error> {
    match required.iter().find(|need| !granted(claims, need)) {
        Some(missing) => Err(Error::InsufficientScope {
            missing: echo(missing),
        }),
        None => Ok(()),
    }
}

/// Whether the token grants `need`, in `scope` (RFC 9068 §2.2.3, RFC 8693 §4.2: one string of
/// space-delimited, case-sensitive scopes, RFC 6749 §3.3) or in `scp` (an array of scopes, or a
/// space-delimited string as some providers write it).
fn granted(claims: &Registered<'_>, need: &str) -> bool {
    let in_words = |words: &str| words.split(' ').any(|scope| scope == need);
    claims.scope.as_deref().is_some_and(in_words)
        || match &claims.scp {
            Some(AudienceRef::One(words)) => in_words(words),
            Some(AudienceRef::Many(scopes)) => scopes.iter().any(|scope| scope == need),
            None => false,
        }
}
