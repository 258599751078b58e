//! [`Conn`]: one server (a reconnecting `ConnectionManager`) or a Redis Cluster (redis-rs's
//! cluster connection, which follows the slot map through failovers), behind one type, and the
//! few commands whose routing differs: the snapshot's `SCAN` on every primary, and `WAIT` on the
//! primary that holds a key.

use keycard::Error;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use std::fmt;

/// A connection to one server or to a cluster. Clones share it.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A node to scan: the one server, or a cluster primary by address.
pub(crate) enum Node {
    Server,
    Primary(String, u16),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// The nodes a snapshot scans: the server, or every primary of the cluster now.
    pub(crate) async fn nodes(&mut self) -> RedisResult<Vec<Node>> {
        let Conn::Cluster(cluster) = self else {
            return Ok(vec![Node::Server]);
        };
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(cluster)
            .await?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (address, flags) = (fields.get(1)?, fields.get(2)?);
                let primary = flags.split(',').any(|f| f == "master");
                if !primary || flags.contains("fail") {
                    return None;
                }
                let (host, port) = address.split('@').next()?.rsplit_once(':')?;
                Some(Node::Primary(host.to_owned(), port.parse().ok()?))
            })
            .collect())
    }

    /// One `SCAN` step on `node`: the next cursor and the keys matching `pattern`.
    pub(crate) async fn scan(
        &mut self,
        node: &Node,
        cursor: &str,
        pattern: &str,
    ) -> RedisResult<(String, Vec<String>)> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000);
        match (self, node) {
            (Conn::Cluster(cluster), Node::Primary(host, port)) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let reply = cluster.route_command(cmd, routing).await?;
                redis::from_redis_value(reply).map_err(RedisError::from)
            }
            (conn, _) => cmd.query_async(conn).await,
        }
    }

    /// `WAIT replicas timeout` on the primary that holds `key`, after a write to it: how many
    /// replicas acknowledged every write of this connection so far.
    pub(crate) async fn wait(
        &mut self,
        key: &str,
        replicas: u32,
        timeout_ms: u64,
    ) -> RedisResult<i64> {
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(replicas).arg(timeout_ms);
        match self {
            Conn::Cluster(cluster) => {
                let route = Route::with_slot(Slot::for_key(key), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let reply = cluster.route_command(cmd, routing).await?;
                redis::from_redis_value(reply).map_err(RedisError::from)
            }
            Conn::Single(conn) => cmd.query_async(conn).await,
        }
    }
}

/// A Redis failure, as the `source` of a keycard `store` error.
#[derive(Debug)]
pub(crate) struct RedisFailure(pub(crate) String);

impl fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis: {}", self.0)
    }
}

impl std::error::Error for RedisFailure {}

/// A Redis error as a keycard `store` error, its text escaped and cut (it may quote a reply).
pub(crate) fn failure(e: &redis::RedisError) -> Error {
    Error::store(RedisFailure(keycard::text::escape(&e.to_string(), 256)))
}

/// A value in Redis that is not in the form keycard writes.
pub(crate) fn corrupt(what: &str) -> Error {
    Error::store(RedisFailure(format!("unexpected data: {what}")))
}
