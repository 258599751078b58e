//! Helpers shared by the lifecycle tests: a clock the test moves by hand, an issuer wired to it,
//! hooked stores, and a runtime for another request on another thread.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Clock, HmacKey};
use keycard_lifecycle::{TokenIssuer, TokenIssuerBuilder};

/// 2026-11-28T00:00:00Z.
pub(crate) const START: i64 = 1_795_824_000;

/// A clock shared by clones, moved forward by the test; it never reads the system time.
#[derive(Debug, Clone)]
pub(crate) struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub(crate) fn new() -> Self {
        ManualClock(Arc::new(AtomicI64::new(START)))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).expect("in range")
    }
}

pub(crate) fn key() -> HmacKey {
    HmacKey::new(Algorithm::HS256, b"lifecycle test secret of 32 bytes").expect("32 bytes")
}

/// An issuer for `https://auth.example.com` minting access tokens for `api`, on `clock`.
pub(crate) fn issuer_builder(clock: &ManualClock) -> TokenIssuerBuilder {
    TokenIssuer::builder(key(), key())
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock.clone())
}

pub(crate) fn issuer(clock: &ManualClock) -> TokenIssuer {
    issuer_builder(clock).build().expect("valid configuration")
}

/// Runs `future` to completion on a current-thread runtime of the calling thread, which must
/// not be running one already: a request on a thread the test spawned.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

/// Runs `future` to completion on a thread of its own and waits for it: from a store hook, the
/// other request that lands exactly at that point of the test's request in flight.
pub(crate) fn elsewhere<F>(future: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| block_on(future))
            .join()
            .expect("the other request did not panic")
    })
}

/// The result of a memory store's future, which is ready at once.
pub(crate) fn wait<T>(
    mut future: keycard_lifecycle::StoreFuture<'_, T>,
) -> Result<T, keycard::Error> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => panic!("a memory store's future is ready at once"),
    }
}

type Hook = Box<dyn FnOnce() + Send>;

/// A memory family store that runs a hook at a chosen point of a refresh, once: to force an
/// interleaving deterministically (another request lands exactly there).
#[derive(Default)]
pub(crate) struct HookedFamilies {
    pub(crate) inner: keycard_lifecycle::MemoryFamilyStore,
    on_get: std::sync::Mutex<Option<Hook>>,
    after_swap: std::sync::Mutex<Option<Hook>>,
    /// The next compare-and-set is applied, and then answers with a store error (its answer
    /// was lost).
    pub(crate) lose_next_swap_answer: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for HookedFamilies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookedFamilies")
    }
}

impl HookedFamilies {
    /// Runs `hook` on the next `get`, before the family is read.
    pub(crate) fn on_next_get(&self, hook: impl FnOnce() + Send + 'static) {
        *self.on_get.lock().unwrap() = Some(Box::new(hook));
    }

    /// Runs `hook` right after the next compare-and-set has been applied.
    pub(crate) fn after_next_swap(&self, hook: impl FnOnce() + Send + 'static) {
        *self.after_swap.lock().unwrap() = Some(Box::new(hook));
    }
}

impl keycard_lifecycle::FamilyStore for HookedFamilies {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: keycard_lifecycle::Family,
        now: OffsetDateTime,
    ) -> keycard_lifecycle::StoreFuture<'a, ()> {
        self.inner.insert(id, family, now)
    }
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> keycard_lifecycle::StoreFuture<'a, Option<keycard_lifecycle::Family>> {
        let hook = self.on_get.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        self.inner.get(id)
    }
    fn compare_and_set<'a>(
        &'a self,
        id: &'a str,
        expected: &'a keycard_lifecycle::Family,
        new: keycard_lifecycle::Family,
        now: OffsetDateTime,
    ) -> keycard_lifecycle::StoreFuture<'a, bool> {
        let swapped = wait(self.inner.compare_and_set(id, expected, new, now));
        if self.lose_next_swap_answer.swap(false, Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(keycard::Error::store(
                std::io::Error::other("connection lost before the answer"),
            ))));
        }
        let hook = self.after_swap.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        Box::pin(std::future::ready(swapped))
    }
    fn remove<'a>(&'a self, id: &'a str) -> keycard_lifecycle::StoreFuture<'a, ()> {
        self.inner.remove(id)
    }
}

/// A memory revocation store that can refuse session revocations (a store that cannot record
/// them), and hold the next subject cutoff until the test releases it.
#[derive(Default)]
pub(crate) struct HookedRevocations {
    pub(crate) inner: keycard_lifecycle::MemoryRevocationStore,
    pub(crate) refuse_sessions: std::sync::atomic::AtomicBool,
    /// How many of the next `fetch_subject_cutoff` reads fail with a store error.
    pub(crate) fail_cutoff_reads: std::sync::atomic::AtomicUsize,
    hold_subject: std::sync::Mutex<Option<Hook>>,
}

impl std::fmt::Debug for HookedRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookedRevocations")
    }
}

impl HookedRevocations {
    /// Runs `hook` (which may block) before the next subject cutoff is written.
    pub(crate) fn before_next_cutoff(&self, hook: impl FnOnce() + Send + 'static) {
        *self.hold_subject.lock().unwrap() = Some(Box::new(hook));
    }
}

impl keycard::RevocationList for HookedRevocations {
    fn is_token_revoked(&self, jti: &str) -> Result<bool, keycard::Error> {
        self.inner.is_token_revoked(jti)
    }
    fn is_session_revoked(&self, sid: &str) -> Result<bool, keycard::Error> {
        self.inner.is_session_revoked(sid)
    }
    fn subject_cutoff(&self, sub: &str) -> Result<Option<OffsetDateTime>, keycard::Error> {
        self.inner.subject_cutoff(sub)
    }
}

impl keycard_lifecycle::RevocationStore for HookedRevocations {
    fn revoke_token<'a>(
        &'a self,
        jti: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> keycard_lifecycle::StoreFuture<'a, ()> {
        self.inner.revoke_token(jti, until, now)
    }
    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> keycard_lifecycle::StoreFuture<'a, ()> {
        if self.refuse_sessions.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(keycard::Error::store(
                std::io::Error::other("revocation store full"),
            ))));
        }
        self.inner.revoke_session(sid, until, now)
    }
    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        cutoff: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> keycard_lifecycle::StoreFuture<'a, ()> {
        let hook = self.hold_subject.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        self.inner.revoke_subject(subject, cutoff, until, now)
    }
    fn fetch_subject_cutoff<'a>(
        &'a self,
        subject: &'a str,
    ) -> keycard_lifecycle::StoreFuture<'a, Option<OffsetDateTime>> {
        let failing = self
            .fail_cutoff_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Box::pin(std::future::ready(Err(keycard::Error::store(
                std::io::Error::other("cutoff read failed"),
            ))));
        }
        self.inner.fetch_subject_cutoff(subject)
    }
}
