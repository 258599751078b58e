//! A blocking TokenSource under many threads: it calls its refresh function once per expiry
//! however many threads ask, and a failure reaches every waiter. Nothing here depends on timing.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use keycard::time::Duration;
use keycard::ErrorKind;
use keycard_client::blocking::{Lease, TokenSource};
use keycard_test::TestClock;

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

// The source's clock counts its readings. `TokenSource::token` reads the clock once on entry,
// under its lock, and holds that lock until it returns or waits; so once a refresh function
// has seen `THREADS` readings since a round began, every other caller of the round is waiting
// for that refresh. This makes "they all waited for the one call" deterministic, not likely.

/// Inside a refresh function: waits until every thread of the round has entered `token`.
fn until_all_entered(clock: &TestClock, round_start: &AtomicUsize) {
    let target = round_start.load(Ordering::SeqCst) + THREADS;
    // Bounded, so that a broken TokenSource fails the assertions instead of hanging the test.
    for _ in 0..50_000_000 {
        if clock.readings() >= target {
            return;
        }
        thread::yield_now();
    }
}

/// A source whose refresh function counts its calls, waits for the whole round, then returns
/// `token-N` for 10 minutes, or fails while `fail` is set.
struct Rig {
    clock: TestClock,
    round_start: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
    source: TokenSource,
}

impl Rig {
    fn new() -> Self {
        let clock = common::clock();
        let round_start = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let fail = Arc::new(AtomicBool::new(false));
        let source = {
            let (seen, round_start) = (clock.clone(), Arc::clone(&round_start));
            let (calls, fail) = (Arc::clone(&calls), Arc::clone(&fail));
            TokenSource::builder(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                until_all_entered(&seen, &round_start);
                if fail.load(Ordering::SeqCst) {
                    Err(std::io::Error::other("token endpoint unreachable"))
                } else {
                    Ok(Lease::new(format!("token-{n}"), Duration::minutes(10)))
                }
            })
            .clock(clock.clone())
            .build()
        };
        Rig {
            clock,
            round_start,
            calls,
            fail,
            source,
        }
    }

    /// `THREADS` concurrent calls of `token`.
    fn round(&self) -> Vec<Result<Arc<str>, keycard::Error>> {
        self.round_start
            .store(self.clock.readings(), Ordering::SeqCst);
        race(|| self.source.token())
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[test]
fn a_token_source_refreshes_once_per_expiry_for_many_threads() {
    let rig = Rig::new();
    for round in 0..10 {
        let tokens = rig.round();
        // One call, and every thread waited for it and received its token.
        assert_eq!(rig.calls(), round + 1);
        let expected = format!("token-{round}");
        assert!(
            tokens.iter().all(|t| t.as_deref().ok() == Some(&*expected)),
            "{tokens:?}"
        );

        // Before the margin (default: 60 s of a 10-minute token) nothing is refreshed...
        rig.clock.advance(Duration::seconds(539));
        for _ in 0..THREADS {
            rig.source.token().unwrap();
        }
        assert_eq!(rig.calls(), round + 1);
        // ...and inside it the next round refreshes once.
        rig.clock.advance(Duration::seconds(1));
    }
}

#[test]
fn a_failed_refresh_reaches_every_waiter_and_the_next_call_retries() {
    let rig = Rig::new();
    rig.fail.store(true, Ordering::SeqCst);

    // No token yet: the one call fails, and every caller receives that failure.
    let results = rig.round();
    assert_eq!(rig.calls(), 1);
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Refresh);
        assert_eq!(
            err.to_string(),
            "token refresh failed: token endpoint unreachable"
        );
    }

    // The next call retries, and succeeds.
    rig.fail.store(false, Ordering::SeqCst);
    let results = rig.round();
    let token = results[0].as_ref().unwrap().clone();
    assert!(results.iter().all(|r| r.as_deref().ok() == Some(&*token)));
    assert_eq!(rig.calls(), 2);
    assert_eq!(*token, *"token-1");

    // Inside the margin a failure serves the old token to every waiter, while it is valid...
    rig.fail.store(true, Ordering::SeqCst);
    rig.clock.advance(Duration::seconds(550));
    let results = rig.round();
    assert_eq!(rig.calls(), 3);
    assert!(results.iter().all(|r| r.as_deref().ok() == Some(&*token)));
    // ...and once it has expired, the failure.
    rig.clock.advance(Duration::seconds(50));
    let results = rig.round();
    assert_eq!(rig.calls(), 4);
    assert!(results
        .iter()
        .all(|r| r.as_ref().err().map(keycard::Error::kind) == Some(ErrorKind::Refresh)));
}
