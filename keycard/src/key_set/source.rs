//! [`KeySource`]: where a validator's keys come from when they are not its own, such as an
//! identity provider's JWK Set fetched and cached by `keycard-jwks`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::KeySet;
use crate::error::Error;

/// A source of key sets that a [`Validator`](crate::Validator) reads its keys from
/// ([`Validator::builder_with_source`](crate::Validator::builder_with_source)), and whose
/// freshness it checks on every verification.
///
/// The validator stays synchronous and does no I/O: it asks the source for a
/// [`generation`](KeySource::generation) number (an atomic load), keeps a per-thread snapshot of
/// the set of that generation, and fetches the set again with [`keys`](KeySource::keys) only
/// when the number changes. A source on the network (`keycard-jwks`'s `RemoteKeySet`) does its
/// fetching on its own async tasks and implements [`refetch`](KeySource::refetch), which the
/// async edge (`keycard-jwks`, `keycard-http`) awaits when a token names an unknown `kid`.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::{Arc, RwLock};
/// use keycard::{Algorithm, Builder, Error, HmacKey, KeySet, KeySource, Validator};
/// use keycard::time::Duration;
///
/// /// Keys a configuration reload can replace.
/// #[derive(Debug)]
/// struct Reloadable { generation: AtomicU64, keys: RwLock<Arc<KeySet>> }
///
/// impl KeySource for Reloadable {
///     fn generation(&self) -> Result<u64, Error> {
///         Ok(self.generation.load(Ordering::Acquire))
///     }
///     fn keys(&self) -> Arc<KeySet> {
///         Arc::clone(&self.keys.read().unwrap())
///     }
/// }
///
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let source = Arc::new(Reloadable {
///     generation: AtomicU64::new(0),
///     keys: RwLock::new(Arc::new(KeySet::from_iter([key.clone()]))),
/// });
/// let validator = Validator::builder_with_source(source.clone()).build()?;
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&key)?;
/// validator.verify::<keycard::Claims>(&token)?;
/// # Ok::<(), keycard::Error>(())
/// ```
pub trait KeySource: fmt::Debug + Send + Sync + 'static {
    /// A number that changes whenever [`keys`](KeySource::keys) would return another set, or an
    /// error when the keys at hand must not be trusted any more (too old, and a newer set could
    /// not be fetched): [`Error::key_source`], which the validator returns instead of verifying.
    ///
    /// Called on every verification, before the signature is checked: keep it to a few atomic
    /// loads and a clock reading, never I/O.
    fn generation(&self) -> Result<u64, Error>;

    /// The current set. Called when the generation changed, and by
    /// [`Validator::keys`](crate::Validator::keys).
    fn keys(&self) -> Arc<KeySet>;

    /// Asked when a token names a `kid` that the current set lacks: fetch the set again if the
    /// source's policy allows it now (a cooldown, one fetch at a time), and resolve when done.
    /// `Ok(())` also when the source decided not to fetch; an error when it tried and failed,
    /// which callers attach to the `unknown_key_id` error with
    /// [`Error::with_key_source_failure`].
    ///
    /// The default has nothing to fetch and is ready at once.
    fn refetch(&self) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + '_>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
