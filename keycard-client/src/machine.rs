//! The one token-cache state machine that both front ends drive: when the cached token must be
//! refreshed (the margin), who refreshes (single flight), what a caller that waited receives
//! (waiter hand-off and failure fan-out), and how long a failure holds off the next attempt
//! (back-off with jitter).
//!
//! It owns every rule and no synchronisation, no clock and no I/O: the front end keeps it under
//! a mutex, passes in the time it read under that lock, runs the refresh when told to, and wakes
//! its waiters after [`Machine::land`] (the async [`TokenSource`](crate::TokenSource) with a
//! tokio watch channel, the [`blocking`](crate::blocking) one with a condition variable).

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Clock, Error, SystemClock};

use crate::oauth_error::is_permanent;
use crate::Lease;

/// An error from a refresh function.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;
type SharedError = Arc<dyn StdError + Send + Sync>;

/// The least default margin: 30 seconds.
pub(crate) const MIN_DEFAULT_MARGIN: Duration = Duration::seconds(30);

/// What a caller does once the cached token is inside the margin and a refresh is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ahead {
    /// Receives the cached token at once; the refresh runs behind (the async source, which can
    /// spawn it).
    Background,
    /// Waits for the refresh, which its caller runs on its own thread (the blocking source).
    Wait,
}

/// The rules' settings, fixed when the source is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// `None`: 10% of the lifetime, at least [`MIN_DEFAULT_MARGIN`]; always at most half of it.
    pub(crate) margin: Option<Duration>,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) ahead: Ahead,
}

impl Policy {
    /// No back-off at all: the next call after a failure tries again.
    pub(crate) fn without_backoff(ahead: Ahead) -> Self {
        Policy {
            margin: None,
            min_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            ahead,
        }
    }

    fn margin_for(&self, lifetime: Duration) -> Duration {
        let margin = self
            .margin
            .unwrap_or_else(|| (lifetime / 10_i32).max(MIN_DEFAULT_MARGIN));
        margin.clamp(Duration::ZERO, lifetime / 2_i32)
    }

    /// The delay after `failures` consecutive failures: `min * 2^(failures-1)` capped at `max`,
    /// then a random point between half of it and all of it (jitter), so that a fleet of
    /// clients does not retry in step.
    fn backoff(&self, failures: u32) -> Duration {
        let min = self.min_backoff.max(Duration::ZERO);
        let max = self.max_backoff.max(min);
        let doublings = failures.saturating_sub(1).min(30);
        let full = min.checked_mul(1_i32 << doublings).unwrap_or(max).min(max);
        let millis = full.whole_milliseconds().max(0);
        let half = millis / 2;
        let spread = u64::try_from(millis - half).unwrap_or(0);
        let jitter = if spread == 0 {
            0
        } else {
            random() % (spread + 1)
        };
        Duration::milliseconds(
            i64::try_from(half)
                .unwrap_or(i64::MAX)
                .saturating_add(i64::try_from(jitter).unwrap_or(0)),
        )
    }
}

/// A builder's settings: the policy and the clock; both front ends' builders keep one.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) policy: Policy,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Config {
    /// The system clock and `policy`.
    pub(crate) fn new(policy: Policy) -> Self {
        Config {
            policy,
            clock: Arc::new(SystemClock),
        }
    }

    /// A builder's `Debug`: its name and these settings, never the refresh function.
    pub(crate) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// What [`Machine::next`] tells the caller to do.
#[derive(Debug)]
pub(crate) enum Step {
    /// Return this token.
    Serve(Arc<str>),
    /// A refresh is now in flight and this caller must run it (the refresh function once).
    /// `meanwhile`: the token to return at once while it runs behind ([`Ahead::Background`]);
    /// `None`: the caller waits for flight `flight` to land, like a [`Step::Wait`].
    Start {
        meanwhile: Option<Arc<str>>,
        flight: u64,
    },
    /// Wait until flight `flight` has landed ([`Machine::landed`]), then take
    /// [`Machine::after_wait`].
    Wait { flight: u64 },
    /// Return this error.
    Fail(Error),
}

