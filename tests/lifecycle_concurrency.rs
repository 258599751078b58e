//! Concurrency: N threads presenting one refresh token get one new pair (RFC 9700 §4.14.2), and a
//! TokenSource calls its refresh function once per expiry however many threads ask. Run 100 times
//! in a loop before each release (see the issue); nothing here depends on timing.

mod lifecycle_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use keycard::time::Duration;
use keycard::{Claims, ErrorKind, Lease, TokenPair, TokenSource};
use lifecycle_common::{issuer, issuer_builder, ManualClock};

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

#[test]
fn concurrent_refreshes_with_one_token_issue_exactly_one_pair() {
    for _ in 0..20 {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let api = issuer.access_validator().build().unwrap();
        let login = issuer.issue("alice", &()).unwrap();

        let results = race(|| issuer.refresh(&login.refresh_token));
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

#[test]
fn concurrent_refreshes_within_grace_all_receive_the_same_pair() {
    for _ in 0..20 {
        let clock = ManualClock::new();
        let issuer = issuer_builder(&clock)
            .grace_period(Duration::seconds(5))
            .build()
            .unwrap();
        let api = issuer.access_validator().build().unwrap();
        let login = issuer.issue("alice", &()).unwrap();

        let results = race(|| issuer.refresh(&login.refresh_token));
        let first = results[0].as_ref().unwrap();
        for result in &results {
            assert_eq!(result.as_ref().unwrap(), first);
        }
        api.verify::<Claims>(&first.access_token).unwrap();
        // The successor is the live token of the session.
        issuer.refresh(&first.refresh_token).unwrap();
    }
}

#[test]
fn a_token_source_refreshes_once_per_expiry_for_many_threads() {
    let clock = ManualClock::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = {
        let calls = Arc::clone(&calls);
        TokenSource::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            // Give the other threads time to pile up behind this call (not asserted on).
            thread::yield_now();
            Ok::<_, std::io::Error>(Lease::new(format!("token-{n}"), Duration::minutes(10)))
        })
        .clock(clock.clone())
    };

    for round in 0..10 {
        let tokens = race(|| source.token().unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), round + 1);
        let expected = format!("token-{round}");
        assert!(tokens.iter().all(|t| **t == *expected), "{tokens:?}");

        // Before the margin (default: 60 s of a 10-minute token) nothing is refreshed...
        clock.advance(Duration::seconds(539));
        race(|| source.token().unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), round + 1);
        // ...and inside it the next round refreshes once.
        clock.advance(Duration::seconds(1));
    }
}

#[test]
fn a_failed_refresh_reaches_every_waiter_and_the_next_call_retries() {
    let clock = ManualClock::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let source = {
        let (calls, fail) = (Arc::clone(&calls), Arc::clone(&fail));
        TokenSource::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            thread::yield_now();
            if fail.load(Ordering::SeqCst) {
                Err(std::io::Error::other("token endpoint unreachable"))
            } else {
                Ok(Lease::new(format!("token-{n}"), Duration::minutes(10)))
            }
        })
        .clock(clock.clone())
    };

    // No token yet: every caller receives the failure, none a token.
    let results = race(|| source.token());
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Refresh);
        assert_eq!(
            err.to_string(),
            "token refresh failed: token endpoint unreachable"
        );
    }
    let failed_calls = calls.load(Ordering::SeqCst);
    assert!((1..=THREADS).contains(&failed_calls), "{failed_calls}");

    // The next call retries, and succeeds.
    fail.store(false, Ordering::SeqCst);
    let token = source.token().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), failed_calls + 1);
    assert_eq!(*token, *format!("token-{failed_calls}"));

    // Inside the margin a failure serves the old token to everyone, while it is valid...
    fail.store(true, Ordering::SeqCst);
    clock.advance(Duration::seconds(550));
    let results = race(|| source.token());
    assert!(results.iter().all(|r| r.as_deref().ok() == Some(&*token)));
    // ...and once it has expired, the failure.
    clock.advance(Duration::seconds(50));
    let results = race(|| source.token());
    assert!(results
        .iter()
        .all(|r| r.as_ref().err().map(keycard::Error::kind) == Some(ErrorKind::Refresh)));
}
