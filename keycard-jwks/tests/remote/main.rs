//! keycard-jwks against keycard-test's local identity provider over real HTTP on 127.0.0.1:
//! discovery, rotation, faults, the cache's lifetime, the key source seam, and a flood of
//! unknown `kid`s.

mod discovery;
mod documents;
mod events;
mod faults;
mod flood;
mod lifetime;
mod presets;
mod rotation;
mod source;
mod tls;

use std::time::Duration;

use keycard::{Algorithm, Builder, ErrorKind, KeySource, Signer, Validator};
use keycard_jwks::{RemoteKeySet, RemoteKeySetBuilder};
use keycard_test::IdentityProvider;
use serde::de::DeserializeOwned;

pub(crate) use keycard_test::keys::{es256, jwks};

/// Starts an identity provider serving `document`, after installing this suite's `tracing`
/// recorder (see `events`), which must come before any request.
pub(crate) async fn start(document: String) -> IdentityProvider {
    events::install();
    IdentityProvider::start(document).await
}

/// A token for audience `api` from `issuer`, valid for 5 minutes.
pub(crate) fn token(key: &dyn Signer, issuer: &str) -> String {
    Builder::new()
        .issuer(issuer)
        .audience("api")
        .subject("user-42")
        .expires_in(time::Duration::minutes(5))
        .sign(key)
        .unwrap()
}

/// The builder every test starts from: http allowed (loopback), short timeouts, no background
/// refresh unless the test turns it on.
pub(crate) fn remote(url: String) -> RemoteKeySetBuilder {
    RemoteKeySet::from_url(url)
        .algorithms([Algorithm::ES256, Algorithm::RS256])
        .allow_http()
        .timeout(Duration::from_millis(500))
        .connect_timeout(Duration::from_millis(500))
        .no_background_refresh()
}

/// A validator for audience `api` on `keys`.
pub(crate) fn validator(keys: &RemoteKeySet) -> Validator {
    use keycard_jwks::ValidatorExt;
    Validator::builder_with_remote(keys)
        .audience("api")
        .build()
        .unwrap()
}

/// What an async edge does with a validator on a key source: verify; on an unknown `kid`, await
/// the source's refetch and verify once more, or attach the source's failure to the error.
pub(crate) async fn verify_or_refetch<T: DeserializeOwned>(
    validator: &Validator,
    token: &str,
) -> Result<T, keycard::Error> {
    match validator.verify(token) {
        Err(e) if e.kind() == ErrorKind::UnknownKeyId => {
            let Some(source) = validator.key_source() else {
                return Err(e);
            };
            match source.refetch().await {
                Ok(()) => validator.verify(token),
                Err(failure) => Err(e.with_key_source_failure(failure)),
            }
        }
        other => other,
    }
}

/// The keycard-jwks error inside a keycard `key_source` error.
pub(crate) fn jwks_error(err: &keycard::Error) -> &keycard_jwks::Error {
    assert_eq!(err.kind(), ErrorKind::KeySource, "{err}");
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<keycard_jwks::Error>())
        .unwrap_or_else(|| panic!("not a keycard-jwks failure: {err}"))
}

/// The current generation of `keys`, which must not be stale.
pub(crate) fn generation(keys: &RemoteKeySet) -> u64 {
    KeySource::generation(keys).unwrap()
}
