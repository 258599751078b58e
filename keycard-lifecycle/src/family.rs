//! Refresh-token families: the [`FamilyStore`] trait that rotation is built on, the [`Family`]
//! record it keeps, and the in-memory default.

use std::fmt;
use std::future::ready;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::memory::ExpiringMap;
use crate::{StoreFuture, TokenPair};
use keycard::{Clock, NumericDate};

/// One login session as a [`FamilyStore`] keeps it: which refresh token may be used next.
///
/// A family is all the refresh tokens descended by rotation from one login, and shares its id
/// with the `sid` claim of every token of the session. Only [`TokenIssuer`](crate::TokenIssuer)
/// makes these; a store saves and returns them unchanged. It serializes to a small JSON object
/// for stores that keep strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Family {
    /// The `jti` of the one refresh token of this family that is still unused.
    pub current: String,
    /// When the family can be forgotten: when that token expires, or earlier at the session's
    /// idle timeout. A store keeps the family at least until then (a TTL of
    /// `expires_at - now`), and the issuer refuses to rotate it from then on.
    pub expires_at: NumericDate,
    /// The session's absolute end, when the issuer has a
    /// [`session_lifetime`](crate::TokenIssuerBuilder::session_lifetime): fixed at login, no
    /// rotation moves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ends_at: Option<NumericDate>,
    /// The token `current` replaced, while the grace interval lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Superseded>,
}

/// A refresh token just used, remembered for the issuer's grace interval so that a client's
/// concurrent retry receives the pair already issued instead of tripping reuse detection.
///
/// This holds live tokens: a store must protect it as it would the tokens themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Superseded {
    /// The used refresh token's `jti`.
    pub jti: String,
    /// The end of the grace interval.
    pub until: NumericDate,
    /// The pair issued in exchange for it.
    pub successor: TokenPair,
    /// When the pair was recorded, while it is not known to have reached the client: a refresh
    /// that failed after its rotation was stored (a store error, a lost answer) leaves it set,
    /// and a retry of `jti` receives `successor` whatever the grace interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed_since: Option<NumericDate>,
}

/// Where [`TokenIssuer`](crate::TokenIssuer) keeps refresh-token families.
///
/// Rotation reads a family, mints the successor, and writes it back with
/// [`compare_and_set`](Self::compare_and_set); if another request rotated the family in between,
/// the write fails and the issuer reads again. That compare-and-set must be **atomic**: it is the
/// one requirement, and it is what makes N concurrent refreshes with the same token yield one new
/// pair, never two (RFC 9700 §4.14.2).
///
/// Writes receive `now`, the caller's clock reading, so that a store can prune or set a time to
/// live (`family.expires_at - now`).
///
/// # On Redis or SQL
/// Two records are the same state exactly when their `current` fields are equal (every rotation
/// writes a new, random `current`), so that is what a store compares:
/// - Redis: the `keycard-redis` crate (a hash per family, a Lua script per rotation, a TTL at
///   `expires_at`).
/// - SQL: `UPDATE families SET current = $new_current, record = $new_json, expires_at = $exp
///   WHERE id = $id AND current = $expected_current`, and the swap succeeded when one row
///   changed. `insert` is an `INSERT`, `remove` a `DELETE`, plus a periodic
///   `DELETE ... WHERE expires_at < now()`.
///
/// Every method returns a boxed future ([`StoreFuture`]) so that the trait stays object-safe and
/// a store on the network never blocks a runtime thread; an in-memory store returns a future
/// that is ready at once. `keycard-redis` implements this trait on Redis (a Lua script per
/// rotation).
///
/// An error from the store fails the refresh with [`ErrorKind::Store`](keycard::ErrorKind::Store);
/// nothing is issued.
pub trait FamilyStore: fmt::Debug + Send + Sync {
    /// Records a new family under `id`.
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()>;

    /// The family `id`, if it exists.
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>>;

    /// Atomically replaces the family `id` by `new` if it is still `expected` (compare by
    /// `current`), and says whether it did. `Ok(false)` when the family changed or is gone.
    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Family,
        new: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, bool>;

    /// Forgets the family `id`, so that none of its refresh tokens works again. The issuer
    /// revokes the session (`sid`) first, so a failure here fails the operation with the
    /// session's access tokens already refused; its refresh tokens are refused by that `sid`
    /// while it lasts (the access-token lifetime), so a store whose removal can fail should
    /// delete the family together with the session revocation, as `keycard-redis` does in one
    /// script.
    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()>;
}

/// The default [`FamilyStore`]: a map in memory, in this process only.
///
/// Bounded: a family is pruned once its current refresh token has expired, so memory follows the
/// number of live sessions, not the number of logins ever made; a hard capacity (default
/// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY)) refuses new logins with
/// [`ErrorKind::Store`](keycard::ErrorKind::Store) rather than forget live sessions.
pub struct MemoryFamilyStore {
    families: Mutex<ExpiringMap<Family>>,
    /// Set by [`clock`](MemoryFamilyStore::clock): reads leave out families past their time.
    clock: Option<Arc<dyn Clock>>,
}

/// Sizes only: the map holds session ids and refresh-token ids, which are never printed.
impl fmt::Debug for MemoryFamilyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let families = self.lock();
        f.debug_struct("MemoryFamilyStore")
            .field("len", &families.len())
            .field("capacity", &families.capacity())
            .finish()
    }
}

impl Default for MemoryFamilyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryFamilyStore {
    /// The capacity of [`new`](Self::new): a million live sessions.
    pub const DEFAULT_CAPACITY: usize = 1_000_000;

    /// An empty store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty store holding at most `capacity` live families.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryFamilyStore {
            families: Mutex::new(ExpiringMap::new(capacity, "refresh family")),
            clock: None,
        }
    }

    /// Reads the time from `clock`: a family past its `expires_at` by that clock is no longer
    /// returned nor swapped. Without one (the default) a family is returned until it is pruned
    /// (the issuer checks `expires_at` on its own clock either way).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Whether a family kept until `until` is still there.
    fn live(&self, until: OffsetDateTime) -> bool {
        self.clock.as_ref().is_none_or(|clock| until > clock.now())
    }

    /// How many families the store holds, pruned or not yet.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no family.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while the lock was held cannot leave the map half-written in a way that matters (a
    // write either happened or did not), so a poisoned lock is recovered.
    fn lock(&self) -> std::sync::MutexGuard<'_, ExpiringMap<Family>> {
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FamilyStore for MemoryFamilyStore {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        let until = family.expires_at.to_datetime();
        Box::pin(ready(self.lock().insert(id, family, until, now)))
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>> {
        // A family past its expiry is gone, as if the store had pruned it already.
        Box::pin(ready(Ok(self
            .lock()
            .get(id)
            .filter(|(_, until)| self.live(*until))
            .map(|(family, _)| family.clone()))))
    }

    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Family,
        new: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        let mut families = self.lock();
        let result = match families.get(id) {
            Some((stored, until)) if stored.current == expected.current && self.live(*until) => {
                let until = new.expires_at.to_datetime();
                families.insert(id, new, until, now).map(|()| true)
            }
            _ => Ok(false),
        };
        Box::pin(ready(result))
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.lock().remove(id);
        Box::pin(ready(Ok(())))
    }
}
