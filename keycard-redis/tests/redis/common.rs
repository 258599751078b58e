//! The Redis server guard, a clock the tests move by hand (near the real time, since Redis
//! expires keys by the real time), and instances wired to one server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Clock, HmacKey};
use keycard_lifecycle::{TokenIssuer, TokenIssuerBuilder};
use keycard_redis::{RedisConfig, RedisStore};

/// A `redis-server` of this test: started on a free port in a fresh directory, killed (and the
/// directory removed) on drop.
pub(crate) struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);
static SKIP_SAID: AtomicBool = AtomicBool::new(false);

impl Server {
    /// Starts a server, or returns `None` (after saying so) when `redis-server` is missing and
    /// the environment does not require it.
    pub(crate) fn start() -> Option<Server> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("KEYCARD_REQUIRE_REDIS").is_none(),
                "KEYCARD_REQUIRE_REDIS is set but redis-server is not on the PATH"
            );
            // Once, and past the test harness's capture (which would hide it for a passing test).
            if !SKIP_SAID.swap(true, Ordering::SeqCst) {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "keycard-redis: redis-server not found, the Redis tests were SKIPPED. \
                     Enable them with: apt-get install -y redis-server"
                );
            }
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "keycard-redis-{}-{}-{}",
            std::process::id(),
            port,
            SERVERS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let mut server = Server {
            child: None,
            port,
            dir,
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        // Ready when it answers PING (it loads the AOF first).
        let client = redis::Client::open(self.url()).expect("a valid url");
        for _ in 0..500 {
            if let Ok(mut conn) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return;
                }
            }
            std::thread::sleep(StdDuration::from_millis(10));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL: no shutdown, no final save.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (it replays its AOF).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// A plain connection, for inspecting the keys.
    pub(crate) fn inspect(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("a valid url")
            .get_connection()
            .expect("a connection")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A clock shared by clones, starting at the current second and moved by the test only.
#[derive(Debug, Clone)]
pub(crate) struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub(crate) fn new() -> Self {
        ManualClock(Arc::new(AtomicI64::new(
            OffsetDateTime::now_utc().unix_timestamp(),
        )))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).expect("in range")
    }
}

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"keycard-redis test secret 32 b!!").expect("32 bytes")
}

pub(crate) fn config(server: &Server) -> RedisConfig {
    RedisConfig::new(server.url()).response_timeout(StdDuration::from_millis(500))
}

/// One API instance: its own store (own connections, own view) and an issuer on it.
#[derive(Clone)]
pub(crate) struct Instance {
    pub(crate) store: RedisStore,
    pub(crate) issuer: TokenIssuer,
}

pub(crate) fn issuer_builder(clock: &ManualClock, store: &RedisStore) -> TokenIssuerBuilder {
    TokenIssuer::builder(key(), key())
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock.clone())
        .families(Arc::new(store.clone()))
        .revocations(Arc::new(store.clone()))
}

pub(crate) async fn instances(
    server: &Server,
    clock: &ManualClock,
    n: usize,
    configure: impl Fn(TokenIssuerBuilder) -> TokenIssuerBuilder,
) -> Vec<Instance> {
    let mut out = Vec::new();
    for _ in 0..n {
        let store = RedisStore::connect(config(server)).await.expect("connects");
        let issuer = configure(issuer_builder(clock, &store))
            .build()
            .expect("valid configuration");
        out.push(Instance { store, issuer });
    }
    out
}

/// Waits (yielding, bounded) until `check` holds; false if it never did.
pub(crate) async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < StdDuration::from_secs(20) {
        if check() {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }
    check()
}

/// The p-th percentile (0-100) of sorted samples.
pub(crate) fn percentile(sorted: &[StdDuration], p: usize) -> StdDuration {
    let index = (sorted.len().saturating_sub(1) * p) / 100;
    sorted[index]
}

/// The system clock plus seconds the test adds: for an instance beside processes that mint on
/// the system clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShiftedClock(Arc<AtomicI64>);

impl ShiftedClock {
    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::seconds(self.0.load(Ordering::SeqCst))
    }
}
