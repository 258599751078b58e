//! keycard-jwks against a local identity provider over real HTTP on 127.0.0.1: discovery,
//! rotation, faults, the cache's lifetime, and a flood of unknown `kid`s.

#[path = "remote/provider.rs"]
mod provider;

#[path = "remote/discovery.rs"]
mod discovery;
#[path = "remote/documents.rs"]
mod documents;
#[path = "remote/events.rs"]
mod events;
#[path = "remote/faults.rs"]
mod faults;
#[path = "remote/flood.rs"]
mod flood;
#[path = "remote/lifetime.rs"]
mod lifetime;
#[path = "remote/rotation.rs"]
mod rotation;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keycard::{Algorithm, Builder, Clock, EcdsaPrivateKey, KeySet, Signer};
use keycard_jwks::{RemoteKeySet, RemoteKeySetBuilder};
use time::OffsetDateTime;

/// A clock the test moves forward by hand.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub(crate) fn advance(&self, by: Duration) {
        self.0
            .fetch_add(i64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::milliseconds(self.0.load(Ordering::SeqCst))
    }
}

/// A fresh ES256 key with `kid`.
pub(crate) fn es256(kid: &str) -> EcdsaPrivateKey {
    EcdsaPrivateKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id(kid)
}

/// The JWK Set publishing the public halves of `keys`.
pub(crate) fn jwks(keys: &[&EcdsaPrivateKey]) -> String {
    let mut set = KeySet::new();
    for key in keys {
        set.insert(key.public_key());
    }
    set.to_json()
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