/// The cache's state; see the module docs.
#[derive(Debug)]
pub(crate) struct Machine {
    policy: Policy,
    current: Option<Current>,
    in_flight: bool,
    /// The failure of the last refresh, until one succeeds.
    failure: Option<SharedError>,
    /// Consecutive failures.
    failures: u32,
    /// No refresh is started before this, after a failure.
    not_before: Option<OffsetDateTime>,
    /// The last failure can never be fixed by retrying (a dead grant): no refresh is started
    /// again, and callers receive that failure once no valid token is left.
    dead: bool,
    /// Refreshes landed so far: a waiter waits for this to move past the flight it saw.
    generation: u64,
}

struct Current {
    token: Arc<str>,
    expires_at: OffsetDateTime,
    refresh_at: OffsetDateTime,
}

impl fmt::Debug for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Current")
            .field("expires_at", &self.expires_at)
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// An empty cache: the first call refreshes.
    pub(crate) fn new(policy: Policy) -> Self {
        Machine {
            policy,
            current: None,
            in_flight: false,
            failure: None,
            failures: 0,
            not_before: None,
            dead: false,
            generation: 0,
        }
    }

    /// The settings it was built with.
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether a token is cached (valid or not).
    pub(crate) fn has_token(&self) -> bool {
        self.current.is_some()
    }

    /// Whether a refresh is in flight.
    pub(crate) fn refreshing(&self) -> bool {
        self.in_flight
    }

    /// Consecutive failed refreshes.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// A caller asks for a token at `now`. When the step is [`Step::Start`], the refresh is
    /// marked in flight: the caller must run it and [`land`](Self::land) its outcome.
    pub(crate) fn next(&mut self, now: OffsetDateTime) -> Step {
        let may_start = !self.in_flight && !self.dead && self.not_before.is_none_or(|at| now >= at);
        if let Some(current) = self.valid(now) {
            let token = Arc::clone(&current.token);
            if now < current.refresh_at {
                return Step::Serve(token);
            }
            // Inside the margin.
            return match (may_start, self.policy.ahead) {
                (true, Ahead::Background) => self.start(Some(token)),
                (true, Ahead::Wait) => self.start(None),
                (false, Ahead::Wait) if self.in_flight => Step::Wait {
                    flight: self.generation,
                },
                // Refreshing behind, or backing off after a failure: the token is still valid.
                (false, _) => Step::Serve(token),
            };
        }
        if may_start {
            self.start(None)
        } else if self.in_flight {
            Step::Wait {
                flight: self.generation,
            }
        } else {
            // Backing off or dead, no valid token: the last failure, without calling the
            // endpoint.
            Step::Fail(self.failure_or_interrupted())
        }
    }

    fn start(&mut self, meanwhile: Option<Arc<str>>) -> Step {
        self.in_flight = true;
        Step::Start {
            meanwhile,
            flight: self.generation,
        }
    }

    /// Whether flight `flight` (from [`Step::Start`] or [`Step::Wait`]) has landed.
    pub(crate) fn landed(&self, flight: u64) -> bool {
        self.generation != flight
    }

    /// What a caller receives once the flight it waited for has landed: the token while one is
    /// valid (the new one, or the old one when the refresh failed), else that failure; the
    /// same for every waiter, and never a second refresh for them.
    pub(crate) fn after_wait(&self, now: OffsetDateTime) -> Result<Arc<str>, Error> {
        match self.valid(now) {
            Some(current) => Ok(Arc::clone(&current.token)),
            None => Err(self.failure_or_interrupted()),
        }
    }

    /// Records the outcome of the refresh in flight, obtained at `now`, and returns the
    /// generation to announce to the waiters.
    pub(crate) fn land(&mut self, now: OffsetDateTime, outcome: Result<Lease, BoxError>) -> u64 {
        match outcome {
            Ok(lease) if lease.expires_in().is_positive() => self.install(now, lease),
            other => {
                let failure: SharedError = match other {
                    Ok(lease) => Arc::new(AlreadyExpired(lease.expires_in())),
                    Err(e) => Arc::from(e),
                };
                self.dead = is_permanent(&*failure);
                self.failure = Some(failure);
                self.failures = self.failures.saturating_add(1);
                self.not_before = Some(later(now, self.policy.backoff(self.failures)));
            }
        }
        self.in_flight = false;
        self.generation = self.generation.wrapping_add(1);
        self.generation
    }

    /// Caches `lease`, obtained at `obtained_at` (a token saved by an earlier run resumes
    /// this way, without a refresh while it is valid), and ends any back-off.
    pub(crate) fn install(&mut self, obtained_at: OffsetDateTime, lease: Lease) {
        let lifetime = lease.expires_in();
        let margin = self.policy.margin_for(lifetime);
        // `later`: `expires_in` comes from the network and may be absurdly large.
        self.current = Some(Current {
            token: Arc::from(lease.into_token()),
            expires_at: later(obtained_at, lifetime),
            refresh_at: later(obtained_at, lifetime - margin),
        });
        self.failure = None;
        self.failures = 0;
        self.not_before = None;
        self.dead = false;
    }

    /// The server refused `token` before its expiry (a 401 `invalid_token`): forget it,
    /// unless it has been replaced already, so that the next caller refreshes, once for all.
    pub(crate) fn reject(&mut self, token: &str) {
        if self.current.as_ref().is_some_and(|c| &*c.token == token) {
            self.current = None;
        }
    }

    fn valid(&self, now: OffsetDateTime) -> Option<&Current> {
        self.current.as_ref().filter(|c| now < c.expires_at)
    }

    fn failure_or_interrupted(&self) -> Error {
        Error::Refresh(
            self.failure
                .clone()
                .unwrap_or_else(|| Arc::new(Interrupted)),
        )
    }
}

