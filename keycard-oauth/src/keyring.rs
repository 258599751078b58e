//! The signing-key ring: the current key signs; the next key is published at least one
//! resource-server cache lifetime before it signs; retired keys stay published until the last
//! access token they signed has expired, and verify the service's own refresh tokens until the
//! last of those has. Rotated on a schedule or on demand, shared by instances through a
//! [`KeyRingStore`] (compare-and-set on a versioned document).

use std::fmt;
use std::future::ready;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard::{Algorithm, Clock, EcdsaPrivateKey, EcdsaPublicKey, Error, KeySet, Signer, Verifier};
use keycard_lifecycle::StoreFuture;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// One key of the ring as stored: its private key (PKCS#8 DER, base64url) and its times (Unix
/// seconds). `Debug` shows no key material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The key id.
    pub kid: String,
    /// The private key, PKCS#8 DER in base64url.
    pub pkcs8: String,
    /// When it was published.
    pub published: i64,
    /// When it started signing, if it has.
    pub activated: Option<i64>,
    /// When it stopped signing, if it has.
    pub retired: Option<i64>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("published", &self.published)
            .field("activated", &self.activated)
            .field("retired", &self.retired)
            .finish_non_exhaustive()
    }
}

/// The ring as stored: a version that every change increments, and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingDocument {
    /// Incremented by every change; the compare-and-set compares it.
    pub version: u64,
    /// The keys: one current, at most one next, the retired ones still needed.
    pub keys: Vec<StoredKey>,
}

/// Where instances share the ring. It holds private keys: keep it as private as the keys
/// (encrypted at rest, access restricted).
pub trait KeyRingStore: fmt::Debug + Send + Sync {
    /// The ring, if one was stored.
    fn load(&self) -> StoreFuture<'_, Option<RingDocument>>;

    /// Stores `new` if the stored version is still `expected` (`None`: nothing stored yet),
    /// atomically; says whether it did.
    fn compare_and_set<'a>(
        &'a self,
        expected: Option<u64>,
        new: RingDocument,
    ) -> StoreFuture<'a, bool>;
}

/// The default [`KeyRingStore`]: in memory, shared by the services of one process that are
/// given the same `Arc`.
#[derive(Debug, Default)]
pub struct MemoryKeyRingStore {
    document: Mutex<Option<RingDocument>>,
}

impl MemoryKeyRingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KeyRingStore for MemoryKeyRingStore {
    fn load(&self) -> StoreFuture<'_, Option<RingDocument>> {
        let document = self
            .document
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Box::pin(ready(Ok(document)))
    }

    fn compare_and_set<'a>(
        &'a self,
        expected: Option<u64>,
        new: RingDocument,
    ) -> StoreFuture<'a, bool> {
        let mut document = self
            .document
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let swapped = document.as_ref().map(|d| d.version) == expected;
        if swapped {
            *document = Some(new);
        }
        Box::pin(ready(Ok(swapped)))
    }
}

/// How the ring rotates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// How long a key signs before the schedule rotates it (`None`: on demand only).
    pub(crate) period: Option<Duration>,
    /// How long the next key is published before it may sign: at least the resource servers'
    /// JWKS cache lifetime.
    pub(crate) publish_ahead: Duration,
    /// How long a retired key stays published: the longest access-token lifetime and leeway.
    pub(crate) publish_after: Duration,
    /// How long a retired key keeps verifying refresh tokens: their lifetime and leeway.
    pub(crate) verify_after: Duration,
}

/// The ring in memory: the parsed keys of one document version.
struct State {
    document: RingDocument,
    current: Arc<EcdsaPrivateKey>,
    /// Every key still needed, with the instant until which it is published.
    public: Vec<(EcdsaPublicKey, i64)>,
}

/// The ring of one service instance.
pub(crate) struct KeyRing {
    policy: Policy,
    clock: Arc<dyn Clock>,
    store: Arc<dyn KeyRingStore>,
    state: RwLock<Arc<State>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("policy", &self.policy)
            .field("version", &self.state().document.version)
            .finish_non_exhaustive()
    }
}

fn configuration(reason: &'static str) -> Error {
    Error::Configuration {
        reason: reason.into(),
    }
}

fn random_kid() -> Result<String, Error> {
    let mut bytes = [0u8; 12];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::random_failure())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn stored(
    key: &EcdsaPrivateKey,
    published: i64,
    activated: Option<i64>,
) -> Result<StoredKey, Error> {
    let kid = key
        .key_id()
        .ok_or_else(|| configuration("a ring key needs a `kid`"))?;
    Ok(StoredKey {
        kid: kid.to_owned(),
        pkcs8: URL_SAFE_NO_PAD.encode(key.to_der()),
        published,
        activated,
        retired: None,
    })
}

fn new_next(now: i64) -> Result<StoredKey, Error> {
    let key = EcdsaPrivateKey::generate(Algorithm::ES256)?.with_key_id(random_kid()?);
    stored(&key, now, None)
}

fn parse(key: &StoredKey) -> Result<EcdsaPrivateKey, Error> {
    let der = URL_SAFE_NO_PAD
        .decode(&key.pkcs8)
        .map_err(|_| configuration("a stored ring key is not base64url"))?;
    Ok(EcdsaPrivateKey::from_der(Algorithm::ES256, &der)?.with_key_id(key.kid.clone()))
}

impl State {
    fn of(document: RingDocument, policy: &Policy) -> Result<State, Error> {
        let mut current = None;
        let mut public = Vec::new();
        for key in &document.keys {
            let private = parse(key)?;
            let until = match key.retired {
                Some(retired) => retired.saturating_add(policy.verify_after.whole_seconds()),
                None => i64::MAX,
            };
            public.push((private.public_key(), until));
            if key.activated.is_some() && key.retired.is_none() {
                current = Some(Arc::new(private));
            }
        }
        let current = current.ok_or_else(|| configuration("the stored ring has no current key"))?;
        Ok(State {
            document,
            current,
            public,
        })
    }
}

