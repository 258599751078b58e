//! Revocation: the [`RevocationStore`] trait, its in-memory default, and the validator step that
//! refuses revoked tokens.

use std::sync::{PoisonError, RwLock};

use time::OffsetDateTime;

use super::memory::ExpiringMap;
use crate::error::Error;
use crate::validation::RevocationList;

/// Where revocations are kept, for [`ValidatorBuilder::revocations`](crate::ValidatorBuilder::revocations)
/// and [`TokenIssuer`](crate::TokenIssuer).
///
/// Two kinds of entry, each kept only as long as it matters:
/// - **ids**: a token's `jti`, or a session's `sid` (which revokes every token of the session),
///   until the time after which those tokens have expired anyway;
/// - **subject cutoffs** ("sign out everywhere", a password change): every token of the subject
///   issued at or before the cutoff is refused, until the longest-lived of them has expired.
///
/// Writes receive `now`, the caller's clock reading, so that a store can prune or set a time to
/// live (`until - now`); reads must not drop an entry before its `until`. Errors fail closed: the
/// validator refuses the token with [`ErrorKind::Store`](crate::ErrorKind::Store).
///
/// # On Redis or SQL
/// Every operation is a single-key write or read, so no transaction is needed:
/// - Redis: `SET revoked:id:{id} 1 PXAT {until}`; `EXISTS revoked:id:{id}`. For a cutoff, keep
///   the later of two cutoffs with a small Lua script (`GET`, compare, `SET ... PXAT`), or store
///   it in a sorted set scored by the cutoff.
/// - SQL: `INSERT INTO revoked_ids (id, until) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET
///   until = GREATEST(revoked_ids.until, excluded.until)`, a `SELECT 1 ... WHERE id = $1`, and a
///   periodic `DELETE ... WHERE until < now()`; the same shape for cutoffs, with
///   `cutoff = GREATEST(...)`.
///
/// Every token a validator checks costs up to three reads (`jti`, `sid`, `sub`); a store on the
/// network may want a small local cache, at the price of revocations taking effect that much
/// later.
pub trait RevocationStore: RevocationList {
    /// Refuses every token whose `jti` or `sid` is `id`, at least until `until`.
    fn revoke_id(&self, id: &str, until: OffsetDateTime, now: OffsetDateTime) -> Result<(), Error>;

    /// Whether `id` (a `jti` or a `sid`) is revoked.
    fn is_revoked_id(&self, id: &str) -> Result<bool, Error>;

    /// Refuses every token of `subject` issued at or before `cutoff`, at least until `until`.
    /// A store keeps the later of two cutoffs: an earlier one never undoes a later one.
    fn revoke_subject(
        &self,
        subject: &str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), Error>;
}

/// The default [`RevocationStore`]: two maps in memory, in this process only.
///
/// Bounded: an entry is pruned once its `until` has passed, so memory follows the number of
/// revocations still in force, not the number ever made; a hard capacity (default
/// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries of each kind) refuses new revocations
/// with [`ErrorKind::Store`](crate::ErrorKind::Store) rather than forget live ones. Several
/// processes need a shared store instead (see [`RevocationStore`]).
///
/// ```
/// use keycard::{MemoryRevocationStore, RevocationStore};
/// use time::{Duration, OffsetDateTime};
///
/// let store = MemoryRevocationStore::new();
/// let now = OffsetDateTime::now_utc();
/// store.revoke_id("token-1", now + Duration::minutes(15), now)?;
/// assert!(store.is_revoked_id("token-1")?);
/// assert!(!store.is_revoked_id("token-2")?);
/// # Ok::<(), keycard::Error>(())
/// ```
#[derive(Debug)]
pub struct MemoryRevocationStore {
    maps: RwLock<Maps>,
}

#[derive(Debug)]
struct Maps {
    ids: ExpiringMap<()>,
    subjects: ExpiringMap<OffsetDateTime>,
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRevocationStore {
    /// The capacity of [`new`](Self::new): a million entries of each kind.
    pub const DEFAULT_CAPACITY: usize = 1_000_000;

    /// An empty store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty store holding at most `capacity` live ids and `capacity` live subject cutoffs.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryRevocationStore {
            maps: RwLock::new(Maps {
                ids: ExpiringMap::new(capacity, "revoked id"),
                subjects: ExpiringMap::new(capacity, "subject cutoff"),
            }),
        }
    }

    /// How many entries (ids and subject cutoffs) the store holds, pruned or not yet.
    pub fn len(&self) -> usize {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        maps.ids.len() + maps.subjects.len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// A panic while a lock was held cannot leave a map half-written in a way that matters here (an
// insertion either happened or did not), so a poisoned lock is recovered, never propagated.
impl RevocationStore for MemoryRevocationStore {
    fn revoke_id(&self, id: &str, until: OffsetDateTime, now: OffsetDateTime) -> Result<(), Error> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let until = maps.ids.get(id).map_or(until, |(_, old)| until.max(*old));
        maps.ids.insert(id, (), until, now)
    }

    fn is_revoked_id(&self, id: &str) -> Result<bool, Error> {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        Ok(maps.ids.get(id).is_some())
    }

    fn revoke_subject(
        &self,
        subject: &str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let (cutoff, until) = match maps.subjects.get(subject) {
            Some((old_cutoff, old_until)) => (cutoff.max(*old_cutoff), until.max(*old_until)),
            None => (cutoff, until),
        };
        maps.subjects.insert(subject, cutoff, until, now)
    }
}

impl RevocationList for MemoryRevocationStore {
    fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        self.is_revoked_id(jti)
    }

    fn is_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        self.is_revoked_id(sid)
    }

    fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error> {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        Ok(maps.subjects.get(sub).map(|(cutoff, _)| *cutoff))
    }
}
