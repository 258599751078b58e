//! The local revocation view: the revocations in force, in memory, so that
//! [`Validator::verify`](keycard::Validator::verify) never waits on the database, and when it was
//! last confirmed current. Past its staleness bound every lookup fails closed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use keycard::time::OffsetDateTime;
use keycard::{Clock, Error};
use tokio::sync::watch;

/// One revocation, as announced (`NOTIFY`) and applied to the views. Times are microseconds
/// since the epoch (`until`) and the exact cutoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A token id, until.
    Token(String, i64),
    /// A session id, until.
    Session(String, i64),
    /// A subject, its cutoff, until.
    Subject(String, OffsetDateTime, i64),
}

impl Change {
    /// Reads a notification payload (see `migrations/0001_stores.sql`): `t <until> <jti>`,
    /// `s <until> <sid>`, `c <cutoff ns> <until> <subject>`. `None` for anything else.
    pub(crate) fn parse(payload: &str) -> Option<Change> {
        let (kind, rest) = payload.split_once(' ')?;
        match kind {
            "t" | "s" => {
                let (until, id) = rest.split_once(' ')?;
                let until: i64 = until.parse().ok()?;
                let id = id.to_owned();
                Some(if kind == "t" {
                    Change::Token(id, until)
                } else {
                    Change::Session(id, until)
                })
            }
            "c" => {
                let (cutoff, rest) = rest.split_once(' ')?;
                let (until, id) = rest.split_once(' ')?;
                let cutoff = from_nanos(cutoff.parse().ok()?)?;
                Some(Change::Subject(id.to_owned(), cutoff, until.parse().ok()?))
            }
            _ => None,
        }
    }
}

/// Nanoseconds since the epoch, as stored in `subject_cutoffs.cutoff_ns`.
pub(crate) fn from_nanos(nanos: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()
}

/// A cutoff in nanoseconds since the epoch, saturated to what a `bigint` holds (the years 1677
/// to 2262; a cutoff is "now").
pub(crate) fn to_nanos(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// Microseconds since the epoch (what `timestamptz` holds), saturated.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    let micros = t.unix_timestamp_nanos() / 1000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The view's maps: id -> until (µs), subject -> (cutoff, until µs).
#[derive(Default)]
pub(crate) struct Entries {
    pub(crate) tokens: HashMap<String, i64>,
    pub(crate) sessions: HashMap<String, i64>,
    pub(crate) subjects: HashMap<String, (OffsetDateTime, i64)>,
    /// While a reload runs: this instance's own writes since it started, applied again on top
    /// of the reloaded entries (the reload may have read the tables before they committed).
    recording: Option<Vec<Change>>,
}

impl Entries {
    fn apply(&mut self, change: &Change) {
        match change {
            Change::Token(id, until) => keep_later(&mut self.tokens, id, *until),
            Change::Session(id, until) => keep_later(&mut self.sessions, id, *until),
            Change::Subject(id, cutoff, until) => {
                let entry = self.subjects.entry(id.clone()).or_insert((*cutoff, *until));
                *entry = (entry.0.max(*cutoff), entry.1.max(*until));
            }
        }
    }
}

fn keep_later(map: &mut HashMap<String, i64>, id: &str, until: i64) {
    match map.get_mut(id) {
        Some(old) => *old = (*old).max(until),
        None => {
            map.insert(id.to_owned(), until);
        }
    }
}

/// When the view was last confirmed current, by both clocks.
#[derive(Clone, Copy)]
struct Synced {
    at: Instant,
    wall: OffsetDateTime,
}

/// What `catch_up` waits on: the last confirmation, and how many times the listener failed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Progress {
    pub(crate) synced: Option<Instant>,
    pub(crate) failures: u64,
}

/// The revocations in force and their freshness.
pub(crate) struct View {
    entries: RwLock<Entries>,
    synced: Mutex<Option<Synced>>,
    /// The last confirmation and the failures, for `catch_up`.
    progress: watch::Sender<Progress>,
    max_staleness: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.read();
        f.debug_struct("View")
            .field("tokens", &entries.tokens.len())
            .field("sessions", &entries.sessions.len())
            .field("subjects", &entries.subjects.len())
            .field("max_staleness", &self.max_staleness)
            .finish()
    }
}

/// The view has not been confirmed current for longer than its bound.
#[derive(Debug)]
struct Stale {
    bound: Duration,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "postgres: the revocation view has not been in sync with the database for more \
             than {} ms; refusing rather than miss a revocation",
            self.bound.as_millis()
        )
    }
}

impl std::error::Error for Stale {}

impl View {
    pub(crate) fn new(max_staleness: Duration, clock: Arc<dyn Clock>) -> Self {
        View {
            entries: RwLock::new(Entries::default()),
            synced: Mutex::new(None),
            progress: watch::channel(Progress::default()).0,
            max_staleness,
            clock,
        }
    }

    pub(crate) fn max_staleness(&self) -> Duration {
        self.max_staleness
    }

    /// The instant a reading of both clocks is taken: a confirmation covers what was committed
    /// before it.
    pub(crate) fn now(&self) -> (Instant, OffsetDateTime) {
        (Instant::now(), self.clock.now())
    }

    pub(crate) fn clock_now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    // A panic while a lock was held cannot leave the maps half-written in a way that matters
    // (an insertion happened or did not), so a poisoned lock is recovered.
    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn synced_at(&self) -> Option<Instant> {
        self.synced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|s| s.at)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The listener lost its connection or could not open one.
    pub(crate) fn record_failure(&self) {
        self.progress.send_modify(|p| p.failures += 1);
    }

