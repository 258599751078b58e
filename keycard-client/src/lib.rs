//! An async access-token cache for tokio clients of a [keycard](https://docs.rs/keycard) issuer
//! (or any OAuth 2.0 token endpoint): [`TokenSource`]; and its synchronous counterpart for
//! threads without a runtime, [`blocking::TokenSource`].
//!
//! What it keeps from the synchronous [`blocking::TokenSource`]: the token is refreshed ahead of its
//! expiry (the margin: 10% of the lifetime, at least 30 s, at most half), and however many tasks
//! need a token at once, the refresh function runs once for all of them (single flight). What
//! it adds:
//! - **callers never wait while the cached token is still valid**: inside the margin the first
//!   caller starts the refresh in the background and every caller receives the cached token at
//!   once; only a caller with no valid token waits, for the one refresh in flight;
//! - **failures back off with jitter**: after a failed refresh no new attempt is made before a
//!   delay that doubles with each consecutive failure (from [`min_backoff`](TokenSourceBuilder::min_backoff),
//!   default 1 s, up to [`max_backoff`](TokenSourceBuilder::max_backoff), default 60 s), drawn
//!   at random between half of it and all of it, so that a fleet of clients does not retry in
//!   step. Meanwhile callers receive the cached token while it is valid, and the last failure
//!   once it has expired, without calling the token endpoint again.
//!
//! The refresh runs in its own tokio task, so a caller that gives up (a timeout, a dropped
//! request) never cancels it for the others.
//!
//! ```
//! use keycard::time::Duration;
//! use keycard_client::{Lease, TokenSource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), keycard::Error> {
//! let source = TokenSource::builder(|| async {
//!     // A real client posts its refresh token to the token endpoint here.
//!     Ok::<_, std::io::Error>(Lease::new("an access token", Duration::minutes(15)))
//! })
//! .build();
//! assert_eq!(&*source.token().await?, "an access token");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Clock, Error, SystemClock};
use tokio::sync::watch;

pub mod blocking;

pub use blocking::Lease;

type BoxError = Box<dyn StdError + Send + Sync>;
type SharedError = Arc<dyn StdError + Send + Sync>;
type Refresh =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<Lease, BoxError>> + Send>> + Send>;

/// A cache of one access token for many tokio tasks; see the [crate] docs. Cheap to clone:
/// clones share the cache.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    refresh: Mutex<Refresh>,
    /// Bumped when a refresh finishes; waiters watch it.
    finished: watch::Sender<u64>,
    margin: Option<Duration>,
    min_backoff: Duration,
    max_backoff: Duration,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    in_flight: bool,
    /// The failure of the last refresh, until one succeeds.
    failure: Option<SharedError>,
    /// Consecutive failures.
    failures: u32,
    /// No refresh is started before this, after a failure.
    not_before: Option<OffsetDateTime>,
    /// Refreshes finished so far.
    generation: u64,
}

