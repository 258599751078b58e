//! [`RemoteKeySet`]: an identity provider's JWK Set, fetched, cached and refreshed.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use keycard::{Algorithm, Clock, KeySet, KeySource, SystemClock};
use reqwest::{Client, Url};
use time::OffsetDateTime;

use crate::error::{reason, Error, Skipped};
use crate::fetch::{self, Limits};

/// Default `max-age` when the provider sends none: 10 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// Default least time between two refetches caused by an unknown `kid`: 30 seconds.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Default longest time a request with an unknown `kid` waits for the refetch: 3 seconds.
///
/// A healthy provider answers a JWKS request in well under a second, so 3 s covers a slow one;
/// it stays far inside the request timeouts of the gateways a resource server sits behind (Envoy's
/// default route timeout 15 s, AWS API Gateway 29 s, load balancers 30 to 60 s), so the caller
/// gets this service's honest 503 with `Retry-After`, not the gateway's 504. The fetch itself
/// goes on (bounded by [`timeout`](RemoteKeySetBuilder::timeout)) and serves later requests.
pub const DEFAULT_REFETCH_WAIT: Duration = Duration::from_secs(3);
/// Default largest response accepted: 512 KiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// Default largest number of keys in a set: 100.
pub const DEFAULT_MAX_KEYS: usize = 100;

/// A JSON Web Key Set fetched from an identity provider over https, kept fresh, and read by
/// every validator built on it: a keycard [`KeySource`].
///
/// - **Cache**: the set lives as long as the response's `Cache-Control: max-age` says, bounded
///   by [`max_age_bounds`](RemoteKeySetBuilder::max_age_bounds) (10 minutes when absent), and
///   is refreshed in the background when 80% of that has passed.
/// - **Outages**: a failed refresh keeps the last good set serving, retried every
///   [`retry_interval`](RemoteKeySetBuilder::retry_interval), for up to
///   [`max_stale`](RemoteKeySetBuilder::max_stale) past its lifetime; then
///   [`generation`](KeySource::generation) fails with [`Error::Stale`] (kind
///   [`key_source`](keycard::ErrorKind::KeySource)), and so does every verification on the set.
///   An empty, invalid or oversized document never replaces a good set.
/// - **Unknown `kid`**: [`refetch`](KeySource::refetch), which the async edge awaits when a
///   token names a key the set lacks, fetches the set once for every caller waiting on it, at
///   most once per [`cooldown`](RemoteKeySetBuilder::cooldown), so tokens with random `kid`s
///   cannot make the service hammer its provider. It fails with the provider's failure when
///   the provider is failing, which the caller attaches to the `unknown_key_id` error
///   ([`keycard::Error::with_key_source_failure`]).
/// - **Transport**: rustls with the Mozilla roots, plus any
///   [`root_certificates_pem`](RemoteKeySetBuilder::root_certificates_pem) (a company or test
///   CA); the proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
///   as reqwest reads them); or a [`reqwest::Client`] of the caller's own
///   ([`http_client`](RemoteKeySetBuilder::http_client)), for instance one built with
///   `rustls-platform-verifier` (reqwest's `use_preconfigured_tls`) to verify with the
///   operating system's verifier and trust store.
/// - **Redirects** are followed only within the origin (scheme, host, port) of the configured
///   or discovered URL, at most 5 times; one to another host fails the fetch
///   ([`Error::Fetch`]), so keys never come from an origin nobody configured.
/// - **Rotation**: every new set bumps the [`generation`](KeySource::generation), which each
///   validator on the set reads on every verification; a verification uses the old set or the
///   new one, never a mix.
///
/// Cloning is cheap; clones share the cache. The background task stops when the last clone,
/// and the last validator built on the set, are dropped.
///
/// ```no_run
/// use keycard::{Algorithm, Claims, ErrorKind, KeySource, Validator};
/// use keycard_jwks::{RemoteKeySet, ValidatorExt};
///
/// # async fn run(token: &str) -> Result<(), keycard::Error> {
/// let keys = RemoteKeySet::discover("https://login.example.com/")
///     .algorithms([Algorithm::RS256])
///     .await?;
/// let validator = Validator::builder_with_remote(&keys).audience("api").build()?;
/// // On an unknown `kid`: fetch the set again (shared, at most once per cooldown), verify once more.
/// let claims: Claims = match validator.verify(token) {
///     Err(e) if e.kind() == ErrorKind::UnknownKeyId => match keys.refetch().await {
///         Ok(()) => validator.verify(token)?,
///         Err(failure) => return Err(e.with_key_source_failure(failure)),
///     },
///     other => other?,
/// };
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RemoteKeySet {
    inner: Arc<Inner>,
}

