//! [`ValidatorExt`]: a keycard validator on a [`RemoteKeySet`].

use std::sync::Arc;

use keycard::{Validator, ValidatorBuilder};

use crate::remote::RemoteKeySet;

/// Adds [`builder_with_remote`](ValidatorExt::builder_with_remote) to keycard's [`Validator`].
pub trait ValidatorExt {
    /// Starts a validator whose keys come from `keys` and follow its refreshes: keycard's
    /// [`Validator::builder_with_source`] on the set, and, when the set was discovered from an
    /// issuer, [`issuer`](ValidatorBuilder::issuer) set to it. Every other option is keycard's
    /// own [`ValidatorBuilder`]'s, the validator's clock included.
    ///
    /// ```no_run
    /// use keycard::{Algorithm, Validator};
    /// use keycard_jwks::{RemoteKeySet, ValidatorExt};
    ///
    /// # async fn run() -> Result<(), keycard::Error> {
    /// let keys = RemoteKeySet::discover("https://login.example.com/")
    ///     .algorithms([Algorithm::RS256])
    ///     .await?;
    /// let validator = Validator::builder_with_remote(&keys)
    ///     .audience("api")
    ///     .require_scope("orders:read")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    fn builder_with_remote(keys: &RemoteKeySet) -> ValidatorBuilder;
}

impl ValidatorExt for Validator {
    fn builder_with_remote(keys: &RemoteKeySet) -> ValidatorBuilder {
        let builder = Validator::builder_with_source(Arc::new(keys.clone()));
        match keys.issuer() {
            Some(issuer) => builder.issuer(issuer),
            None => builder,
        }
    }
}
