//! The async TokenSource: one refresh for many tasks, no waiting while the cached token is
//! valid, back-off with jitter after failures. Interleavings are forced (a clock that counts
//! its readings, refresh functions that wait for a signal), never left to timing.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keycard::time::Duration;
use keycard::ErrorKind;
use keycard_client::{Lease, TokenSource};
use keycard_test::TestClock;
use tokio::sync::Semaphore;

/// A refresh function whose calls each wait for one permit of `gate`, then return `token-N`
/// for 10 minutes, or fail while `fail` holds.
struct Rig {
    clock: TestClock,
    calls: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    fail: Arc<Mutex<bool>>,
    source: TokenSource,
}

impl Rig {
    fn new(
        configure: impl FnOnce(keycard_client::TokenSourceBuilder) -> keycard_client::TokenSourceBuilder,
    ) -> Rig {
        let clock = TestClock::at_unix(1_800_000_000);
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let fail = Arc::new(Mutex::new(false));
        let builder = {
            let (calls, gate, fail) = (calls.clone(), gate.clone(), fail.clone());
            TokenSource::builder(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let (gate, fail) = (gate.clone(), fail.clone());
                async move {
                    gate.acquire().await.unwrap().forget();
                    if *fail.lock().unwrap() {
                        Err(std::io::Error::other("token endpoint unreachable"))
                    } else {
                        Ok(Lease::new(format!("token-{n}"), Duration::minutes(10)))
                    }
                }
            })
            .clock(clock.clone())
        };
        Rig {
            source: configure(builder).build(),
            clock,
            calls,
            gate,
            fail,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Lets refreshes through: `n` more calls of the refresh function may complete.
    fn open(&self, n: usize) {
        self.gate.add_permits(n);
    }

    fn fail(&self, fail: bool) {
        *self.fail.lock().unwrap() = fail;
    }
}

/// Waits (yielding to the runtime, bounded) until `f` holds.
async fn until(f: impl Fn() -> bool) {
    for _ in 0..1_000_000 {
        if f() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_tasks_without_a_token_share_one_refresh() {
    let rig = Arc::new(Rig::new(|b| b));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let rig = Arc::clone(&rig);
            tokio::spawn(async move { rig.source.token().await })
        })
        .collect();
    // Each caller reads the clock once, under the lock, before it decides to start or to wait:
    // after 16 readings every caller is either the one that started the refresh or a waiter.
    until(|| rig.clock.readings() >= 16).await;
    rig.open(1);
    for task in tasks {
        assert_eq!(&*task.await.unwrap().unwrap(), "token-0");
    }
    assert_eq!(rig.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_the_margin_callers_get_the_cached_token_while_one_refresh_runs_behind() {
    let rig = Rig::new(|b| b);
    rig.open(1);
    assert_eq!(&*rig.source.token().await.unwrap(), "token-0");
    // Default margin of a 10-minute token: 60 s. Inside it, the refresh starts but cannot
    // finish (no permit): every call still returns at once with the cached token.
    rig.clock.advance(Duration::seconds(541));
    for _ in 0..100 {
        assert_eq!(&*rig.source.token().await.unwrap(), "token-0");
    }
    assert_eq!(rig.calls(), 2);
    rig.open(1);
    let source = rig.source.clone();
    until(|| futures_now(&source).as_deref() == Some("token-1")).await;
    assert_eq!(rig.calls(), 2);
}

/// The token `source` would return now, if it returns without waiting.
fn futures_now(source: &TokenSource) -> Option<String> {
    let mut future = Box::pin(source.token());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(token)) => Some(token.to_string()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_with_jitter_instead_of_one_attempt_per_call() {
    let rig = Rig::new(|b| {
        b.min_backoff(Duration::seconds(10))
            .max_backoff(Duration::seconds(40))
    });
    rig.fail(true);
    rig.open(100);
    let err = rig.source.token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refresh);
    assert_eq!(
        err.to_string(),
        "token refresh failed: token endpoint unreachable"
    );
    assert_eq!(rig.calls(), 1);
    // The first delay is between 5 and 10 s: nothing is tried before 5 s, however many calls.
    rig.clock.advance(Duration::seconds(4));
    for _ in 0..50 {
        assert_eq!(
            rig.source.token().await.unwrap_err().kind(),
            ErrorKind::Refresh
        );
    }
    assert_eq!(rig.calls(), 1);
    rig.clock.advance(Duration::seconds(6));
    rig.source.token().await.unwrap_err();
    assert_eq!(rig.calls(), 2);
    // The second is between 10 and 20 s; the third and later between 20 and 40 (the cap).
    rig.clock.advance(Duration::seconds(9));
    rig.source.token().await.unwrap_err();
    assert_eq!(rig.calls(), 2);
    rig.clock.advance(Duration::seconds(11));
    rig.source.token().await.unwrap_err();
    assert_eq!(rig.calls(), 3);
    for expected in 4..7 {
        rig.clock.advance(Duration::seconds(19));
        rig.source.token().await.unwrap_err();
        assert_eq!(rig.calls(), expected - 1);
        rig.clock.advance(Duration::seconds(21));
        rig.source.token().await.unwrap_err();
        assert_eq!(rig.calls(), expected);
    }
    // A success ends the back-off.
    rig.fail(false);
    rig.clock.advance(Duration::seconds(40));
    assert_eq!(&*rig.source.token().await.unwrap(), "token-6");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_refresh_keeps_serving_the_valid_token_then_reports_the_failure() {
    let rig = Rig::new(|b| b.min_backoff(Duration::seconds(30)));
    rig.open(100);
    assert_eq!(&*rig.source.token().await.unwrap(), "token-0");
    rig.fail(true);
    rig.clock.advance(Duration::seconds(541));
    rig.source.token().await.unwrap();
    // Until the background attempt has landed (its Debug shows the failure count).
    until(|| format!("{:?}", rig.source).contains("refreshing: false, failures: 1")).await;
    assert_eq!(rig.calls(), 2);
    // Backing off: still the valid token, and no new attempt on every call.
    for _ in 0..20 {
        assert_eq!(&*rig.source.token().await.unwrap(), "token-0");
    }
    // Once it has expired, the failure (the back-off has passed: one new attempt).
    rig.clock.advance(Duration::seconds(60));
    let err = rig.source.token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refresh);
    assert_eq!(rig.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_refresh_is_a_failure_not_a_hang() {
    let source = TokenSource::builder(|| async {
        if true {
            panic!("boom");
        }
        Ok::<_, std::io::Error>(Lease::new("never", Duration::minutes(1)))
    })
    .build();
    let err = source.token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refresh);
    assert!(err.to_string().contains("panicked"), "{err}");
}
