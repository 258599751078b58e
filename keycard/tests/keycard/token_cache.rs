//! The verified-token cache (`ValidatorBuilder::cache_verified`): a hit skips the signature and
//! nothing else. Whether a verification was a hit is seen from outside through a verifier that
//! counts its calls: a hit does not call it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use keycard::time::{Duration, OffsetDateTime};
use keycard::{
    Algorithm, Builder, Claims, Clock, Error, ErrorKind, HmacKey, KeySet, KeySource,
    RevocationList, Validator, Verifier,
};

const T0: i64 = 1_700_000_000;

/// A clock the test moves.
#[derive(Debug, Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    fn at(secs: i64) -> Self {
        TestClock(Arc::new(Mutex::new(
            OffsetDateTime::from_unix_timestamp(secs).unwrap(),
        )))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// An HMAC key that counts the signatures it checks.
#[derive(Debug, Clone)]
struct Counting {
    key: HmacKey,
    calls: Arc<AtomicUsize>,
}

impl Counting {
    fn new(key: &HmacKey) -> Self {
        Counting {
            key: key.clone(),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Verifier for Counting {
    fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        Verifier::key_id(&self.key)
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.key.verify(message, signature)
    }
}

fn key(kid: &str) -> HmacKey {
    HmacKey::new(Algorithm::HS256, format!("{kid:-<32}").as_bytes())
        .unwrap()
        .with_key_id(kid)
}

/// A token valid from T0 for 10 minutes.
fn token(key: &HmacKey, jti: &str) -> String {
    Builder::new()
        .clock(TestClock::at(T0))
        .subject("user-42")
        .jwt_id(jti)
        .claim("scope", "read write")
        .expires_in(Duration::minutes(10))
        .sign(key)
        .unwrap()
}

fn cached(verifier: &Counting, clock: &TestClock) -> keycard::ValidatorBuilder {
    Validator::builder(verifier.clone())
        .clock(clock.clone())
        .cache_verified(100, Duration::minutes(5))
}

#[test]
fn a_second_verify_of_the_same_token_is_a_hit_with_the_same_claims() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock).build().unwrap();
    let token = token(&key, "a");
    let first: Claims = validator.verify(&token).unwrap();
    assert_eq!(counting.calls(), 1);
    let second: Claims = validator.verify(&token).unwrap();
    assert_eq!(counting.calls(), 1, "the second verify is a hit");
    assert_eq!(first, second);
    // verify_borrowed hits the same entry, and a clone shares the cache.
    #[derive(serde::Deserialize)]
    struct Borrowed<'a> {
        sub: &'a str,
    }
    let mut buffer = Vec::new();
    let borrowed: Borrowed<'_> = validator
        .clone()
        .verify_borrowed(&token, &mut buffer)
        .unwrap();
    assert_eq!((borrowed.sub, counting.calls()), ("user-42", 1));
}

#[test]
fn a_hit_still_refuses_an_expired_token() {
    // Verified and kept 6 minutes after T0; the token expires at T0 + 10 minutes.
    let (key, clock) = (key("k1"), TestClock::at(T0 + 6 * 60));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock).build().unwrap();
    let token = token(&key, "a");
    validator.verify::<Claims>(&token).unwrap();
    clock.advance(Duration::minutes(3));
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 1, "a hit");
    // 4.5 minutes after it was kept (the cache keeps entries 5), 30 s after `exp`.
    clock.advance(Duration::seconds(90));
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    assert_eq!(
        counting.calls(),
        1,
        "refused by the hit, not by a new verify"
    );
    // A clock that goes back ends the entry: verified again, and `iat` is in its future.
    clock.advance(Duration::minutes(-20));
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetValid);
    assert_eq!(counting.calls(), 2);
}

/// A revocation list the test fills.
#[derive(Debug, Default)]
struct Revoked(Mutex<HashSet<String>>);

impl RevocationList for Revoked {
    fn is_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        Ok(self.0.lock().unwrap().contains(jti))
    }
    fn is_session_revoked(&self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn subject_cutoff(&self, _: &str) -> Result<Option<OffsetDateTime>, Error> {
        Ok(None)
    }
}

