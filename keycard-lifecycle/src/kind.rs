//! The kinds of token the issuer mints, told apart by the header's `typ`.

use std::fmt;

/// The kinds of token a [`TokenIssuer`](crate::TokenIssuer) mints, told apart by the header's
/// `typ` (explicit typing, RFC 8725 §3.11) and by their audience.
///
/// A kind converts into its `typ` string, so it can be given to
/// [`Builder::token_type`](keycard::Builder::token_type) and
/// [`ValidatorBuilder::token_type`](keycard::ValidatorBuilder::token_type):
///
/// ```
/// use keycard::{Algorithm, Builder, ErrorKind, HmacKey, Validator};
/// use keycard_lifecycle::TokenKind;
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