/// What the key set knows and counts.
#[derive(Debug)]
struct Inner {
    issuer: Option<String>,
    jwks_uri: Url,
    config: Config,
    client: Client,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Held while fetching: one fetch at a time (single flight).
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
    /// Sets installed: the [`KeySource::generation`]. Bumped after the state holds the new set.
    generation: AtomicU64,
    /// Fetch attempts finished, successful or not: tells a refetch waiting for the lock
    /// whether another fetch ran meanwhile.
    attempts: AtomicU64,
    /// When (Unix milliseconds) the current set stops being served.
    stale_after_ms: AtomicI64,
    fetches: AtomicU64,
    failures: AtomicU64,
    unknown_kid_refetches: AtomicU64,
    cooldown_skips: AtomicU64,
    background: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.background).take() {
            task.abort();
        }
    }
}

#[derive(Debug)]
struct State {
    keys: Arc<KeySet>,
    skipped: Vec<Skipped>,
    fetched_at: OffsetDateTime,
    lifetime: Duration,
    last_unknown_kid_fetch: Option<OffsetDateTime>,
    /// Why the last fetch failed; `None` once one succeeds.
    last_failure: Option<Error>,
    next_attempt: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct Config {
    algorithms: Vec<Algorithm>,
    limits: Limits,
    connect_timeout: Duration,
    timeout: Duration,
    default_max_age: Duration,
    min_max_age: Duration,
    max_max_age: Duration,
    max_stale: Duration,
    cooldown: Duration,
    refetch_wait: Duration,
    retry_interval: Duration,
    background: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data under these locks is consistent after any panic (plain assignments).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Duration {
    Duration::try_from(to - from).unwrap_or(Duration::ZERO)
}

/// `at + duration`, saturating: a huge configured duration means "far in the future".
fn plus(at: OffsetDateTime, duration: Duration) -> OffsetDateTime {
    at.saturating_add(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX))
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Counters of a [`RemoteKeySet`], for metrics and health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// JWKS requests made (the first one included; discovery requests not counted).
    pub fetches: u64,
    /// JWKS requests that failed (network, status, size, document).
    pub failures: u64,
    /// Refetches caused by an unknown `kid`.
    pub unknown_kid_refetches: u64,
    /// Unknown-`kid` refetches refused because of the cooldown.
    pub cooldown_skips: u64,
    /// Usable keys in the current set.
    pub keys: usize,
    /// Time since the current set was fetched.
    pub age: Duration,
    /// The last failure, if the last fetch failed.
    pub last_error: Option<String>,
}

/// Where the set comes from.
#[derive(Debug, Clone)]
enum Source {
    Jwks(String),
    Issuer(String),
}

/// Configures a [`RemoteKeySet`]; `.await` it (or call [`build`](Self::build)) to fetch the set
/// for the first time.
#[derive(Debug)]
#[must_use = "await the builder to fetch the key set"]
pub struct RemoteKeySetBuilder {
    source: Source,
    config: Config,
    clock: Arc<dyn Clock>,
    transport: Transport,
}

/// How the builder gets its HTTP client.
#[derive(Debug, Default)]
struct Transport {
    /// PEM bundles of extra root certificates, beside the Mozilla roots.
    roots: Vec<Vec<u8>>,
    /// A client the caller built, used as it is.
    client: Option<Client>,
}

impl RemoteKeySet {
    /// A key set read from a JWKS URL, e.g. `https://login.example.com/.well-known/jwks.json`.
    pub fn from_url(jwks_uri: impl Into<String>) -> RemoteKeySetBuilder {
        RemoteKeySetBuilder::new(Source::Jwks(jwks_uri.into()))
    }