#[test]
fn a_hit_still_refuses_a_revoked_token() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let revoked = Arc::new(Revoked::default());
    let validator = cached(&counting, &clock)
        .revocations(revoked.clone())
        .build()
        .unwrap();
    let (a, b) = (token(&key, "a"), token(&key, "b"));
    validator.verify::<Claims>(&a).unwrap();
    validator.verify::<Claims>(&b).unwrap();
    revoked.0.lock().unwrap().insert("a".to_owned());
    let calls = counting.calls();
    let err = validator.verify::<Claims>(&a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    validator.verify::<Claims>(&b).unwrap();
    assert_eq!(counting.calls(), calls, "both were hits");
}

#[test]
fn a_hit_still_checks_scopes_and_reads_the_claims_into_the_callers_type() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock)
        .require_scope("write")
        .build()
        .unwrap();
    let token = token(&key, "a");
    validator.verify::<Claims>(&token).unwrap();
    let calls = counting.calls();
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Needs {
        tenant: u32,
    }
    let err = validator.verify::<Needs>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(counting.calls(), calls);
    // A token that lacks the scope is refused every time, and never kept.
    let reader = Builder::new()
        .clock(TestClock::at(T0))
        .claim("scope", "read")
        .expires_in(Duration::minutes(10))
        .sign(&key)
        .unwrap();
    for _ in 0..3 {
        let err = validator.verify::<Claims>(&reader).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsufficientScope);
    }
    assert_eq!(counting.calls(), calls + 3);
}

#[test]
fn a_refused_token_is_never_kept() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 20 * 60));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock).build().unwrap();
    let token = token(&key, "a");
    // Expired when first seen: verified (signature checked) and refused...
    assert_eq!(
        validator.verify::<Claims>(&token).unwrap_err().kind(),
        ErrorKind::Expired
    );
    // ...and not kept: valid again for a clock moved back, it is verified anew.
    clock.advance(Duration::minutes(-19));
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 2);
    // A bad signature is refused every time.
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    for _ in 0..3 {
        assert_eq!(
            validator.verify::<Claims>(&forged).unwrap_err().kind(),
            ErrorKind::Signature
        );
    }
    assert_eq!(counting.calls(), 5);
}

#[test]
fn a_forged_token_sharing_a_prefix_with_a_cached_one_is_refused() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock).build().unwrap();
    let token = token(&key, "a");
    validator.verify::<Claims>(&token).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let other = Builder::new()
        .clock(TestClock::at(T0))
        .subject("admin")
        .expires_in(Duration::minutes(10))
        .sign(
            &HmacKey::new(Algorithm::HS256, &[9; 32])
                .unwrap()
                .with_key_id("k1"),
        )
        .unwrap();
    let forgeries = [
        format!("{}AAAA", &token[..token.len() - 4]),
        format!("{token}A"),
        token[..token.len() - 1].to_owned(),
        format!("{input}."),
        format!("{input}.{signature}.{signature}"),
        // The cached token's signature on another payload.
        format!("{}.{signature}", other.rsplit_once('.').unwrap().0),
    ];
    for forged in &forgeries {
        assert!(validator.verify::<Claims>(forged).is_err(), "{forged}");
        // The cached token itself still passes, as a hit.
        let calls = counting.calls();
        validator.verify::<Claims>(&token).unwrap();
        assert_eq!(counting.calls(), calls);
    }
}

#[test]
fn a_token_whose_key_left_the_set_is_refused_after_a_hit() {
    let (old, new, clock) = (key("old"), key("new"), TestClock::at(T0 + 1));
    let counting = Counting::new(&old);
    let validator = cached(&counting, &clock).key(new.clone()).build().unwrap();
    let token = token(&old, "a");
    validator.verify::<Claims>(&token).unwrap();
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 1);
    validator.replace_keys(KeySet::from_iter([new])).unwrap();
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
    // The same key put back: verified again (the entry belonged to the old set), then kept.
    validator
        .replace_keys(KeySet::from_iter([counting.clone()]))
        .unwrap();
    validator.verify::<Claims>(&token).unwrap();
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 2);
}

