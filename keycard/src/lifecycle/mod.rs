//! The token lifecycle around the core: token kinds, access/refresh pairs with rotation and reuse
//! detection ([`TokenIssuer`]), revocation ([`RevocationStore`]), the client-side refresh-ahead
//! cache ([`TokenSource`]), and the extra validator steps for scopes and OpenID Connect ID tokens.
//!
//! Each store is one small object-safe trait with a bounded in-memory default; the validator step
//! in [`Checks`] costs nothing when none of it is configured.

use std::fmt;

mod family;
mod issuer;
mod memory;
mod revocation;
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
