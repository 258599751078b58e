//! [`RedisStore`]: keycard-lifecycle's [`FamilyStore`] and [`RevocationStore`] on Redis (a Lua
//! script per write that must be atomic), and keycard's [`RevocationList`] answered from the
//! local view.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use keycard::time::OffsetDateTime;
use keycard::{Clock, Error, RevocationList};
use keycard_lifecycle::{Family, FamilyStore, RevocationStore, StoreFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{Script, Value};

use crate::config::RedisConfig;
use crate::conn::{corrupt, failure, Conn, RedisFailure};
use crate::layout::{cutoff_digits, millis, parse_cutoff, Keys};
use crate::view::{self, Change, View};

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
    conn: Conn,
    replicas: Option<(u32, Duration)>,
    keys: Keys,
    view: Arc<View>,
    feed_length: u64,
    clock: Arc<dyn Clock>,
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

// Each script is hashed once; Redis runs it by its SHA (EVALSHA), loading it after a restart.
/// A new family: the hash and its TTL.
static INSERT_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/insert.lua")));
/// Rotation: swap only if `current` is still the expected one.
static SWAP_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/swap.lua")));
/// A token revocation: keep the later expiry.
static REVOKE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/revoke.lua")));
/// A session revocation, which forgets the session's family in the same step.
static END_SESSION_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/end_session.lua")));
/// A subject cutoff: keep the later cutoff and the later expiry.
static CUTOFF_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/cutoff.lua")));

impl RedisStore {
    /// Connects (two connections: commands, and the feed follower), loads the revocation
    /// snapshot into the local view, and starts following the feed. Reconnects by itself after
    /// a lost connection; call it from inside a tokio runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when Redis cannot be reached or the
    /// snapshot cannot be read.
    pub async fn connect(config: RedisConfig) -> Result<Self, Error> {
        let (conn, feed_conn) = if config.cluster {
            // The feed connection blocks in XREAD for up to a second: its own connection, with
            // a response timeout above that.
            let client = |timeout| {
                ClusterClientBuilder::new([config.url.as_str()])
                    .response_timeout(timeout)
                    .connection_timeout(config.response_timeout)
                    .retries(3)
                    .build()
                    .map_err(|e| failure(&e))
            };
            let conn = client(config.response_timeout)?
                .get_async_connection()
                .await
                .map_err(|e| failure(&e))?;
            let feed_conn = client(config.response_timeout + view::BLOCK)?
                .get_async_connection()
                .await
                .map_err(|e| failure(&e))?;
            (Conn::Cluster(conn), Conn::Cluster(feed_conn))
        } else {
            let client = redis::Client::open(config.url.as_str()).map_err(|e| failure(&e))?;
            let manager_config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(config.response_timeout))
                .set_connection_timeout(Some(config.response_timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            let conn = ConnectionManager::new_with_config(client.clone(), manager_config.clone())
                .await
                .map_err(|e| failure(&e))?;
            let feed_conn = ConnectionManager::new_with_config(
                client,
                manager_config.set_response_timeout(Some(config.response_timeout + view::BLOCK)),
            )
            .await
            .map_err(|e| failure(&e))?;
            (Conn::Single(conn), Conn::Single(feed_conn))
        };
        let keys = Keys {
            prefix: config.prefix.clone(),
        };
        let view = Arc::new(View::new(config.max_staleness, Arc::clone(&config.clock)));
        let mut follower = view::Follower::new(feed_conn, keys.clone(), Arc::clone(&view));
        follower.snapshot().await?;
        let task = tokio::spawn(follower.run(config.full_resync));
        Ok(RedisStore {
            shared: Arc::new(Shared {
                conn,
                replicas: config.replicas,
                keys,
                view,
                feed_length: config.feed_length,
                clock: config.clock,
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

    /// Waits until the local view has caught up with every revocation Redis acknowledged before
    /// this call (on any instance): its follower has completed a feed read sent after the call.
    /// For tests, and for a process that must see a revocation made elsewhere before it goes on.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the view has not caught up within
    /// `timeout` (Redis unreachable, the follower resyncing).
    pub async fn sync_view(&self, timeout: Duration) -> Result<(), Error> {
        let asked = Instant::now();
        while self.shared.view.synced_at().is_none_or(|at| at < asked) {
            if asked.elapsed() >= timeout {
                return Err(Error::store(RedisFailure(format!(
                    "the revocation view did not catch up within {} ms",
                    timeout.as_millis()
                ))));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// When the local view was last confirmed current (a feed read or a snapshot that
    /// succeeded), if ever.
    pub fn view_synced_at(&self) -> Option<Instant> {
        self.shared.view.synced_at()
    }

    fn conn(&self) -> Conn {
        self.shared.conn.clone()
    }

    /// With [`RedisConfig::wait_for_replicas`], waits until enough replicas of the primary that
    /// holds `key` have every write made so far; a `store` error when they do not within the
    /// timeout.
    async fn durable(&self, key: &str) -> Result<(), Error> {
        let Some((replicas, timeout)) = self.shared.replicas else {
            return Ok(());
        };
        let timeout_ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let acknowledged = self
            .conn()
            .wait(key, replicas, timeout_ms)
            .await
            .map_err(|e| failure(&e))?;
        if acknowledged < i64::from(replicas) {
            return Err(Error::store(RedisFailure(format!(
                "only {acknowledged} of {replicas} replicas acknowledged the write within {timeout_ms} ms"
            ))));
        }
        Ok(())
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
            let key = self.shared.keys.family(id);
            INSERT_SCRIPT
                .key(&key)
                .arg(&family.current)
                .arg(record)
                .arg(millis(family.expires_at.to_datetime()))
                .invoke_async::<i64>(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            self.durable(&key).await
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
            let family: Option<Family> = record
                .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("family record")))
                .transpose()?;
            // Past its expiry by this store's clock it is gone, whether or not Redis has
            // expired the key yet.
            let now = self.shared.clock.now();
            Ok(family.filter(|family| family.expires_at.to_datetime() > now))
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
            let key = self.shared.keys.family(id);
            let swapped: i64 = SWAP_SCRIPT
                .key(&key)
                .arg(&expected.current)
                .arg(&new.current)
                .arg(record)
                .arg(millis(new.expires_at.to_datetime()))
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            if swapped == 1 {
                self.durable(&key).await?;
            }
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
        let (mut invocation, key) = match &change {
            Change::Session(sid, _) => {
                let key = self.shared.keys.session(sid);
                let mut invocation = END_SESSION_SCRIPT.key(&key);
                invocation.key(self.shared.keys.family(sid));
                (invocation, key)
            }
            Change::Token(jti, _) => {
                let key = self.shared.keys.token(jti);
                (REVOKE_SCRIPT.key(&key), key)
            }
            Change::Subject(..) => return Err(corrupt("not a token or session")),
        };
        invocation
            .arg(change.until())
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(|e| failure(&e))?;
        // This instance refuses it at once, without waiting for its own feed.
        self.shared.view.apply(&change);
        self.durable(&key).await
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
            let key = self.shared.keys.subject(subject);
            CUTOFF_SCRIPT
                .key(&key)
                .arg(cutoff_digits(cutoff))
                .arg(until)
                .invoke_async::<String>(&mut self.conn())
                .await
                .map_err(|e| failure(&e))?;
            self.shared.view.apply(&change);
            self.durable(&key).await
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
            let now = millis(self.shared.clock.now());
            let entry = value
                .map(|v| parse_cutoff(&v).ok_or_else(|| corrupt("cutoff")))
                .transpose()?;
            Ok(entry
                .filter(|(_, until)| *until > now)
                .map(|(cutoff, _)| cutoff))
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
