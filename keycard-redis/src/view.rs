//! The local revocation view and the task that keeps it in sync with Redis: a snapshot, then the
//! feed, then a snapshot again after every lost connection and every full-resync interval.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use keycard::time::OffsetDateTime;
use keycard::{Clock, Error};
use redis::Value;

use crate::conn::failure;
use crate::conn::Conn;
use crate::layout::{cutoff_digits, millis, parse_cutoff, Keys};

/// How long one `XREAD` blocks waiting for changes, at most (and at most half the staleness
/// bound).
pub(crate) const BLOCK: Duration = Duration::from_secs(1);

/// The cutoff a corrupt subject-cutoff key stands for: every token of the subject is refused.
const CORRUPT_CUTOFF: OffsetDateTime = keycard::time::PrimitiveDateTime::MAX.assume_utc();

/// How far back in the feed a snapshot replays, in milliseconds.
const REPLAY_MS: u64 = 60_000;

/// One revocation, as written to the feed and applied to the views.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A token id, until (ms).
    Token(String, i64),
    /// A session id, until (ms).
    Session(String, i64),
    /// A subject, its cutoff, until (ms).
    Subject(String, OffsetDateTime, i64),
}

impl Change {
    /// The feed fields: kind, id, value, until.
    pub(crate) fn fields(&self) -> (&'static str, &str, String, i64) {
        match self {
            Change::Token(id, until) => ("t", id, String::new(), *until),
            Change::Session(id, until) => ("s", id, String::new(), *until),
            Change::Subject(id, cutoff, until) => ("c", id, cutoff_digits(*cutoff), *until),
        }
    }

    pub(crate) fn until(&self) -> i64 {
        match self {
            Change::Token(_, until) | Change::Session(_, until) | Change::Subject(_, _, until) => {
                *until
            }
        }
    }
}

/// The local view's maps: id -> until (ms), subject -> (cutoff, until ms).
#[derive(Default)]
struct Entries {
    tokens: HashMap<String, i64>,
    sessions: HashMap<String, i64>,
    subjects: HashMap<String, (OffsetDateTime, i64)>,
}

// A panic while a lock was held cannot leave the maps half-written in a way that matters (an
// entry is inserted or not), so a poisoned lock is recovered.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// The revocations in force, in memory, and when they were last known to be current. Whether an
/// entry is still in force is read off `clock`; how long ago the view was confirmed current, off
/// the monotonic clock.
pub(crate) struct View {
    entries: RwLock<Entries>,
    synced_at: Mutex<Option<Instant>>,
    max_staleness: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = read(&self.entries);
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
            "the revocation view has not been in sync with Redis for more than {} ms; \
             refusing rather than miss a revocation",
            self.bound.as_millis()
        )
    }
}

impl std::error::Error for Stale {}

impl View {
    /// An empty view, never synced, that refuses once it has not been confirmed current for
    /// `max_staleness`, and reads the time of day from `clock`.
    pub(crate) fn new(max_staleness: Duration, clock: Arc<dyn Clock>) -> Self {
        View {
            entries: RwLock::new(Entries::default()),
            synced_at: Mutex::new(None),
            max_staleness,
            clock,
        }
    }

    /// Now, in milliseconds since the epoch, by the view's clock.
    fn now_ms(&self) -> i64 {
        millis(self.clock.now())
    }

