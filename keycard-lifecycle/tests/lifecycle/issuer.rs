//! Token pairs: kinds told apart by `typ` and audience, rotation with reuse detection and grace
//! (RFC 9700 §4.14.2), revocation of sessions and subjects, store failures, configuration errors.

use crate::common;

use std::sync::Arc;

use common::{issuer, issuer_builder, key, wait, ManualClock, START};
use keycard::time::Duration;
use keycard::{unverified, Algorithm, Claims, Error, ErrorKind, RevokedBy, Validator};
use keycard_lifecycle::{
    Family, FamilyStore, MemoryFamilyStore, StoreFuture, TokenIssuer, TokenKind, TokenPair,
};
use serde_json::json;

fn claims(token: &str) -> serde_json::Value {
    unverified::decode_claims(token).unwrap()
}

#[tokio::test]
async fn a_pair_has_typed_tokens_sharing_one_session() {
    let clock = ManualClock::new();
    let pair = issuer(&clock).issue("alice", &()).await.unwrap();
    let access = unverified::decode_header(&pair.access_token).unwrap();
    let refresh = unverified::decode_header(&pair.refresh_token).unwrap();
    assert_eq!(access.token_type(), Some("at+jwt"));
    assert_eq!(refresh.token_type(), Some("refresh+jwt"));

    let (a, r) = (claims(&pair.access_token), claims(&pair.refresh_token));
    assert_eq!(a["sid"], r["sid"]);
    assert_ne!(a["jti"], r["jti"]);
    assert_eq!(a["aud"], "api");
    assert_eq!(r["aud"], "https://auth.example.com");
    assert_eq!(a["sub"], "alice");
    // Defaults: 15 minutes and 14 days.
    assert_eq!(a["exp"], START + 15 * 60);
    assert_eq!(r["exp"], START + 14 * 24 * 3600);
    assert_eq!(pair.expires_in, Duration::minutes(15));
}

#[tokio::test]
async fn lifetimes_are_configurable() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .access_lifetime(Duration::minutes(5))
        .refresh_lifetime(Duration::hours(1))
        .build()
        .unwrap();
    let pair = issuer.issue("alice", &()).await.unwrap();
    assert_eq!(claims(&pair.access_token)["exp"], START + 300);
    assert_eq!(claims(&pair.refresh_token)["exp"], START + 3600);
}

#[tokio::test]
async fn neither_kind_passes_for_the_other() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let pair = issuer.issue("alice", &()).await.unwrap();
    let api = issuer.access_validator().build().unwrap();
    let err = api.verify::<Claims>(&pair.refresh_token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenType);
    let err = issuer.refresh(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenType);

    // A validator that only names the audience still refuses a refresh token by its `aud`.
    let by_audience = Validator::builder(key())
        .audience("api")
        .token_type(TokenKind::Refresh)
        .clock(clock.clone())
        .build()
        .unwrap();
    let err = by_audience
        .verify::<Claims>(&pair.refresh_token)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Audience);
    // And a default validator (typ absent or JWT) refuses both.
    let plain = Validator::builder(key())
        .dangerous()
        .allow_any_audience()
        .clock(clock)
        .build()
        .unwrap();
    for token in [&pair.access_token, &pair.refresh_token] {
        assert_eq!(
            plain.verify::<Claims>(token).unwrap_err().kind(),
            ErrorKind::TokenType
        );
    }
}

#[tokio::test]
async fn login_claims_are_carried_through_rotation() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let first = issuer
        .issue("alice", &json!({ "scope": "read write", "tenant": 7 }))
        .await
        .unwrap();
    clock.advance(Duration::minutes(10));
    let second = issuer.refresh(&first.refresh_token).await.unwrap();
    let a = claims(&second.access_token);
    assert_eq!(a["scope"], "read write");
    assert_eq!(a["tenant"], 7);
    assert_eq!(a["iat"], START + 600);
    assert_eq!(a["sid"], claims(&first.access_token)["sid"]);
    // The refresh token's lifetime restarts at each rotation.
    assert_eq!(
        claims(&second.refresh_token)["exp"],
        START + 600 + 14 * 24 * 3600
    );
}

