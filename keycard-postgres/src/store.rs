//! [`PostgresStore`]: the lifecycle's stores on PostgreSQL, each operation one statement, and
//! the local view that answers the validator.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use keycard::time::OffsetDateTime;
use keycard::{Error, RevocationList};
use keycard_lifecycle::{Family, FamilyStore, RevocationStore, StoreFuture};
use tokio::sync::Notify;

use crate::db::Db;
use crate::error::{corrupt, failure, misuse, timed_out};
use crate::follower::{AbortOnDrop, Follower};
use crate::migrate::{self, LATEST};
use crate::sql::Sql;
use crate::view::{from_nanos, micros, to_nanos, Change, View};
use crate::PostgresConfig;

/// At most this many batches per table in one cleanup pass, so that one pass is bounded; what
/// is left waits for the next.
const MAX_BATCHES: u32 = 100;

/// Refresh families and revocations in PostgreSQL, with a local revocation view; one per
/// instance (clone it freely: clones share the pool and the view). See the [crate] docs.
///
/// Its background tasks (the view's listener and the cleanup) run on the tokio runtime that
/// called [`connect`](Self::connect), and stop when the last clone is dropped.
#[derive(Clone)]
pub struct PostgresStore {
    shared: Arc<Shared>,
}

struct Shared {
    db: Db,
    sql: Arc<Sql>,
    view: Arc<View>,
    wake: Arc<Notify>,
    cleanup_batch: u32,
    _tasks: Vec<AbortOnDrop>,
}