impl KeyRing {
    /// A ring whose first current key is `first`, or the store's ring if it has one.
    pub(crate) fn new(
        first: &EcdsaPrivateKey,
        store: Arc<dyn KeyRingStore>,
        policy: Policy,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyRing, Error> {
        if first.algorithm() != Algorithm::ES256 {
            return Err(configuration("the key ring signs with ES256 keys"));
        }
        let now = clock.now().unix_timestamp();
        let document = RingDocument {
            version: 0,
            keys: vec![stored(first, now, Some(now))?, new_next(now)?],
        };
        let state = State::of(document, &policy)?;
        Ok(KeyRing {
            policy,
            clock,
            store,
            state: RwLock::new(Arc::new(state)),
        })
    }

    fn state(&self) -> Arc<State> {
        Arc::clone(
            &self
                .state
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn install(&self, document: RingDocument) -> Result<(), Error> {
        let state = State::of(document, &self.policy)?;
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(state);
        Ok(())
    }

    /// The key that signs now.
    pub(crate) fn current(&self) -> Arc<EcdsaPrivateKey> {
        Arc::clone(&self.state().current)
    }

    /// The JWK Set to publish at `now`: current, next, and retired keys whose access tokens may
    /// still be alive.
    pub(crate) fn jwks(&self, now: OffsetDateTime) -> String {
        let state = self.state();
        let now = now.unix_timestamp();
        let mut set = KeySet::new();
        for (stored, (public, _)) in state.document.keys.iter().zip(&state.public) {
            let published_until = stored.retired.map_or(i64::MAX, |r| {
                r.saturating_add(self.policy.publish_after.whole_seconds())
            });
            if now < published_until {
                set.insert(public.clone());
            }
        }
        set.to_json()
    }

    /// Reads the store: adopts its ring, or stores ours when it has none.
    pub(crate) async fn sync(&self) -> Result<(), Error> {
        match self.store.load().await? {
            Some(document) => {
                if document.version != self.state().document.version
                    || document != self.state().document
                {
                    self.install(document)?;
                }
                Ok(())
            }
            None => {
                let ours = self.state().document.clone();
                if !self.store.compare_and_set(None, ours).await? {
                    if let Some(document) = self.store.load().await? {
                        self.install(document)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Rotates at `now` when the schedule says so (or always, with `force`), provided the next
    /// key has been published for `publish_ahead`. Returns whether this call rotated; `Ok(false)`
    /// when it was not time, or another instance rotated first (its ring is adopted).
    pub(crate) async fn rotate(&self, now: OffsetDateTime, force: bool) -> Result<bool, Error> {
        self.sync().await?;
        let now = now.unix_timestamp();
        let state = self.state();
        let document = &state.document;
        let Some(next) = document.keys.iter().find(|k| k.activated.is_none()) else {
            return Ok(false);
        };
        if now
            < next
                .published
                .saturating_add(self.policy.publish_ahead.whole_seconds())
        {
            return Ok(false);
        }
        let due = document
            .keys
            .iter()
            .find(|k| k.activated.is_some() && k.retired.is_none())
            .and_then(|k| k.activated)
            .zip(self.policy.period)
            .is_some_and(|(activated, period)| {
                now >= activated.saturating_add(period.whole_seconds())
            });
        if !(force || due) {
            return Ok(false);
        }
        let next_kid = next.kid.clone();
        let mut keys: Vec<StoredKey> = document
            .keys
            .iter()
            .filter(|k| {
                // Forget retired keys past their last refresh token.
                k.retired.is_none_or(|r| {
                    now < r.saturating_add(self.policy.verify_after.whole_seconds())
                })
            })
            .cloned()
            .map(|mut k| {
                if k.kid == next_kid {
                    k.activated = Some(now);
                } else if k.activated.is_some() && k.retired.is_none() {
                    k.retired = Some(now);
                }
                k
            })
            .collect();
        keys.push(new_next(now)?);
        let new = RingDocument {
            version: document.version.wrapping_add(1),
            keys,
        };
        if self
            .store
            .compare_and_set(Some(document.version), new.clone())
            .await?
        {
            self.install(new)?;
            Ok(true)
        } else {
            self.sync().await?;
            Ok(false)
        }
    }

    /// The verifier of every key still needed at the moment of each call.
    pub(crate) fn verifier(self: &Arc<Self>) -> RingVerifier {
        RingVerifier(Arc::clone(self))
    }

    /// The signer of the current key at the moment of each call, with no `kid` (for the
    /// lifecycle's refresh tokens, which only the ring's own verifier reads).
    pub(crate) fn signer(self: &Arc<Self>) -> RingSigner {
        RingSigner(Arc::clone(self))
    }
}

/// Signs with the ring's current key; writes no `kid`, so that the header never names another
/// key than the one that signs.
#[derive(Debug, Clone)]
pub(crate) struct RingSigner(Arc<KeyRing>);

impl Signer for RingSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.current().sign(message)
    }
}

/// Verifies with any key of the ring still needed (at most three or four).
#[derive(Debug, Clone)]
pub(crate) struct RingVerifier(Arc<KeyRing>);

impl Verifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let state = self.0.state();
        let now = self.0.clock.now().unix_timestamp();
        let mut last = None;
        for (public, until) in &state.public {
            if now >= *until {
                continue;
            }
            match public.verify(message, signature) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| configuration("the key ring has no key to verify with")))
    }
}
