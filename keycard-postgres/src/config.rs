//! [`PostgresConfig`]: where the database is, which schema holds the tables, and how the local
//! revocation view, the pool and the cleanup task behave.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use keycard::{Clock, Error, SystemClock};
use tokio_postgres::config::Host;

use crate::error::{misuse, Failure};

/// How to reach PostgreSQL and how the store behaves. `Debug` shows the hosts, port, user and
/// database, never the password.
///
/// ```
/// use std::time::Duration;
/// use keycard_postgres::PostgresConfig;
///
/// let config = PostgresConfig::new("postgresql://keycard:s3cret@db.internal:5432/auth")
///     .schema("keycard")
///     .max_staleness(Duration::from_secs(10));
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
#[must_use = "give it to PostgresStore::migrate and PostgresStore::connect"]
pub struct PostgresConfig {
    pub(crate) pg: Result<tokio_postgres::Config, String>,
    pub(crate) schema: String,
    pub(crate) max_staleness: Duration,
    pub(crate) full_resync: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) pool_size: usize,
    pub(crate) cleanup_interval: Duration,
    pub(crate) cleanup_batch: u32,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("PostgresConfig");
        match &self.pg {
            Ok(pg) => {
                let hosts: Vec<String> = pg
                    .get_hosts()
                    .iter()
                    .map(|host| match host {
                        Host::Tcp(name) => name.clone(),
                        Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                s.field("hosts", &hosts)
                    .field("ports", &pg.get_ports())
                    .field("user", &pg.get_user())
                    .field("dbname", &pg.get_dbname())
                    .field("password", &pg.get_password().map(|_| "***"));
            }
            // The text did not parse; it may hold a password, so none of it is shown.
            Err(_) => {
                s.field("connection", &"<invalid connection string>");
            }
        }
        s.field("schema", &self.schema)
            .field("max_staleness", &self.max_staleness)
            .field("full_resync", &self.full_resync)
            .field("response_timeout", &self.response_timeout)
            .field("pool_size", &self.pool_size)
            .field("cleanup_interval", &self.cleanup_interval)
            .field("cleanup_batch", &self.cleanup_batch)
            .field("clock", &self.clock)
            .finish()
    }
}

impl PostgresConfig {
    /// The default bound on the local view's staleness: 10 seconds, as `keycard-redis`.
    ///
    /// While the database is reachable the view hears every revocation within milliseconds
    /// (`LISTEN/NOTIFY`). When it is not, the view keeps answering from what it has for up to
    /// this long after it was last confirmed current (a restart or failover of a few seconds does
    /// not refuse every request), and after that every lookup fails closed with `store`.
    pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(10);
    /// The default interval between full reloads of the view: 5 minutes.
    pub const DEFAULT_FULL_RESYNC: Duration = Duration::from_secs(300);
    /// The default interval between cleanup passes: 1 minute.
    pub const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

