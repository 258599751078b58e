//! [`RedisServer`]: a real `redis-server` owned by one test.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// The environment variable that turns a missing `redis-server` from a skip into a failure.
const REQUIRE: &str = "KEYCARD_REQUIRE_REDIS";

static SERVERS: AtomicUsize = AtomicUsize::new(0);
static SKIP_SAID: AtomicBool = AtomicBool::new(false);

/// Whether the environment requires the Redis tests to run: `KEYCARD_REQUIRE_REDIS` is set to
/// anything but `0` or nothing (`.ci/run` sets it to `1`).
pub fn redis_required() -> bool {
    std::env::var_os(REQUIRE).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A `redis-server` of this test: started on a free loopback port in a fresh directory under
/// the system's temp dir, killed (and the directory removed) when dropped.
///
/// [`start`](Self::start) returns `None` when `redis-server` is not on the `PATH`, after
/// writing a `SKIPPED` line to stderr (once per test binary, past the test harness's capture),
/// so that a test can `let Some(redis) = RedisServer::start() else { return };`. With
/// `KEYCARD_REQUIRE_REDIS=1` (as `.ci/run` sets it) a missing server panics instead: the skip
/// becomes a failure.
///
/// ```
/// use keycard_test::RedisServer;
///
/// let Some(redis) = RedisServer::start() else { return Ok(()) };
/// assert_eq!(redis.query(&["PING"])?.as_deref(), Some("PONG"));
/// let url = redis.url(); // redis://127.0.0.1:PORT/
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl RedisServer {
    /// Starts a server without persistence (`--save ""`, no AOF), or `None` when it must be
    /// skipped (see the type's docs).
    ///
    /// # Panics
    /// When `redis-server` is missing and `KEYCARD_REQUIRE_REDIS` requires it, or when it is
    /// installed but does not start.
    pub fn start() -> Option<RedisServer> {
        Self::start_with(&[])
    }

    /// Like [`start`](Self::start), with more `redis-server` arguments after the kit's own, e.g.
    /// `["--appendonly", "yes", "--appendfsync", "always"]` for a test that kills the server
    /// and [`restart`](Self::restart)s it from its append-only file.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn start_with(args: &[&str]) -> Option<RedisServer> {
        if !installed() {
            assert!(
                !redis_required(),
                "{REQUIRE} is set but redis-server is not on the PATH (apt-get install -y \
                 redis-server)"
            );
            if !SKIP_SAID.swap(true, Ordering::SeqCst) {
                // Past the harness's capture, which would hide it for a passing test.
                let _ = writeln!(
                    io::stderr(),
                    "SKIPPED: redis-server is not on the PATH, so the tests of {} that need it \
                     pass without running. Install it (apt-get install -y redis-server), and set \
                     {REQUIRE}=1 to make its absence a failure.",
                    test_binary()
                );
            }
            return None;
        }
        let n = SERVERS.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("keycard-test-redis-{}-{n}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("creating {}: {e}", dir.display());
        }
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            args: args.iter().map(|&a| a.to_owned()).collect(),
        };
        // A free port can be taken by someone else between probing and binding: try again.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("redis-server did not start (5 ports tried)");
    }

    /// Spawns the server on `self.port`; true once it answers PING, false if it exited (the
    /// port was taken).
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--protected-mode", "no", "--daemonize", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => panic!("spawning redis-server: {e}"),
        };
        // Ready when it answers PING (after loading its append-only file, if any).
        for _ in 0..1000 {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if let Ok(Some(pong)) = self.query(&["PING"]) {
                if pong == "PONG" {
                    self.child = Some(child);
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "redis-server did not answer PING on port {} in 10 s",
            self.port
        );
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its working directory (the append-only file, when enabled, is there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills it (SIGKILL: no shutdown, no final save). Connections fail from now on.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts it again on the same port and directory; it replays its append-only
    /// file when started with one.
    ///
    /// # Panics
    /// When it does not start again.
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.spawn(),
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// Runs one command on a new connection and returns the reply as text: a status (`OK`,
    /// `PONG`), an integer, a bulk string, or an array's elements one per line; `None` for a
    /// nil reply. For inspecting the server from a test without a Redis client library.
    ///
    /// # Errors
    /// The connection failed, or Redis answered with an error (its message is the error's).
    pub fn query(&self, command: &[&str]) -> io::Result<Option<String>> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", command.len());
        for part in command {
            request.push_str(&format!("${}\r\n{part}\r\n", part.len()));
        }
        (&stream).write_all(request.as_bytes())?;
        read_reply(&mut BufReader::new(stream))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(address) => address.port(),
        Err(e) => panic!("no free loopback port: {e}"),
    }
}

/// The running test binary, for the skip message: `crate (binary)` under cargo.
fn test_binary() -> String {
    let binary = std::env::current_exe().ok().and_then(|exe| {
        let stem = exe.file_stem()?.to_string_lossy().into_owned();
        // Cargo names test binaries `name-<16 hex digits>`.
        Some(match stem.rsplit_once('-') {
            Some((name, hash))
                if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                name.to_owned()
            }
            _ => stem,
        })
    });
    match (std::env::var("CARGO_PKG_NAME").ok(), binary) {
        (Some(package), Some(binary)) => format!("{package} ({binary})"),
        (None, Some(name)) | (Some(name), None) => name,
        (None, None) => "this test binary".to_owned(),
    }
}

/// One RESP2 reply.
fn read_reply(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "redis closed the connection",
        ));
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, format!("not RESP: {line:?}"));
    let (kind, rest) = line.split_at_checked(1).ok_or_else(invalid)?;
    let length = || rest.parse::<i64>().map_err(|_| invalid());
    match kind {
        "+" | ":" => Ok(Some(rest.to_owned())),
        "-" => Err(io::Error::other(rest.to_owned())),
        "$" => {
            let Ok(len) = usize::try_from(length()?) else {
                return Ok(None);
            };
            let mut bytes = vec![0; len + 2];
            reader.read_exact(&mut bytes)?;
            bytes.truncate(len);
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "*" => {
            let Ok(count) = usize::try_from(length()?) else {
                return Ok(None);
            };
            let mut items = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                items.push(read_reply(reader)?.unwrap_or_default());
            }
            Ok(Some(items.join("\n")))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(wire: &str) -> io::Result<Option<String>> {
        read_reply(&mut wire.as_bytes())
    }

    #[test]
    fn resp_replies_are_read_as_text() {
        assert_eq!(reply("+PONG\r\n").unwrap().as_deref(), Some("PONG"));
        assert_eq!(reply(":42\r\n").unwrap().as_deref(), Some("42"));
        assert_eq!(
            reply("$5\r\nhe\r\no\r\n").unwrap().as_deref(),
            Some("he\r\no")
        );
        assert_eq!(reply("$-1\r\n").unwrap(), None);
        assert_eq!(
            reply("*3\r\n$1\r\na\r\n$-1\r\n:7\r\n").unwrap().as_deref(),
            Some("a\n\n7")
        );
        let err = reply("-ERR unknown command\r\n").unwrap_err();
        assert_eq!(err.to_string(), "ERR unknown command");
        assert!(reply("").is_err());
        assert!(reply("?\r\n").is_err());
        assert!(reply("$x\r\n").is_err());
    }
}