    /// A key set found by discovery from an issuer: its `/.well-known/openid-configuration`
    /// (OpenID Connect Discovery 1.0), or, when that answers 404,
    /// `/.well-known/oauth-authorization-server` (RFC 8414). The document's `issuer` must equal
    /// `issuer` exactly, trailing slash included, and its `jwks_uri` must be https.
    /// Validators built on the set then require `iss` to be `issuer`.
    pub fn discover(issuer: impl Into<String>) -> RemoteKeySetBuilder {
        RemoteKeySetBuilder::new(Source::Issuer(issuer.into()))
    }

    /// The redirect policy of keycard-jwks's own client, for a client passed to
    /// [`http_client`](RemoteKeySetBuilder::http_client): a redirect is followed only within the
    /// origin (scheme, host, port) of the URL requested, at most 5 times.
    pub fn redirect_policy() -> reqwest::redirect::Policy {
        fetch::redirect_policy()
    }

    /// The issuer the set was discovered from, if it was.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The JWKS URL the set is fetched from.
    pub fn jwks_uri(&self) -> &str {
        self.inner.jwks_uri.as_str()
    }

    /// The current set: a snapshot (the same as [`KeySource::keys`]).
    pub fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&lock(&self.inner.state).keys)
    }

    /// The keys of the last good document that were not loaded, and why.
    pub fn skipped(&self) -> Vec<Skipped> {
        lock(&self.inner.state).skipped.clone()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let state = lock(&self.inner.state);
        Stats {
            fetches: self.inner.fetches.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            unknown_kid_refetches: self.inner.unknown_kid_refetches.load(Ordering::Relaxed),
            cooldown_skips: self.inner.cooldown_skips.load(Ordering::Relaxed),
            keys: state.keys.len(),
            age: elapsed(state.fetched_at, self.inner.clock.now()),
            last_error: state.last_failure.as_ref().map(Error::to_string),
        }
    }

    /// Fetches the set now (after any fetch under way: one at a time). Not limited by the
    /// cooldown: for operators and tests, not for request paths.
    ///
    /// # Errors
    /// Why the fetch failed; the previous set stays in place.
    pub async fn refresh(&self) -> Result<(), Error> {
        let _guard = self.inner.fetch_lock.lock().await;
        self.inner.fetch_and_install("refresh").await
    }
}

impl KeySource for RemoteKeySet {
    /// The count of sets installed (1 after the first fetch), or [`Error::Stale`] as a
    /// [`key_source`](keycard::ErrorKind::KeySource) error once the set is older than its
    /// lifetime plus [`max_stale`](RemoteKeySetBuilder::max_stale). A clock reading and two
    /// atomic loads.
    fn generation(&self) -> Result<u64, keycard::Error> {
        self.inner.check_fresh()?;
        Ok(self.inner.generation.load(Ordering::Acquire))
    }

    fn keys(&self) -> Arc<KeySet> {
        RemoteKeySet::keys(self)
    }

