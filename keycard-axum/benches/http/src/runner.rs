//! The runner: makes the tokens, starts every server pinned to one core, runs wrk pinned to the
//! other in interleaved rounds, reads each server's CPU time and allocation count around every
//! round, and prints the tables and the ratios. Nothing here asserts a time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::fixtures;
use crate::servers::KINDS;

/// The command-line options of a run.
pub struct Options {
    pub duration: u32,
    pub rounds: usize,
    pub warmup: u32,
    pub connections: u32,
    pub pool: usize,
    pub server_core: String,
    pub load_core: String,
    pub only: Option<String>,
}

impl Options {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut o = Options {
            duration: 5,
            rounds: 3,
            warmup: 1,
            connections: 64,
            pool: 10_000,
            server_core: "0".into(),
            load_core: "1".into(),
            only: None,
        };
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--duration" => o.duration = number(&value()),
                "--rounds" => o.rounds = number(&value()),
                "--warmup" => o.warmup = number(&value()),
                "--connections" => o.connections = number(&value()),
                "--pool" => o.pool = number(&value()),
                "--server-core" => o.server_core = value(),
                "--load-core" => o.load_core = value(),
                "--only" => o.only = Some(value()),
                other => usage(&format!("unknown option {other:?}")),
            }
        }
        o
    }
}

fn number<T: std::str::FromStr>(text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {text:?}")))
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "error: {problem}\nusage: keycard-axum-http-bench [--duration S] [--rounds N] [--warmup S] \
         [--connections C] [--pool N] [--server-core CPU] [--load-core CPU] [--only TEXT]\n       \
         keycard-axum-http-bench serve KIND   (KIND: {KINDS:?})"
    );
    std::process::exit(2)
}