    /// PostgreSQL at `connection`: a URL (`postgresql://user:password@host:5432/dbname`) or
    /// key-value pairs (`host=... user=... dbname=...`), as libpq takes them. Tables in the
    /// schema `keycard`. A string that does not parse is reported by
    /// [`PostgresStore::connect`](crate::PostgresStore::connect) and
    /// [`migrate`](crate::PostgresStore::migrate).
    pub fn new(connection: &str) -> Self {
        PostgresConfig {
            pg: tokio_postgres::Config::from_str(connection).map_err(|e| Failure::describe(&e)),
            schema: "keycard".to_owned(),
            max_staleness: Self::DEFAULT_MAX_STALENESS,
            full_resync: Self::DEFAULT_FULL_RESYNC,
            response_timeout: Duration::from_secs(2),
            pool_size: 16,
            cleanup_interval: Self::DEFAULT_CLEANUP_INTERVAL,
            cleanup_batch: 1000,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the password (read from a secret store, say) instead of writing it in the URL.
    pub fn password(mut self, password: impl AsRef<[u8]>) -> Self {
        if let Ok(pg) = &mut self.pg {
            pg.password(password);
        }
        self
    }

    /// Puts the tables in the schema `schema` instead of `keycard` (several issuers on one
    /// database). A lowercase identifier: ASCII letters, digits and `_`, not starting with a
    /// digit, at most 40 bytes; anything else is refused by `connect` and `migrate`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long the local view may go without being confirmed current before lookups fail
    /// closed (default [`DEFAULT_MAX_STALENESS`](Self::DEFAULT_MAX_STALENESS)).
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// How often the view is reloaded from the tables, healing anything missed (default
    /// [`DEFAULT_FULL_RESYNC`](Self::DEFAULT_FULL_RESYNC)). It is also reloaded after every
    /// lost connection.
    pub fn full_resync(mut self, interval: Duration) -> Self {
        self.full_resync = interval;
        self
    }

    /// How long one operation (a connection from the pool and its statement) may take before
    /// it fails with `store` (default 2 s). Also the connect timeout.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The most connections this instance's pool opens (default 16), besides the one the view
    /// listens on.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How often this instance deletes expired rows (default
    /// [`DEFAULT_CLEANUP_INTERVAL`](Self::DEFAULT_CLEANUP_INTERVAL)); `Duration::ZERO` runs no
    /// cleanup task (call [`PostgresStore::cleanup`](crate::PostgresStore::cleanup) yourself, or
    /// let another instance do it).
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.cleanup_interval = interval;
        self
    }

    /// How many rows one cleanup statement deletes at most (default 1,000): each is a short
    /// transaction, so cleanup never holds many locks or writes much WAL at once.
    pub fn cleanup_batch(mut self, rows: u32) -> Self {
        self.cleanup_batch = rows.max(1);
        self
    }

    /// The clock that decides, on this instance, what has expired (reads never return a row
    /// past its time by this clock) and how old the local view is (together with the monotonic
    /// clock: the view is fresh only while both say so). Default: the system clock. Tests move
    /// a clock of their own.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The parsed connection settings, with this crate's defaults, or why they cannot be used.
    pub(crate) fn pg(&self) -> Result<tokio_postgres::Config, Error> {
        let mut pg = self.pg.clone().map_err(|reason| misuse(reason.as_str()))?;
        if pg.get_application_name().is_none() {
            pg.application_name("keycard-postgres");
        }
        pg.connect_timeout(self.response_timeout);
        pg.keepalives(true);
        Ok(pg)
    }

    /// The schema name, checked: it is written into the SQL, so it must be a plain identifier.
    pub(crate) fn checked_schema(&self) -> Result<&str, Error> {
        let s = self.schema.as_str();
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit();
        if ok {
            Ok(s)
        } else {
            Err(misuse(
                "the schema must be a lowercase identifier of at most 40 bytes (a-z, 0-9, _)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_of_a_url_and_of_the_setter() {
        let config = PostgresConfig::new("postgresql://app:s3cret@db.internal:5432/auth");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("db.internal"), "{debug}");
        assert!(debug.contains("\"***\""), "{debug}");
        let config = PostgresConfig::new("host=db user=app").password("t0psecret");
        assert!(!format!("{config:?}").contains("t0psecret"));
    }

    #[test]
    fn an_unparsable_connection_string_is_never_echoed() {
        let config = PostgresConfig::new("postgresql://app:s3cret@db:notaport/x");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let err = config.pg().unwrap_err();
        assert_eq!(err.kind(), keycard::ErrorKind::Store);
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn only_plain_identifiers_are_schemas() {
        for good in ["keycard", "auth_2", "_x"] {
            assert!(PostgresConfig::new("host=x")
                .schema(good)
                .checked_schema()
                .is_ok());
        }
        for bad in [
            "",
            "Keycard",
            "2x",
            "a-b",
            "a;drop",
            "x\"y",
            &"a".repeat(41),
        ] {
            assert!(
                PostgresConfig::new("host=x")
                    .schema(bad)
                    .checked_schema()
                    .is_err(),
                "{bad}"
            );
        }
    }
}
