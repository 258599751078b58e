//! Redis-backed stores for the token lifecycle of [keycard](https://docs.rs/keycard)
//! ([`keycard_lifecycle`]), so that several
//! API instances behind a load balancer share one set of refresh families and revocations.
//!
//! [`RedisStore`] implements both [`FamilyStore`] and [`RevocationStore`]:
//! - **families**: one hash per session, `{prefix}:fam:{sid}`, with a TTL at its expiry
//!   (`PEXPIREAT`); rotation is one Lua script (compare `current`, refuse if the session is
//!   revoked, write, set the TTL), so two instances can never both rotate one refresh token;
//! - **revocations**: `{prefix}:rt:{jti}` (tokens), `{prefix}:rs:{sid}` (sessions, in the
//!   family's hash slot), `{prefix}:rc:{sub}` (subject cutoffs), each with a TTL at the time it
//!   stops mattering, plus a change feed (the stream `{prefix}:feed`);
//! - **a local view**: [`Validator::verify`](keycard::Validator::verify) stays synchronous and
//!   never waits on Redis. It reads a [`RevocationList`] in memory that a background task keeps
//!   in sync: a snapshot at start-up, the change feed after that (a blocking `XREAD`), and a full
//!   resync every [`full_resync`](RedisConfig::full_resync) that heals anything missed. When the
//!   view has not been confirmed current for [`max_staleness`](RedisConfig::max_staleness)
//!   (default [`RedisConfig::DEFAULT_MAX_STALENESS`], 10 s), every lookup fails closed with
//!   [`ErrorKind::Store`](keycard::ErrorKind::Store).
//!
//! Every key carries `{...}` hash tags (one session's family and revocation share a slot), so the
//! layout suits Redis Cluster; this crate's connection is to one server (or a proxy) and its
//! snapshot uses `SCAN` on that server.
//!
//! ```no_run
//! use std::sync::Arc;
//! use keycard::{Algorithm, HmacKey};
//! use keycard_lifecycle::TokenIssuer;
//! use keycard_redis::{RedisConfig, RedisStore};
//!
//! # async fn run() -> Result<(), keycard::Error> {
//! let store = RedisStore::connect(RedisConfig::new("redis://127.0.0.1:6379/")).await?;
//! let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
//! let issuer = TokenIssuer::builder(key.clone(), key)
//!     .issuer("https://auth.example.com")
//!     .audience("api")
//!     .families(Arc::new(store.clone()))
//!     .revocations(Arc::new(store.clone()))
//!     .build()?;
//! let api = issuer.access_validator().build()?; // checks the local view, no I/O
//! let pair = issuer.issue("alice", &()).await?;
//! api.verify::<keycard::Claims>(&pair.access_token)?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use keycard::time::OffsetDateTime;
use keycard::{Error, RevocationList};
use keycard_lifecycle::{Family, FamilyStore, RevocationStore, StoreFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

mod view;

use view::{Change, View};

/// How to reach Redis and how the local revocation view behaves. `Debug` hides a password in
/// the URL.
#[derive(Clone)]
#[must_use = "give it to RedisStore::connect"]
pub struct RedisConfig {
    url: String,
    prefix: String,
    max_staleness: Duration,
    full_resync: Duration,
    response_timeout: Duration,
    feed_length: u64,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `redis://user:password@host/`: keep the scheme and the host, never the credentials.
        let url = match (self.url.split_once("://"), self.url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
            _ => self.url.clone(),
        };
        f.debug_struct("RedisConfig")
            .field("url", &url)
            .field("prefix", &self.prefix)
            .field("max_staleness", &self.max_staleness)
            .field("full_resync", &self.full_resync)
            .field("response_timeout", &self.response_timeout)
            .field("feed_length", &self.feed_length)
            .finish()
    }
}

impl RedisConfig {
    /// The default bound on the view's staleness: 10 seconds.
    ///
    /// While the view is current, a revocation reaches every instance in about a millisecond on
    /// a LAN (see `docs/several-instances.md`). When Redis is unreachable the view cannot learn
    /// of new revocations; for up to this long it keeps answering from what it has (a Redis
    /// restart or failover of a few seconds does not refuse every request), and after it every
    /// verification fails with `store`. Ten seconds is well under the 15-minute access-token
    /// lifetime that bounds revocation anyway, and above a typical Sentinel failover.
    pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(10);
    /// The default interval between full resyncs of the view: 5 minutes.
    pub const DEFAULT_FULL_RESYNC: Duration = Duration::from_secs(300);

