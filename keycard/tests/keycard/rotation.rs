//! Live key rotation: one `Validator`, cloned into several threads that verify without pause,
//! has its key set replaced over and over by another thread. No verification may ever see half a
//! set (a key of the new set refused, or a key of neither accepted), a key in every set is never
//! refused, and a key left out of the set is refused by every verification that starts after the
//! replacement returned.
//!
//! Generation `g` publishes the set {permanent, k[g], k[g+1]}: the current key and the next, as
//! an identity provider does when it pre-publishes its next key. Readers note the last published
//! generation before and after each verification; a key that every set in that window contains
//! must verify, a key that none of them contains must be refused as an unknown `kid`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use keycard::time::Duration;
use keycard::{Algorithm, Builder, Claims, ErrorKind, HmacKey, KeySet, Validator};

const GENERATIONS: usize = 400;
const READERS: usize = 3;
/// The test stops early when it has run this long, to stay quick on a loaded machine.
const TIME_LIMIT: StdDuration = StdDuration::from_millis(1500);

struct Fixture {
    permanent: HmacKey,
    /// k[0] ..= k[GENERATIONS + 1].
    keys: Vec<HmacKey>,
    permanent_token: String,
    tokens: Vec<String>,
}

fn fixture() -> Fixture {
    let sign = |key: &HmacKey| {
        Builder::new()
            .subject("rotation")
            .expires_in(Duration::minutes(10))
            .sign(key)
            .unwrap()
    };
    let permanent = HmacKey::generate(Algorithm::HS256)
        .unwrap()
        .with_key_id("permanent");
    let keys: Vec<HmacKey> = (0..GENERATIONS + 2)
        .map(|g| {
            HmacKey::generate(Algorithm::HS256)
                .unwrap()
                .with_key_id(format!("k{g}"))
        })
        .collect();
    Fixture {
        permanent_token: sign(&permanent),
        tokens: keys.iter().map(sign).collect(),
        permanent,
        keys,
    }
}

/// The set of generation `g`.
fn set_of(fixture: &Fixture, g: usize) -> KeySet {
    KeySet::from_iter([
        fixture.permanent.clone(),
        fixture.keys[g].clone(),
        fixture.keys[g + 1].clone(),
    ])
}

/// Whether the set of generation `g` holds key `j`.
fn holds(g: usize, j: usize) -> bool {
    j == g || j == g + 1
}

#[test]
fn replacing_the_key_set_under_concurrent_verification_never_shows_half_a_set() {
    let fixture = Arc::new(fixture());
    let validator = Validator::builder_with_keys(set_of(&fixture, 0))
        .build()
        .unwrap();
    // The generation whose set is in place: stored after `replace_keys` returns.
    let published = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let verified = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));

    let readers: Vec<_> = (0..READERS)
        .map(|reader| {
            let (validator, fixture) = (validator.clone(), Arc::clone(&fixture));
            let (published, done) = (Arc::clone(&published), Arc::clone(&done));
            let (verified, refused) = (Arc::clone(&verified), Arc::clone(&refused));
            thread::spawn(move || {
                let mut step = reader;
                while !done.load(Ordering::SeqCst) {
                    step += 1;
                    // The permanent key is in every set: never refused.
                    let claims: Claims = validator
                        .verify(&fixture.permanent_token)
                        .expect("a key in every set was refused");
                    assert_eq!(claims.subject.as_deref(), Some("rotation"));

                    // A key near the current generation, or one long retired.
                    let before = published.load(Ordering::SeqCst);
                    let j = match step % 5 {
                        4 => step % (before + 1),
                        offset => (before + offset).saturating_sub(1),
                    }
                    .min(GENERATIONS + 1);
                    let result = validator.verify::<Claims>(&fixture.tokens[j]);
                    let after = published.load(Ordering::SeqCst);
                    // The verification used the set of some generation in before..=after+1
                    // (after+1: replaced, not yet published).
                    let window = before..=(after + 1).min(GENERATIONS);
                    let in_all = window.clone().all(|g| holds(g, j));
                    let in_none = !window.clone().any(|g| holds(g, j));
                    match result {
                        Ok(_) => {
                            assert!(!in_none, "k{j} accepted, but no set in {window:?} has it");
                            verified.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(err) => {
                            assert!(
                                !in_all,
                                "k{j} refused ({err}), but every set in {window:?} has it"
                            );
                            // Never a signature error: that would be a key matched by kid but
                            // checked against the wrong material.
                            assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "k{j}: {err}");
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut last = 0;
    for g in 1..=GENERATIONS {
        validator.replace_keys(set_of(&fixture, g)).unwrap();
        published.store(g, Ordering::SeqCst);
        last = g;
        // After the replacement returned, a retired key is refused, here and in every clone.
        let retired = &fixture.tokens[g - 1];
        let err = validator.verify::<Claims>(retired).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
        if started.elapsed() > TIME_LIMIT {
            break;
        }
        thread::yield_now();
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        reader.join().expect("a reader saw an inconsistent key set");
    }

    // Every clone sees the final set.
    let clone = validator.clone();
    clone.verify::<Claims>(&fixture.tokens[last]).unwrap();
    clone.verify::<Claims>(&fixture.tokens[last + 1]).unwrap();
    for j in 0..last {
        let err = clone.verify::<Claims>(&fixture.tokens[j]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "k{j}");
    }
    let (verified, refused) = (
        verified.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    eprintln!(
        "{last} replacements in {:?}; readers verified {verified} and refused {refused} rotating tokens",
        started.elapsed()
    );
    assert!(last >= 10, "the writer made progress");
    assert!(verified > 0 && refused > 0, "both outcomes were exercised");
}

#[test]
fn replace_keys_is_seen_by_every_clone_and_keys_returns_a_snapshot() {
    let fixture = fixture();
    let validator = Validator::builder_with_keys(set_of(&fixture, 0))
        .build()
        .unwrap();
    let clone = validator.clone();
    let snapshot = validator.keys();
    validator.replace_keys(set_of(&fixture, 5)).unwrap();
    assert_eq!(
        clone
            .verify::<Claims>(&fixture.tokens[0])
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownKeyId
    );
    clone.verify::<Claims>(&fixture.tokens[5]).unwrap();
    // The snapshot taken before is unchanged: it still holds k0.
    assert!(snapshot.iter().any(|k| k.key_id() == Some("k0")));
    // Building the next set from the current one.
    let mut next = (*validator.keys()).clone();
    next.insert(fixture.keys[9].clone());
    validator.replace_keys(next).unwrap();
    clone.verify::<Claims>(&fixture.tokens[9]).unwrap();
    clone.verify::<Claims>(&fixture.tokens[6]).unwrap();
}

#[test]
fn an_empty_replacement_fails_closed() {
    let fixture = fixture();
    let validator = Validator::builder_with_keys(set_of(&fixture, 0))
        .build()
        .unwrap();
    validator.replace_keys(KeySet::new()).unwrap();
    let err = validator
        .verify::<Claims>(&fixture.permanent_token)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
}

#[test]
fn validator_key_set_and_jwk_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Validator>();
    shareable::<KeySet>();
    shareable::<keycard::Jwk>();
}
