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

/// A shared clock is a clock: one `Arc<dyn Clock>` (or `Arc<MyClock>`) can be handed to several
/// builders, and every part they build reads the same time.
///
/// ```
/// use std::sync::Arc;
/// use keycard::{Clock, FixedClock, Validator, HmacKey, Algorithm};
/// use time::OffsetDateTime;
///
/// let clock: Arc<dyn Clock> = Arc::new(FixedClock(OffsetDateTime::UNIX_EPOCH));
/// assert_eq!(clock.now(), OffsetDateTime::UNIX_EPOCH);
/// let key = HmacKey::new(Algorithm::HS256, b"an example secret of 32 bytes!!!")?;
/// let validator = Validator::builder(key).clock(Arc::clone(&clock)).build()?;
/// # Ok::<(), keycard::Error>(())
/// ```
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

/// `t` cut to whole seconds, the precision of a JWT NumericDate as keycard writes it.
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `t + d`, or the last representable instant when that is out of range: the times computed
/// with it say how long to keep an entry or until when something holds, and later is the safe
/// side there.
pub(crate) fn later(t: OffsetDateTime, d: time::Duration) -> OffsetDateTime {
    t.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// The instants `now - leeway` and `now + leeway`, each saturating at `now` at the ends of the
/// time range (a clock near year ±9999 must not overflow): the one leeway window every time
/// check (exp, nbf, iat, auth_time) uses.
pub(crate) fn window(
    now: OffsetDateTime,
    leeway: time::Duration,
) -> (OffsetDateTime, OffsetDateTime) {
    (
        now.checked_sub(leeway).unwrap_or(now),
        now.checked_add(leeway).unwrap_or(now),
    )
}
