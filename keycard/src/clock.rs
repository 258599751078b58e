//! Where "now" comes from: the system clock in production, a fixed instant in tests.

use std::fmt;

use time::OffsetDateTime;

/// A source of the current time, injected into [`Builder`](crate::Builder) and
/// [`Validator`](crate::Validator) so that tests can pin it.
///
/// ```
/// use keycard::{Clock, FixedClock};
/// use time::OffsetDateTime;
///
/// let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
/// assert_eq!(FixedClock(t).now(), t);
/// ```
pub trait Clock: fmt::Debug + Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock, in UTC. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock stopped at one instant, for tests and for checking tokens "as of" a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}