    /// Fetches the set again for a token whose `kid` it lacks, unless another fetch finished
    /// since this call began (then that one serves), or an unknown-`kid` refetch started less
    /// than a [`cooldown`](RemoteKeySetBuilder::cooldown) ago. Concurrent callers share one
    /// fetch, which runs in a task of its own so that it completes for everyone even when a
    /// caller stops waiting; each caller waits at most
    /// [`refetch_wait`](RemoteKeySetBuilder::refetch_wait). The cooldown is checked first,
    /// before any wait: inside it, a caller gets the provider's last failure at once while the
    /// provider fails, and joins a fetch under way only until `refetch_wait` after that fetch
    /// started. Must be awaited on a tokio runtime.
    ///
    /// # Errors
    /// A [`key_source`](keycard::ErrorKind::KeySource) error when the provider is failing:
    /// this fetch failed, or, when no fetch was made (another one ran, or the cooldown), the
    /// last fetch did; [`Error::RefetchTimedOut`] when waiting took longer than allowed; a
    /// [`configuration`](keycard::ErrorKind::Configuration) error when not awaited on a tokio
    /// runtime. `Ok` does not mean the set changed: verify again to know.
    fn refetch(&self) -> Pin<Box<dyn Future<Output = Result<(), keycard::Error>> + Send + '_>> {
        Box::pin(async move {
            self.inner
                .refetch_unknown_kid()
                .await
                .map_err(keycard::Error::from)
        })
    }
}

impl Inner {
    /// `Ok` while the current set may be served; [`Error::Stale`] once it is older than its
    /// lifetime plus the configured maximum staleness.
    fn check_fresh(&self) -> Result<(), Error> {
        let now = self.clock.now();
        if unix_ms(now) <= self.stale_after_ms.load(Ordering::Acquire) {
            return Ok(());
        }
        self.stale(now)
    }

    #[cold]
    fn stale(&self, now: OffsetDateTime) -> Result<(), Error> {
        let state = lock(&self.state);
        let expired = plus(state.fetched_at, state.lifetime);
        Err(Error::Stale {
            url: self.jwks_uri.to_string(),
            expired_secs: elapsed(expired, now).as_secs(),
            last_error: state
                .last_failure
                .as_ref()
                .map_or_else(|| "none recorded".to_owned(), Error::to_string),
        })
    }