    /// Redis at `url` (`redis://host:port/db`), keys under the prefix `keycard`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "keycard".to_owned(),
            max_staleness: Self::DEFAULT_MAX_STALENESS,
            full_resync: Self::DEFAULT_FULL_RESYNC,
            response_timeout: Duration::from_secs(2),
            feed_length: 100_000,
        }
    }

    /// Puts every key under `prefix` instead of `keycard` (several issuers on one Redis).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long the local view may go without being confirmed current before lookups fail
    /// closed (default [`DEFAULT_MAX_STALENESS`](Self::DEFAULT_MAX_STALENESS)).
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// How often the view is rebuilt from a full snapshot, healing anything the feed missed
    /// (default [`DEFAULT_FULL_RESYNC`](Self::DEFAULT_FULL_RESYNC)). It is also rebuilt after
    /// every lost connection.
    pub fn full_resync(mut self, interval: Duration) -> Self {
        self.full_resync = interval;
        self
    }

    /// How long one command may wait for Redis before it fails with `store` (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// About how many changes the feed keeps (default 100,000, about 10 MB; `XADD MAXLEN ~`).
    /// A view that falls further behind (the feed trimmed past its position) misses those
    /// changes until its next full resync, so keep this above the revocations of a resync
    /// interval.
    pub fn feed_length(mut self, entries: u64) -> Self {
        self.feed_length = entries;
        self
    }
}

/// Refresh families and revocations in Redis, with a local revocation view; one per instance
/// (clone it freely: clones share the connections and the view). See the [crate] docs.
///
/// The background task that follows the feed runs on the tokio runtime that called
/// [`connect`](Self::connect), and stops when the last clone is dropped.
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
}

struct Shared {
    conn: ConnectionManager,
    keys: Keys,
    view: Arc<View>,
    feed_length: u64,
    _follower: Follower,
}

/// Aborts the feed follower when the store goes away.
struct Follower(tokio::task::AbortHandle);

impl Drop for Follower {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.shared.keys.prefix)
            .field("view", &self.shared.view)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_of_the_url() {
        let config = RedisConfig::new("redis://app:s3cret@redis.internal:6379/0");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(
            debug.contains("redis://***@redis.internal:6379/0"),
            "{debug}"
        );
    }

    #[test]
    fn cutoffs_round_trip_through_their_stored_form() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_824_000_999_999_999).unwrap();
        let stored = format!("{} {}", cutoff_digits(t), 1_795_824_300_000_i64);
        assert_eq!(stored.len(), 20 + 1 + 13);
        assert_eq!(parse_cutoff(&stored), Some((t, 1_795_824_300_000)));
        assert_eq!(parse_cutoff("garbage"), None);
        assert_eq!(parse_cutoff("1 x"), None);
    }

    #[test]
    fn revocation_keys_parse_back_to_their_kind_and_id() {
        let keys = Keys {
            prefix: "keycard".to_owned(),
        };
        assert_eq!(keys.parse(&keys.token("j")), Some((b't', "j".to_owned())));
        assert_eq!(keys.parse(&keys.session("s")), Some((b's', "s".to_owned())));
        assert_eq!(keys.parse(&keys.subject("u")), Some((b'c', "u".to_owned())));
        assert_eq!(keys.parse(&keys.family("s")), None);
        assert_eq!(keys.parse("other:rt:{j}"), None);
    }
}

/// The key names.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) prefix: String,
}

impl Keys {
    fn family(&self, sid: &str) -> String {
        format!("{}:fam:{{{sid}}}", self.prefix)
    }
    fn session(&self, sid: &str) -> String {
        format!("{}:rs:{{{sid}}}", self.prefix)
    }
    fn token(&self, jti: &str) -> String {
        format!("{}:rt:{{{jti}}}", self.prefix)
    }
    fn subject(&self, sub: &str) -> String {
        format!("{}:rc:{{{sub}}}", self.prefix)
    }
    pub(crate) fn feed(&self) -> String {
        format!("{}:feed", self.prefix)
    }
    /// The id inside a revocation key, and its kind, for the snapshot.
    pub(crate) fn parse(&self, key: &str) -> Option<(u8, String)> {
        let rest = key.strip_prefix(self.prefix.as_str())?.strip_prefix(':')?;
        let (kind, id) = rest.split_once(':')?;
        let id = id.strip_prefix('{')?.strip_suffix('}')?;
        let kind = match kind {
            "rt" => b't',
            "rs" => b's',
            "rc" => b'c',
            _ => return None,
        };
        Some((kind, id.to_owned()))
    }
    pub(crate) fn revocation_pattern(&self) -> String {
        format!("{}:r[tsc]:*", self.prefix)
    }
}

