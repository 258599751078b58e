//! Helpers shared by the blocking TokenSource tests: a clock the test moves by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use keycard::time::{Duration, OffsetDateTime};
use keycard::Clock;

/// 2026-11-28T00:00:00Z.
const START: i64 = 1_795_824_000;

/// A clock shared by clones, moved forward by the test; it never reads the system time.
#[derive(Debug, Clone)]
pub(crate) struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub(crate) fn new() -> Self {
        ManualClock(Arc::new(AtomicI64::new(START)))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).expect("in range")
    }
}
