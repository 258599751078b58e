//! Revocation checked by the Validator: a `jti` or `sid` on the list, a subject's cutoff against
//! `iat`; stores that fail refuse the token (fail closed); entries leave once useless.

use crate::common;

use std::sync::Arc;

use common::{key, wait, ManualClock};
use keycard::time::{Duration, OffsetDateTime};
use keycard::{Builder, Claims, Error, ErrorKind, RevocationList, RevokedBy, Validator};
use keycard_lifecycle::{MemoryRevocationStore, RevocationStore, StoreFuture};

fn setup() -> (ManualClock, Arc<MemoryRevocationStore>, Validator) {
    let clock = ManualClock::new();
    let store = Arc::new(MemoryRevocationStore::new());
    let validator = Validator::builder(key())
        .revocations(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    (clock, store, validator)
}

fn token(clock: &ManualClock, claims: serde_json::Value) -> String {
    Builder::new()
        .claims(&claims)
        .expires_in(Duration::minutes(15))
        .clock(clock.clone())
        .sign(&key())
        .unwrap()
}

/// An HS256 token with exactly these claims, whatever their types.
fn signed(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let signature = keycard::Signer::sign(&key(), input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

fn now(clock: &ManualClock) -> OffsetDateTime {
    keycard::Clock::now(clock)
}

#[test]
fn a_revoked_jti_is_refused_and_others_pass() {
    let (clock, store, validator) = setup();
    let revoked = token(&clock, serde_json::json!({ "jti": "a" }));
    let other = token(&clock, serde_json::json!({ "jti": "b" }));
    let t = now(&clock);
    wait(store.revoke_token("a", t + Duration::minutes(15), t)).unwrap();
    let err = validator.verify::<Claims>(&revoked).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    assert_eq!(err.kind().as_str(), "revoked");
    assert!(
        matches!(&err, Error::Revoked { by: RevokedBy::TokenId, value, cutoff: None } if value == "a")
    );
    assert_eq!(
        err.to_string(),
        "token revoked: jti `a` is on the revocation list"
    );
    validator.verify::<Claims>(&other).unwrap();
}

#[test]
fn a_revoked_session_refuses_every_token_carrying_its_sid() {
    let (clock, store, validator) = setup();
    let one = token(&clock, serde_json::json!({ "sid": "s1", "jti": "1" }));
    let two = token(&clock, serde_json::json!({ "sid": "s1", "jti": "2" }));
    let t = now(&clock);
    wait(store.revoke_session("s1", t + Duration::hours(1), t)).unwrap();
    for token in [one, two] {
        let err = validator.verify::<Claims>(&token).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Revoked {
                    by: RevokedBy::Session,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn a_subject_cutoff_refuses_tokens_issued_up_to_it_and_no_later() {
    let (clock, store, validator) = setup();
    let before = token(&clock, serde_json::json!({ "sub": "alice" }));
    let bob = token(&clock, serde_json::json!({ "sub": "bob" }));
    clock.advance(Duration::seconds(10));
    let at_cutoff = token(&clock, serde_json::json!({ "sub": "alice" }));
    let t = now(&clock);
    wait(store.revoke_subject("alice", t, t + Duration::hours(1), t)).unwrap();
    clock.advance(Duration::seconds(1));
    let after = token(&clock, serde_json::json!({ "sub": "alice" }));

    for token in [&before, &at_cutoff] {
        let err = validator.verify::<Claims>(token).unwrap_err();
        assert!(
            matches!(err, Error::Revoked { by: RevokedBy::Subject, cutoff: Some(c), .. } if c == t),
            "{err}"
        );
        assert!(
            err.to_string().starts_with(
                "token revoked: every token of subject `alice` issued at or before 2026-"
            ),
            "{err}"
        );
    }
    validator.verify::<Claims>(&after).unwrap();
    validator.verify::<Claims>(&bob).unwrap();
}

#[test]
fn a_token_without_iat_cannot_prove_it_came_after_a_cutoff() {
    let (clock, store, validator) = setup();
    let no_iat = Builder::new()
        .subject("alice")
        .without_issued_at()
        .expires_in(Duration::minutes(15))
        .clock(clock.clone())
        .sign(&key())
        .unwrap();
    validator.verify::<Claims>(&no_iat).unwrap();
    let t = now(&clock) - Duration::days(365);
    wait(store.revoke_subject("alice", t, now(&clock) + Duration::hours(1), now(&clock))).unwrap();
    assert_eq!(
        validator.verify::<Claims>(&no_iat).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

#[test]
fn an_earlier_cutoff_never_undoes_a_later_one() {
    let (clock, store, validator) = setup();
    let t = now(&clock);
    let tok = token(&clock, serde_json::json!({ "sub": "alice" }));
    wait(store.revoke_subject("alice", t, t + Duration::hours(1), t)).unwrap();
    wait(store.revoke_subject("alice", t - Duration::hours(1), t + Duration::hours(1), t)).unwrap();
    assert_eq!(store.subject_cutoff("alice").unwrap(), Some(t));
    assert_eq!(
        validator.verify::<Claims>(&tok).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

#[test]
fn revocation_is_checked_only_after_the_signature_and_the_other_claims() {
    let (clock, store, validator) = setup();
    let t = now(&clock);
    wait(store.revoke_token("a", t + Duration::hours(1), t)).unwrap();
    let tok = token(&clock, serde_json::json!({ "jti": "a" }));
    let forged = format!("{}AAAA", &tok[..tok.len() - 4]);
    assert_eq!(
        validator.verify::<Claims>(&forged).unwrap_err().kind(),
        ErrorKind::Signature
    );
    clock.advance(Duration::minutes(15));
    assert_eq!(
        validator.verify::<Claims>(&tok).unwrap_err().kind(),
        ErrorKind::Expired
    );
}

#[test]
fn lifecycle_claims_of_the_wrong_type_are_malformed_for_every_validator() {
    let (clock, _, validator) = setup();
    let plain = Validator::builder(key())
        .clock(clock.clone())
        .build()
        .unwrap();
    for (name, value) in [
        ("sid", serde_json::json!(5)),
        ("scope", serde_json::json!(["read"])),
        ("scp", serde_json::json!(5)),
        ("scp", serde_json::json!(["read", 5])),
        ("azp", serde_json::json!(null)),
        ("auth_time", serde_json::json!("1700000000")),
    ] {
        // Builder refuses these itself, so the token is assembled by hand.
        let tok = signed(&serde_json::json!({ name: value, "exp": 4_000_000_000_i64 }));
        for v in [&validator, &plain] {
            let err = v.verify::<Claims>(&tok).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Malformed, "{name}: {value}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

/// A store that is down.
#[derive(Debug)]
struct Down;

fn timed_out<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Err(Error::store(
        std::io::Error::other("timed out"),
    ))))
}

impl RevocationStore for Down {
    fn revoke_token<'a>(
        &'a self,
        _: &'a str,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        timed_out()
    }
    fn revoke_session<'a>(
        &'a self,
        _: &'a str,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        timed_out()
    }
    fn revoke_subject<'a>(
        &'a self,
        _: &'a str,
        _: OffsetDateTime,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        timed_out()
    }
    fn fetch_subject_cutoff<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<OffsetDateTime>> {
        timed_out()
    }
}

impl RevocationList for Down {
    fn is_token_revoked(&self, _: &str) -> Result<bool, Error> {
        Err(Error::store(std::io::Error::other("timed out")))
    }
    fn is_session_revoked(&self, _: &str) -> Result<bool, Error> {
        Err(Error::store(std::io::Error::other("timed out")))
    }
    fn subject_cutoff(&self, _: &str) -> Result<Option<OffsetDateTime>, Error> {
        Err(Error::store(std::io::Error::other("timed out")))
    }
}

#[test]
fn a_failing_store_refuses_the_token() {
    let clock = ManualClock::new();
    let validator = Validator::builder(key())
        .revocations(Arc::new(Down))
        .clock(clock.clone())
        .build()
        .unwrap();
    let tok = token(&clock, serde_json::json!({ "jti": "a" }));
    let err = validator.verify::<Claims>(&tok).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert_eq!(err.to_string(), "store failed: timed out");
    // A token with nothing to look up needs no store.
    let bare = token(&clock, serde_json::json!({}));
    validator.verify::<Claims>(&bare).unwrap();
}

#[test]
fn entries_are_pruned_after_their_time_and_a_full_store_refuses() {
    let store = MemoryRevocationStore::with_capacity(2);
    let t = OffsetDateTime::UNIX_EPOCH;
    wait(store.revoke_token("a", t + Duration::seconds(10), t)).unwrap();
    wait(store.revoke_token("b", t + Duration::seconds(20), t)).unwrap();
    let err = wait(store.revoke_token("c", t + Duration::seconds(30), t)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(err.to_string().contains("full"), "{err}");
    // Still refused: the live entries are kept, never dropped to make room.
    assert!(store.is_token_revoked("a").unwrap() && store.is_token_revoked("b").unwrap());
    // Once `a` is past its time there is room.
    wait(store.revoke_token("c", t + Duration::seconds(30), t + Duration::seconds(15))).unwrap();
    assert!(!store.is_token_revoked("a").unwrap());
    assert_eq!(store.len(), 2);
}
