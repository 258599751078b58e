//! The synchronous client side, for threads without an async runtime: [`TokenSource`] caches an
//! access token and refreshes it ahead of expiry, one refresh at a time however many threads ask.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Clock, Error, SystemClock};

use crate::later;

type SharedError = Arc<dyn StdError + Send + Sync>;
type Fetch = Box<dyn FnMut() -> Result<Lease, Box<dyn StdError + Send + Sync>> + Send>;

/// An access token as your refresh function obtained it, with its lifetime (an OAuth 2.0 token
/// response's `access_token` and `expires_in`, RFC 6749 §5.1).
#[derive(Clone)]
pub struct Lease {
    token: String,
    expires_in: Duration,
}

impl Lease {
    /// A token valid for `expires_in` from now.
    pub fn new(token: impl Into<String>, expires_in: Duration) -> Self {
        Lease {
            token: token.into(),
            expires_in,
        }
    }

    /// The access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its lifetime when it was obtained.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The token, by value.
    pub fn into_token(self) -> String {
        self.token
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A thread-safe cache of one access token that refreshes it ahead of expiry, calling your
/// refresh function once however many threads need a token at that moment (single flight).
///
/// [`token`](Self::token) returns the cached token until it enters the refresh margin (by
/// default 10% of its lifetime, at least 30 seconds, at most half of it). Then one caller runs the
/// refresh function and every caller arriving meanwhile waits for that one call and receives its
/// result. If the call fails, they all receive the old token while it is still valid, and the
/// failure ([`ErrorKind::Refresh`](keycard::ErrorKind::Refresh), with the function's error as
/// source) once it has expired; either way the next call tries again. A panic in the refresh
/// function counts as a failure; it does not leave waiters hanging.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use keycard_client::blocking::{Lease, TokenSource};
/// use keycard::time::Duration;
///
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
/// let source = TokenSource::new(|| {
///     let n = CALLS.fetch_add(1, Ordering::SeqCst);
///     // A real client posts its refresh token to the token endpoint here.
///     Ok::<_, std::io::Error>(Lease::new(format!("token-{n}"), Duration::minutes(15)))
/// });
/// assert_eq!(&*source.token()?, "token-0");
/// assert_eq!(&*source.token()?, "token-0"); // cached: no second call
/// assert_eq!(CALLS.load(Ordering::SeqCst), 1);
/// # Ok::<(), keycard::Error>(())
/// ```
pub struct TokenSource {
    state: Mutex<State>,
    refreshed: Condvar,
    fetch: Mutex<Fetch>,
    margin: Option<Duration>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    refreshing: bool,
    /// How many refreshes have finished: a waiter wakes for the one it waited on.
    finished: u64,
    /// The failure of the last refresh, if it failed.
    failure: Option<SharedError>,
}

struct Current {
    token: Arc<str>,
    expires_at: OffsetDateTime,
    refresh_at: OffsetDateTime,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("margin", &self.margin)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The least default margin: 30 seconds.
    pub const MIN_DEFAULT_MARGIN: Duration = Duration::seconds(30);

    /// A source that obtains tokens from `refresh`, with the default margin and the system
    /// clock: `TokenSource::builder(refresh).build()`.
    pub fn new<F, E>(refresh: F) -> Self
    where
        F: FnMut() -> Result<Lease, E> + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        Self::builder(refresh).build()
    }

    /// Starts a source that obtains tokens from `refresh`; it starts empty, so the first
    /// [`token`](Self::token) calls it. The function may keep state (the current refresh token,
    /// which rotation replaces each time): it is never called twice at once.
    ///
    /// ```
    /// use keycard_client::blocking::{Lease, TokenSource};
    /// use keycard::time::Duration;
    ///
    /// let source = TokenSource::builder(|| {
    ///     Ok::<_, std::io::Error>(Lease::new("token", Duration::minutes(15)))
    /// })
    /// .margin(Duration::minutes(2))
    /// .build();
    /// assert_eq!(&*source.token()?, "token");
    /// # Ok::<(), keycard::Error>(())
    /// ```
    pub fn builder<F, E>(mut refresh: F) -> TokenSourceBuilder
    where
        F: FnMut() -> Result<Lease, E> + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        TokenSourceBuilder {
            fetch: Box::new(move || refresh().map_err(Into::into)),
            margin: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The current access token, refreshed first if it is within the margin of its expiry.
    ///
    /// # Errors
    /// [`ErrorKind::Refresh`](keycard::ErrorKind::Refresh) when the refresh function failed (or
    /// returned a token that is already expired) and no valid token is left.
    pub fn token(&self) -> Result<Arc<str>, Error> {
        let mut state = self.lock_state();
        let now = self.clock.now();
        if let Some(current) = state.current.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(Arc::clone(&current.token));
        }
        if state.refreshing {
            let waited_for = state.finished;
            while state.refreshing && state.finished == waited_for {
                state = self
                    .refreshed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            return state.outcome(self.clock.now());
        }
        state.refreshing = true;
        drop(state);

        let mut flight = Flight {
            source: self,
            landed: false,
        };
        let lease = {
            let mut fetch = self.fetch.lock().unwrap_or_else(PoisonError::into_inner);
            (fetch)()
        };
        flight.land(lease)
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // State is updated in one step under the lock, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn margin_for(&self, lifetime: Duration) -> Duration {
        let margin = self
            .margin
            .unwrap_or_else(|| (lifetime / 10_i32).max(Self::MIN_DEFAULT_MARGIN));
        margin.clamp(Duration::ZERO, lifetime / 2_i32)
    }
}

/// Configures a [`TokenSource`]; finish with [`build`](Self::build).
#[must_use = "call `build` to get a TokenSource"]
pub struct TokenSourceBuilder {
    fetch: Fetch,
    margin: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceBuilder")
            .field("margin", &self.margin)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TokenSourceBuilder {
    /// Refreshes this long before expiry instead of the default (10% of the lifetime, at least
    /// 30 seconds). Never more than half the lifetime, so that a short-lived token is not
    /// refreshed on every call.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = Some(margin);
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The source, empty until its first [`token`](TokenSource::token).
    pub fn build(self) -> TokenSource {
        TokenSource {
            state: Mutex::new(State::default()),
            refreshed: Condvar::new(),
            fetch: Mutex::new(self.fetch),
            margin: self.margin,
            clock: self.clock,
        }
    }
}

impl State {
    /// What the callers of a finished refresh receive.
    fn outcome(&self, now: OffsetDateTime) -> Result<Arc<str>, Error> {
        match (&self.current, &self.failure) {
            (Some(current), None) => Ok(Arc::clone(&current.token)),
            (Some(current), Some(_)) if now < current.expires_at => Ok(Arc::clone(&current.token)),
            (_, Some(failure)) => Err(Error::Refresh(Arc::clone(failure))),
            (None, None) => Err(Error::Refresh(Arc::new(Interrupted))),
        }
    }
}

/// The refresh in progress; if the refresh function panics, dropping it still wakes the waiters.
struct Flight<'a> {
    source: &'a TokenSource,
    landed: bool,
}

impl Flight<'_> {
    fn land(
        &mut self,
        lease: Result<Lease, Box<dyn StdError + Send + Sync>>,
    ) -> Result<Arc<str>, Error> {
        let source = self.source;
        let now = source.clock.now();
        let mut state = source.lock_state();
        match lease {
            Ok(lease) if lease.expires_in.is_positive() => {
                // `later`: `expires_in` comes from the network and may be absurdly large.
                let margin = source.margin_for(lease.expires_in);
                state.current = Some(Current {
                    token: Arc::from(lease.token),
                    expires_at: later(now, lease.expires_in),
                    refresh_at: later(now, lease.expires_in - margin),
                });
                state.failure = None;
            }
            Ok(lease) => {
                state.failure = Some(Arc::new(AlreadyExpired(lease.expires_in)));
            }
            Err(e) => state.failure = Some(Arc::from(e)),
        }
        state.refreshing = false;
        state.finished = state.finished.wrapping_add(1);
        self.landed = true;
        source.refreshed.notify_all();
        state.outcome(now)
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        if !self.landed {
            let mut state = self.source.lock_state();
            state.failure = Some(Arc::new(Interrupted));
            state.refreshing = false;
            state.finished = state.finished.wrapping_add(1);
            self.source.refreshed.notify_all();
        }
    }
}

/// The refresh function panicked.
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