/// A key source whose generation and staleness the test sets.
#[derive(Debug)]
struct Source {
    generation: AtomicU64,
    stale: std::sync::atomic::AtomicBool,
    keys: Mutex<Arc<KeySet>>,
}

impl KeySource for Source {
    fn generation(&self) -> Result<u64, Error> {
        if self.stale.load(Ordering::SeqCst) {
            return Err(Error::key_source(std::io::Error::other("stale keys")));
        }
        Ok(self.generation.load(Ordering::SeqCst))
    }
    fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.lock().unwrap())
    }
}

#[test]
fn a_key_sources_new_generation_or_stale_keys_end_every_hit() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let source = Arc::new(Source {
        generation: AtomicU64::new(7),
        stale: false.into(),
        keys: Mutex::new(Arc::new(KeySet::from_iter([counting.clone()]))),
    });
    let validator = Validator::builder_with_source(source.clone())
        .clock(clock.clone())
        .cache_verified(10, Duration::minutes(5))
        .build()
        .unwrap();
    let token = token(&key, "a");
    validator.verify::<Claims>(&token).unwrap();
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 1);
    source.stale.store(true, Ordering::SeqCst);
    let err = validator.verify::<Claims>(&token).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::KeySource,
        "a cached token is no exception"
    );
    source.stale.store(false, Ordering::SeqCst);
    source.generation.store(8, Ordering::SeqCst);
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(
        counting.calls(),
        2,
        "verified again under the new generation"
    );
}

#[test]
fn entries_end_after_the_max_age() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let validator = cached(&counting, &clock).build().unwrap();
    let token = token(&key, "a");
    validator.verify::<Claims>(&token).unwrap();
    clock.advance(Duration::minutes(5) - Duration::SECOND);
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 1);
    clock.advance(Duration::SECOND);
    validator.verify::<Claims>(&token).unwrap();
    assert_eq!(counting.calls(), 2, "5 minutes old: verified again");
}

/// A revocation list that refuses every token while `on`: verifying then shows whether a token
/// is cached (the key is not asked) without changing the cache (a refused token is not kept).
#[derive(Debug, Default)]
struct Probe {
    on: std::sync::atomic::AtomicBool,
}