/// A server process, killed and reaped on drop.
struct Server {
    kind: &'static str,
    port: u16,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(kind: &'static str, core: &str) -> Server {
        let exe = std::env::current_exe().expect("the bench binary's path");
        // taskset execs the server, so the child's pid is the server's.
        let mut child = Command::new("taskset")
            .args(["-c", core])
            .arg(exe)
            .args(["serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("taskset (util-linux) runs the server");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server's first line");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{kind} did not start: {line:?}"));
        Server {
            kind,
            port,
            child,
            stdin,
            stdout,
        }
    }

    fn allocations(&mut self) -> (u64, u64) {
        writeln!(self.stdin)
            .and_then(|()| self.stdin.flush())
            .expect("server stdin");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("server stdout");
        let mut words = line
            .split_whitespace()
            .skip(1)
            .map(|w| w.parse().unwrap_or(0));
        (words.next().unwrap_or(0), words.next().unwrap_or(0))
    }

    /// utime + stime of the whole process (every thread), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/<pid>/stat");
        let after_name = &stat[stat.rfind(')').expect("(comm)") + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of proc(5); field 3 is the first after the name.
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Tokens {
    One(String),
    Pool(PathBuf),
}

struct Scenario {
    name: &'static str,
    path: &'static str,
    tokens: Tokens,
    valid: bool,
    servers: Vec<&'static str>,
}

#[derive(Clone, Copy)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    allocs: f64,
    reallocs: f64,
    load: f64,
    unexpected: u64,
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn request(port: u16, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = info.lines().filter(|l| l.starts_with("processor")).count();
    let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let sha = if flags.split_whitespace().any(|f| f == "sha_ni") {
        ", SHA-NI"
    } else {
        ""
    };
    format!("{model}, {cores} cores{sha}")
}

struct Run<'a> {
    options: &'a Options,
    script: PathBuf,
    ticks_per_second: f64,
}

impl Run<'_> {
    /// One wrk round against `server`; `None` for a warm-up.
    fn round(&self, server: &mut Server, scenario: &Scenario, seconds: u32) -> Sample {
        let url = format!("http://127.0.0.1:{}{}", server.port, scenario.path);
        let mut wrk = Command::new("taskset");
        wrk.args(["-c", &self.options.load_core, "wrk", "-t1"])
            .arg(format!("-c{}", self.options.connections))
            .arg(format!("-d{seconds}s"))
            .args(["--timeout", "5s", "-s"])
            .arg(&self.script);
        match &scenario.tokens {
            Tokens::One(token) => {
                wrk.arg("-H")
                    .arg(format!("Authorization: Bearer {token}"))
                    .env_remove("KEYCARD_TOKENS");
            }
            Tokens::Pool(path) => {
                wrk.env("KEYCARD_TOKENS", path);
            }
        }
        wrk.arg(url);
        let load = load_average();
        let (allocs_before, reallocs_before) = server.allocations();
        let cpu_before = server.cpu_ticks();
        let output = wrk.output().expect("wrk (apt-get install wrk) runs");
        let cpu_after = server.cpu_ticks();
        let (allocs_after, reallocs_after) = server.allocations();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let numbers: Vec<f64> = stdout
            .lines()
            .find_map(|l| l.strip_prefix("KEYCARD_RESULT "))
            .unwrap_or_else(|| {
                panic!(
                    "wrk said: {stdout}{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })
            .split_whitespace()
            .map(|w| w.parse().unwrap_or(f64::NAN))
            .collect();
        let [requests, duration_us, p50, p99, non_2xx, socket_errors] = numbers[..] else {
            panic!("wrk's result line: {stdout}")
        };
        let per_request = |n: u64| n as f64 / requests;
        // A valid token must always get 200, a bad one never.
        let unexpected = if scenario.valid || !scenario.servers_protect(server.kind) {
            non_2xx
        } else {
            requests - non_2xx
        } + socket_errors;
        Sample {
            rps: requests / (duration_us / 1e6),
            p50_us: p50,
            p99_us: p99,
            cpu_us: (cpu_after - cpu_before) as f64 / self.ticks_per_second * 1e6 / requests,
            allocs: per_request((allocs_after - allocs_before).saturating_sub(1)),
            reallocs: per_request(reallocs_after - reallocs_before),
            load,
            unexpected: unexpected as u64,
        }
    }
}

impl Scenario {
    fn servers_protect(&self, kind: &str) -> bool {
        !kind.starts_with("bare")
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn spread(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

fn write_pool(dir: &Path, name: &str, tokens: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, tokens.join("\n") + "\n").expect("write the token pool");
    path
}

fn pool(key: &(dyn keycard::Signer + Sync), n: usize) -> Vec<String> {
    let half = n / 2;
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            (0..half)
                .map(|i| fixtures::token(key, &format!("user-{i}"), i))
                .collect::<Vec<_>>()
        });
        let second: Vec<String> = (half..n)
            .map(|i| fixtures::token(key, &format!("user-{i}"), i))
            .collect();
        let mut all = first.join().expect("signing thread");
        all.extend(second);
        all
    })
}

/// The whole run: tokens, servers, sanity checks, warm-up, rounds, tables.
pub fn run(options: Options) {
    let started = std::time::Instant::now();
    let dir = std::env::temp_dir().join(format!("keycard-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let script = dir.join("wrk.lua");
    std::fs::write(&script, include_str!("wrk.lua")).expect("write the wrk script");

    let hmac = fixtures::hmac();
    let rsa = fixtures::rsa();
    let hs256 = fixtures::token(&hmac, fixtures::SUBJECT, 0);
    let rs256 = fixtures::token(&rsa, fixtures::SUBJECT, 0);
    let hs_pool = write_pool(&dir, "hs256-pool.txt", &pool(&hmac, options.pool));
    let rs_pool = write_pool(&dir, "rs256-pool.txt", &pool(&rsa, options.pool));

    let all: Vec<&'static str> = KINDS.to_vec();
    let protected: Vec<&'static str> = KINDS
        .iter()
        .copied()
        .filter(|k| !k.starts_with("bare"))
        .collect();
    let mut scenarios = vec![
        Scenario {
            name: "HS256, one token",
            path: "/hs256",
            tokens: Tokens::One(hs256.clone()),
            valid: true,
            servers: all.clone(),
        },
        Scenario {
            name: "RS256, one token",
            path: "/rs256",
            tokens: Tokens::One(rs256.clone()),
            valid: true,
            servers: all.clone(),
        },
        Scenario {
            name: "HS256, 10k-token pool",
            path: "/hs256",
            tokens: Tokens::Pool(hs_pool),
            valid: true,
            servers: protected.clone(),
        },
        Scenario {
            name: "RS256, 10k-token pool",
            path: "/rs256",
            tokens: Tokens::Pool(rs_pool),
            valid: true,
            servers: protected.clone(),
        },
        Scenario {
            name: "HS256, bad signature",
            path: "/hs256",
            tokens: Tokens::One(fixtures::bad_signature(&hs256)),
            valid: false,
            servers: protected.clone(),
        },
        Scenario {
            name: "RS256, bad signature",
            path: "/rs256",
            tokens: Tokens::One(fixtures::bad_signature(&rs256)),
            valid: false,
            servers: protected.clone(),
        },
    ];
    if options.pool != 10_000 {
        for s in &mut scenarios {
            s.name = match s.name {
                "HS256, 10k-token pool" => "HS256, token pool",
                "RS256, 10k-token pool" => "RS256, token pool",
                other => other,
            };
        }
    }
    if let Some(only) = &options.only {
        scenarios.retain(|s| s.name.contains(only.as_str()));
    }

    let mut servers: BTreeMap<&'static str, Server> = KINDS
        .iter()
        .map(|&k| (k, Server::start(k, &options.server_core)))
        .collect();

    // Sanity, before any timing: every server answers every scenario as it should.
    for scenario in &scenarios {
        let token = match &scenario.tokens {
            Tokens::One(t) => t.clone(),
            Tokens::Pool(p) => std::fs::read_to_string(p)
                .expect("pool")
                .lines()
                .nth(7)
                .expect("a pooled token")
                .to_owned(),
        };
        for &kind in &scenario.servers {
            let (status, body) = request(servers[kind].port, scenario.path, &token);
            let ok = if scenario.valid || kind.starts_with("bare") {
                status == 200 && (body == fixtures::SUBJECT || body == "user-7")
            } else {
                status == 401
            };
            assert!(
                ok,
                "{kind} answered {status} {body:?} for {}",
                scenario.name
            );
        }
    }

    let run = Run {
        options: &options,
        script,
        ticks_per_second: clock_ticks_per_second(),
    };
    let load_at_start = load_average();
    let started_at = utc_now();
    if options.warmup > 0 {
        for scenario in &scenarios {
            for &kind in &scenario.servers {
                run.round(
                    servers.get_mut(kind).expect("started"),
                    scenario,
                    options.warmup,
                );
            }
        }
    }
    let mut samples: BTreeMap<(usize, &'static str), Vec<Sample>> = BTreeMap::new();
    for round in 0..options.rounds {
        for (i, scenario) in scenarios.iter().enumerate() {
            let n = scenario.servers.len();
            // Interleaved: A, B, C then B, C, A ...; each round starts with the next server.
            for j in 0..n {
                let kind = scenario.servers[(j + round) % n];
                let sample = run.round(
                    servers.get_mut(kind).expect("started"),
                    scenario,
                    options.duration,
                );
                samples.entry((i, kind)).or_default().push(sample);
            }
        }
        eprintln!(
            "round {}/{} done, load {:.2}",
            round + 1,
            options.rounds,
            load_average()
        );
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);

    let loads: Vec<f64> = samples.values().flatten().map(|s| s.load).collect();
    let (lo, hi) = spread(&loads);
    println!("## keycard-axum over HTTP: {started_at}");
    println!();
    println!(
        "CPU: {}. Server on core {}, wrk (1 thread, {} keep-alive connections) on core {}.",
        cpu_model(),
        options.server_core,
        options.connections,
        options.load_core
    );
    println!(
        "{} interleaved rounds of {} s (warm-up {} s); load average {:.2} at the start, {:.2}-{:.2} over the rounds; {:.0} s in all.",
        options.rounds, options.duration, options.warmup, load_at_start, lo, hi, started.elapsed().as_secs_f64()
    );
    println!();
    println!("| scenario | server | requests/s | p50 µs | p99 µs | server CPU µs/request | server core busy | allocations/request | reallocs/request | unexpected answers |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, scenario) in scenarios.iter().enumerate() {
        for &kind in &scenario.servers {
            let s = &samples[&(i, kind)];
            let m = |f: fn(&Sample) -> f64| median(s.iter().map(f).collect());
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0}% | {:.1} | {:.1} | {} |",
                scenario.name,
                kind,
                m(|s| s.rps),
                m(|s| s.p50_us),
                m(|s| s.p99_us),
                m(|s| s.cpu_us),
                m(|s| s.rps * s.cpu_us / 1e4),
                m(|s| s.allocs),
                m(|s| s.reallocs),
                s.iter().map(|s| s.unexpected).sum::<u64>()
            );
        }
    }
    println!();
    println!("Server core busy: requests/s × CPU per request. Under about 95% the load generator, not the server, bounded the round: compare CPU per request there.");
    println!();
    println!("Ratios: the median of the per-round ratios, [lowest, highest].");
    println!();
    println!("| scenario | A ÷ B | requests/s | p99 | server CPU/request |");
    println!("|---|---|---:|---:|---:|");
    let mut pairs = vec![("keycard-axum", "jwt-authorizer")];
    if KINDS.contains(&"keycard-axum+cache") {
        pairs.push(("keycard-axum+cache", "jwt-authorizer"));
        pairs.push(("keycard-axum+cache", "bare-axum-0.8"));
    }
    pairs.extend([
        ("keycard-axum", "bare-axum-0.8"),
        ("jwt-authorizer", "bare-axum-0.7"),
        ("bare-axum-0.7", "bare-axum-0.8"),
    ]);
    for (i, scenario) in scenarios.iter().enumerate() {
        for &(a, b) in &pairs {
            let (Some(sa), Some(sb)) = (samples.get(&(i, a)), samples.get(&(i, b))) else {
                continue;
            };
            let ratio = |f: fn(&Sample) -> f64| {
                let r: Vec<f64> = sa.iter().zip(sb).map(|(x, y)| f(x) / f(y)).collect();
                let (lo, hi) = spread(&r);
                format!("{:.2} [{:.2}, {:.2}]", median(r), lo, hi)
            };
            println!(
                "| {} | {a} ÷ {b} | {} | {} | {} |",
                scenario.name,
                ratio(|s| s.rps),
                ratio(|s| s.p99_us),
                ratio(|s| s.cpu_us)
            );
        }
    }
}

fn utc_now() -> String {
    keycard::time::OffsetDateTime::now_utc()
        .format(&keycard::time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