    /// How the last fetch went: `Ok`, or why it failed.
    fn last_outcome(&self) -> Result<(), Error> {
        match &lock(&self.state).last_failure {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    /// [`KeySource::refetch`] for [`RemoteKeySet`].
    async fn refetch_unknown_kid(self: &Arc<Self>) -> Result<(), Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Configuration(
                "RemoteKeySet::refetch must be awaited on a tokio runtime".to_owned(),
            ));
        }
        let wait = self.config.refetch_wait;
        let timed_out = || Error::RefetchTimedOut {
            url: self.jwks_uri.to_string(),
            waited: wait,
        };
        // The caller met the unknown `kid` just before this call: a fetch that finishes after
        // this point may have brought the key.
        let seen = self.attempts.load(Ordering::Acquire);
        // The cooldown first, before any wait on the fetch lock: inside it no request waits
        // longer than the refetch that started it allows.
        if let Some(joined) = self.within_cooldown(seen).await {
            self.cooldown_skips.fetch_add(1, Ordering::Relaxed);
            return joined;
        }
        let acquire = Arc::clone(&self.fetch_lock).lock_owned();
        let Ok(guard) = tokio::time::timeout(wait, acquire).await else {
            tracing::debug!(target: "keycard_jwks", url = %self.jwks_uri, "gave up waiting for a key set refetch");
            return Err(timed_out());
        };
        if self.attempts.load(Ordering::Acquire) != seen {
            return self.last_outcome();
        }
        let now = self.clock.now();
        {
            let mut state = lock(&self.state);
            let cooling = state
                .last_unknown_kid_fetch
                .is_some_and(|last| elapsed(last, now) < self.config.cooldown);
            if cooling {
                let outcome = state.last_failure.clone().map_or(Ok(()), Err);
                drop(state);
                self.cooldown_skips.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "keycard_jwks", url = %self.jwks_uri, "unknown kid: refetch skipped, cooling down");
                return outcome;
            }
            // Recorded before the request, so that a caller cancelled mid-fetch still counts.
            state.last_unknown_kid_fetch = Some(now);
        }
        self.unknown_kid_refetches.fetch_add(1, Ordering::Relaxed);
        // The fetch runs in its own task, holding the lock, so that it completes (bounded by the
        // HTTP timeout) for everyone even when this caller stops waiting or is cancelled.
        let fetching = Arc::clone(self);
        let fetch = async move {
            let _guard = guard;
            fetching.fetch_and_install("unknown kid").await
        };
        match tokio::time::timeout(wait, tokio::spawn(fetch)).await {
            Ok(Ok(result)) => result,
            // The task panicked, or the runtime is shutting down.
            Ok(Err(_)) | Err(_) => Err(timed_out()),
        }
    }

    /// Inside the cooldown of the last unknown-`kid` refetch: `None` outside it. Inside, never a
    /// new fetch: the last failure at once when the provider is failing; `Ok` at once when no
    /// fetch is under way; otherwise the fetch under way is joined until `refetch_wait` after it
    /// started, and past that the caller is told at once that it is taking too long.
    async fn within_cooldown(&self, seen: u64) -> Option<Result<(), Error>> {
        let now = self.clock.now();
        let (since, failure) = {
            let state = lock(&self.state);
            let since = state
                .last_unknown_kid_fetch
                .map(|last| elapsed(last, now))
                .filter(|since| *since < self.config.cooldown)?;
            (since, state.last_failure.clone())
        };
        tracing::debug!(target: "keycard_jwks", url = %self.jwks_uri, "unknown kid: refetch skipped, cooling down");
        if let Some(failure) = failure {
            return Some(Err(failure));
        }
        if self.fetch_lock.try_lock().is_ok() || self.attempts.load(Ordering::Acquire) != seen {
            return Some(self.last_outcome());
        }
        let timed_out = || Error::RefetchTimedOut {
            url: self.jwks_uri.to_string(),
            waited: self.config.refetch_wait,
        };
        let left = self.config.refetch_wait.saturating_sub(since);
        if left.is_zero() {
            return Some(Err(timed_out()));
        }
        match tokio::time::timeout(left, self.fetch_lock.lock()).await {
            Ok(_guard) => Some(self.last_outcome()),
            Err(_) => Some(Err(timed_out())),
        }
    }

    /// One JWKS request; the set replaces the current one only when it is good.
    async fn fetch_and_install(&self, why: &'static str) -> Result<(), Error> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch().await;
        let now = self.clock.now();
        let outcome = match result {
            Ok((loaded, lifetime)) => {
                let count = loaded.keys.len();
                for skipped in &loaded.skipped {
                    tracing::info!(target: "keycard_jwks", url = %self.jwks_uri, %skipped, "key skipped");
                }
                let mut state = lock(&self.state);
                state.keys = Arc::new(loaded.keys);
                state.skipped = loaded.skipped;
                state.fetched_at = now;
                state.lifetime = lifetime;
                state.last_failure = None;
                state.next_attempt = plus(now, lifetime.mul_f64(0.8));
                self.stale_after_ms.store(
                    unix_ms(plus(plus(now, lifetime), self.config.max_stale)),
                    Ordering::Release,
                );
                drop(state);
                // After the state holds the new set: a validator that reads the new
                // generation then reads the new set (or a newer one).
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(target: "keycard_jwks", url = %self.jwks_uri, why, keys = count, max_age_secs = lifetime.as_secs(), "key set fetched");
                Ok(())
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let mut state = lock(&self.state);
                state.last_failure = Some(e.clone());
                state.next_attempt = plus(now, self.config.retry_interval);
                drop(state);
                tracing::warn!(target: "keycard_jwks", url = %self.jwks_uri, why, error = %e, "key set fetch failed; the previous set stays");
                Err(e)
            }
        };
        self.attempts.fetch_add(1, Ordering::AcqRel);
        outcome
    }

    async fn fetch(&self) -> Result<(fetch::Loaded, Duration), Error> {
        let body = fetch::get(&self.client, &self.jwks_uri, self.config.limits.max_bytes).await?;
        let loaded = fetch::read_jwks(
            &self.jwks_uri,
            &body.bytes,
            &self.config.algorithms,
            &self.config.limits,
        )?;
        let asked = body.max_age.unwrap_or(self.config.default_max_age);
        let lifetime = asked.clamp(self.config.min_max_age, self.config.max_max_age);
        if lifetime != asked && body.max_age.is_some() {
            tracing::debug!(target: "keycard_jwks", url = %self.jwks_uri, max_age_secs = asked.as_secs(), lifetime_secs = lifetime.as_secs(), "the response's max-age is outside max_age_bounds: clamped");
        }
        Ok((loaded, lifetime))
    }

    /// How long the background task sleeps before its next attempt.
    fn until_next_attempt(&self) -> Duration {
        let next = lock(&self.state).next_attempt;
        elapsed(self.clock.now(), next).max(Duration::from_millis(100))
    }
}

