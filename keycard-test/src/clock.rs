//! [`TestClock`]: the one clock the workspace's tests move by hand.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use keycard::Clock;
use time::{Duration, OffsetDateTime};

/// A [`Clock`] that the test moves: frozen at an instant ([`new`](Self::new), [`at`](Self::at))
/// or following the system time with an offset ([`following_system`](Self::following_system)),
/// moved with [`advance`](Self::advance) and [`set`](Self::set), and counting how often it is
/// read ([`readings`](Self::readings)). Clones share the time and the count, so the test keeps
/// one and hands the others to the code under test.
///
/// A frozen clock is the default: nothing moves unless the test says so. Follow the system time
/// when the code under test also runs on real time it does not take from this clock (a token
/// minted with the system clock, an HTTP timeout, Redis expiring its keys).
///
/// ```
/// use keycard::Clock;
/// use keycard_test::TestClock;
/// use time::Duration;
///
/// let clock = TestClock::at_unix(1_800_000_000);
/// let shared = clock.clone(); // e.g. given to a validator
/// clock.advance(Duration::minutes(5));
/// clock.advance(std::time::Duration::from_secs(1));
/// assert_eq!(shared.now().unix_timestamp(), 1_800_000_301);
/// assert_eq!(clock.readings(), 1);
/// ```
#[derive(Clone)]
pub struct TestClock(Arc<Inner>);

struct Inner {
    reading: Mutex<Reading>,
    readings: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Always this instant.
    Frozen(OffsetDateTime),
    /// The system time plus this offset.
    Offset(Duration),
}

impl TestClock {
    /// A clock frozen at the current second (whole seconds, the precision of a JWT
    /// NumericDate): near the real time, for code that also compares with it.
    pub fn new() -> Self {
        let now = OffsetDateTime::now_utc();
        Self::at(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// A clock frozen at `instant`.
    pub fn at(instant: OffsetDateTime) -> Self {
        Self::with(Reading::Frozen(instant))
    }

    /// A clock frozen at `seconds` since the Unix epoch.
    ///
    /// # Panics
    /// When `seconds` is outside the range of [`OffsetDateTime`].
    pub fn at_unix(seconds: i64) -> Self {
        match OffsetDateTime::from_unix_timestamp(seconds) {
            Ok(instant) => Self::at(instant),
            Err(e) => panic!("TestClock::at_unix({seconds}): {e}"),
        }
    }

    /// A clock that reads the system time plus an offset, zero until the test moves it.
    pub fn following_system() -> Self {
        Self::with(Reading::Offset(Duration::ZERO))
    }

    fn with(reading: Reading) -> Self {
        TestClock(Arc::new(Inner {
            reading: Mutex::new(reading),
            readings: AtomicUsize::new(0),
        }))
    }

    fn reading(&self) -> std::sync::MutexGuard<'_, Reading> {
        // A plain `Copy` value: consistent after any panic.
        self.0
            .reading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock by `by`: a [`time::Duration`] (which may be negative, to move it back)
    /// or a [`std::time::Duration`].
    ///
    /// # Panics
    /// When `by` does not fit a [`time::Duration`], or the clock would leave the range of
    /// [`OffsetDateTime`].
    pub fn advance<D>(&self, by: D)
    where
        D: TryInto<Duration>,
        D::Error: fmt::Debug,
    {
        let by = match by.try_into() {
            Ok(by) => by,
            Err(e) => panic!("TestClock::advance: {e:?}"),
        };
        let mut reading = self.reading();
        *reading = match *reading {
            Reading::Frozen(at) => match at.checked_add(by) {
                Some(at) => Reading::Frozen(at),
                None => panic!("TestClock::advance: {at} + {by} is out of range"),
            },
            Reading::Offset(offset) => match offset.checked_add(by) {
                Some(offset) => Reading::Offset(offset),
                None => panic!("TestClock::advance: an offset of {offset} + {by} is out of range"),
            },
        };
    }

    /// Sets the clock to `instant`; a clock following the system time goes on from there.
    pub fn set(&self, instant: OffsetDateTime) {
        let mut reading = self.reading();
        *reading = match *reading {
            Reading::Frozen(_) => Reading::Frozen(instant),
            Reading::Offset(_) => Reading::Offset(instant - OffsetDateTime::now_utc()),
        };
    }

    /// How many times [`now`](Clock::now) was called, on this clock or any clone of it.
    pub fn readings(&self) -> usize {
        self.0.readings.load(Ordering::SeqCst)
    }
}

impl Default for TestClock {
    /// [`TestClock::new`]: frozen at the current second.
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClock")
            .field("reading", &*self.reading())
            .field("readings", &self.readings())
            .finish()
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        self.0.readings.fetch_add(1, Ordering::SeqCst);
        match *self.reading() {
            Reading::Frozen(at) => at,
            Reading::Offset(offset) => {
                let now = OffsetDateTime::now_utc();
                now.checked_add(offset).unwrap_or(now)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = TestClock::at_unix(1_000);
        assert_eq!(clock.now().unix_timestamp(), 1_000);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now().unix_timestamp(), 1_000);
        clock.advance(Duration::seconds(-10));
        assert_eq!(clock.now().unix_timestamp(), 990);
        clock.set(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(clock.now(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(clock.readings(), 4);
    }

    #[test]
    fn new_starts_at_the_current_whole_second() {
        let before = OffsetDateTime::now_utc().unix_timestamp();
        let now = TestClock::new().now();
        assert_eq!(now.nanosecond(), 0);
        assert!((before..=before + 1).contains(&now.unix_timestamp()));
    }

    #[test]
    fn a_following_clock_runs_with_the_system_time_plus_its_offset() {
        let clock = TestClock::following_system();
        let shared = clock.clone();
        clock.advance(std::time::Duration::from_secs(3600));
        let ahead = shared.now() - OffsetDateTime::now_utc();
        assert!(
            ahead > Duration::minutes(59) && ahead <= Duration::hours(1),
            "{ahead}"
        );
        let target = OffsetDateTime::now_utc() - Duration::days(1);
        clock.set(target);
        let behind = clock.now() - target;
        assert!(
            behind >= Duration::ZERO && behind < Duration::seconds(5),
            "{behind}"
        );
        assert_eq!(clock.readings(), 2);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn leaving_the_range_of_time_panics() {
        TestClock::at(time::PrimitiveDateTime::MAX.assume_utc()).advance(Duration::seconds(1));
    }
}
