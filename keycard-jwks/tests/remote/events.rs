//! The `tracing` events a fetch, a failure, a cooldown and a skipped key emit.

use std::fmt::{Debug, Write};
use std::sync::{Arc, Mutex};

use keycard::{Claims, ErrorKind};
use serde_json::{json, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::provider::{Jwks, Provider};
use crate::{es256, jwks, remote, token};

/// Records every event as `LEVEL target field=value ...`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
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
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn find(&self, needles: &[&str]) -> String {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .find(|e| needles.iter().all(|n| e.contains(n)))
            .cloned()
            .unwrap_or_else(|| panic!("no event with {needles:?} in {events:#?}"))
    }
}

#[tokio::test]
async fn fetches_failures_cooldowns_and_skipped_keys_are_traced() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let key = es256("k1");
    let mut document: Value = serde_json::from_str(&jwks(&[&key])).unwrap();
    document["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty":"oct","kid":"secret","k":"AAAA"}));
    let provider = Provider::start(document.to_string()).await;
    let keys = remote(provider.jwks_uri()).await.unwrap();
    let validator = keys.validator().audience("api").build().unwrap();
    recorder.find(&[
        "INFO keycard_jwks",
        "key set fetched",
        "why=\"first fetch\"",
        "keys=1",
    ]);
    recorder.find(&["INFO keycard_jwks", "key skipped", "kid `secret`"]);

    provider.serve(Jwks::Status(500));
    keys.refresh().await.unwrap_err();
    recorder.find(&["WARN keycard_jwks", "fetch failed", "answered HTTP 500"]);

    let stranger = token(&es256("unknown"), "https://idp.test");
    for _ in 0..2 {
        let err = validator
            .verify_or_refetch::<Claims>(&stranger)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    }
    recorder.find(&["WARN keycard_jwks", "why=\"unknown kid\""]);
    recorder.find(&["DEBUG keycard_jwks", "cooling down"]);
}