/// A random number from the standard library's per-process hash keys (no extra dependency;
/// jitter needs spread, not secrecy).
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    hasher.finish()
}

/// `t + d`, saturating at the last representable instant (`d` comes from the network).
fn later(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d)
        .unwrap_or_else(|| keycard::time::PrimitiveDateTime::MAX.assume_utc())
}

/// The refresh function panicked, or its task was cancelled.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the refresh function panicked")
    }
}

impl StdError for Interrupted {}

/// The refresh function returned a token with no lifetime left.
#[derive(Debug)]
struct AlreadyExpired(Duration);

impl fmt::Display for AlreadyExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the refresh function returned a token that expires in {} s",
            self.0.whole_seconds()
        )
    }
}

impl StdError for AlreadyExpired {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn landed_with(ahead: Ahead, lifetime: Duration) -> Machine {
        let mut machine = Machine::new(Policy::without_backoff(ahead));
        assert!(matches!(
            machine.next(at(0)),
            Step::Start {
                meanwhile: None,
                ..
            }
        ));
        machine.land(at(0), Ok(Lease::new("t0", lifetime)));
        machine
    }

    #[test]
    fn inside_the_margin_background_serves_and_wait_waits() {
        let mut background = landed_with(Ahead::Background, Duration::minutes(10));
        assert!(matches!(background.next(at(539)), Step::Serve(_)));
        assert!(matches!(
            background.next(at(540)),
            Step::Start {
                meanwhile: Some(_),
                ..
            }
        ));
        assert!(matches!(background.next(at(541)), Step::Serve(_)));

        let mut wait = landed_with(Ahead::Wait, Duration::minutes(10));
        assert!(matches!(
            wait.next(at(540)),
            Step::Start {
                meanwhile: None,
                ..
            }
        ));
        let Step::Wait { flight } = wait.next(at(541)) else {
            panic!("a second caller waits for the flight in the air");
        };
        assert!(!wait.landed(flight));
        wait.land(at(541), Err("down".into()));
        assert!(wait.landed(flight));
        // The refresh failed but the old token is valid: every waiter receives it.
        assert_eq!(&*wait.after_wait(at(541)).unwrap(), "t0");
        assert!(wait.after_wait(at(600)).is_err());
    }

    #[test]
    fn the_backoff_doubles_up_to_the_cap_within_its_jitter() {
        let policy = Policy {
            margin: None,
            min_backoff: Duration::seconds(10),
            max_backoff: Duration::seconds(40),
            ahead: Ahead::Background,
        };
        for (failures, full) in [(1, 10), (2, 20), (3, 40), (9, 40), (u32::MAX, 40)] {
            let delay = policy.backoff(failures);
            let full = Duration::seconds(full);
            assert!(
                delay >= full / 2_i32 && delay <= full,
                "{failures}: {delay}"
            );
        }
        assert_eq!(
            Policy::without_backoff(Ahead::Wait).backoff(5),
            Duration::ZERO
        );
    }
}
