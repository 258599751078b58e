//! Concurrency: N threads presenting one refresh token get one new pair (RFC 9700 §4.14.2). Run
//! 100 times in a loop before each release (see the issue); nothing here depends on timing. (The
//! TokenSource half of these tests is in keycard-client.)

use crate::common;

use std::sync::Barrier;
use std::thread;

use common::{block_on, issuer_builder, ManualClock};
use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::TokenPair;

const THREADS: usize = 16;

/// Runs `f` on `THREADS` threads released together, and returns their results.
fn race<T: Send>(f: impl Fn() -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(THREADS);
    thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    f()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_and_no_grace_issue_exactly_one_pair() {
    for _ in 0..20 {
        let clock = ManualClock::new();
        // The default grace (30 s) would serve the repeats the same pair: see
        // lifecycle_interleavings. Without it, they are reuse.
        let issuer = issuer_builder(&clock)
            .grace_period(Duration::ZERO)
            .build()
            .unwrap();
        let api = issuer.access_validator().build().unwrap();
        let login = issuer.issue("alice", &()).await.unwrap();

        let results = race(|| block_on(issuer.refresh(&login.refresh_token)));
        let pairs: Vec<&TokenPair> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(pairs.len(), 1, "{results:?}");
        let kinds: Vec<ErrorKind> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(keycard::Error::kind))
            .collect();
        // Without a grace period the repeats are reuse: the first to notice reports it and
        // revokes the session; any later one finds the session revoked.
        assert!(kinds.contains(&ErrorKind::RefreshReuse), "{kinds:?}");
        assert!(
            kinds
                .iter()
                .all(|k| matches!(k, ErrorKind::RefreshReuse | ErrorKind::Revoked)),
            "{kinds:?}"
        );
        // So even the one pair issued is revoked with its session.
        let err = api.verify::<Claims>(&pairs[0].access_token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
    }
}

#[tokio::test]
async fn concurrent_refreshes_within_grace_all_receive_the_same_pair() {
    for _ in 0..20 {
        let clock = ManualClock::new();
        let issuer = issuer_builder(&clock)
            .grace_period(Duration::seconds(5))
            .build()
            .unwrap();
        let api = issuer.access_validator().build().unwrap();
        let login = issuer.issue("alice", &()).await.unwrap();

        let results = race(|| block_on(issuer.refresh(&login.refresh_token)));
        let first = results[0].as_ref().unwrap();
        for result in &results {
            assert_eq!(result.as_ref().unwrap(), first);
        }
        api.verify::<Claims>(&first.access_token).unwrap();
        // The successor is the live token of the session.
        issuer.refresh(&first.refresh_token).await.unwrap();
    }
}
