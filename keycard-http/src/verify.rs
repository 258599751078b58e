//! Verifying at the async edge: [`verify`], a keycard [`Validator`] plus the one
//! key-source refetch an unknown `kid` is worth, and [`TokenVerifier`], what an
//! [`Authorizer`](crate::Authorizer) checks tokens with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use keycard::{Error, ErrorKind, KeySet, Validator};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Verifies `token` with `validator`; when its `kid` is unknown and the validator reads its keys
/// from a [`KeySource`](keycard::KeySource), asks the source to
/// [`refetch`](keycard::KeySource::refetch) once and verifies again.
///
/// The validator stays synchronous and does no I/O; this is the one await of the verify path,
/// for the key source's own policy (cooldown, one fetch at a time) to decide whether to fetch.
///
/// # Errors
/// What [`Validator::verify`] returns. When the refetch fails, the `unknown_key_id` error
/// carries that failure ([`Error::with_key_source_failure`]), which
/// [`Reason::of`](crate::Reason::of) answers 503 rather than 401: the `kid` may be a new key the
/// source could not fetch. The check is never weakened.
///
/// A `kid` the source's set published but skipped (for instance a key of an algorithm the set
/// does not allow) is not refetched: the next document would skip it again. A key skipped for
/// its algorithm answers [`Error::AlgorithmMismatch`] (401 `algorithm`) rather than "no key has
/// key id"; the event `token names a key the key set skipped` (target `keycard_http`) says why.
///
/// ```
/// use std::sync::Arc;
/// use keycard::{Algorithm, Builder, Claims, Error, ErrorKind, HmacKey, KeySet, KeySource, Validator};
/// use keycard::time::Duration;
///
/// /// A source whose provider is down: refetching fails.
/// #[derive(Debug)]
/// struct Down(Arc<KeySet>);
///
/// impl KeySource for Down {
///     fn generation(&self) -> Result<u64, Error> { Ok(1) }
///     fn keys(&self) -> Arc<KeySet> { Arc::clone(&self.0) }
///     fn refetch(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + '_>> {
///         Box::pin(async { Err(Error::key_source(std::io::Error::other("connection refused"))) })
///     }
/// }
///
/// # tokio_test(async {
/// let known = HmacKey::generate(Algorithm::HS256)?.with_key_id("known");
/// let validator = Validator::builder_with_source(Arc::new(Down(Arc::new(KeySet::from_iter([known.clone()]))))).build()?;
///
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&known)?;
/// keycard_http::verify::<Claims>(&validator, &token).await?;
///
/// let new = HmacKey::generate(Algorithm::HS256)?.with_key_id("new");
/// let token = Builder::new().expires_in(Duration::minutes(5)).sign(&new)?;
/// let err = keycard_http::verify::<Claims>(&validator, &token).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
/// assert_eq!(err.key_source_failure().map(Error::kind), Some(ErrorKind::KeySource));
/// # Ok::<(), Error>(()) }).unwrap();
/// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn verify<T: DeserializeOwned>(validator: &Validator, token: &str) -> Result<T, Error> {
    match validator.verify(token) {
        Err(unknown) if unknown.kind() == ErrorKind::UnknownKeyId => {
            let Some(source) = validator.key_source() else {
                return Err(unknown);
            };
            if let Some(skipped) = skipped_key(&source.keys(), token) {
                return Err(skipped.unwrap_or(unknown));
            }
            match source.refetch().await {
                Ok(()) => validator.verify(token),
                Err(failure) => Err(unknown.with_key_source_failure(failure)),
            }
        }
        other => other,
    }
}

/// When `token`'s `kid` names a key that `keys` skipped: `Some`, with the error to answer
/// instead of `unknown_key_id` when there is a better one (the key's algorithm is not allowed).
#[cold]
fn skipped_key(keys: &KeySet, token: &str) -> Option<Option<Error>> {
    let header = keycard::unverified::decode_header(token).ok()?;
    // Skipped keys hold their `kid` escaped and cut, as every echoed value.
    let kid = keycard::text::escape(header.key_id()?, keycard::limits::MAX_ECHO);
    let skipped = keys.skipped().iter().find(|s| s.key_id() == Some(&kid))?;
    tracing::info!(target: "keycard_http", %skipped, "token names a key the key set skipped");
    Some((skipped.kind() == ErrorKind::Algorithm).then(|| {
        let mut expected = Vec::new();
        for key in keys.iter() {
            if !expected.contains(&key.algorithm()) {
                expected.push(key.algorithm());
            }
        }
        Error::AlgorithmMismatch {
            found: header.algorithm(),
            expected,
        }
    }))
}

/// The future of [`TokenVerifier::verify`].
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, Error>> + Send + 'a>>;

/// What checks the tokens of an [`Authorizer`](crate::Authorizer): a keycard [`Validator`]
/// (through [`verify`], refetching its key source on an unknown `kid`), or your own.
///
/// The claims come back as one JSON value, read once by the validator's strict reader; the
/// route's scope and claims checks and the framework's extractors all read that value, never the
/// token's JSON text again.
pub trait TokenVerifier: fmt::Debug + Send + Sync + 'static {
    /// Verifies without waiting on anything (no refetch): for synchronous callers such as a
    /// tonic interceptor.
    ///
    /// # Errors
    /// Why the token is refused, or why it could not be checked.
    fn verify_now(&self, token: &str) -> Result<Value, Error>;

    /// Verifies, waiting for what the verifier needs (a key refetch on an unknown `kid`).
    /// The default is [`verify_now`](Self::verify_now).
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(std::future::ready(self.verify_now(token)))
    }
}

impl TokenVerifier for Validator {
    fn verify_now(&self, token: &str) -> Result<Value, Error> {
        Validator::verify(self, token)
    }

    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(verify(self, token))
    }
}