/// A family: insert the hash and its TTL.
const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'record', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1";

/// Rotation: swap only if `current` is still the expected one.
const SWAP: &str = r"
if redis.call('HGET', KEYS[1], 'current') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'current', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1";

/// A token or session revocation: keep the later expiry.
const REVOKE: &str = r"
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > old then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
return 1";

/// A session revocation, which also forgets the session's family (same hash slot) in the same
/// step: never a session revoked whose family could outlive the revocation.
const END_SESSION: &str = r"
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > old then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
redis.call('DEL', KEYS[2])
return 1";

/// A subject cutoff, `<cutoff nanos, 20 digits> <until ms>`: keep the later of each.
const CUTOFF: &str = r"
local c, u = ARGV[1], ARGV[2]
local old = redis.call('GET', KEYS[1])
if old then
  local oc, ou = string.match(old, '^(%d+) (%d+)$')
  if oc and oc > c then c = oc end
  if ou and tonumber(ou) > tonumber(u) then u = ou end
end
redis.call('SET', KEYS[1], c .. ' ' .. u, 'PXAT', u)
return c";

// Each script is hashed once; Redis runs it by its SHA (EVALSHA), loading it after a restart.
static INSERT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INSERT));
static SWAP_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SWAP));
static REVOKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REVOKE));
static END_SESSION_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(END_SESSION));
static CUTOFF_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CUTOFF));

/// A Redis failure, as the `source` of a keycard `store` error.
#[derive(Debug)]
pub(crate) struct RedisFailure(pub(crate) String);

impl fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis: {}", self.0)
    }
}

impl std::error::Error for RedisFailure {}

pub(crate) fn failure(e: &redis::RedisError) -> Error {
    Error::store(RedisFailure(e.to_string()))
}

fn corrupt(what: &str) -> Error {
    Error::store(RedisFailure(format!("unexpected data: {what}")))
}

/// Milliseconds since the epoch, at least 1 (`PXAT` refuses 0 and negatives).
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A cutoff as 20 digits of nanoseconds since the epoch (comparable as strings in Lua).
pub(crate) fn cutoff_digits(t: OffsetDateTime) -> String {
    format!("{:020}", t.unix_timestamp_nanos().max(0))
}

pub(crate) fn parse_cutoff(value: &str) -> Option<(OffsetDateTime, i64)> {
    let (c, u) = value.split_once(' ')?;
    let nanos: i128 = c.parse().ok()?;
    let until: i64 = u.parse().ok()?;
    Some((
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?,
        until,
    ))
}

impl RedisStore {
    /// Connects (two connections: commands, and the feed follower), loads the revocation
    /// snapshot into the local view, and starts following the feed. Reconnects by itself after
    /// a lost connection; call it from inside a tokio runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when Redis cannot be reached or the
    /// snapshot cannot be read.
    pub async fn connect(config: RedisConfig) -> Result<Self, Error> {
        let client = redis::Client::open(config.url.as_str()).map_err(|e| failure(&e))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.response_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config.clone())
            .await
            .map_err(|e| failure(&e))?;
        // The feed connection blocks in XREAD for up to a second: its own connection, with a
        // response timeout above that.
        let feed_conn = ConnectionManager::new_with_config(
            client,
            manager_config.set_response_timeout(Some(config.response_timeout + view::BLOCK)),
        )
        .await
        .map_err(|e| failure(&e))?;
        let keys = Keys {
            prefix: config.prefix.clone(),
        };
        let view = Arc::new(View::new(config.max_staleness));
        let mut follower = view::Follower::new(feed_conn, keys.clone(), Arc::clone(&view));
        follower.snapshot().await?;
        let task = tokio::spawn(follower.run(config.full_resync));
        Ok(RedisStore {
            shared: Arc::new(Shared {
                conn,
                keys,
                view,
                feed_length: config.feed_length,
                _follower: Follower(task.abort_handle()),
            }),
        })
    }

    /// Whether the session `sid` is revoked, read from Redis itself (not the local view).
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when Redis cannot be reached.
    pub async fn fetch_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(self.shared.keys.session(sid))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| failure(&e))?;
        Ok(exists == 1)
    }

    /// When the local view was last confirmed current (a feed read or a snapshot that
    /// succeeded), if ever.
    pub fn view_synced_at(&self) -> Option<Instant> {
        self.shared.view.synced_at()
    }

    fn conn(&self) -> ConnectionManager {
        self.shared.conn.clone()
    }

    /// Announces a change on the feed.
    async fn announce(&self, change: &Change) -> Result<(), Error> {
        let (kind, id, value, until) = change.fields();
        redis::cmd("XADD")
            .arg(self.shared.keys.feed())
            .arg("MAXLEN")
            .arg("~")
            .arg(self.shared.feed_length)
            .arg("*")
            .arg("k")
            .arg(kind)
            .arg("i")
            .arg(id)
            .arg("v")
            .arg(value)
            .arg("u")
            .arg(until)
            .query_async::<Value>(&mut self.conn())
            .await
            .map_err(|e| failure(&e))?;
        Ok(())
    }
}