#[tokio::test]
async fn login_may_not_set_the_claims_the_issuer_writes() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    for name in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"] {
        let err = issuer
            .issue("alice", &json!({ name: "x" }))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{name}");
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = issuer
        .issue("alice", &json!(["not", "an object"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = issuer.issue("", &()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn rotation_retires_the_presented_token_and_reuse_revokes_the_session() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let api = issuer.access_validator().build().unwrap();
    let first = issuer.issue("alice", &()).await.unwrap();
    let second = issuer.refresh(&first.refresh_token).await.unwrap();
    let third = issuer.refresh(&second.refresh_token).await.unwrap();
    assert_ne!(second, third);
    api.verify::<Claims>(&third.access_token).unwrap();

    // `first` was used: presenting it again is reuse.
    let err = issuer.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    let sid = claims(&first.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(matches!(&err, Error::RefreshReuse { session } if *session == sid));
    assert!(err.to_string().contains("RFC 9700"), "{err}");

    // The whole session is gone: the latest refresh token and every access token of it.
    let err = issuer.refresh(&third.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    for pair in [&first, &second, &third] {
        let err = api.verify::<Claims>(&pair.access_token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        assert!(matches!(
            err,
            Error::Revoked {
                by: RevokedBy::Session,
                ..
            }
        ));
    }
    // Another session of the same subject is untouched.
    let other = issuer.issue("alice", &()).await.unwrap();
    api.verify::<Claims>(&other.access_token).unwrap();
    issuer.refresh(&other.refresh_token).await.unwrap();
}

#[tokio::test]
async fn within_the_grace_period_a_repeat_returns_the_same_successor() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .grace_period(Duration::seconds(10))
        .build()
        .unwrap();
    let first = issuer.issue("alice", &()).await.unwrap();
    let second = issuer.refresh(&first.refresh_token).await.unwrap();
    clock.advance(Duration::seconds(9));
    assert_eq!(issuer.refresh(&first.refresh_token).await.unwrap(), second);
    assert_eq!(issuer.refresh(&first.refresh_token).await.unwrap(), second);

    // At the end of the grace period the repeat is reuse again.
    clock.advance(Duration::seconds(1));
    let err = issuer.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    assert_eq!(
        issuer
            .refresh(&second.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

#[tokio::test]
async fn grace_covers_only_the_token_just_rotated() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .grace_period(Duration::seconds(10))
        .build()
        .unwrap();
    let first = issuer.issue("alice", &()).await.unwrap();
    let second = issuer.refresh(&first.refresh_token).await.unwrap();
    issuer.refresh(&second.refresh_token).await.unwrap();
    let err = issuer.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused_as_expired() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let pair = issuer.issue("alice", &()).await.unwrap();
    clock.advance(Duration::days(14));
    let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

#[tokio::test]
async fn a_refresh_token_from_another_issuer_is_refused() {
    let clock = ManualClock::new();
    let other = TokenIssuer::builder(key(), key())
        .issuer("https://evil.example.com")
        .audience("api")
        .clock(clock.clone())
        .build()
        .unwrap();
    let pair = other.issue("alice", &()).await.unwrap();
    let err = issuer(&clock)
        .refresh(&pair.refresh_token)
        .await
        .unwrap_err();
    // Its `aud` is the other issuer, checked before `iss`.
    assert_eq!(err.kind(), ErrorKind::Audience);
}

#[tokio::test]
async fn a_forged_refresh_token_is_refused() {
    let clock = ManualClock::new();
    let forger = TokenIssuer::builder(
        keycard::HmacKey::new(Algorithm::HS256, b"another secret, also of 32 bytes").unwrap(),
        key(),
    )
    .issuer("https://auth.example.com")
    .audience("api")
    .clock(clock.clone())
    .build()
    .unwrap();
    let forged = forger.issue("mallory", &()).await.unwrap();
    let err = issuer(&clock)
        .refresh(&forged.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature);
}

#[tokio::test]
async fn a_session_unknown_to_the_store_is_refused_as_revoked() {
    let clock = ManualClock::new();
    let pair = issuer(&clock).issue("alice", &()).await.unwrap();
    // Another issuer with the same key but its own (empty) store: e.g. after a restart.
    let err = issuer(&clock)
        .refresh(&pair.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    assert!(matches!(
        err,
        Error::Revoked {
            by: RevokedBy::Session,
            ..
        }
    ));
}

#[tokio::test]
async fn revoking_an_access_token_refuses_it_and_nothing_else() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let api = issuer.access_validator().build().unwrap();
    let pair = issuer.issue("alice", &()).await.unwrap();
    issuer.revoke(&pair.access_token).await.unwrap();
    let err = api.verify::<Claims>(&pair.access_token).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Revoked {
                by: RevokedBy::TokenId,
                ..
            }
        ),
        "{err}"
    );
    // The session continues: its refresh token still works, and so do new access tokens.
    let next = issuer.refresh(&pair.refresh_token).await.unwrap();
    api.verify::<Claims>(&next.access_token).unwrap();
    // Revoking twice, or revoking an expired token, succeeds.
    issuer.revoke(&pair.access_token).await.unwrap();
    clock.advance(Duration::hours(1));
    issuer.revoke(&next.access_token).await.unwrap();
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let api = issuer.access_validator().build().unwrap();
    let pair = issuer.issue("alice", &()).await.unwrap();
    issuer.revoke(&pair.refresh_token).await.unwrap();
    assert_eq!(
        issuer
            .refresh(&pair.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    assert_eq!(
        api.verify::<Claims>(&pair.access_token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    issuer.revoke(&pair.refresh_token).await.unwrap();
}

#[tokio::test]
async fn revoking_refuses_tokens_the_issuer_did_not_mint() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let err = issuer.revoke("not.a.token").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let foreign = keycard::Builder::new()
        .token_type(TokenKind::Access)
        .issuer("https://auth.example.com")
        .audience("api")
        .jwt_id("x")
        .expires_in(Duration::minutes(5))
        .clock(clock.clone())
        .sign(
            &keycard::HmacKey::new(Algorithm::HS256, b"another secret, also of 32 bytes").unwrap(),
        )
        .unwrap();
    assert_eq!(
        issuer.revoke(&foreign).await.unwrap_err().kind(),
        ErrorKind::Signature
    );
}

#[tokio::test]
async fn signing_out_everywhere_refuses_every_earlier_token_of_the_subject() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let api = issuer.access_validator().build().unwrap();
    let laptop = issuer.issue("alice", &()).await.unwrap();
    let phone = issuer.issue("alice", &()).await.unwrap();
    let bob = issuer.issue("bob", &()).await.unwrap();
    clock.advance(Duration::minutes(1));
    issuer.revoke_subject("alice").await.unwrap();
    for pair in [&laptop, &phone] {
        let err = api.verify::<Claims>(&pair.access_token).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Revoked {
                    by: RevokedBy::Subject,
                    cutoff: Some(_),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            issuer
                .refresh(&pair.refresh_token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Revoked
        );
    }
    api.verify::<Claims>(&bob.access_token).unwrap();

    // Within the same second, a new login is refused too (`iat` has whole seconds)...
    let same_second = issuer.issue("alice", &()).await.unwrap();
    assert_eq!(
        api.verify::<Claims>(&same_second.access_token)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    // ...and a second later signing in works again.
    clock.advance(Duration::seconds(1));
    let again = issuer.issue("alice", &()).await.unwrap();
    api.verify::<Claims>(&again.access_token).unwrap();
    issuer.refresh(&again.refresh_token).await.unwrap();
}

#[test]
fn configuration_mistakes_are_refused_when_building() {
    let clock = ManualClock::new();
    let cases: Vec<(&str, keycard_lifecycle::TokenIssuerBuilder)> = vec![
        ("issuer", TokenIssuer::builder(key(), key()).audience("api")),
        (
            "audience",
            TokenIssuer::builder(key(), key()).issuer("https://auth.example.com"),
        ),
        (
            "equal to the issuer",
            issuer_builder(&clock).audience("https://auth.example.com"),
        ),
        ("empty audience", issuer_builder(&clock).audience("")),
        (
            "positive",
            issuer_builder(&clock).access_lifetime(Duration::ZERO),
        ),
        (
            "outlive",
            issuer_builder(&clock).refresh_lifetime(Duration::minutes(15)),
        ),
        (
            "grace",
            issuer_builder(&clock).grace_period(Duration::seconds(-1)),
        ),
        (
            "grace",
            issuer_builder(&clock).grace_period(Duration::minutes(15)),
        ),
    ];
    for (what, builder) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{what}");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

/// A store whose every call fails, as a database that is down.
#[derive(Debug)]
struct DownStore;

fn down() -> Error {
    Error::store(std::io::Error::other("connection refused"))
}

fn refused<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Err(down())))
}

impl FamilyStore for DownStore {
    fn insert<'a>(
        &'a self,
        _: &'a str,
        _: Family,
        _: keycard::time::OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        refused()
    }
    fn get<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Family>> {
        refused()
    }
    fn compare_and_set<'a>(
        &'a self,
        _: &'a str,
        _: &'a Family,
        _: Family,
        _: keycard::time::OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        refused()
    }
    fn remove<'a>(&'a self, _: &'a str) -> StoreFuture<'a, ()> {
        refused()
    }
}

#[tokio::test]
async fn a_failing_family_store_fails_closed() {
    let clock = ManualClock::new();
    let working = Arc::new(MemoryFamilyStore::new());
    let pair = issuer_builder(&clock)
        .families(working)
        .build()
        .unwrap()
        .issue("alice", &())
        .await
        .unwrap();
    let broken = issuer_builder(&clock)
        .families(Arc::new(DownStore))
        .build()
        .unwrap();
    let err = broken.issue("alice", &()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert_eq!(err.to_string(), "store failed: connection refused");
    assert_eq!(
        broken
            .refresh(&pair.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Store
    );
}

/// A store whose compare-and-set always loses, as a store that is not atomic might.
#[derive(Debug)]
struct NeverSwaps(MemoryFamilyStore);

impl FamilyStore for NeverSwaps {
    fn insert<'a>(
        &'a self,
        id: &'a str,
        family: Family,
        now: keycard::time::OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        self.0.insert(id, family, now)
    }
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Family>> {
        self.0.get(id)
    }
    fn compare_and_set<'a>(
        &'a self,
        _: &'a str,
        _: &'a Family,
        _: Family,
        _: keycard::time::OffsetDateTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(Ok(false)))
    }
    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.0.remove(id)
    }
}

#[tokio::test]
async fn rotation_gives_up_with_a_store_error_rather_than_loop_forever() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .families(Arc::new(NeverSwaps(MemoryFamilyStore::new())))
        .build()
        .unwrap();
    let pair = issuer.issue("alice", &()).await.unwrap();
    let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(err.to_string().contains("compare-and-set"), "{err}");
}

#[tokio::test]
async fn a_pair_serializes_as_a_token_response_and_debug_hides_the_tokens() {
    let clock = ManualClock::new();
    let pair = issuer(&clock).issue("alice", &()).await.unwrap();
    let json = serde_json::to_value(&pair).unwrap();
    assert_eq!(json["expires_in"], 900);
    assert_eq!(json["access_token"], pair.access_token.as_str());
    let back: TokenPair = serde_json::from_value(json).unwrap();
    assert_eq!(back, pair);
    let debug = format!("{pair:?}");
    assert!(!debug.contains(&pair.access_token[20..]), "{debug}");
    assert!(!debug.contains(&pair.refresh_token[20..]), "{debug}");
}

#[tokio::test]
async fn a_family_record_round_trips_through_json_for_string_stores() {
    let clock = ManualClock::new();
    let store = Arc::new(MemoryFamilyStore::new());
    let issuer = issuer_builder(&clock)
        .families(store.clone())
        .grace_period(Duration::seconds(5))
        .build()
        .unwrap();
    let pair = issuer.issue("alice", &()).await.unwrap();
    issuer.refresh(&pair.refresh_token).await.unwrap();
    let sid = claims(&pair.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let family = wait(store.get(&sid)).unwrap().unwrap();
    assert!(family.previous.is_some());
    let text = serde_json::to_string(&family).unwrap();
    assert_eq!(serde_json::from_str::<Family>(&text).unwrap(), family);
}

#[tokio::test]
async fn absurd_lifetimes_are_errors_not_panics() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .refresh_lifetime(Duration::MAX)
        .build()
        .unwrap();
    let err = issuer.issue("alice", &()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    issuer.revoke_subject("alice").await.unwrap();
}

#[tokio::test]
async fn revoking_an_access_token_that_expires_in_the_year_9999_does_not_panic() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let far = keycard::Builder::new()
        .token_type(TokenKind::Access)
        .issuer("https://auth.example.com")
        .audience("api")
        .jwt_id("far")
        .expires_at(keycard::time::OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap())
        .clock(clock.clone())
        .sign(&key())
        .unwrap();
    issuer.revoke(&far).await.unwrap();
    let err = issuer
        .access_validator()
        .build()
        .unwrap()
        .verify::<Claims>(&far)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
}

/// A whole session on the memory stores, awaited on a current-thread runtime: login, rotation, a
/// repeat within the grace, logout, sign-out.
#[tokio::test]
async fn a_whole_session_runs_on_a_current_thread_runtime() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    assert_eq!(issuer.refresh(&login.refresh_token).await.unwrap(), next);
    api.verify::<Claims>(&next.access_token).unwrap();
    issuer.revoke(&next.refresh_token).await.unwrap();
    assert_eq!(
        api.verify::<Claims>(&next.access_token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    let other = issuer.issue("alice", &()).await.unwrap();
    issuer.revoke_subject("alice").await.unwrap();
    assert_eq!(
        issuer
            .refresh(&other.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}