    pub(crate) fn synced_at(&self) -> Option<Instant> {
        *self
            .synced_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_synced(&self, as_of: Instant) {
        let mut synced = self
            .synced_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if synced.is_none_or(|old| old < as_of) {
            *synced = Some(as_of);
        }
    }

    fn fresh(&self) -> Result<(), Error> {
        match self.synced_at() {
            Some(at) if at.elapsed() <= self.max_staleness => Ok(()),
            _ => Err(Error::store(Stale {
                bound: self.max_staleness,
            })),
        }
    }

    pub(crate) fn apply(&self, change: &Change) {
        let mut entries = write(&self.entries);
        match change {
            Change::Token(id, until) => {
                let old = entries.tokens.entry(id.clone()).or_insert(*until);
                *old = (*old).max(*until);
            }
            Change::Session(id, until) => {
                let old = entries.sessions.entry(id.clone()).or_insert(*until);
                *old = (*old).max(*until);
            }
            Change::Subject(id, cutoff, until) => {
                let old = entries
                    .subjects
                    .entry(id.clone())
                    .or_insert((*cutoff, *until));
                *old = (old.0.max(*cutoff), old.1.max(*until));
            }
        }
    }

    pub(crate) fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        self.fresh()?;
        Ok(read(&self.entries)
            .tokens
            .get(jti)
            .is_some_and(|until| *until > self.now_ms()))
    }

    pub(crate) fn is_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        self.fresh()?;
        Ok(read(&self.entries)
            .sessions
            .get(sid)
            .is_some_and(|until| *until > self.now_ms()))
    }

    pub(crate) fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error> {
        self.fresh()?;
        Ok(read(&self.entries)
            .subjects
            .get(sub)
            .filter(|(_, until)| *until > self.now_ms())
            .map(|(cutoff, _)| *cutoff))
    }
}

/// The background task's state: its own connection, where it is in the feed.
pub(crate) struct Follower {
    conn: Conn,
    keys: Keys,
    view: Arc<View>,
    cursor: String,
}

impl Follower {
    pub(crate) fn new(conn: Conn, keys: Keys, view: Arc<View>) -> Self {
        Follower {
            conn,
            keys,
            view,
            cursor: "0-0".to_owned(),
        }
    }

