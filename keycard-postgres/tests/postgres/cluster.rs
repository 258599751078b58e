//! A throwaway PostgreSQL cluster owned by one test: `initdb` in a fresh temporary directory,
//! `postgres` on a free loopback port with its socket in that directory, trust authentication
//! on loopback, stopped (`pg_ctl stop -m fast`) and removed when the guard drops.
//!
//! Self-contained (std only), so that it can move into a shared test kit unchanged.
//!
//! - The binaries: `$KEYCARD_POSTGRES_BIN` if set, else the newest `/usr/lib/postgresql/*/bin`
//!   (Debian's layout), else `initdb` on the `PATH`.
//! - PostgreSQL refuses to run as root: when the test runs as root, every server command runs
//!   as the `postgres` user (`runuser -u postgres --`, or `su` without `runuser`) and the
//!   directory is handed to that user; otherwise they run as the current user.
//! - Without the binaries (or, as root, without a `postgres` user) [`Cluster::start`] says
//!   SKIPPED once on stderr and returns `None`; with `KEYCARD_REQUIRE_POSTGRES=1` it panics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One running (or stopped) cluster of this test.
pub(crate) struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `Some((uid, gid))` of `postgres` when the server commands must run as that user.
    run_as: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
}

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);
static SKIP_SAID: AtomicBool = AtomicBool::new(false);

fn skip(reason: &str) -> Option<Cluster> {
    assert!(
        std::env::var_os("KEYCARD_REQUIRE_POSTGRES").is_none(),
        "KEYCARD_REQUIRE_POSTGRES is set but PostgreSQL cannot run here: {reason} \
         (apt-get install -y postgresql)"
    );
    // Once, and past the test harness's capture (which would hide it for a passing test).
    if !SKIP_SAID.swap(true, Ordering::SeqCst) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** keycard-postgres: {reason}: the PostgreSQL tests were SKIPPED. \
             Enable them with: apt-get install -y postgresql ***\n"
        );
    }
    None
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KEYCARD_POSTGRES_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// The effective user id of this process, from `/proc` (no libc needed).
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn id_of(flag: &str, user: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, user]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

impl Cluster {
    /// A new cluster, started, or `None` (after saying so) when PostgreSQL cannot run here.
    pub(crate) fn start() -> Option<Cluster> {
        Self::start_with(&[])
    }

    /// As [`start`](Self::start), with extra server settings (`-c name=value`).
    pub(crate) fn start_with(settings: &[(&str, &str)]) -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            return skip("initdb not found");
        };
        let run_as = if euid() == Some(0) {
            match (id_of("-u", "postgres"), id_of("-g", "postgres")) {
                (Some(uid), Some(gid)) => Some((uid, gid)),
                _ => return skip("running as root and there is no `postgres` user"),
            }
        } else {
            None
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "keycard-pg-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).expect("a temporary directory");
        let mut cluster = Cluster {
            bin,
            dir,
            port,
            run_as,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        if let Some((uid, gid)) = run_as {
            for path in [cluster.dir.clone(), cluster.dir.join("sock")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .expect("the directory handed to postgres");
            }
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.restart();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server command, as `postgres` when this process is root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            None => Command::new(program),
            Some(_) if Path::new("/usr/sbin/runuser").exists() || which("runuser") => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
            Some(_) => {
                let mut c = Command::new("su");
                c.args(["-s", "/bin/sh", "postgres", "-c", "exec \"$0\" \"$@\""])
                    .arg(program);
                c
            }
        }
    }

    /// Runs a server command to completion; panics with its output if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    /// A libpq connection string for this cluster's `postgres` database.
    pub(crate) fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// `pg_ctl stop -m immediate`: every server process quits at once, no checkpoint; the next
    /// start recovers from the WAL, as after a crash.
    pub(crate) fn kill(&mut self) {
        self.run(
            "pg_ctl",
            &["-D", path(&self.data()), "-w", "stop", "-m", "immediate"],
        );
    }

    /// Starts the server (again), on the same port and directory, and waits until it accepts
    /// connections.
    pub(crate) fn restart(&mut self) {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            path(&self.dir.join("sock"))
        );
        for (name, value) in &self.settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path(&self.data()),
                "-l",
                path(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a temporary path in UTF-8")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failing test shows the end of the server's log before it is removed.
        if std::thread::panicking() {
            if let Ok(log) = std::fs::read_to_string(self.dir.join("server.log")) {
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "--- server.log (end) ---\n{tail}");
            }
        }
        let _ = self
            .command("pg_ctl")
            .args(["-D", path(&self.data()), "-w", "stop", "-m", "fast"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
