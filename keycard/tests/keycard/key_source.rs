//! A validator over a `KeySource`: it follows the source's generations, refuses to verify with
//! keys the source calls stale (a backend error, not a bad token), and keeps the source the only
//! one that replaces its keys.

use std::error::Error as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keycard::time::Duration;
use keycard::{
    Algorithm, Builder, Claims, Error, ErrorCategory, ErrorKind, HmacKey, KeySet, KeySource,
    Validator,
};

/// A source whose set, generation and staleness the test sets by hand; counts `keys()` calls.
#[derive(Debug)]
struct Manual {
    generation: AtomicU64,
    stale: AtomicBool,
    keys: Mutex<Arc<KeySet>>,
    reads: AtomicU64,
}

impl Manual {
    fn new(key: &HmacKey) -> Arc<Self> {
        Arc::new(Manual {
            generation: AtomicU64::new(1),
            stale: AtomicBool::new(false),
            keys: Mutex::new(Arc::new(KeySet::from_iter([key.clone()]))),
            reads: AtomicU64::new(0),
        })
    }

    fn publish(&self, key: &HmacKey) {
        *self.keys.lock().unwrap() = Arc::new(KeySet::from_iter([key.clone()]));
        self.generation.fetch_add(1, Ordering::Release);
    }
}

impl KeySource for Manual {
    fn generation(&self) -> Result<u64, Error> {
        if self.stale.load(Ordering::Acquire) {
            return Err(Error::key_source(std::io::Error::other(
                "keys older than their max-age and the provider unreachable",
            )));
        }
        Ok(self.generation.load(Ordering::Acquire))
    }

    fn keys(&self) -> Arc<KeySet> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Arc::clone(&self.keys.lock().unwrap())
    }
}

fn key(kid: &str) -> HmacKey {
    HmacKey::new(Algorithm::HS256, format!("{kid:-<32}").as_bytes())
        .unwrap()
        .with_key_id(kid)
}

fn token(key: &HmacKey) -> String {
    Builder::new()
        .expires_in(Duration::minutes(5))
        .sign(key)
        .unwrap()
}

#[test]
fn a_new_generation_is_used_by_the_next_verification() {
    let (old, new) = (key("old"), key("new"));
    let source = Manual::new(&old);
    let validator = Validator::builder_with_source(source.clone())
        .build()
        .unwrap();
    validator.verify::<Claims>(&token(&old)).unwrap();
    let err = validator.verify::<Claims>(&token(&new)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);

    source.publish(&new);
    validator.verify::<Claims>(&token(&new)).unwrap();
    let err = validator.verify::<Claims>(&token(&old)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
}

#[test]
fn the_set_is_read_again_only_when_the_generation_changes() {
    let k = key("k");
    let source = Manual::new(&k);
    let validator = Validator::builder_with_source(source.clone())
        .build()
        .unwrap();
    let t = token(&k);
    validator.verify::<Claims>(&t).unwrap();
    let after_first = source.reads.load(Ordering::Relaxed);
    for _ in 0..100 {
        validator.verify::<Claims>(&t).unwrap();
    }
    assert_eq!(source.reads.load(Ordering::Relaxed), after_first);
    source.publish(&k);
    validator.verify::<Claims>(&t).unwrap();
    assert_eq!(source.reads.load(Ordering::Relaxed), after_first + 1);
}

#[test]
fn stale_keys_are_a_backend_error_not_a_bad_token() {
    let k = key("k");
    let source = Manual::new(&k);
    let validator = Validator::builder_with_source(source.clone())
        .build()
        .unwrap();
    source.stale.store(true, Ordering::Release);
    let err = validator.verify::<Claims>(&token(&k)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeySource);
    assert_eq!(err.category(), ErrorCategory::Backend);
    assert!(err.to_string().starts_with("key source failed: "), "{err}");
    source.stale.store(false, Ordering::Release);
    validator.verify::<Claims>(&token(&k)).unwrap();
}

#[test]
fn only_the_source_replaces_its_keys() {
    let k = key("k");
    let validator = Validator::builder_with_source(Manual::new(&k))
        .build()
        .unwrap();
    let err = validator.replace_keys(KeySet::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    validator.verify::<Claims>(&token(&k)).unwrap();
    assert!(validator.key_source().is_some());
    assert!(Validator::builder(k.clone())
        .build()
        .unwrap()
        .key_source()
        .is_none());

    let err = Validator::builder_with_source(Manual::new(&k))
        .key(key("extra"))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn a_source_with_no_keys_is_refused_when_built() {
    let source = Arc::new(Manual {
        generation: AtomicU64::new(0),
        stale: AtomicBool::new(false),
        keys: Mutex::new(Arc::new(KeySet::new())),
        reads: AtomicU64::new(0),
    });
    let err = Validator::builder_with_source(source).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn an_unknown_kid_during_an_outage_carries_the_outage_as_its_source() {
    let outage = Error::key_source(std::io::Error::other("connection refused"));
    let err = Error::unknown_key_id("k2\u{1b}[31m").with_key_source_failure(outage);
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    assert_eq!(err.category(), ErrorCategory::Token);
    let cause = err.key_source_failure().unwrap();
    assert_eq!(cause.kind(), ErrorKind::KeySource);
    // The same failure is the error's `source()`, for error reporters that walk the chain.
    assert_eq!(err.source().unwrap().to_string(), cause.to_string());
    let text = err.to_string();
    assert!(text.contains("could not fetch a newer set"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    // Any other error is left as it is.
    let other = Error::random_failure().with_key_source_failure(Error::random_failure());
    assert!(other.key_source_failure().is_none());
    assert!(Error::unknown_key_id("k").source().is_none());
}

#[test]
fn the_default_refetch_is_ready_at_once() {
    let source = Manual::new(&key("k"));
    let mut future = source.refetch();
    let waker = std::task::Waker::noop();
    let poll = future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker));
    assert!(matches!(poll, std::task::Poll::Ready(Ok(()))));
}