    /// Records that every revocation committed before `as_of` is in the view.
    pub(crate) fn mark_synced(&self, as_of: (Instant, OffsetDateTime)) {
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if synced.is_none_or(|old| old.at < as_of.0) {
            *synced = Some(Synced {
                at: as_of.0,
                wall: as_of.1,
            });
            self.progress.send_modify(|p| p.synced = Some(as_of.0));
        }
    }

    /// Fresh while neither clock says the bound has passed since the last confirmation: the
    /// monotonic one cannot be set back, the configured one is what tests (and the operator's
    /// idea of time) move.
    fn fresh(&self) -> Result<(), Error> {
        let synced = *self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = synced.is_some_and(|s| {
            s.at.elapsed() <= self.max_staleness && self.clock.now() - s.wall <= self.max_staleness
        });
        if fresh {
            Ok(())
        } else {
            Err(Error::store(Stale {
                bound: self.max_staleness,
            }))
        }
    }

    /// A change heard from the database (a notification).
    pub(crate) fn apply(&self, change: &Change) {
        self.write().apply(change);
    }

    /// A change this instance has just committed: applied now, and again after a reload that
    /// is running (which may have read the tables before the commit).
    pub(crate) fn apply_local(&self, change: Change) {
        let mut entries = self.write();
        entries.apply(&change);
        if let Some(recording) = &mut entries.recording {
            recording.push(change);
        }
    }

    /// A reload starts: local writes from now on are recorded.
    pub(crate) fn begin_reload(&self) {
        self.write().recording = Some(Vec::new());
    }

    /// A reload ends: its entries replace the view's, with the local writes made meanwhile.
    pub(crate) fn finish_reload(&self, mut fresh: Entries) {
        let mut entries = self.write();
        for change in entries.recording.take().unwrap_or_default() {
            fresh.apply(&change);
        }
        *entries = fresh;
    }

    /// A reload failed: stop recording.
    pub(crate) fn abandon_reload(&self) {
        self.write().recording = None;
    }

    fn now_micros(&self) -> i64 {
        micros(self.clock.now())
    }

    pub(crate) fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        self.fresh()?;
        let now = self.now_micros();
        Ok(self
            .read()
            .tokens
            .get(jti)
            .is_some_and(|until| *until > now))
    }

    pub(crate) fn is_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        self.fresh()?;
        let now = self.now_micros();
        Ok(self
            .read()
            .sessions
            .get(sid)
            .is_some_and(|until| *until > now))
    }

    pub(crate) fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error> {
        self.fresh()?;
        let now = self.now_micros();
        Ok(self
            .read()
            .subjects
            .get(sub)
            .filter(|(_, until)| *until > now)
            .map(|(cutoff, _)| *cutoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keycard::FixedClock;

    #[test]
    fn payloads_parse_back_and_ids_may_hold_spaces() {
        assert_eq!(
            Change::parse("t 1700000000000000 a b"),
            Some(Change::Token("a b".to_owned(), 1_700_000_000_000_000))
        );
        assert_eq!(
            Change::parse("s 5 sid"),
            Some(Change::Session("sid".to_owned(), 5))
        );
        let cutoff = from_nanos(1_795_824_000_999_999_999).unwrap();
        assert_eq!(
            Change::parse("c 1795824000999999999 7 alice"),
            Some(Change::Subject("alice".to_owned(), cutoff, 7))
        );
        for bad in ["", "*", "t", "t x y", "c 1 2", "x 1 y", "c a 1 b"] {
            assert_eq!(Change::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_view_never_confirmed_fails_closed() {
        let clock = FixedClock(OffsetDateTime::now_utc());
        let view = View::new(Duration::from_secs(10), Arc::new(clock));
        assert_eq!(
            view.is_token_revoked("x").unwrap_err().kind(),
            keycard::ErrorKind::Store
        );
        view.mark_synced(view.now());
        assert!(!view.is_token_revoked("x").unwrap());
    }

    #[test]
    fn a_reload_keeps_the_local_writes_made_while_it_ran() {
        let now = OffsetDateTime::now_utc();
        let view = View::new(Duration::from_secs(10), Arc::new(FixedClock(now)));
        view.mark_synced(view.now());
        let later = micros(now) + 60_000_000;
        view.begin_reload();
        view.apply_local(Change::Token("mine".to_owned(), later));
        view.finish_reload(Entries::default());
        assert!(view.is_token_revoked("mine").unwrap());
        // Past its time, an entry is ignored.
        view.apply(&Change::Session("old".to_owned(), micros(now) - 1));
        assert!(!view.is_session_revoked("old").unwrap());
    }

    #[test]
    fn cutoffs_keep_the_later_of_two_and_nanoseconds_round_trip() {
        let now = OffsetDateTime::now_utc();
        let view = View::new(Duration::from_secs(10), Arc::new(FixedClock(now)));
        view.mark_synced(view.now());
        let until = micros(now) + 60_000_000;
        let (early, late) = (now - Duration::from_secs(5), now);
        view.apply(&Change::Subject("u".to_owned(), late, until));
        view.apply(&Change::Subject("u".to_owned(), early, until));
        assert_eq!(view.subject_cutoff("u").unwrap(), Some(late));
        assert_eq!(from_nanos(to_nanos(late)), Some(late));
    }
}
