//! Revocation: the [`RevocationStore`] trait (the lifecycle's write side of
//! [`RevocationList`]) and its in-memory default.

use std::fmt;
use std::future::ready;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use time::OffsetDateTime;

use keycard::{Clock, Error, RevocationList};

use crate::memory::ExpiringMap;
use crate::StoreFuture;

/// Where revocations are kept, for [`ValidatorBuilder::revocations`](keycard::ValidatorBuilder::revocations)
/// and [`TokenIssuer`](crate::TokenIssuer).
///
/// Three kinds of entry, in three namespaces (a `jti` equal to a revoked `sid` is not revoked),
/// each kept only as long as it matters:
/// - **tokens**: a token's `jti`, until the token has expired anyway;
/// - **sessions**: a session's `sid`, which revokes every token of the session;
/// - **subject cutoffs** ("sign out everywhere", a password change): every token of the subject
///   issued at or before the cutoff is refused, until the longest-lived of them has expired.
///
/// The writes and [`fetch_subject_cutoff`](Self::fetch_subject_cutoff) are asynchronous (a [`StoreFuture`]): they are what the
/// issuer awaits, and they read the store itself. The [`RevocationList`] methods the validator
/// calls are synchronous and must not wait on a network: a shared store answers them from a
/// local view that a background task keeps in sync (`keycard-redis` does exactly that).
///
/// Writes receive `now`, the caller's clock reading, so that a store can prune or set a time to
/// live (`until - now`); reads must not drop an entry before its `until`. A write that cannot be
/// recorded (a full store, a lost connection) returns [`ErrorKind::Store`](keycard::ErrorKind::Store)
/// and the issuer fails the whole operation closed.
///
/// # On SQL
/// `INSERT INTO revoked_tokens (jti, until) VALUES ($1, $2) ON CONFLICT (jti) DO UPDATE SET
/// until = GREATEST(revoked_tokens.until, excluded.until)`, the same for sessions, and for
/// cutoffs `cutoff = GREATEST(...)`; a periodic `DELETE ... WHERE until < now()`.
pub trait RevocationStore: RevocationList {
    /// Refuses the token whose `jti` is `jti`, at least until `until`.
    fn revoke_token<'a>(
        &'a self,
        jti: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()>;

    /// Refuses every token whose `sid` is `sid`, at least until `until`.
    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()>;

    /// Refuses every token of `subject` issued at or before `cutoff`, at least until `until`.
    /// A store keeps the later of two cutoffs: an earlier one never undoes a later one.
    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()>;

    /// The cutoff of `subject`, read from the store itself (not a local view): the issuer asks
    /// after each rotation, so that a sign-out that its validator's view has not seen yet still
    /// ends the session.
    fn fetch_subject_cutoff<'a>(
        &'a self,
        subject: &'a str,
    ) -> StoreFuture<'a, Option<OffsetDateTime>>;
}

/// The default [`RevocationStore`]: three maps in memory, in this process only.
///
/// Bounded: an entry is pruned once its `until` has passed, so memory follows the number of
/// revocations still in force, not the number ever made; a hard capacity (default
/// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries of each kind, tokens, sessions and
/// subjects counted apart) refuses new revocations with
/// [`ErrorKind::Store`](keycard::ErrorKind::Store) rather than forget live ones. Revoking access
/// tokens therefore never uses up the room that ending sessions needs. Several processes need a
/// shared store instead (`keycard-redis`).
///
/// `Debug` shows sizes only, never the ids it holds.
///
/// ```
/// use keycard::RevocationList;
/// use keycard_lifecycle::{MemoryRevocationStore, RevocationStore};
/// use time::{Duration, OffsetDateTime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), keycard::Error> {
/// let store = MemoryRevocationStore::new();
/// let now = OffsetDateTime::now_utc();
/// store.revoke_token("token-1", now + Duration::minutes(15), now).await?;
/// assert!(store.is_token_revoked("token-1")?);
/// assert!(!store.is_token_revoked("token-2")?);
/// assert!(!store.is_session_revoked("token-1")?); // another namespace
/// # Ok(())
/// # }
/// ```
pub struct MemoryRevocationStore {
    maps: RwLock<Maps>,
    /// Set by [`clock`](MemoryRevocationStore::clock): reads leave out entries past their time.
    clock: Option<Arc<dyn Clock>>,
}

struct Maps {
    tokens: ExpiringMap<()>,
    sessions: ExpiringMap<()>,
    subjects: ExpiringMap<OffsetDateTime>,
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let maps = self.read();
        f.debug_struct("MemoryRevocationStore")
            .field("tokens", &maps.tokens.len())
            .field("sessions", &maps.sessions.len())
            .field("subjects", &maps.subjects.len())
            .field("capacity", &maps.tokens.capacity())
            .finish()
    }
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

    /// An empty store holding at most `capacity` live entries of each kind (token ids, session
    /// ids, subject cutoffs).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryRevocationStore {
            maps: RwLock::new(Maps {
                tokens: ExpiringMap::new(capacity, "revoked token"),
                sessions: ExpiringMap::new(capacity, "revoked session"),
                subjects: ExpiringMap::new(capacity, "subject cutoff"),
            }),
            clock: None,
        }
    }

    /// Reads the time from `clock`: an entry past its `until` by that clock no longer counts.
    /// Without one (the default) an entry counts until it is pruned: a little longer than it
    /// must, never shorter.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Whether an entry kept until `until` still counts.
    fn in_force(&self, until: OffsetDateTime) -> bool {
        self.clock.as_ref().is_none_or(|clock| until > clock.now())
    }

    /// How many entries (of all kinds) the store holds, pruned or not yet.
    pub fn len(&self) -> usize {
        let maps = self.read();
        maps.tokens.len() + maps.sessions.len() + maps.subjects.len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while a lock was held cannot leave a map half-written in a way that matters here
    // (an insertion either happened or did not), so a poisoned lock is recovered.
    fn read(&self) -> RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Inserts `id` until the later of `until` and the time it already had.
fn extend(
    map: &mut ExpiringMap<()>,
    id: &str,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let until = map.get(id).map_or(until, |(_, old)| until.max(*old));
    map.insert(id, (), until, now)
}

impl RevocationStore for MemoryRevocationStore {
    fn revoke_token<'a>(
        &'a self,
        jti: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(ready(extend(&mut self.write().tokens, jti, until, now)))
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(ready(extend(&mut self.write().sessions, sid, until, now)))
    }

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        let mut maps = self.write();
        let (cutoff, until) = match maps.subjects.get(subject) {
            Some((old_cutoff, old_until)) => (cutoff.max(*old_cutoff), until.max(*old_until)),
            None => (cutoff, until),
        };
        Box::pin(ready(maps.subjects.insert(subject, cutoff, until, now)))
    }

    fn fetch_subject_cutoff<'a>(
        &'a self,
        subject: &'a str,
    ) -> StoreFuture<'a, Option<OffsetDateTime>> {
        Box::pin(ready(self.subject_cutoff(subject)))
    }
}

impl RevocationList for MemoryRevocationStore {
    fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        Ok(self
            .read()
            .tokens
            .get(jti)
            .is_some_and(|(_, until)| self.in_force(*until)))
    }

    fn is_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        Ok(self
            .read()
            .sessions
            .get(sid)
            .is_some_and(|(_, until)| self.in_force(*until)))
    }

    fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error> {
        Ok(self
            .read()
            .subjects
            .get(sub)
            .filter(|(_, until)| self.in_force(*until))
            .map(|(cutoff, _)| *cutoff))
    }
}