async fn background(weak: Weak<Inner>) {
    loop {
        let Some(delay) = weak.upgrade().map(|inner| inner.until_next_attempt()) else {
            return;
        };
        tokio::time::sleep(delay).await;
        let Some(inner) = weak.upgrade() else { return };
        let _guard = inner.fetch_lock.lock().await;
        // Another fetch may have moved the deadline while this task slept.
        if inner.clock.now() >= lock(&inner.state).next_attempt {
            // Failures are logged and counted in `fetch_and_install`.
            let _ = inner.fetch_and_install("background refresh").await;
        }
    }
}

impl RemoteKeySetBuilder {
    fn new(source: Source) -> Self {
        RemoteKeySetBuilder {
            source,
            config: Config {
                algorithms: Vec::new(),
                limits: Limits {
                    allow_http: false,
                    max_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                    max_keys: DEFAULT_MAX_KEYS,
                },
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                default_max_age: DEFAULT_MAX_AGE,
                min_max_age: Duration::from_secs(60),
                max_max_age: Duration::from_secs(24 * 60 * 60),
                max_stale: Duration::from_secs(4 * 60 * 60),
                cooldown: DEFAULT_COOLDOWN,
                refetch_wait: DEFAULT_REFETCH_WAIT,
                retry_interval: Duration::from_secs(30),
                background: true,
            },
            clock: Arc::new(SystemClock),
            transport: Transport::default(),
        }
    }

