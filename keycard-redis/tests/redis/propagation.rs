//! Revocation propagation: from `revoke` on instance A until `verify` on instance B refuses, over
//! 1,000 revocations on loopback. The figures are printed (p50, p99, max), not asserted; what is
//! asserted is that B refuses every one of them.

use crate::common::{instances, percentile};

use std::time::{Duration, Instant};

use keycard::{Claims, ErrorKind};
use keycard_test::{RedisServer, TestClock};

const REVOCATIONS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_instance_reaches_verify_on_another() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&server, &clock, 2, |b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let api_b = b.issuer.access_validator().build().unwrap();
    let mut tokens = Vec::new();
    for i in 0..REVOCATIONS {
        let pair = a.issuer.issue(&format!("user-{i}"), &()).await.unwrap();
        api_b.verify::<Claims>(&pair.access_token).unwrap();
        tokens.push(pair.access_token);
    }
    let mut delays = Vec::with_capacity(REVOCATIONS);
    for token in &tokens {
        let start = Instant::now();
        a.issuer.revoke(token).await.unwrap();
        loop {
            match api_b.verify::<Claims>(token) {
                Err(e) if e.kind() == ErrorKind::Revoked => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
            assert!(start.elapsed() < Duration::from_secs(20), "never refused");
            tokio::task::yield_now().await;
        }
        delays.push(start.elapsed());
    }
    delays.sort();
    println!(
        "FIGURE propagation over {REVOCATIONS} revocations (revoke on A until verify on B \
         refuses, loopback, debug build): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1]
    );
}