impl RevocationList for Probe {
    fn is_token_revoked(&self, _: &str) -> Result<bool, Error> {
        Ok(self.on.load(Ordering::SeqCst))
    }
    fn is_session_revoked(&self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn subject_cutoff(&self, _: &str) -> Result<Option<OffsetDateTime>, Error> {
        Ok(None)
    }
}

/// How many of `tokens` the cache of `validator` (built with `probe`) holds.
fn held(validator: &Validator, probe: &Probe, counting: &Counting, tokens: &[String]) -> usize {
    probe.on.store(true, Ordering::SeqCst);
    let before = counting.calls();
    for token in tokens {
        let err = validator.verify::<Claims>(token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
    }
    probe.on.store(false, Ordering::SeqCst);
    tokens.len() - (counting.calls() - before)
}

#[test]
fn the_cache_holds_its_bounds_on_entries_bytes_and_token_length() {
    let (key, clock) = (key("k1"), TestClock::at(T0 + 1));
    let counting = Counting::new(&key);
    let probe = Arc::new(Probe::default());
    let tokens: Vec<String> = (0..200).map(|i| token(&key, &format!("t{i}"))).collect();
    let build = |builder: keycard::ValidatorBuilder| {
        let validator = builder
            .clock(clock.clone())
            .revocations(probe.clone())
            .build()
            .unwrap();
        for token in &tokens {
            validator.verify::<Claims>(token).unwrap();
        }
        validator
    };

    let roomy = build(cached(&counting, &clock).cache_verified(1000, Duration::minutes(5)));
    assert_eq!(held(&roomy, &probe, &counting, &tokens), 200);

    // Entries.
    let few = build(Validator::builder(counting.clone()).cache_verified(8, Duration::minutes(5)));
    let kept = held(&few, &probe, &counting, &tokens);
    assert!((1..=8).contains(&kept), "{kept}");
    assert!(format!("{few:?}").contains("max_entries: 8"));

    // Bytes: room for about three of these tokens and their claims.
    let len = tokens[0].len();
    let small = build(
        Validator::builder(counting.clone())
            .cache_verified(100, Duration::minutes(5))
            .cache_max_bytes(3 * (2 * len + 100)),
    );
    let kept = held(&small, &probe, &counting, &tokens);
    assert!((1..=3).contains(&kept), "{kept}");

    // Length: a token longer than the bound is never kept.
    let short = build(
        Validator::builder(counting.clone())
            .cache_verified(100, Duration::minutes(5))
            .cache_max_token_len(len - 1),
    );
    assert_eq!(held(&short, &probe, &counting, &tokens), 0);
    let debug = format!("{short:?}");
    assert!(debug.contains("entries: 0"), "{debug}");
    assert!(
        !debug.contains(&tokens[0][..20]),
        "no token in Debug: {debug}"
    );
}

#[test]
fn cache_settings_that_cannot_work_are_refused_when_built() {
    let key = key("k1");
    for builder in [
        Validator::builder(key.clone()).cache_verified(0, Duration::minutes(1)),
        Validator::builder(key.clone()).cache_verified(10, Duration::ZERO),
        Validator::builder(key.clone()).cache_max_bytes(1 << 20),
        Validator::builder(key.clone())
            .cache_verified(10, Duration::minutes(1))
            .cache_max_token_len(0),
        Validator::builder(key.clone())
            .cache_verified(10, Duration::minutes(1))
            .cache_max_bytes(1),
    ] {
        assert_eq!(
            builder.build().unwrap_err().kind(),
            ErrorKind::Configuration
        );
    }
}

#[test]
fn threads_sharing_a_cached_validator_see_a_rotation_at_once() {
    const THREADS: usize = 4;
    let (old, new, clock) = (key("old"), key("new"), TestClock::at(T0 + 1));
    let counting = Counting::new(&old);
    let validator = Validator::builder(counting.clone())
        .key(new.clone())
        .clock(clock.clone())
        .cache_verified(1000, Duration::minutes(5))
        .build()
        .unwrap();
    let old_tokens: Vec<String> = (0..50).map(|i| token(&old, &format!("o{i}"))).collect();
    let new_tokens: Vec<String> = (0..50).map(|i| token(&new, &format!("n{i}"))).collect();
    let (before, after) = (Barrier::new(THREADS + 1), Barrier::new(THREADS + 1));
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (validator, old_tokens, new_tokens) = (&validator, &old_tokens, &new_tokens);
            let (before, after) = (&before, &after);
            scope.spawn(move || {
                // Every thread verifies every token several times, from its own offset, so
                // that threads insert and hit the same entries at the same time.
                for round in 0..5 {
                    for i in 0..old_tokens.len() {
                        let i = (i + t * 7 + round) % old_tokens.len();
                        let claims: Claims = validator.verify(&old_tokens[i]).unwrap();
                        assert_eq!(claims.jwt_id.as_deref(), Some(&*format!("o{i}")));
                        validator.verify::<Claims>(&new_tokens[i]).unwrap();
                    }
                }
                before.wait();
                after.wait();
                // After the rotation, on every thread: the old key's tokens are refused, hits
                // or not, and the new key's still pass.
                for (old, new) in old_tokens.iter().zip(new_tokens) {
                    let err = validator.verify::<Claims>(old).unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
                    validator.verify::<Claims>(new).unwrap();
                }
            });
        }
        before.wait();
        validator
            .replace_keys(KeySet::from_iter([new.clone()]))
            .unwrap();
        after.wait();
    });
    // Each old token was verified by the key at least once and at most once per thread; all
    // the other verifications were hits.
    let calls = counting.calls();
    assert!(
        (old_tokens.len()..=old_tokens.len() * THREADS).contains(&calls),
        "{calls}"
    );
}
