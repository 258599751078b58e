//! The `tracing` events a fetch, a failure, a cooldown and a skipped key emit.

use std::cell::RefCell;
use std::fmt::{Debug, Write};
use std::sync::Once;

use keycard::{Claims, ErrorKind};
use serde_json::{json, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use keycard_test::JwksReply;

use crate::{es256, jwks, remote, start, token, validator, verify_or_refetch};

thread_local! {
    /// The events recorded on this thread, while a [`Recording`] is alive.
    static EVENTS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// The process-wide subscriber: records the events of threads that asked for it, and decides
/// per event (`Interest::sometimes`), so that no callsite's interest is cached as "never" by a
/// test running in parallel. Installed by [`install`] before any test makes a request.
struct Recorder;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Recorder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        EVENTS.with(|events| events.borrow().is_some())
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(format!(
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut fields);
        EVENTS.with(|events| {
            if let Some(events) = events.borrow_mut().as_mut() {
                events.push(fields.0);
            }
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the recorder as the global subscriber, once per test process (`crate::start` calls
/// it before starting a provider).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Recorder);
    });
}

/// Records this thread's events until dropped.
struct Recording;

impl Recording {
    fn start() -> Self {
        install();
        EVENTS.with(|events| *events.borrow_mut() = Some(Vec::new()));
        Recording
    }

    fn find(&self, needles: &[&str]) -> String {
        EVENTS.with(|events| {
            let events = events.borrow();
            let events = events.as_deref().unwrap_or_default();
            events
                .iter()
                .find(|e| needles.iter().all(|n| e.contains(n)))
                .cloned()
                .unwrap_or_else(|| panic!("no event with {needles:?} in {events:#?}"))
        })
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        EVENTS.with(|events| *events.borrow_mut() = None);
    }
}

#[tokio::test]
async fn fetches_failures_cooldowns_and_skipped_keys_are_traced() {
    // On this (current-thread) runtime every task runs on the test's thread, so the recording
    // sees the events of the spawned refetch too.
    let recorder = Recording::start();

    let key = es256("k1");
    let mut document: Value = serde_json::from_str(&jwks(&[&key])).unwrap();
    document["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty":"oct","kid":"secret","k":"AAAA"}));
    let provider = start(document.to_string()).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let validator = validator(&keys);
    recorder.find(&[
        "INFO keycard_jwks",
        "key set fetched",
        "why=\"first fetch\"",
        "keys=1",
    ]);
    recorder.find(&["INFO keycard_jwks", "key skipped", "kid `secret`"]);

    provider.serve(JwksReply::Status(500));
    keys.refresh().await.unwrap_err();
    recorder.find(&["WARN keycard_jwks", "fetch failed", "answered HTTP 500"]);

    let stranger = token(&es256("unknown"), "https://idp.test");
    for _ in 0..2 {
        let err = verify_or_refetch::<Claims>(&validator, &stranger)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
        assert!(
            err.key_source_failure().is_some(),
            "the provider is failing: {err}"
        );
    }
    recorder.find(&["WARN keycard_jwks", "why=\"unknown kid\""]);
    recorder.find(&["DEBUG keycard_jwks", "cooling down"]);
}

/// `default_max_age` below the lower `max_age_bounds` was raised to it silently.
#[tokio::test]
async fn a_clamped_default_max_age_is_logged() {
    let recorder = Recording::start();
    let provider = start(jwks(&[&es256("k1")])).await;
    let keys = remote(provider.jwks_uri())
        .default_max_age(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    recorder.find(&[
        "WARN keycard_jwks",
        "default_max_age is outside max_age_bounds: clamped",
        "configured_secs=5",
        "used_secs=60",
    ]);
    recorder.find(&["key set fetched", "max_age_secs=60"]);
    drop(keys);
}
