//! The rotation storm: 4 instances (each its own pool and view) x 16 tasks present the same
//! refresh token, released together. Without a grace period exactly one presenter of 64
//! receives a successor and the session ends on every instance; with one, all 64 receive the
//! same successor. `KEYCARD_POSTGRES_ROUNDS` sets the rounds (default 50; the evidence run in
//! the README uses 1,000).

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Barrier;

use crate::cluster::Cluster;
use crate::common::{instances, Instance, TestClock};

use keycard::time::Duration;
use keycard::{Error, ErrorKind};
use keycard_lifecycle::TokenPair;

pub(crate) const INSTANCES: usize = 4;
pub(crate) const TASKS: usize = 16;

pub(crate) fn rounds() -> usize {
    std::env::var("KEYCARD_POSTGRES_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50)
}

/// Presents `token` from every task of every instance at once; the outcomes.
pub(crate) async fn present(nodes: &[Instance], token: &str) -> Vec<Result<TokenPair, Error>> {
    let barrier = Arc::new(Barrier::new(nodes.len() * TASKS));
    let mut handles = Vec::new();
    for node in nodes {
        for _ in 0..TASKS {
            let (issuer, barrier, token) =
                (node.issuer.clone(), Arc::clone(&barrier), token.to_owned());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                issuer.refresh(&token).await
            }));
        }
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.expect("a presenter task"));
    }
    outcomes
}

/// One round without grace: a new login, 64 presenters, exactly one successor.
pub(crate) async fn round_without_grace(nodes: &[Instance], round: usize) {
    let login = nodes[round % nodes.len()]
        .issuer
        .issue(&format!("user-{round}"), &())
        .await
        .unwrap();
    let outcomes = present(nodes, &login.refresh_token).await;
    let winners: Vec<&TokenPair> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "round {round}: {} successors",
        winners.len()
    );
    for outcome in &outcomes {
        if let Err(e) = outcome {
            assert!(
                matches!(e.kind(), ErrorKind::RefreshReuse | ErrorKind::Revoked),
                "round {round}: {e}"
            );
        }
    }
    // The repeats were reuse: the session is over on every instance, the winner's pair too.
    for node in nodes {
        let err = node
            .issuer
            .refresh(&winners[0].refresh_token)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "round {round}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_grace_sixty_four_presenters_get_exactly_one_successor_per_round() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, INSTANCES, |b| {
        b.grace_period(Duration::ZERO)
    })
    .await;
    let rounds = rounds();
    let start = Instant::now();
    for round in 0..rounds {
        round_without_grace(&nodes, round).await;
    }
    println!(
        "FIGURE storm without grace: {INSTANCES} instances x {TASKS} tasks x {rounds} rounds, \
         exactly one successor per round, {:?} a round",
        start.elapsed() / u32::try_from(rounds).unwrap_or(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_grace_every_presenter_receives_the_same_successor() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, INSTANCES, |b| b).await;
    let rounds = rounds();
    let mut token = nodes[0]
        .issuer
        .issue("alice", &())
        .await
        .unwrap()
        .refresh_token;
    for round in 0..rounds {
        let outcomes = present(&nodes, &token).await;
        let first = outcomes[0].as_ref().unwrap().clone();
        for outcome in &outcomes {
            let pair = outcome.as_ref().unwrap();
            assert_eq!(pair.refresh_token, first.refresh_token, "round {round}");
            assert_eq!(pair.access_token, first.access_token, "round {round}");
        }
        token = first.refresh_token;
    }
}