struct Current {
    token: Arc<str>,
    expires_at: OffsetDateTime,
    refresh_at: OffsetDateTime,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("TokenSource")
            .field("has_token", &state.current.is_some())
            .field("refreshing", &state.in_flight)
            .field("failures", &state.failures)
            .field("margin", &self.inner.margin)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenSource`]; finish with [`build`](Self::build).
#[must_use = "call `build` to get a TokenSource"]
pub struct TokenSourceBuilder {
    refresh: Refresh,
    margin: Option<Duration>,
    min_backoff: Duration,
    max_backoff: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceBuilder")
            .field("margin", &self.margin)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The least default margin: 30 seconds.
    pub const MIN_DEFAULT_MARGIN: Duration = Duration::seconds(30);
    /// The default first delay after a failure: 1 second.
    pub const DEFAULT_MIN_BACKOFF: Duration = Duration::seconds(1);
    /// The default longest delay after failures: 60 seconds.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::seconds(60);

    /// Starts a source that obtains tokens from `refresh`. The function may keep state (the
    /// current refresh token, which rotation replaces): it is never called while a future it
    /// returned is still running.
    pub fn builder<F, Fut, E>(mut refresh: F) -> TokenSourceBuilder
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Lease, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        TokenSourceBuilder {
            refresh: Box::new(move || {
                let future = refresh();
                Box::pin(async move { future.await.map_err(Into::into) })
            }),
            margin: None,
            min_backoff: Self::DEFAULT_MIN_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            clock: Arc::new(SystemClock),
        }
    }

    /// The current access token. Returns at once while the cached token is valid (starting a
    /// background refresh once it is inside the margin); otherwise waits for the one refresh in
    /// flight, starting it if none is and the back-off allows.
    ///
    /// # Errors
    /// [`ErrorKind::Refresh`](keycard::ErrorKind::Refresh), with the refresh function's error
    /// as source, when no valid token is left and the last refresh failed (or the back-off
    /// after it has not passed yet). Must be called within a tokio runtime.
    pub async fn token(&self) -> Result<Arc<str>, Error> {
        let mut waited = false;
        loop {
            let mut receiver = {
                let mut state = self.inner.lock();
                let now = self.inner.clock.now();
                let may_start = !state.in_flight && state.not_before.is_none_or(|at| now >= at);
                if let Some(current) = state.current.as_ref().filter(|c| now < c.expires_at) {
                    let token = Arc::clone(&current.token);
                    if now >= current.refresh_at && may_start {
                        self.start(&mut state);
                    }
                    return Ok(token);
                }
                if waited || (!state.in_flight && !may_start) {
                    return Err(state.failure_or_interrupted());
                }
                if may_start {
                    self.start(&mut state);
                }
                let receiver = self.inner.finished.subscribe();
                let generation = state.generation;
                drop(state);
                (receiver, generation)
            };
            // Wake when the refresh in flight finishes (or at once if it already has).
            let (ref mut receiver, generation) = receiver;
            let _ = receiver.wait_for(|g| *g != generation).await;
            waited = true;
        }
    }

    /// Starts the refresh in its own task. Called with the state locked and no refresh running.
    fn start(&self, state: &mut State) {
        state.in_flight = true;
        let future = {
            let mut refresh = self
                .inner
                .refresh
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            (refresh)()
        };
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(future);
        tokio::spawn(async move {
            // A panic in the refresh function is a failure, not a hang.
            let outcome = match task.await {
                Ok(outcome) => outcome,
                Err(_) => Err(Box::new(Interrupted) as BoxError),
            };
            inner.land(outcome);
        });
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is made in one step under the lock: a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn margin_for(&self, lifetime: Duration) -> Duration {
        let margin = self
            .margin
            .unwrap_or_else(|| (lifetime / 10_i32).max(TokenSource::MIN_DEFAULT_MARGIN));
        margin.clamp(Duration::ZERO, lifetime / 2_i32)
    }

    /// Records the outcome of a refresh and wakes the waiters.
    fn land(&self, outcome: Result<Lease, BoxError>) {
        let now = self.clock.now();
        let mut state = self.lock();
        match outcome {
            Ok(lease) if lease.expires_in().is_positive() => {
                let lifetime = lease.expires_in();
                let margin = self.margin_for(lifetime);
                state.current = Some(Current {
                    token: Arc::from(lease.into_token()),
                    expires_at: later(now, lifetime),
                    refresh_at: later(now, lifetime - margin),
                });
                state.failure = None;
                state.failures = 0;
                state.not_before = None;
            }
            other => {
                let failure: SharedError = match other {
                    Ok(lease) => Arc::new(AlreadyExpired(lease.expires_in())),
                    Err(e) => Arc::from(e),
                };
                state.failure = Some(failure);
                state.failures = state.failures.saturating_add(1);
                state.not_before = Some(later(now, self.backoff(state.failures)));
            }
        }
        state.in_flight = false;
        state.generation = state.generation.wrapping_add(1);
        let generation = state.generation;
        drop(state);
        self.finished.send_replace(generation);
    }

    /// The delay after `failures` consecutive failures: `min * 2^(failures-1)` capped at `max`,
    /// then a random point between half of it and all of it (jitter).
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let full = self
            .min_backoff
            .checked_mul(1_i32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
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

impl State {
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

impl TokenSourceBuilder {
    /// Refreshes this long before expiry instead of the default (10% of the lifetime, at least
    /// 30 seconds); never more than half the lifetime.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = Some(margin);
        self
    }

    /// The delay after a first failure (default 1 s); it doubles with each further one.
    pub fn min_backoff(mut self, delay: Duration) -> Self {
        self.min_backoff = delay;
        self
    }

    /// The longest delay between attempts after failures (default 60 s).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The source, empty until its first [`token`](TokenSource::token).
    pub fn build(self) -> TokenSource {
        let (finished, _) = watch::channel(0);
        TokenSource {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                refresh: Mutex::new(self.refresh),
                finished,
                margin: self.margin,
                min_backoff: self.min_backoff.max(Duration::ZERO),
                max_backoff: self.max_backoff.max(self.min_backoff),
                clock: self.clock,
            }),
        }
    }
}

/// The refresh function panicked, or its task was cancelled.
#[derive(Debug)]
struct Interrupted;

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
