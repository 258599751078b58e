//! Helpers shared by the lifecycle tests: a clock the test moves by hand, an issuer wired to it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Algorithm, Clock, HmacKey, TokenIssuer, TokenIssuerBuilder};

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
