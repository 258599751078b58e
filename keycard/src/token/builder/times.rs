//! The time claims of a token: a builder's `expires_in` / `expires_at`, `not_before` and
//! `issued_at` settings and its clock, turned into the whole-second NumericDates written as
//! `exp`, `nbf` and `iat`. Every signing path calls [`TimeSettings::resolve`] once per token, so
//! that one rounding rule holds for each claim whichever way the token is signed:
//!
//! - the signing time is the clock rounded down to a whole second, read only when a time depends
//!   on it;
//! - `exp` (`expires_at`, or the signing time plus `expires_in`) is rounded **down**: the token is
//!   never valid later than asked;
//! - `nbf` is rounded **up**: the token is never valid earlier than asked;
//! - `iat` (`issued_at`, or the signing time) is rounded **down**, so that a sign-out at the
//!   second of issue covers the token.
//!
//! Whole seconds because a fraction would compare differently from validator to validator (RFC
//! 7519 §2 allows fractions, but many peers parse integers only).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::clock::{self, Clock};
use crate::error::Error;
use crate::token::claims::NumericDate;
use crate::token::registered::Name;

/// A time given absolutely or relative to the signing time.
#[derive(Debug, Clone, Copy)]
pub(super) enum When {
    In(Duration),
    At(OffsetDateTime),
}

/// What `iat` says.
#[derive(Debug, Clone, Copy)]
pub(super) enum IssuedAt {
    /// The signing time.
    Now,
    At(OffsetDateTime),
    Omitted,
}

/// A builder's time settings, as its setters leave them.
#[derive(Debug, Clone)]
pub(super) struct TimeSettings {
    pub(super) expiry: Option<When>,
    pub(super) not_before: Option<OffsetDateTime>,
    pub(super) issued_at: IssuedAt,
    /// `None`: the system clock (no allocation for the default).
    pub(super) clock: Option<Arc<dyn Clock>>,
}

impl Default for TimeSettings {
    fn default() -> Self {
        TimeSettings {
            expiry: None,
            not_before: None,
            issued_at: IssuedAt::Now,
            clock: None,
        }
    }
}

/// The time claims one token carries, each in whole seconds; `None` for a claim no setter
/// writes (a value from `claim` or a claims struct then stays).
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    iat: Option<NumericDate>,
}

impl TimeSettings {
    /// The time claims of a token signed now: the one resolution every signing path calls.
    /// Integer arithmetic on seconds and nanoseconds, no calendar.
    ///
    /// # Errors
    /// `configuration` when a time falls outside the years -9999 to 9999.
    pub(super) fn resolve(&self) -> Result<Times, Error> {
        let now = self.signing_time();
        let exp = match self.expiry {
            Some(When::At(t)) => Some(down(t)),
            Some(When::In(d)) => Some(
                NumericDate::from_nanos(now.unix_nanos() + d.whole_nanoseconds())
                    .ok_or_else(out_of_range)?
                    .floor(),
            ),
            None => None,
        };
        let nbf = self.not_before.map(up).transpose()?;
        let iat = match self.issued_at {
            IssuedAt::Now => Some(now),
            IssuedAt::At(t) => Some(down(t)),
            IssuedAt::Omitted => None,
        };
        Ok(Times { exp, nbf, iat })
    }

    /// The clock in whole seconds, rounded down. The clock is read only when a time depends on
    /// it: a builder whose times are all fixed (or come from the claims) signs without reading
    /// it. The system clock is read as an integer, without a calendar conversion.
    fn signing_time(&self) -> NumericDate {
        let relative =
            matches!(self.expiry, Some(When::In(_))) || matches!(self.issued_at, IssuedAt::Now);
        if !relative {
            return down(OffsetDateTime::UNIX_EPOCH);
        }
        match &self.clock {
            Some(clock) => down(clock.now()),
            None => system_now(),
        }
    }
}

