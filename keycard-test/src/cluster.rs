//! [`RedisCluster`]: a real Redis Cluster (3 primaries, 3 replicas) owned by one test.

use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::RedisServer;

/// A Redis Cluster of this test: six `redis-server`s with `--cluster-enabled yes` on free
/// loopback ports (each a [`RedisServer`] in a directory of its own, with an append-only file
/// fsynced at every write), joined by `redis-cli --cluster create --cluster-replicas 1` into 3
/// primaries with one replica each, with a `cluster-node-timeout` of one second so that a
/// killed primary's replica takes over within a few seconds. Stopped when dropped.
///
/// [`start`](Self::start) is skipped, or required, exactly like [`RedisServer::start`]
/// (`KEYCARD_REQUIRE_REDIS`).
///
/// ```no_run
/// use keycard_test::RedisCluster;
///
/// let Some(mut cluster) = RedisCluster::start() else { return };
/// let urls = cluster.urls(); // redis://127.0.0.1:PORT/ of every node
/// let primary = cluster.primaries()[0];
/// cluster.kill(primary); // its replica is promoted
/// cluster.wait_failed_over(primary);
/// cluster.restart(primary); // back, as a replica
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

/// The node timeout: how long a primary may be unreachable before its replica takes over.
const NODE_TIMEOUT_MS: &str = "1000";

impl RedisCluster {
    /// Starts the six nodes and creates the cluster, or `None` when Redis must be skipped.
    ///
    /// # Panics
    /// When `redis-server` is missing and required, or the cluster does not form.
    pub fn start() -> Option<RedisCluster> {
        let mut nodes = Vec::new();
        for _ in 0..6 {
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                NODE_TIMEOUT_MS,
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match created {
            Ok(status) if status.success() => {}
            other => panic!("redis-cli --cluster create failed: {other:?}"),
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_healthy();
        cluster.wait_replicated();
        Some(cluster)
    }

    /// `redis://127.0.0.1:PORT/` of every node, the seeds of a cluster client.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The ports of the nodes that are primaries now (from a running node's `CLUSTER NODES`).
    pub fn primaries(&self) -> Vec<u16> {
        self.nodes_where(|flags| flags.split(',').any(|f| f == "master"))
    }

    /// The ports of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<u16> {
        self.nodes_where(|flags| flags.split(',').any(|f| f == "slave"))
    }

    fn nodes_where(&self, keep: impl Fn(&str) -> bool) -> Vec<u16> {
        for node in &self.nodes {
            let Ok(Some(text)) = node.query(&["CLUSTER", "NODES"]) else {
                continue;
            };
            let mut ports: Vec<u16> = text
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let (address, flags) = (fields.get(1)?, fields.get(2)?);
                    if !keep(flags) || flags.contains("fail") {
                        return None;
                    }
                    let port = address.split('@').next()?.rsplit(':').next()?;
                    port.parse().ok()
                })
                .collect();
            ports.sort_unstable();
            return ports;
        }
        Vec::new()
    }

    fn node(&self, port: u16) -> &RedisServer {
        match self.nodes.iter().find(|n| n.port() == port) {
            Some(node) => node,
            None => panic!("no node of this cluster on port {port}"),
        }
    }

    fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        match self.nodes.iter_mut().find(|n| n.port() == port) {
            Some(node) => node,
            None => panic!("no node of this cluster on port {port}"),
        }
    }

    /// Kills the node on `port` (SIGKILL).
    pub fn kill(&mut self, port: u16) {
        self.node_mut(port).kill();
    }

    /// Starts the node on `port` again from its directory (its `nodes.conf` and append-only
    /// file): it rejoins the cluster, as a replica if it was failed over meanwhile.
    pub fn restart(&mut self, port: u16) {
        self.node_mut(port).restart();
    }

    /// One command on the node on `port`, as [`RedisServer::query`].
    ///
    /// # Errors
    /// As [`RedisServer::query`].
    pub fn query(&self, port: u16, command: &[&str]) -> io::Result<Option<String>> {
        self.node(port).query(command)
    }

    /// Waits until every primary has a replica online (its initial sync done), so that a
    /// `WAIT 1` can succeed everywhere.
    ///
    /// # Panics
    /// After 30 s.
    pub fn wait_replicated(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let replicated = self.primaries().iter().all(|port| {
                self.query(*port, &["INFO", "replication"])
                    .ok()
                    .flatten()
                    .is_some_and(|info| info.contains("state=online"))
            });
            if replicated {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the Redis cluster's replicas did not come online within 30 s");
    }

    /// Waits until the primary on `killed` has been replaced (its replica promoted) and the
    /// cluster is healthy again with 3 primaries.
    ///
    /// # Panics
    /// After 30 s.
    pub fn wait_failed_over(&self, killed: u16) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let primaries = self.primaries();
            if !primaries.contains(&killed) && primaries.len() == 3 {
                self.wait_healthy();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no replica took over from the primary on port {killed} within 30 s");
    }

    /// Waits until every running node says `cluster_state:ok` and there are 3 primaries
    /// (a failover has completed).
    ///
    /// # Panics
    /// After 30 s.
    pub fn wait_healthy(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let ok = self.nodes.iter().all(|node| {
                match node.query(&["CLUSTER", "INFO"]) {
                    Ok(Some(info)) => info.contains("cluster_state:ok"),
                    // A node that is down is not asked.
                    Err(_) => true,
                    Ok(None) => false,
                }
            });
            if ok && self.primaries().len() == 3 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the Redis cluster did not become healthy within 30 s");
    }
}
