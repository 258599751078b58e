//! Helpers shared by the TokenSource tests: the workspace's test clock at a fixed start.

use keycard_test::TestClock;

/// 2026-11-28T00:00:00Z.
const START: i64 = 1_795_824_000;

/// A clock frozen at [`START`], moved by the test only.
pub(crate) fn clock() -> TestClock {
    TestClock::at_unix(START)
}
