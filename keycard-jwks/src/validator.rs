//! [`RemoteValidator`]: a keycard [`Validator`] whose keys come from a [`RemoteKeySet`].

use std::sync::Arc;

use keycard::{Clock, Error, ErrorKind, RevocationList, Validator, ValidatorBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::Duration;

use crate::remote::{Refetch, RemoteKeySet};

/// Adds [`builder_with_remote`](ValidatorExt::builder_with_remote) to keycard's [`Validator`].
pub trait ValidatorExt {
    /// Starts a validator whose keys come from `keys` and follow its refreshes. When the set
    /// was discovered from an issuer, the validator requires `iss` to be that issuer.
    fn builder_with_remote(keys: &RemoteKeySet) -> RemoteValidatorBuilder;
}

impl ValidatorExt for Validator {
    fn builder_with_remote(keys: &RemoteKeySet) -> RemoteValidatorBuilder {
        keys.validator()
    }
}

impl RemoteKeySet {
    /// Starts a validator on this set; the same as
    /// [`Validator::builder_with_remote`](ValidatorExt::builder_with_remote).
    pub fn validator(&self) -> RemoteValidatorBuilder {
        let mut builder = Validator::builder_with_keys(keycard::KeySet::clone(&self.keys()))
            .clock(Shared(Arc::clone(&self.inner.clock)));
        if let Some(issuer) = self.issuer() {
            builder = builder.issuer(issuer);
        }
        RemoteValidatorBuilder {
            keys: self.clone(),
            builder,
        }
    }
}

/// The key set's clock, shared with its validators.
#[derive(Debug)]
struct Shared(Arc<dyn Clock>);

impl Clock for Shared {
    fn now(&self) -> time::OffsetDateTime {
        self.0.now()
    }
}

/// Configures a [`RemoteValidator`]: the rules of keycard's [`ValidatorBuilder`], with the keys
/// of a [`RemoteKeySet`]. Options not mirrored here are reached with
/// [`configure`](Self::configure).
#[derive(Debug)]
#[must_use = "call `build` to get a RemoteValidator"]
pub struct RemoteValidatorBuilder {
    keys: RemoteKeySet,
    builder: ValidatorBuilder,
}

macro_rules! mirror {
    ($(#[$doc:meta] $name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[$doc]
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            self.builder = self.builder.$name($($arg),*);
            self
        }
    )*};
}

impl RemoteValidatorBuilder {
    mirror! {
        /// See [`ValidatorBuilder::issuer`]: an accepted `iss` (call again for more).
        issuer(issuer: impl Into<String>);
        /// See [`ValidatorBuilder::audience`]: an accepted `aud` (call again for more).
        audience(audience: impl Into<String>);
        /// See [`ValidatorBuilder::subject`].
        subject(subject: impl Into<String>);
        /// See [`ValidatorBuilder::token_type`], e.g. `at+jwt` (RFC 9068).
        token_type(typ: impl Into<String>);
        /// See [`ValidatorBuilder::require_claim`].
        require_claim(name: impl Into<String>);
        /// See [`ValidatorBuilder::leeway`].
        leeway(leeway: Duration);
        /// See [`ValidatorBuilder::max_token_len`].
        max_token_len(bytes: usize);
        /// See [`ValidatorBuilder::require_scope`].
        require_scope(scope: impl Into<String>);
        /// See [`ValidatorBuilder::revocations`].
        revocations(store: Arc<dyn RevocationList>);
        /// See [`ValidatorBuilder::id_token`].
        id_token(client_id: impl Into<String>);
        /// See [`ValidatorBuilder::max_age`].
        max_age(max_age: Duration);
    }

    /// Any other [`ValidatorBuilder`] option, e.g. `.configure(|v| v.dangerous().allow_any_audience())`.
    pub fn configure(mut self, f: impl FnOnce(ValidatorBuilder) -> ValidatorBuilder) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Builds the validator and attaches it to the set, which from now on hands it every new set.
    ///
    /// # Errors
    /// What [`ValidatorBuilder::build`] refuses.
    pub fn build(self) -> Result<RemoteValidator, Error> {
        let validator = self.builder.build()?;
        let alive = Arc::new(());
        self.keys.attach(&validator, &alive);
        Ok(RemoteValidator {
            validator,
            keys: self.keys,
            _alive: alive,
        })
    }
}

/// A [`Validator`] on a [`RemoteKeySet`]. Cheap to clone.
///
/// [`verify`](Self::verify) is synchronous and never touches the network;
/// [`verify_or_refetch`](Self::verify_or_refetch) is the async one for request handlers: on an
/// unknown `kid` it waits (bounded) for the set's one shared refetch, then verifies again.
///
/// Once the set is stale (the provider has failed for longer than
/// [`max_stale`](crate::RemoteKeySetBuilder::max_stale) past the set's lifetime), both fail
/// with an [`ErrorKind::Store`] error wrapping [`crate::Error::Stale`]: a server-side
/// failure, not the token's.
#[derive(Debug, Clone)]
pub struct RemoteValidator {
    validator: Validator,
    keys: RemoteKeySet,
    /// While a clone of this lives, the set hands the validator every new set.
    _alive: Arc<()>,
}

impl RemoteValidator {
    /// The keycard validator, with the current keys. A clone of it follows the set's
    /// refreshes while this `RemoteValidator` (or a clone of it) lives.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The key set.
    pub fn key_set(&self) -> &RemoteKeySet {
        &self.keys
    }

    /// Verifies `token` with the current set, without waiting on the network.
    ///
    /// # Errors
    /// What [`Validator::verify`] returns (an unknown `kid` is
    /// [`ErrorKind::UnknownKeyId`]), or an [`ErrorKind::Store`] error once the set is stale.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        self.keys.check_fresh().map_err(Error::store)?;
        self.validator.verify(token)
    }

    /// Like [`verify`](Self::verify), decoding into `buffer` so that `T` may borrow from it.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_borrowed<'b, T: Deserialize<'b>>(
        &self,
        token: &str,
        buffer: &'b mut Vec<u8>,
    ) -> Result<T, Error> {
        self.keys.check_fresh().map_err(Error::store)?;
        self.validator.verify_borrowed(token, buffer)
    }

    /// Verifies `token`; when its `kid` is unknown, waits for the set's shared refetch (at most
    /// one per cooldown, bounded by the configured wait) and verifies once more. Runs on a tokio
    /// runtime; the refetch runs in a task of its own, so it completes for every other request
    /// even when this one stops waiting.
    ///
    /// # Errors
    /// As [`verify`](Self::verify). When the refetch cannot run (cooldown), times out or fails,
    /// the error is the original [`ErrorKind::UnknownKeyId`]: the check is never weakened.
    pub async fn verify_or_refetch<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        let seen = self.keys.generation();
        match self.verify(token) {
            Err(e) if e.kind() == ErrorKind::UnknownKeyId => {
                match self.keys.refetch_unknown_kid(seen).await {
                    Refetch::Fetched | Refetch::FetchedByOther => self.verify(token),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }
}