/// The system clock in whole seconds, rounded down (as `OffsetDateTime::now_utc` then
/// `clock::whole_seconds` give it), without a division of 128-bit nanoseconds.
fn system_now() -> NumericDate {
    let seconds = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        // Before 1970: rounded down, so a fraction takes one second more.
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(before.subsec_nanos() > 0)
        }
    };
    NumericDate::from_whole_seconds_clamped(seconds)
}

impl Times {
    #[cfg(test)]
    pub(super) fn for_test(
        exp: Option<NumericDate>,
        nbf: Option<NumericDate>,
        iat: Option<NumericDate>,
    ) -> Self {
        Times { exp, nbf, iat }
    }

    /// The members a setter writes, in the order written: `exp`, `nbf`, `iat`.
    pub(super) fn members(&self) -> [(&'static str, Option<NumericDate>); 3] {
        [("exp", self.exp), ("nbf", self.nbf), ("iat", self.iat)]
    }

    /// Whether a setter writes the claim `name` (`exp`, `nbf` or `iat`): a value for it from
    /// `claim` or a claims struct is then left out.
    pub(super) fn sets(&self, name: Name) -> bool {
        match name {
            Name::Exp => self.exp.is_some(),
            Name::Nbf => self.nbf.is_some(),
            Name::Iat => self.iat.is_some(),
            _ => false,
        }
    }
}

/// `t` rounded down to a whole second (toward the past, before 1970 too), by the clock module's
/// one rule for it.
fn down(t: OffsetDateTime) -> NumericDate {
    NumericDate::from(clock::whole_seconds(t))
}

/// `t` rounded up to a whole second (toward the future).
fn up(t: OffsetDateTime) -> Result<NumericDate, Error> {
    NumericDate::from(t).ceil().ok_or_else(out_of_range)
}

#[cold]
fn out_of_range() -> Error {
    Error::configuration("a time is outside the years -9999 to 9999")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    fn at(nanos: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap()
    }

    fn secs(date: Option<NumericDate>) -> Option<i64> {
        date.map(NumericDate::unix_timestamp)
    }

    #[test]
    fn exp_and_iat_round_down_and_nbf_rounds_up_before_1970_too() {
        for (nanos, down, up) in [
            (1_500_000_000, 1, 2),
            (-1_500_000_000, -2, -1),
            (-500_000_000, -1, 0),
            (7_000_000_000, 7, 7),
        ] {
            let settings = TimeSettings {
                expiry: Some(When::At(at(nanos))),
                not_before: Some(at(nanos)),
                issued_at: IssuedAt::At(at(nanos)),
                clock: None,
            };
            let times = settings.resolve().unwrap();
            assert_eq!(secs(times.exp), Some(down), "{nanos}");
            assert_eq!(secs(times.nbf), Some(up), "{nanos}");
            assert_eq!(secs(times.iat), Some(down), "{nanos}");
        }
    }

    #[test]
    fn relative_times_count_from_the_signing_time_in_whole_seconds() {
        let settings = TimeSettings {
            expiry: Some(When::In(Duration::milliseconds(1_500))),
            clock: Some(Arc::new(FixedClock(at(10_700_000_000)))),
            ..TimeSettings::default()
        };
        let times = settings.resolve().unwrap();
        // Signed at 10 (10.7 rounded down): iat 10, exp 10 + 1.5 rounded down.
        assert_eq!((secs(times.iat), secs(times.exp)), (Some(10), Some(11)));
        assert!(times.sets(Name::Exp) && !times.sets(Name::Nbf) && times.sets(Name::Iat));
    }

    #[test]
    fn a_time_past_the_range_is_a_configuration_error() {
        let last = time::PrimitiveDateTime::MAX.assume_utc();
        let settings = TimeSettings {
            not_before: Some(last),
            ..TimeSettings::default()
        };
        assert!(settings.resolve().is_err());
        let settings = TimeSettings {
            expiry: Some(When::In(Duration::MAX)),
            ..TimeSettings::default()
        };
        assert!(settings.resolve().is_err());
    }
}
