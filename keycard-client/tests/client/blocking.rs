//! TokenSource on one thread: when it refreshes (the margin), what a failure or a panic in the
//! refresh function leaves behind.

use crate::common;

use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use keycard::time::Duration;
use keycard::ErrorKind;
use keycard_client::blocking::{Lease, TokenSource, TokenSourceBuilder};
use keycard_test::TestClock;

/// A source whose n-th refresh returns `token-n` living `lifetime`, and the count of refreshes.
fn counting(clock: &TestClock, lifetime: Duration) -> (TokenSource, Arc<AtomicUsize>) {
    let (builder, calls) = counting_builder(clock, lifetime);
    (builder.build(), calls)
}

/// The builder of [`counting`], to configure further.
fn counting_builder(
    clock: &TestClock,
    lifetime: Duration,
) -> (TokenSourceBuilder, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let builder = TokenSource::builder(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Lease::new(format!("token-{n}"), lifetime))
    })
    .clock(clock.clone());
    (builder, calls)
}

/// How many seconds after a fetch the source first refreshes.
fn refresh_point(source: &TokenSource, clock: &TestClock, calls: &AtomicUsize) -> i64 {
    source.token().unwrap();
    let before = calls.load(Ordering::SeqCst);
    for second in 1..100_000 {
        clock.advance(Duration::seconds(1));
        source.token().unwrap();
        if calls.load(Ordering::SeqCst) > before {
            return second;
        }
    }
    panic!("never refreshed");
}

#[test]
fn the_default_margin_is_a_tenth_of_the_lifetime() {
    let clock = common::clock();
    let (source, calls) = counting(&clock, Duration::hours(1));
    assert_eq!(refresh_point(&source, &clock, &calls), 3600 - 360);
}

#[test]
fn the_default_margin_is_at_least_30_seconds() {
    let clock = common::clock();
    let (source, calls) = counting(&clock, Duration::minutes(2));
    assert_eq!(refresh_point(&source, &clock, &calls), 120 - 30);
}

#[test]
fn the_margin_is_at_most_half_the_lifetime() {
    let clock = common::clock();
    let (source, calls) = counting(&clock, Duration::seconds(20));
    assert_eq!(refresh_point(&source, &clock, &calls), 10);
}

#[test]
fn the_margin_is_configurable() {
    let clock = common::clock();
    let (builder, calls) = counting_builder(&clock, Duration::hours(1));
    let source = builder.margin(Duration::minutes(5)).build();
    assert_eq!(refresh_point(&source, &clock, &calls), 3600 - 300);
}

#[test]
fn a_token_already_expired_is_a_failure() {
    let source = TokenSource::new(|| Ok::<_, std::io::Error>(Lease::new("t", Duration::ZERO)));
    let err = source.token().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refresh);
    assert!(err.to_string().contains("expires in 0 s"), "{err}");
}

#[test]
fn the_refresh_functions_error_is_the_source() {
    let source =
        TokenSource::new(|| Err::<Lease, _>(keycard::Error::store(std::io::Error::other("down"))));
    let err = source.token().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refresh);
    assert_eq!(err.to_string(), "token refresh failed: store failed: down");
    // The function's error is the source, shared by every caller that waited on the refresh.
    let inner = err.source().unwrap();
    assert_eq!(inner.to_string(), "store failed: down");
    assert_eq!(inner.source().unwrap().to_string(), "down");
}

#[test]
fn a_panicking_refresh_function_fails_that_call_and_the_next_retries() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let source = Arc::new(TokenSource::new(move || {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("refresh function bug");
        }
        Ok::<_, std::io::Error>(Lease::new("token", Duration::minutes(10)))
    }));
    let first = Arc::clone(&source);
    assert!(std::thread::spawn(move || first.token()).join().is_err());
    assert_eq!(&*source.token().unwrap(), "token");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn debug_shows_no_token() {
    let clock = common::clock();
    let (source, _) = counting(&clock, Duration::hours(1));
    source.token().unwrap();
    let debug = format!("{source:?}");
    assert!(!debug.contains("token-0"), "{debug}");
    assert!(!format!("{:?}", Lease::new("secret-token", Duration::hours(1))).contains("secret"));
}

#[test]
fn an_absurd_lifetime_from_the_network_does_not_panic() {
    let source = TokenSource::new(|| Ok::<_, std::io::Error>(Lease::new("t", Duration::MAX)));
    assert_eq!(&*source.token().unwrap(), "t");
    assert_eq!(&*source.token().unwrap(), "t");
}