    /// Trusts the root certificates of `pem` (one or more `CERTIFICATE` blocks) beside the
    /// Mozilla roots, for a provider behind a company or test CA (an on-premises Keycloak, ADFS,
    /// a proxy in front of Entra ID). Call again to add more bundles; a bundle that holds no
    /// certificate, or one that does not parse, fails [`build`](Self::build).
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.transport.roots.push(pem.into());
        self
    }

    /// Fetches with `client`, a [`reqwest::Client`] the caller built (for the operating
    /// system's verifier or trust store, client certificates, a proxy of its own, DNS
    /// overrides). The client is used as it is: its timeouts, roots, proxy and redirect
    /// policy apply, and [`connect_timeout`](Self::connect_timeout),
    /// [`timeout`](Self::timeout) and [`root_certificates_pem`](Self::root_certificates_pem)
    /// do not. URLs are still refused unless https (or [`allow_http`](Self::allow_http)).
    /// Build it with [`RemoteKeySet::redirect_policy`] to keep redirects within the origin:
    ///
    /// ```no_run
    /// use keycard::Algorithm;
    /// use keycard_jwks::RemoteKeySet;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::builder()
    ///     .redirect(RemoteKeySet::redirect_policy())
    ///     .timeout(std::time::Duration::from_secs(5))
    ///     .build()?;
    /// let keys = RemoteKeySet::discover("https://sso.corp.example/realms/staff")
    ///     .http_client(client)
    ///     .algorithms([Algorithm::RS256])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn http_client(mut self, client: Client) -> Self {
        self.transport.client = Some(client);
        self
    }

    /// The algorithms the set's keys are used for (required, named once for the whole set): a
    /// key whose `alg` is another is skipped, and a key without `alg` (Microsoft Entra ID
    /// publishes RSA keys without it) is used for each listed algorithm its type fits. HMAC
    /// algorithms are refused: a published set holds public keys.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.config.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Allows plain `http://` URLs, for tests against a local provider on 127.0.0.1. Never in
    /// production: anyone on the path could then hand the service their own keys.
    pub fn allow_http(mut self) -> Self {
        self.config.limits.allow_http = true;
        self
    }

    /// The largest response accepted, in bytes (default 512 KiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_bytes = bytes;
        self
    }

    /// The largest number of keys a set may list (default 100).
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.config.limits.max_keys = keys;
        self
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take, body included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// The cache lifetime when the response has no `Cache-Control: max-age` (default 10 min).
    /// It is held to [`max_age_bounds`](Self::max_age_bounds) like a response's `max-age`: a
    /// value below the lower bound (1 minute by default) is raised to it, and `build` logs a
    /// warning saying so.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.config.default_max_age = max_age;
        self
    }

    /// The bounds a response's `max-age` (and [`default_max_age`](Self::default_max_age)) is
    /// held to (default 1 minute to 24 hours): a `max-age` below the lower bound (`no-store`
    /// and `no-cache` count as 0) is raised to it, so that a provider cannot make the service
    /// fetch on every request; one above the upper bound is lowered to it. A clamped response
    /// is logged at `debug`, a clamped `default_max_age` at `warn` when the set is built.
    pub fn max_age_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.config.min_max_age = min;
        self.config.max_max_age = max;
        self
    }

    /// How long past its lifetime the last good set keeps serving while the provider fails
    /// (default 4 hours); after that, verifying fails with [`Error::Stale`] (kind
    /// [`key_source`](keycard::ErrorKind::KeySource)).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.config.max_stale = max_stale;
        self
    }

    /// The least time between two refetches caused by unknown `kid`s (default 30 s): see
    /// [`KeySource::refetch`].
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }

    /// How long a request with an unknown `kid` waits for the refetch
    /// (default [`DEFAULT_REFETCH_WAIT`], 3 s, which says why). Inside the
    /// [`cooldown`](Self::cooldown) a request joins a refetch under way only until this long
    /// after it started, and is told at once past that.
    pub fn refetch_wait(mut self, wait: Duration) -> Self {
        self.config.refetch_wait = wait;
        self
    }

    /// How long the background task waits after a failed refresh before trying again
    /// (default 30 s).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.config.retry_interval = interval;
        self
    }

    /// Turns the background refresh off: the set then changes only on an unknown `kid` or
    /// [`RemoteKeySet::refresh`], and goes stale otherwise. For tests and for callers that
    /// schedule refreshes themselves.
    pub fn no_background_refresh(mut self) -> Self {
        self.config.background = false;
        self
    }

    /// Where "now" comes from for the set's lifetime, its staleness and the cooldown (default
    /// the system clock). A validator on the set keeps its own clock for the token's times
    /// ([`ValidatorBuilder::clock`](keycard::ValidatorBuilder::clock)).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Discovers (if asked to) and fetches the set for the first time; must run on a tokio
    /// runtime, which the background refresh then runs on.
    ///
    /// # Errors
    /// The configuration, the discovery or the first fetch failed.
    pub async fn build(self) -> Result<RemoteKeySet, Error> {
        let config = self.config;
        if config.algorithms.is_empty() {
            return Err(Error::Configuration(
                "name the algorithms of the set's keys with `algorithms([...])`".to_owned(),
            ));
        }
        if let Some(hmac) = config
            .algorithms
            .iter()
            .find(|a| a.as_str().starts_with("HS"))
        {
            return Err(Error::Configuration(format!(
                "{hmac} needs a shared secret, which a published key set must not carry"
            )));
        }
        if config.min_max_age > config.max_max_age {
            return Err(Error::Configuration(
                "the lower `max_age_bounds` is above the upper one".to_owned(),
            ));
        }
        let default_max_age = config
            .default_max_age
            .clamp(config.min_max_age, config.max_max_age);
        if default_max_age != config.default_max_age {
            tracing::warn!(target: "keycard_jwks", configured_secs = config.default_max_age.as_secs(), used_secs = default_max_age.as_secs(), "default_max_age is outside max_age_bounds: clamped");
        }
        let client = match self.transport.client {
            Some(client) => client,
            None => client(&config, &self.transport.roots)?,
        };
        let (issuer, jwks_uri) = match self.source {
            Source::Jwks(url) => (None, fetch::parse_url(&url, config.limits.allow_http)?),
            Source::Issuer(issuer) => {
                let jwks_uri = discover(&client, &issuer, &config.limits).await?;
                (Some(issuer), jwks_uri)
            }
        };
        let now = self.clock.now();
        let inner = Arc::new(Inner {
            issuer,
            jwks_uri,
            client,
            clock: self.clock,
            state: Mutex::new(State {
                keys: Arc::new(KeySet::new()),
                skipped: Vec::new(),
                fetched_at: now,
                lifetime: Duration::ZERO,
                last_unknown_kid_fetch: None,
                last_failure: None,
                next_attempt: now,
            }),
            fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
            generation: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            stale_after_ms: AtomicI64::new(i64::MIN),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            unknown_kid_refetches: AtomicU64::new(0),
            cooldown_skips: AtomicU64::new(0),
            background: Mutex::new(None),
            config,
        });
        inner.fetch_and_install("first fetch").await?;
        if inner.config.background {
            let task = tokio::spawn(background(Arc::downgrade(&inner)));
            *lock(&inner.background) = Some(task.abort_handle());
        }
        Ok(RemoteKeySet { inner })
    }
}