/// The schema and the view's sizes; never an id.
impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("channel", &self.shared.sql.channel)
            .field("view", &self.shared.view)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The schema version this crate needs; [`migrate`](Self::migrate) brings a database to it.
    pub const SCHEMA_VERSION: u32 = LATEST.unsigned_abs();

    /// Creates or upgrades the tables, triggers and indexes in the configured schema, and
    /// returns the schema's version. Run it once before [`connect`](Self::connect), from a
    /// deployment step or at start-up: it is idempotent (each migration is recorded in
    /// `<schema>.schema_migrations` and runs once), and concurrent callers wait for each other
    /// on an advisory lock. Needs the right to create a schema (or to create in it).
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the database cannot be reached, the
    /// configuration is unusable, or a migration fails (then nothing of it is applied: the
    /// migrations run in one transaction).
    pub async fn migrate(config: &PostgresConfig) -> Result<u32, Error> {
        let version = migrate::migrate(config).await?;
        Ok(version.unsigned_abs())
    }

    /// Connects (a pool, and one connection that listens for revocations), checks the schema
    /// version, loads the revocations in force into the local view, and starts the listener
    /// and the cleanup task. Reconnects by itself after a lost connection; call it from inside
    /// a tokio runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the database cannot be reached, the
    /// schema has not been migrated to [`SCHEMA_VERSION`](Self::SCHEMA_VERSION), or the view
    /// cannot be loaded.
    pub async fn connect(config: PostgresConfig) -> Result<Self, Error> {
        let schema = config.checked_schema()?.to_owned();
        let pg = config.pg()?;
        let sql = Arc::new(Sql::new(&schema));
        let db = Db::new(pg.clone(), config.pool_size, config.response_timeout)?;
        check_version(&db, &sql, &schema).await?;

        let view = Arc::new(View::new(config.max_staleness, Arc::clone(&config.clock)));
        let wake = Arc::new(Notify::new());
        let follower = Follower::new(
            pg,
            Arc::clone(&sql),
            Arc::clone(&view),
            Arc::clone(&wake),
            config.full_resync,
            config.response_timeout,
        );
        let session = follower.open().await?;
        let mut tasks = vec![AbortOnDrop(
            tokio::spawn(follower.run(Some(session))).abort_handle(),
        )];
        if !config.cleanup_interval.is_zero() {
            let (db, sql) = (db.clone(), Arc::clone(&sql));
            let (interval, batch) = (config.cleanup_interval, config.cleanup_batch);
            tasks.push(AbortOnDrop(
                tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(interval);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    ticker.tick().await; // the first tick is at once: not at start-up
                    loop {
                        ticker.tick().await;
                        // A failed pass is retried at the next tick; reads never needed it.
                        let _ = cleanup(&db, &sql, batch).await;
                    }
                })
                .abort_handle(),
            ));
        }
        Ok(PostgresStore {
            shared: Arc::new(Shared {
                db,
                sql,
                view,
                wake,
                cleanup_batch: config.cleanup_batch,
                _tasks: tasks,
            }),
        })
    }

    /// Waits until this instance's view holds every revocation committed (on any instance)
    /// before the call: it sends a heartbeat through the database and waits for it to come
    /// back (see the [crate] docs). What a test waits on instead of a sleep, and what an
    /// instance may call before serving after a long pause.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the listener fails to reach the
    /// database meanwhile, or the view has not caught up within the staleness bound.
    pub async fn catch_up(&self) -> Result<(), Error> {
        let asked = Instant::now();
        let mut progress = self.shared.view.subscribe();
        let failures = progress.borrow().failures;
        self.shared.wake.notify_one();
        let bound = self
            .shared
            .view
            .max_staleness()
            .max(self.shared.db.timeout());
        let outcome = tokio::time::timeout(bound, async {
            progress
                .wait_for(|p| p.synced.is_some_and(|at| at >= asked) || p.failures > failures)
                .await
                .map(|p| p.synced.is_some_and(|at| at >= asked))
        })
        .await;
        match outcome {
            Ok(Ok(true)) => Ok(()),
            Ok(_) => Err(timed_out(
                "catching up with the database (the listener lost its connection)",
            )),
            Err(_) => Err(timed_out("catching up with the database")),
        }
    }

    /// When the local view was last confirmed current, if ever: a returned heartbeat (about
    /// every second) or a completed reload.
    pub fn view_synced_at(&self) -> Option<Instant> {
        self.shared.view.synced_at()
    }

    /// Whether the session `sid` is revoked, read from the database itself (not the view).
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the database cannot be reached.
    pub async fn fetch_session_revoked(&self, sid: &str) -> Result<bool, Error> {
        let now = self.shared.view.clock_now();
        let row = self
            .shared
            .db
            .query_opt(
                "reading a session revocation",
                &self.shared.sql.fetch_session,
                &[&sid, &now],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Deletes the rows whose time passed more than a minute ago by the database's clock, in
    /// batches of [`cleanup_batch`](PostgresConfig::cleanup_batch) rows, at most 100 batches a
    /// table, and returns how many it deleted. The background task does this every
    /// [`cleanup_interval`](PostgresConfig::cleanup_interval); reads never need it (they skip
    /// expired rows), it only bounds the tables.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when the database cannot be reached.
    pub async fn cleanup(&self) -> Result<u64, Error> {
        cleanup(&self.shared.db, &self.shared.sql, self.shared.cleanup_batch).await
    }
}

/// Refuses a schema older than this crate's.
async fn check_version(db: &Db, sql: &Sql, schema: &str) -> Result<(), Error> {
    let what = "checking the schema version";
    let client = db.raw(what).await?;
    let version: i32 = match tokio::time::timeout(db.timeout(), client.query_one(&sql.version, &[]))
        .await
        .map_err(|_| timed_out(what))?
    {
        Ok(row) => row
            .try_get::<_, Option<i32>>(0)
            .map_err(|e| failure(what, &e))?
            .unwrap_or(0),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => 0,
        Err(e) => return Err(failure(what, &e)),
    };
    if version < LATEST {
        return Err(misuse(&format!(
            "the schema `{schema}` is at version {version}, this keycard-postgres needs \
             {LATEST}: run PostgresStore::migrate first"
        )));
    }
    Ok(())
}

/// One bounded cleanup pass over every table.
async fn cleanup(db: &Db, sql: &Sql, batch: u32) -> Result<u64, Error> {
    let limit = i64::from(batch);
    let mut deleted = 0;
    for statement in &sql.cleanup {
        for _ in 0..MAX_BATCHES {
            let n = db
                .execute("deleting expired rows", statement, &[&limit])
                .await?;
            deleted += n;
            if n < u64::from(batch) {
                break;
            }
        }
    }
    Ok(deleted)
}

fn record(family: &Family) -> Result<String, Error> {
    serde_json::to_string(family).map_err(|_| corrupt("a family that does not serialize"))
}

impl FamilyStore for PostgresStore {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let record = record(&family)?;
            let expires_at = family.expires_at.to_datetime();
            self.shared
                .db
                .execute(
                    "recording a family",
                    &self.shared.sql.insert_family,
                    &[&id, &family.current, &record, &expires_at],
                )
                .await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>> {
        Box::pin(async move {
            let what = "reading a family";
            let now = self.shared.view.clock_now();
            let row = self
                .shared
                .db
                .query_opt(what, &self.shared.sql.get_family, &[&id, &now])
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let json: &str = row.try_get(0).map_err(|e| failure(what, &e))?;
            serde_json::from_str(json)
                .map(Some)
                .map_err(|_| corrupt("a family record"))
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Family,
        new: Family,
        now: OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let record = record(&new)?;
            let expires_at = new.expires_at.to_datetime();
            let changed = self
                .shared
                .db
                .execute(
                    "rotating a family",
                    &self.shared.sql.swap_family,
                    &[
                        &id,
                        &expected.current,
                        &new.current,
                        &record,
                        &expires_at,
                        &now,
                    ],
                )
                .await?;
            Ok(changed == 1)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.shared
                .db
                .execute("removing a family", &self.shared.sql.remove_family, &[&id])
                .await?;
            Ok(())
        })
    }
}

impl RevocationStore for PostgresStore {
    fn revoke_token<'a>(
        &'a self,
        jti: &'a str,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.shared
                .db
                .execute(
                    "revoking a token",
                    &self.shared.sql.revoke_token,
                    &[&jti, &until],
                )
                .await?;
            // Committed (and announced to the other views): this one refuses it at once.
            self.shared
                .view
                .apply_local(Change::Token(jti.to_owned(), micros(until)));
            Ok(())
        })
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // One statement: the revocation, and the family removed with it.
            self.shared
                .db
                .execute(
                    "revoking a session",
                    &self.shared.sql.revoke_session,
                    &[&sid, &until],
                )
                .await?;
            self.shared
                .view
                .apply_local(Change::Session(sid.to_owned(), micros(until)));
            Ok(())
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let what = "revoking a subject";
            let rows = self
                .shared
                .db
                .query(
                    what,
                    &self.shared.sql.revoke_subject,
                    &[&subject, &to_nanos(cutoff), &until],
                )
                .await?;
            let row = rows.first().ok_or_else(|| corrupt("no cutoff returned"))?;
            // The later of the stored and the new cutoff, as the database kept it.
            let kept: i64 = row.try_get(0).map_err(|e| failure(what, &e))?;
            let kept_until: OffsetDateTime = row.try_get(1).map_err(|e| failure(what, &e))?;
            let kept = from_nanos(kept).ok_or_else(|| corrupt("a cutoff"))?;
            self.shared.view.apply_local(Change::Subject(
                subject.to_owned(),
                kept,
                micros(kept_until),
            ));
            Ok(())
        })
    }

    fn fetch_subject_cutoff<'a>(
        &'a self,
        subject: &'a str,
    ) -> StoreFuture<'a, Option<OffsetDateTime>> {
        Box::pin(async move {
            let what = "reading a subject cutoff";
            let now = self.shared.view.clock_now();
            let row = self
                .shared
                .db
                .query_opt(what, &self.shared.sql.fetch_cutoff, &[&subject, &now])
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let nanos: i64 = row.try_get(0).map_err(|e| failure(what, &e))?;
            from_nanos(nanos)
                .map(Some)
                .ok_or_else(|| corrupt("a cutoff"))
        })
    }
}

/// Answers from the local view: no I/O, and a `store` error once the view is older than its
/// bound.
impl RevocationList for PostgresStore {
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
