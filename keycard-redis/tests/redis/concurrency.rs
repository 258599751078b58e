//! 4 instances, each with its own connections and view, x 16 tasks present the same refresh token
//! at once, round after round: exactly one successor per round; with the default grace every
//! other presenter receives that successor; without grace the others see reuse and the session
//! ends on all 4. Released together by a barrier; nothing depends on timing.

use crate::common::{eventually, inspect, instances, Instance};

use std::sync::Arc;
use std::time::Instant;

use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::TokenPair;
use keycard_test::{RedisServer, TestClock};

const INSTANCES: usize = 4;
const TASKS: usize = 16;

/// Rounds of the grace test: `KEYCARD_REDIS_ROUNDS`, default 1,000.
fn rounds() -> usize {
    std::env::var("KEYCARD_REDIS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Every presenter (instance i % 4) presents `token` at once; their results.
async fn storm(nodes: &[Instance], token: &str) -> Vec<Result<TokenPair, keycard::Error>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(INSTANCES * TASKS));
    let tasks: Vec<_> = (0..INSTANCES * TASKS)
        .map(|i| {
            let issuer = nodes[i % INSTANCES].issuer.clone();
            let (barrier, token) = (Arc::clone(&barrier), token.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                issuer.refresh(&token).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_default_grace_every_round_has_one_successor_for_all_64_presenters() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, INSTANCES, |b| b).await;
    let login = nodes[0].issuer.issue("alice", &()).await.unwrap();
    let first_token = login.refresh_token.clone();
    let mut token = login.refresh_token.clone();
    let mut last = login;
    let started = Instant::now();
    let rounds = rounds();
    for round in 0..rounds {
        let results = storm(&nodes, &token).await;
        let successor = results[0].as_ref().unwrap().clone();
        for result in &results {
            assert_eq!(result.as_ref().unwrap(), &successor, "round {round}");
        }
        assert_ne!(successor.refresh_token, token);
        token = successor.refresh_token.clone();
        last = successor;
    }
    let elapsed = started.elapsed();
    println!(
        "FIGURE concurrency: {rounds} rounds x {} presenters on {INSTANCES} instances in {:.1} s \
         ({:.2} ms a round)",
        INSTANCES * TASKS,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / rounds as f64
    );

    // A replay of the first token after the grace is reuse, and ends the session on all 4.
    clock.advance(Duration::seconds(31));
    let err = nodes[2].issuer.refresh(&first_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    for node in &nodes {
        let api = node.issuer.access_validator().build().unwrap();
        assert!(
            eventually(|| api
                .verify::<Claims>(&last.access_token)
                .is_err_and(|e| e.kind() == ErrorKind::Revoked))
            .await
        );
        assert_eq!(
            node.issuer
                .refresh(&last.refresh_token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Revoked
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_grace_one_presenter_wins_and_the_reuse_ends_the_session_on_all_four() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, INSTANCES, |b| {
        b.grace_period(Duration::ZERO)
    })
    .await;
    let apis: Vec<_> = nodes
        .iter()
        .map(|n| n.issuer.access_validator().build().unwrap())
        .collect();
    for round in 0..(rounds() / 10).max(10) {
        let login = nodes[round % INSTANCES]
            .issuer
            .issue("alice", &())
            .await
            .unwrap();
        let results = storm(&nodes, &login.refresh_token).await;
        let winners: Vec<&TokenPair> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let kinds: Vec<ErrorKind> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(keycard::Error::kind))
            .collect();
        assert!(kinds.contains(&ErrorKind::RefreshReuse), "{kinds:?}");
        assert!(
            kinds
                .iter()
                .all(|k| matches!(k, ErrorKind::RefreshReuse | ErrorKind::Revoked)),
            "{kinds:?}"
        );
        let claims: serde_json::Value =
            keycard::unverified::decode_claims(&login.access_token).unwrap();
        let sid = claims["sid"].as_str().unwrap();
        for (node, api) in nodes.iter().zip(&apis) {
            assert!(node.store.fetch_session_revoked(sid).await.unwrap());
            assert!(
                eventually(|| api
                    .verify::<Claims>(&winners[0].access_token)
                    .is_err_and(|e| e.kind() == ErrorKind::Revoked))
                .await
            );
        }
    }
}

/// The `refresh_storm` example, built beside this test by `cargo test -p keycard-redis`.
fn storm_binary() -> std::path::PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let exe = path
        .join("examples")
        .join(format!("refresh_storm{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.exists(),
        "{} is missing: run `cargo test -p keycard-redis`, which builds the examples",
        exe.display()
    );
    exe
}

/// Kills the worker processes if the test fails before they exit.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_sixteen_tasks_get_one_successor_per_round() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let rounds = (rounds() / 4).max(10);
    let exe = storm_binary();
    let mut workers = Workers(Vec::new());
    for _ in 0..INSTANCES {
        workers.0.push(
            std::process::Command::new(&exe)
                .env("REDIS_URL", server.url())
                .env("STORM_ROUNDS", rounds.to_string())
                .env("STORM_TASKS", TASKS.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    // The coordinator: an instance of its own, sharing the workers' key, on the system clock
    // (as the workers) which it can move ahead.
    let clock = TestClock::following_system();
    let store = keycard_redis::RedisStore::connect(crate::common::config(&server))
        .await
        .unwrap();
    let key = keycard::HmacKey::new(
        keycard::Algorithm::HS256,
        b"keycard-redis refresh storm key!",
    )
    .unwrap();
    let issuer = keycard_lifecycle::TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock.clone())
        .families(Arc::new(store.clone()))
        .revocations(Arc::new(store.clone()))
        .build()
        .unwrap();
    let mut conn = inspect(&server);
    let login = issuer.issue("alice", &()).await.unwrap();
    let mut token = login.refresh_token.clone();
    let presenters = INSTANCES * TASKS;
    let started = Instant::now();
    for round in 0..rounds {
        let copies = vec![token.clone(); presenters];
        redis::cmd("RPUSH")
            .arg(format!("storm:token:{round}"))
            .arg(copies)
            .query::<i64>(&mut conn)
            .unwrap();
        let mut outcomes = Vec::new();
        while outcomes.len() < presenters {
            let (_, outcome): (String, String) = redis::cmd("BLPOP")
                .arg(format!("storm:result:{round}"))
                .arg(60)
                .query(&mut conn)
                .unwrap();
            outcomes.push(outcome);
        }
        // One successor, received by all 64 presenters across the 4 processes.
        assert!(
            outcomes
                .iter()
                .all(|o| *o == outcomes[0] && !o.starts_with("error:")),
            "round {round}: {outcomes:?}"
        );
        assert_ne!(outcomes[0], token);
        token = outcomes[0].clone();
    }
    let elapsed = started.elapsed();
    println!(
        "FIGURE processes: {rounds} rounds x {presenters} presenters in {INSTANCES} processes in \
         {:.1} s ({:.2} ms a round)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / rounds as f64
    );
    let last = issuer.refresh(&token).await.unwrap();

    // A replay of the first token after the grace: reuse; every process then refuses the
    // session's newest access token.
    clock.advance(Duration::seconds(31));
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    redis::cmd("RPUSH")
        .arg("storm:final")
        .arg(vec![last.access_token.clone(); INSTANCES])
        .query::<i64>(&mut conn)
        .unwrap();
    for _ in 0..INSTANCES {
        let (_, verdict): (String, String) = redis::cmd("BLPOP")
            .arg("storm:final-result")
            .arg(60)
            .query(&mut conn)
            .unwrap();
        assert_eq!(verdict, "revoked");
    }
    for child in &mut workers.0 {
        assert!(child.wait().unwrap().success());
    }
}