impl FamilyStore for RedisStore {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let record = serde_json::to_string(&family).map_err(|e| corrupt(&e.to_string()))?;
            INSERT_SCRIPT
                .key(self.shared.keys.family(id))
                .arg(&family.current)
                .arg(record)
                .arg(millis(family.expires_at.to_datetime()))
                .invoke_async::<i64>(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>> {
        Box::pin(async move {
            let record: Option<String> = redis::cmd("HGET")
                .arg(self.shared.keys.family(id))
                .arg("record")
                .query_async(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            record
                .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("family record")))
                .transpose()
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Family,
        new: Family,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let record = serde_json::to_string(&new).map_err(|e| corrupt(&e.to_string()))?;
            let swapped: i64 = SWAP_SCRIPT
                .key(self.shared.keys.family(id))
                .arg(&expected.current)
                .arg(&new.current)
                .arg(record)
                .arg(millis(new.expires_at.to_datetime()))
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            Ok(swapped == 1)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            redis::cmd("DEL")
                .arg(self.shared.keys.family(id))
                .query_async::<i64>(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            Ok(())
        })
    }
}

impl RedisStore {
    /// A token or session revocation: announced on the feed first, then written to its key.
    /// In that order, so that a failure between the two leaves the views refusing something
    /// Redis does not hold (corrected at the next resync, and the caller got `store` and may
    /// retry), never Redis holding a revocation that the views never hear of.
    async fn revoke_key(&self, change: Change) -> Result<(), Error> {
        self.announce(&change).await?;
        let mut invocation = match &change {
            Change::Session(sid, _) => {
                let mut invocation = END_SESSION_SCRIPT.key(self.shared.keys.session(sid));
                invocation.key(self.shared.keys.family(sid));
                invocation
            }
            Change::Token(jti, _) => REVOKE_SCRIPT.key(self.shared.keys.token(jti)),
            Change::Subject(..) => return Err(corrupt("not a token or session")),
        };
        invocation
            .arg(change.until())
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(|e| failure(&e))?;
        // This instance refuses it at once, without waiting for its own feed.
        self.shared.view.apply(&change);
        Ok(())
    }
}

impl RevocationStore for RedisStore {
    fn revoke_token<'a>(
        &'a self,
        jti: &'a str,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.revoke_key(Change::Token(jti.to_owned(), millis(until))))
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.revoke_key(Change::Session(sid.to_owned(), millis(until))))
    }

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // Announced first, as in `revoke_key`; views and the script keep the later cutoff.
            let until = millis(until);
            let change = Change::Subject(subject.to_owned(), cutoff, until);
            self.announce(&change).await?;
            CUTOFF_SCRIPT
                .key(self.shared.keys.subject(subject))
                .arg(cutoff_digits(cutoff))
                .arg(until)
                .invoke_async::<String>(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            self.shared.view.apply(&change);
            Ok(())
        })
    }

    fn fetch_subject_cutoff<'a>(
        &'a self,
        subject: &'a str,
    ) -> StoreFuture<'a, Option<OffsetDateTime>> {
        Box::pin(async move {
            let value: Option<String> = redis::cmd("GET")
                .arg(self.shared.keys.subject(subject))
                .query_async(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            value
                .map(|v| {
                    parse_cutoff(&v)
                        .map(|(cutoff, _)| cutoff)
                        .ok_or_else(|| corrupt("cutoff"))
                })
                .transpose()
        })
    }
}

/// Answers from the local view: no I/O, and a `store` error once the view is older than its
/// bound.
impl RevocationList for RedisStore {
    fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        self.shared.view.is_token_revoked(jti)
    }

    fn is_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        self.shared.view.is_session_revoked(sid)
    }

    fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, Error> {
        self.shared.view.subject_cutoff(sub)
    }
}

/// The local view's maps: id -> until (ms), subject -> (cutoff, until ms).
#[derive(Default)]
pub(crate) struct Entries {
    pub(crate) tokens: HashMap<String, i64>,
    pub(crate) sessions: HashMap<String, i64>,
    pub(crate) subjects: HashMap<String, (OffsetDateTime, i64)>,
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
