//! [`RedisConfig`]: where Redis is, the key prefix, and how the local revocation view behaves.
//! Its `Debug` hides the password of the URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use keycard::{Clock, SystemClock};

/// How to reach Redis and how the local revocation view behaves. `Debug` hides a password in
/// the URL.
#[derive(Clone)]
#[must_use = "give it to RedisStore::connect"]
pub struct RedisConfig {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) max_staleness: Duration,
    pub(crate) full_resync: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) feed_length: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cluster: bool,
    pub(crate) replicas: Option<(u32, Duration)>,
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
            .field("clock", &self.clock)
            .field("cluster", &self.cluster)
            .field("replicas", &self.replicas)
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
            clock: Arc::new(SystemClock),
            cluster: false,
            replicas: None,
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

    /// Connects to a Redis Cluster (Valkey cluster) whose nodes include `url`, instead of one
    /// server: the cluster client follows the slot map (and failovers), every script touches
    /// one slot (a session's keys share its `{sid}` hash tag), the snapshot scans every
    /// primary, and the change feed is one stream on the primary of its slot (see
    /// `docs/several-instances.md`). The public API is the same.
    pub fn cluster(mut self) -> Self {
        self.cluster = true;
        self
    }

    /// Acknowledges a rotation, a login or a revocation only once `replicas` replicas of the
    /// primary that holds it have it (`WAIT replicas timeout`), so that a failover right after
    /// the answer does not lose it; fails with `store` when fewer acknowledge within `timeout`
    /// (the write may still be there: a refresh retried receives the same successor). Off by
    /// default.
    pub fn wait_for_replicas(mut self, replicas: u32, timeout: Duration) -> Self {
        self.replicas = Some((replicas, timeout));
        self
    }

    /// Reads the time of day from `clock` instead of the system clock (default): whether a
    /// family or a revocation is past its time is decided by it. Redis still expires its keys
    /// by its own clock, so keep `clock` near the real time; for tests that move time.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
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
}
