//! The synchronous client side, for threads without an async runtime: [`TokenSource`] caches an
//! access token and refreshes it ahead of expiry, one refresh at a time however many threads ask.
//! It drives the same state machine as the async [`crate::TokenSource`], with std primitives:
//! the refresh runs on the thread of the caller that starts it, and the others wait on a
//! condition variable.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use keycard::time::Duration;
use keycard::{Clock, Error};

use crate::machine::{self, Ahead, BoxError, Config, Interrupted, Machine, Policy, Step};
pub use crate::Lease;

type Fetch = Box<dyn FnMut() -> Result<Lease, BoxError> + Send>;

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
    machine: Mutex<Machine>,
    landed: Condvar,
    fetch: Mutex<Fetch>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("margin", &self.lock().policy().margin)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The least default margin: 30 seconds.
    pub const MIN_DEFAULT_MARGIN: Duration = machine::MIN_DEFAULT_MARGIN;

    /// A source that obtains tokens from `refresh`, with the default margin and the system
    /// clock: `TokenSource::builder(refresh).build()`.
    pub fn new<F, E>(refresh: F) -> Self
    where
        F: FnMut() -> Result<Lease, E> + Send + 'static,
        E: Into<BoxError>,
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
        E: Into<BoxError>,
    {
        TokenSourceBuilder {
            fetch: Box::new(move || refresh().map_err(Into::into)),
            // Each caller inside the margin waits for the refresh (it runs on a caller's thread),
            // and the next call after a failure tries again.
            config: Config::new(Policy::without_backoff(Ahead::Wait)),
        }
    }

    /// The current access token, refreshed first if it is within the margin of its expiry.
    ///
    /// # Errors
    /// [`ErrorKind::Refresh`](keycard::ErrorKind::Refresh) when the refresh function failed (or
    /// returned a token that is already expired) and no valid token is left.
    pub fn token(&self) -> Result<Arc<str>, Error> {
        let mut machine = self.lock();
        // Read under the lock, once on entry: tests count readings to know who is waiting.
        let now = self.clock.now();
        let flight = match machine.next(now) {
            Step::Serve(token) => return Ok(token),
            Step::Fail(error) => return Err(error),
            Step::Wait { flight } => flight,
            Step::Start { .. } => {
                drop(machine);
                return self.run();
            }
        };
        while !machine.landed(flight) {
            machine = self
                .landed
                .wait(machine)
                .unwrap_or_else(PoisonError::into_inner);
        }
        machine.after_wait(self.clock.now())
    }

    /// Runs the refresh the machine put in flight, on this thread.
    fn run(&self) -> Result<Arc<str>, Error> {
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

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The machine is updated in one step under the lock: a poisoned lock holds consistent data.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Configures a [`TokenSource`]; finish with [`build`](Self::build).
#[must_use = "call `build` to get a TokenSource"]
pub struct TokenSourceBuilder {
    fetch: Fetch,
    config: Config,
}

impl TokenSourceBuilder {
    /// Refreshes this long before expiry instead of the default (10% of the lifetime, at least
    /// 30 seconds). Never more than half the lifetime, so that a short-lived token is not
    /// refreshed on every call.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.config.policy.margin = Some(margin);
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// The source, empty until its first [`token`](TokenSource::token).
    pub fn build(self) -> TokenSource {
        TokenSource {
            machine: Mutex::new(Machine::new(self.config.policy)),
            landed: Condvar::new(),
            fetch: Mutex::new(self.fetch),
            clock: self.config.clock,
        }
    }
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.debug_as("TokenSourceBuilder", f)
    }
}

/// The refresh in progress; if the refresh function panics, dropping it still wakes the waiters.
struct Flight<'a> {
    source: &'a TokenSource,
    landed: bool,
}

impl Flight<'_> {
    fn land(&mut self, lease: Result<Lease, BoxError>) -> Result<Arc<str>, Error> {
        let now = self.source.clock.now();
        let mut machine = self.source.lock();
        machine.land(now, lease);
        self.landed = true;
        self.source.landed.notify_all();
        machine.after_wait(now)
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        if !self.landed {
            let now = self.source.clock.now();
            self.source.lock().land(now, Err(Box::new(Interrupted)));
            self.source.landed.notify_all();
        }
    }
}