    /// Rebuilds the view from every revocation key, then applies the feed from a minute before
    /// where it stood before the scan (so changes made during the scan are applied too).
    pub(crate) async fn snapshot(&mut self) -> Result<(), Error> {
        let started = Instant::now();
        let last: Value = redis::cmd("XREVRANGE")
            .arg(self.keys.feed())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| failure(&e))?;
        // Replay the feed from a minute before its last entry: a revocation is announced before
        // its key is written, so one announced just before this point may not be in the scan
        // yet. Replaying is harmless (the view keeps the later of two entries).
        let cursor = entries(&last).first().map_or_else(
            || "0-0".to_owned(),
            |(id, _)| {
                let ms: u64 = id
                    .split_once('-')
                    .and_then(|(ms, _)| ms.parse().ok())
                    .unwrap_or(0);
                format!("{}-0", ms.saturating_sub(REPLAY_MS))
            },
        );
        let mut fresh = Entries::default();
        let now = self.view.now_ms();
        // Every primary of a cluster holds its own slots' keys: scan each, to its end.
        let nodes = self.conn.nodes().await.map_err(|e| failure(&e))?;
        for node in &nodes {
            let mut scan = "0".to_owned();
            loop {
                let (next, keys) = self
                    .conn
                    .scan(node, &scan, &self.keys.revocation_pattern())
                    .await
                    .map_err(|e| failure(&e))?;
                if !keys.is_empty() {
                    let values: Vec<Option<String>> = redis::cmd("MGET")
                        .arg(&keys)
                        .query_async(&mut self.conn)
                        .await
                        .map_err(|e| failure(&e))?;
                    for (key, value) in keys.iter().zip(values) {
                        let Some((kind, id)) = self.keys.parse(key) else {
                            continue;
                        };
                        let value = match value {
                            Some(value) => Some(value),
                            // Nil: the key expired since the scan, or it is not a string at all.
                            None => match self.key_type(key).await?.as_str() {
                                "none" => continue,
                                _ => None,
                            },
                        };
                        // A value that is not the stored form (corrupted, or the wrong type) fails
                        // closed: whatever it revoked counts as revoked until the key is repaired
                        // (a new revocation overwrites it), never as absent.
                        match kind {
                            b't' | b's' => {
                                let until = value
                                    .and_then(|value| value.parse::<i64>().ok())
                                    .unwrap_or(i64::MAX);
                                if until > now {
                                    let map = if kind == b't' {
                                        &mut fresh.tokens
                                    } else {
                                        &mut fresh.sessions
                                    };
                                    map.insert(id, until);
                                }
                            }
                            _ => {
                                let entry = value
                                    .as_deref()
                                    .and_then(parse_cutoff)
                                    .unwrap_or((CORRUPT_CUTOFF, i64::MAX));
                                fresh.subjects.insert(id, entry);
                            }
                        }
                    }
                }
                if next == "0" {
                    break;
                }
                scan = next;
            }
        }
        // Changes applied locally meanwhile are in Redis too, so in the snapshot or the feed.
        *write(&self.view.entries) = fresh;
        self.cursor = cursor;
        self.catch_up().await?;
        self.view.mark_synced(started);
        Ok(())
    }

    /// The type of `key` (`none` when it does not exist).
    async fn key_type(&mut self, key: &str) -> Result<String, Error> {
        redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| failure(&e))
    }

    /// Applies the feed from the cursor without blocking.
    async fn catch_up(&mut self) -> Result<(), Error> {
        loop {
            let read = self.read(None).await?;
            if read == 0 {
                return Ok(());
            }
        }
    }

    /// One `XREAD` from the cursor; returns how many changes it applied.
    async fn read(&mut self, block: Option<Duration>) -> Result<usize, Error> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(1000);
        if let Some(block) = block {
            cmd.arg("BLOCK")
                .arg(u64::try_from(block.as_millis()).unwrap_or(1000).max(1));
        }
        cmd.arg("STREAMS").arg(self.keys.feed()).arg(&self.cursor);
        let reply: Value = cmd
            .query_async(&mut self.conn)
            .await
            .map_err(|e| failure(&e))?;
        let mut applied = 0;
        // XREAD answers [[stream, [entry, ...]]] (a map in RESP3).
        let lists: Vec<&Value> = match &reply {
            Value::Map(pairs) => pairs.iter().map(|(_, list)| list).collect(),
            other => items(other)
                .into_iter()
                .filter_map(|stream| items(stream).get(1).copied())
                .collect(),
        };
        for list in lists {
            for (id, fields) in entries(list) {
                if let Some(change) = change(&fields) {
                    self.view.apply(&change);
                }
                self.cursor = id;
                applied += 1;
            }
        }
        Ok(applied)
    }

    /// Follows the feed for ever: a blocking read at a time, a snapshot after a failure and
    /// every `full_resync`.
    pub(crate) async fn run(mut self, full_resync: Duration) {
        let block = BLOCK.min(self.view.max_staleness / 2);
        let mut last_snapshot = Instant::now();
        let mut need_snapshot = false;
        loop {
            if need_snapshot || last_snapshot.elapsed() >= full_resync {
                match self.snapshot().await {
                    Ok(()) => {
                        need_snapshot = false;
                        last_snapshot = Instant::now();
                    }
                    Err(_) => {
                        need_snapshot = true;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
            let sent = Instant::now();
            match self.read(Some(block)).await {
                // An empty answer after blocking: nothing changed until it came back. Changes:
                // there may be more since it was sent.
                Ok(0) => self.view.mark_synced(Instant::now()),
                Ok(_) => self.view.mark_synced(sent),
                Err(_) => {
                    need_snapshot = true;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The elements of an array (or the keys and values of a map, flattened into pairs).
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The entries of a stream reply: `[[id, [field, value, ...]], ...]`.
fn entries(value: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for entry in items(value) {
        let parts = items(entry);
        let (Some(id), Some(fields)) = (parts.first().and_then(|v| text(v)), parts.get(1)) else {
            continue;
        };
        let flat: Vec<String> = items(fields).into_iter().filter_map(text).collect();
        let pairs = flat
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        out.push((id, pairs));
    }
    out
}

fn change(fields: &[(String, String)]) -> Option<Change> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let id = field("i")?.to_owned();
    let until: i64 = field("u")?.parse().ok()?;
    match field("k")? {
        "t" => Some(Change::Token(id, until)),
        "s" => Some(Change::Session(id, until)),
        "c" => {
            let (cutoff, _) = parse_cutoff(&format!("{} {until}", field("v")?))?;
            Some(Change::Subject(id, cutoff, until))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use keycard::ErrorKind;

    use super::*;

    /// A time of day the test moves by hand, in milliseconds since the epoch.
    #[derive(Debug)]
    struct TestClock(AtomicI64);

    impl TestClock {
        fn advance_ms(&self, ms: i64) {
            self.0.fetch_add(ms, Ordering::SeqCst);
        }
    }

    impl Clock for TestClock {
        fn now(&self) -> OffsetDateTime {
            let nanos = i128::from(self.0.load(Ordering::SeqCst)) * 1_000_000;
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap()
        }
    }

    /// 2026-11-28T00:00:00Z.
    const START_MS: i64 = 1_795_824_000_000;

    fn synced_view() -> (Arc<TestClock>, View) {
        let clock = Arc::new(TestClock(AtomicI64::new(START_MS)));
        let view = View::new(Duration::from_secs(10), clock.clone());
        view.mark_synced(Instant::now());
        (clock, view)
    }

    #[test]
    fn entries_stop_counting_at_their_until_by_the_views_clock() {
        let (clock, view) = synced_view();
        let cutoff = OffsetDateTime::from_unix_timestamp(1_795_823_000).unwrap();
        view.apply(&Change::Token("j".to_owned(), START_MS + 1_000));
        view.apply(&Change::Session("s".to_owned(), START_MS + 2_000));
        view.apply(&Change::Subject("u".to_owned(), cutoff, START_MS + 3_000));
        assert!(view.is_token_revoked("j").unwrap());
        assert!(view.is_session_revoked("s").unwrap());
        assert_eq!(view.subject_cutoff("u").unwrap(), Some(cutoff));
        // Another namespace, another id: nothing.
        assert!(!view.is_session_revoked("j").unwrap());
        assert!(!view.is_token_revoked("k").unwrap());

        clock.advance_ms(1_000);
        assert!(!view.is_token_revoked("j").unwrap());
        assert!(view.is_session_revoked("s").unwrap());
        clock.advance_ms(1_000);
        assert!(!view.is_session_revoked("s").unwrap());
        assert_eq!(view.subject_cutoff("u").unwrap(), Some(cutoff));
        clock.advance_ms(1_000);
        assert_eq!(view.subject_cutoff("u").unwrap(), None);
    }

    #[test]
    fn the_later_of_two_entries_is_kept() {
        let (clock, view) = synced_view();
        let early = OffsetDateTime::from_unix_timestamp(1_795_820_000).unwrap();
        let late = OffsetDateTime::from_unix_timestamp(1_795_823_000).unwrap();
        view.apply(&Change::Token("j".to_owned(), START_MS + 5_000));
        view.apply(&Change::Token("j".to_owned(), START_MS + 1_000));
        view.apply(&Change::Subject("u".to_owned(), late, START_MS + 1_000));
        view.apply(&Change::Subject("u".to_owned(), early, START_MS + 5_000));
        clock.advance_ms(2_000);
        assert!(view.is_token_revoked("j").unwrap());
        assert_eq!(view.subject_cutoff("u").unwrap(), Some(late));
    }

    #[test]
    fn a_view_never_synced_refuses_every_lookup() {
        let clock = Arc::new(TestClock(AtomicI64::new(START_MS)));
        let view = View::new(Duration::from_secs(10), clock);
        for err in [
            view.is_token_revoked("j").unwrap_err(),
            view.is_session_revoked("s").unwrap_err(),
            view.subject_cutoff("u").unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Store);
            assert!(err.to_string().contains("10000 ms"), "{err}");
        }
    }
}
