//! Scope values (RFC 6749 §3.3): space-delimited tokens of `NQCHAR`, compared exactly.

use crate::error::{ErrorCode, OAuthError};

const INVALID: OAuthError = OAuthError::new(ErrorCode::InvalidScope, "the scope is invalid");
const WIDER: OAuthError = OAuthError::new(
    ErrorCode::InvalidScope,
    "the scope asked for is wider than allowed",
);

/// The tokens of a scope value, or `invalid_scope` when it is malformed.
pub(crate) fn parse(value: &str) -> Result<Vec<&str>, OAuthError> {
    let tokens: Vec<&str> = value.split(' ').collect();
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    let nqchar = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if tokens
        .iter()
        .any(|t| t.is_empty() || !t.bytes().all(nqchar))
    {
        return Err(INVALID);
    }
    Ok(tokens)
}

/// The scope to grant for `requested` (the `scope` parameter, if any) within `allowed`: the
/// request itself when every token of it is allowed, all of `allowed` when it is absent.
/// Duplicates are dropped, the order kept.
pub(crate) fn narrow<S: AsRef<str>>(
    requested: Option<&str>,
    allowed: &[S],
) -> Result<String, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(" "));
    };
    let mut granted: Vec<&str> = Vec::new();
    for token in parse(requested)? {
        if !allowed.iter().any(|a| a.as_ref() == token) {
            return Err(WIDER);
        }
        if !granted.contains(&token) {
            granted.push(token);
        }
    }
    Ok(granted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_keeps_a_subset_and_refuses_anything_wider() {
        let allowed = ["read", "write"];
        assert_eq!(narrow(None, &allowed).unwrap(), "read write");
        assert_eq!(
            narrow(Some("write read write"), &allowed).unwrap(),
            "write read"
        );
        assert_eq!(narrow(Some("admin"), &allowed).unwrap_err(), WIDER);
        assert_eq!(narrow(Some("read  write"), &allowed).unwrap_err(), INVALID);
        assert_eq!(narrow(Some("re\"ad"), &allowed).unwrap_err(), INVALID);
    }
}
