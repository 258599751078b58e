//! The async front end: [`TokenSource`] drives the [state machine](crate::machine) on tokio,
//! running each refresh in a task of its own and waking waiters with a watch channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Clock, Error};
use tokio::sync::watch;

use crate::machine::{self, Ahead, BoxError, Config, Interrupted, Machine, Policy, Step};
use crate::Lease;

type Refresh =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<Lease, BoxError>> + Send>> + Send>;

/// A cache of one access token for many tokio tasks; see the [crate] docs. Cheap to clone:
/// clones share the cache.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    machine: Mutex<Machine>,
    refresh: Mutex<Refresh>,
    /// The generation of the last landed refresh; waiters watch it.
    landed: watch::Sender<u64>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = self.inner.lock();
        f.debug_struct("TokenSource")
            .field("has_token", &machine.has_token())
            .field("refreshing", &machine.refreshing())
            .field("failures", &machine.failures())
            .field("margin", &machine.policy().margin)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenSource`]; finish with [`build`](Self::build).
#[must_use = "call `build` to get a TokenSource"]
pub struct TokenSourceBuilder {
    refresh: Refresh,
    config: Config,
    resume: Option<(Lease, OffsetDateTime)>,
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.debug_as("TokenSourceBuilder", f)
    }
}

impl TokenSource {
    /// The least default margin: 30 seconds.
    pub const MIN_DEFAULT_MARGIN: Duration = machine::MIN_DEFAULT_MARGIN;
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
            config: Config::new(Policy {
                min_backoff: Self::DEFAULT_MIN_BACKOFF,
                max_backoff: Self::DEFAULT_MAX_BACKOFF,
                ..Policy::without_backoff(Ahead::Background)
            }),
            resume: None,
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
        let flight = {
            let mut machine = self.inner.lock();
            // Read under the lock, once per call: tests count readings to know who is waiting.
            let now = self.inner.clock.now();
            match machine.next(now) {
                Step::Serve(token) => return Ok(token),
                Step::Fail(error) => return Err(error),
                Step::Wait { flight } => flight,
                Step::Start { meanwhile, flight } => {
                    drop(machine);
                    self.start();
                    if let Some(token) = meanwhile {
                        return Ok(token);
                    }
                    flight
                }
            }
        };
        // Wakes when that flight lands (at once if it already has); the sender lives in `inner`.
        let mut landed = self.inner.landed.subscribe();
        let _ = landed.wait_for(|generation| *generation != flight).await;
        let now = self.inner.clock.now();
        self.inner.lock().after_wait(now)
    }

    /// Tells the source that the resource server refused `token` before its expiry (an HTTP
    /// 401 with `error="invalid_token"`, RFC 6750 §3.1): unless it has been replaced already,
    /// it is dropped, and the next [`token`](Self::token) refreshes, once for every task that
    /// saw the refusal. [`BearerLayer`](crate::BearerLayer) calls this.
    pub fn invalidate(&self, token: &str) {
        self.inner.lock().reject(token);
    }

    /// Runs the refresh the machine put in flight, in its own task: a caller that gives up
    /// never cancels it for the others.
    fn start(&self) {
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
            let now = inner.clock.now();
            let generation = inner.lock().land(now, outcome);
            inner.landed.send_replace(generation);
        });
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Machine> {
        // Every update is made in one step under the lock: a poisoned lock holds consistent data.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenSourceBuilder {
    /// Refreshes this long before expiry instead of the default (10% of the lifetime, at least
    /// 30 seconds); never more than half the lifetime.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.config.policy.margin = Some(margin);
        self
    }

    /// The delay after a first failure (default 1 s); it doubles with each further one.
    pub fn min_backoff(mut self, delay: Duration) -> Self {
        self.config.policy.min_backoff = delay;
        self
    }

    /// The longest delay between attempts after failures (default 60 s).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.config.policy.max_backoff = delay;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Starts with `lease`, obtained at `obtained_at` (a token set saved by an earlier run): no
    /// refresh is made while it is valid and outside the margin.
    pub fn resume(mut self, lease: Lease, obtained_at: OffsetDateTime) -> Self {
        self.resume = Some((lease, obtained_at));
        self
    }

    /// The source, empty until its first [`token`](TokenSource::token).
    pub fn build(self) -> TokenSource {
        let (landed, _) = watch::channel(0);
        let mut machine = Machine::new(self.config.policy);
        if let Some((lease, obtained_at)) = self.resume {
            if lease.expires_in().is_positive() {
                machine.install(obtained_at, lease);
            }
        }
        TokenSource {
            inner: Arc::new(Inner {
                machine: Mutex::new(machine),
                refresh: Mutex::new(self.refresh),
                landed,
                clock: self.config.clock,
            }),
        }
    }
}
