//! The scope rule, one for the workspace: which scopes a token grants, in `scope` (RFC 9068
//! §2.2.3, RFC 8693 §4.2: one string of space-delimited, case-sensitive scopes, RFC 6749 §3.3) or
//! in `scp` (an array of scopes, or a space-delimited string as some providers write it).
//!
//! The validator applies it for [`ValidatorBuilder::require_scope`](crate::ValidatorBuilder::require_scope);
//! per-route policies (`keycard-http`) apply it to claims already verified, with [`grants`] and
//! [`require`].
//!
//! ```
//! use keycard::scope;
//!
//! let claims = serde_json::json!({"sub": "user-42", "scope": "orders:read orders:write"});
//! assert!(scope::grants(&claims, "orders:read"));
//! assert!(!scope::grants(&claims, "orders"));
//! let err = scope::require(&claims, ["orders:read", "admin"]).unwrap_err();
//! assert_eq!(err.kind(), keycard::ErrorKind::InsufficientScope);
//! ```

use serde_json::Value;

use crate::error::{echo, Error};
use crate::token::claims::{AudienceRef, Registered};

/// Whether verified `claims` (the claims object as JSON) grant the scope `need`. An empty `need`
/// or one with a space is never granted: a scope is one non-empty word (RFC 6749 §3.3).
pub fn grants(claims: &Value, need: &str) -> bool {
    if need.is_empty() || need.contains(' ') {
        return false;
    }
    let scope = claims.get("scope").and_then(Value::as_str);
    let granted_by_scp = match claims.get("scp") {
        Some(Value::String(words)) => in_words(words, need),
        Some(Value::Array(list)) => list.iter().any(|s| s.as_str() == Some(need)),
        _ => false,
    };
    scope.is_some_and(|words| in_words(words, need)) || granted_by_scp
}

/// Refuses verified `claims` that lack any of `required`, naming the first one missing:
/// [`Error::InsufficientScope`], as the validator does.
///
/// # Errors
/// [`ErrorKind::InsufficientScope`](crate::ErrorKind::InsufficientScope).
pub fn require<'a>(
    claims: &Value,
    required: impl IntoIterator<Item = &'a str>,
) -> Result<(), Error> {
    match required.into_iter().find(|need| !grants(claims, need)) {
        Some(missing) => Err(insufficient(missing)),
        None => Ok(()),
    }
}

/// The validator's step: refuses a token that lacks any of `required`.
pub(crate) fn check(required: &[String], claims: &Registered<'_>) -> Result<(), Error> {
    match required.iter().find(|need| !granted(claims, need)) {
        Some(missing) => Err(insufficient(missing)),
        None => Ok(()),
    }
}

#[cold]
fn insufficient(missing: &str) -> Error {
    Error::InsufficientScope {
        missing: echo(missing),
    }
}

/// One scope of a space-delimited list, compared whole and case-sensitively.
fn in_words(words: &str, need: &str) -> bool {
    words.split(' ').any(|scope| scope == need)
}

/// [`grants`] on the registered claims the validator read in its one pass.
fn granted(claims: &Registered<'_>, need: &str) -> bool {
    claims
        .scope
        .as_deref()
        .is_some_and(|words| in_words(words, need))
        || match &claims.scp {
            Some(AudienceRef::One(words)) => in_words(words, need),
            Some(AudienceRef::Many(scopes)) => scopes.iter().any(|scope| scope == need),
            None => false,
        }
}
