//! The token lifecycle around the core: token kinds, access/refresh pairs with rotation and reuse
//! detection ([`TokenIssuer`]), revocation ([`RevocationStore`]), and the extra validator steps for
//! scopes and OpenID Connect ID tokens.
//!
//! Each store is one small object-safe trait with a bounded in-memory default. The store traits
//! are asynchronous ([`StoreFuture`]), so that a store on the network (`keycard-redis`) never
//! blocks a runtime thread; the in-memory stores return futures that are ready at once, and the
//! issuer's synchronous methods simply wait for them.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::error::Error;

mod family;
mod issuer;
mod memory;
mod revocation;

pub use family::{Family, FamilyStore, MemoryFamilyStore, Superseded};
pub use issuer::{TokenIssuer, TokenIssuerBuilder, TokenPair};
pub use revocation::{MemoryRevocationStore, RevocationStore};

/// What every method of [`FamilyStore`] and [`RevocationStore`] returns: a boxed, `Send` future
/// of a result, so that the traits stay object-safe without an async-trait crate.
///
/// An implementation with nothing to wait for returns `Box::pin(std::future::ready(result))`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Runs `future` to completion on the calling thread, parking it while the future waits: the
/// synchronous methods of [`TokenIssuer`] over the asynchronous store traits. With the memory
/// stores every future is ready at once, so this never parks.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

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