/// keycard-jwks's own client: rustls with the Mozilla roots and `roots`, the configured
/// timeouts, redirects within the origin, https only unless allowed. reqwest reads the proxy
/// from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`).
fn client(config: &Config, roots: &[Vec<u8>]) -> Result<Client, Error> {
    let mut client = Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .user_agent(concat!("keycard-jwks/", env!("CARGO_PKG_VERSION")))
        .redirect(fetch::redirect_policy());
    for (index, pem) in roots.iter().enumerate() {
        let bad =
            |why: String| Error::Configuration(format!("root certificate bundle #{index} {why}"));
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| bad(format!("does not parse: {}", reason(e))))?;
        if certificates.is_empty() {
            return Err(bad("holds no `CERTIFICATE` block".to_owned()));
        }
        for certificate in certificates {
            client = client.add_root_certificate(certificate);
        }
    }
    if !config.limits.allow_http {
        client = client.https_only(true);
    }
    client.build().map_err(|e| Error::Configuration(reason(e)))
}

impl IntoFuture for RemoteKeySetBuilder {
    type Output = Result<RemoteKeySet, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

/// Finds the `jwks_uri` of `issuer`.
async fn discover(client: &Client, issuer: &str, limits: &Limits) -> Result<Url, Error> {
    let issuer_url = fetch::parse_url(issuer, limits.allow_http)?;
    let [oidc, oauth] = fetch::discovery_urls(&issuer_url)?;
    let (url, body) = match fetch::get(client, &oidc, limits.max_bytes).await {
        Ok(body) => (oidc, body),
        Err(Error::Status { status: 404, .. }) => {
            tracing::debug!(target: "keycard_jwks", %oidc, "no OpenID configuration; trying RFC 8414");
            let body = fetch::get(client, &oauth, limits.max_bytes).await?;
            (oauth, body)
        }
        Err(e) => return Err(e),
    };
    let jwks_uri = fetch::read_discovery(&url, &body.bytes, issuer, limits.allow_http)?;
    tracing::info!(target: "keycard_jwks", %issuer, %jwks_uri, "discovered");
    Ok(jwks_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_into_the_future() {
        let now = OffsetDateTime::now_utc();
        assert!(plus(now, Duration::MAX) > now + time::Duration::days(365 * 1000));
        assert!(unix_ms(plus(now, Duration::MAX)) > unix_ms(now));
        assert_eq!(
            plus(now, Duration::from_secs(60)),
            now + time::Duration::minutes(1)
        );
    }
}
