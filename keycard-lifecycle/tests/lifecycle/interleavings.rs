//! The rule of the lifecycle: no interleaving of revoke, revoke_subject, refresh and reuse
//! detection leaves a revoked session with a usable token, and a store that cannot record a
//! revocation fails the whole operation closed. Each interleaving is forced with a store hook
//! (the other request runs exactly at that point), never left to timing. Also the review's
//! other lifecycle findings: fractional `iat`, `Debug` output, the grace default, the separate
//! namespaces of revoked tokens and sessions, session limits.

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread;

use common::{
    block_on, elsewhere, issuer_builder, key, wait, HookedFamilies, HookedRevocations, ManualClock,
    START,
};
use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::{FamilyStore, MemoryRevocationStore, TokenIssuer};

fn sid(token: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// An issuer on hooked stores, without a grace period unless `grace` says otherwise.
fn hooked(
    clock: &ManualClock,
    grace: Duration,
) -> (TokenIssuer, Arc<HookedFamilies>, Arc<HookedRevocations>) {
    let families = Arc::new(HookedFamilies::default());
    let revocations = Arc::new(HookedRevocations::default());
    let issuer = issuer_builder(clock)
        .grace_period(grace)
        .families(families.clone())
        .revocations(revocations.clone())
        .build()
        .unwrap();
    (issuer, families, revocations)
}

/// Finding 2, first half: the sign-out lands after the refresh verified its token, and the
/// clock crosses a second before the mint. The old code handed out a pair with `iat` = T+1,
/// past the cutoff T, that kept rotating.
#[tokio::test]
async fn sign_out_everywhere_during_a_refresh_in_flight_ends_the_session() {
    let clock = ManualClock::new();
    let (issuer, families, _) = hooked(&clock, Duration::ZERO);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    {
        let (issuer, clock) = (issuer.clone(), clock.clone());
        families.on_next_get(move || {
            elsewhere(issuer.revoke_subject("alice")).unwrap();
            clock.advance(Duration::seconds(1));
        });
    }
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    // The family the refresh rotated is gone, so nothing it minted can be refreshed...
    assert!(wait(families.get(&sid(&login.access_token)))
        .unwrap()
        .is_none());
    // ...and the login's tokens are refused as before.
    assert_eq!(
        api.verify::<Claims>(&login.access_token)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

/// Finding 2, second half: the sign-out read its clock (cutoff T) but its write lands only after
/// a whole refresh, which minted at T+1 and found no cutoff. The pair that refresh returned must
/// still be refused once the sign-out returns.
#[tokio::test]
async fn a_sign_out_whose_write_lands_after_a_refresh_still_refuses_the_pair_it_minted() {
    let clock = ManualClock::new();
    let (issuer, _, revocations) = hooked(&clock, Duration::ZERO);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();

    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    revocations.before_next_cutoff(move || {
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    let sign_out = {
        let issuer = issuer.clone();
        thread::spawn(move || block_on(issuer.revoke_subject("alice")))
    };
    // The sign-out has read its clock and waits before its write.
    entered_rx.recv().unwrap();
    clock.advance(Duration::seconds(1));
    let pair = issuer.refresh(&login.refresh_token).await.unwrap();
    api.verify::<Claims>(&pair.access_token).unwrap();
    release_tx.send(()).unwrap();
    sign_out.join().unwrap().unwrap();

    for token in [&login.access_token, &pair.access_token] {
        let err = api.verify::<Claims>(token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    }
    assert_eq!(
        issuer
            .refresh(&pair.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

/// Revoking the session (logout) right after a refresh's compare-and-set: every token of the
/// pair that refresh minted is refused, by the session's `sid`.
#[tokio::test]
async fn a_logout_landing_right_after_the_swap_leaves_no_usable_token() {
    let clock = ManualClock::new();
    let (issuer, families, _) = hooked(&clock, Duration::ZERO);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    {
        let (issuer, token) = (issuer.clone(), login.refresh_token.clone());
        families.after_next_swap(move || elsewhere(issuer.revoke(&token)).unwrap());
    }
    let pair = issuer.refresh(&login.refresh_token).await.unwrap();
    for token in [&login.access_token, &pair.access_token] {
        let err = api.verify::<Claims>(token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    }
    assert_eq!(
        issuer
            .refresh(&pair.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

/// A logout landing between the refresh's verification and its read of the family.
#[tokio::test]
async fn a_logout_landing_before_the_family_is_read_refuses_the_refresh() {
    let clock = ManualClock::new();
    let (issuer, families, _) = hooked(&clock, Duration::ZERO);
    let login = issuer.issue("alice", &()).await.unwrap();
    {
        let (issuer, token) = (issuer.clone(), login.refresh_token.clone());
        families.on_next_get(move || elsewhere(issuer.revoke(&token)).unwrap());
    }
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}

/// Two requests with one token, the other one rotating just before ours reads the family: ours
/// sees the token retired (no grace here): reuse, the session ends, and the pair the other
/// request got is refused too.
#[tokio::test]
async fn a_replay_racing_a_refresh_ends_the_session_for_both() {
    let clock = ManualClock::new();
    let (issuer, families, _) = hooked(&clock, Duration::ZERO);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let (tx, rx) = mpsc::channel();
    {
        let (issuer, token) = (issuer.clone(), login.refresh_token.clone());
        families.on_next_get(move || tx.send(elsewhere(issuer.refresh(&token))).unwrap());
    }
    let ours = issuer.refresh(&login.refresh_token).await;
    let theirs = rx.recv().unwrap().unwrap();
    assert_eq!(ours.unwrap_err().kind(), ErrorKind::RefreshReuse);
    assert_eq!(
        api.verify::<Claims>(&theirs.access_token)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

/// Finding 3: `revoke()` of access tokens fills the revocation store; a replayed refresh token
/// must still revoke its session. The old code kept tokens and sessions in one namespace with
/// one capacity, answered `store` and had already forgotten the family: the session's access
/// token stayed valid.
#[tokio::test]
async fn a_reuse_with_the_token_list_full_still_revokes_the_session() {
    let clock = ManualClock::new();
    let revocations = Arc::new(MemoryRevocationStore::with_capacity(2));
    let issuer = issuer_builder(&clock)
        .grace_period(Duration::ZERO)
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    for user in ["bob", "carol"] {
        let other = issuer.issue(user, &()).await.unwrap();
        issuer.revoke(&other.access_token).await.unwrap();
    }
    let full = issuer.issue("dave", &()).await.unwrap();
    assert_eq!(
        issuer.revoke(&full.access_token).await.unwrap_err().kind(),
        ErrorKind::Store
    );

    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse, "{err}");
    assert_eq!(
        api.verify::<Claims>(&next.access_token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

/// Finding 3, the rule: when the session revocation cannot be recorded at all, the replay fails
/// with `store` and nothing is half-applied: the family is kept, so once the store recovers the
/// next replay is detected and ends the session.
#[tokio::test]
async fn a_reuse_that_cannot_be_recorded_fails_closed_and_forgets_nothing() {
    let clock = ManualClock::new();
    let (issuer, families, revocations) = hooked(&clock, Duration::ZERO);
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let next = issuer.refresh(&login.refresh_token).await.unwrap();

    revocations.refuse_sessions.store(true, Ordering::SeqCst);
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(wait(families.get(&sid(&login.access_token)))
        .unwrap()
        .is_some());

    revocations.refuse_sessions.store(false, Ordering::SeqCst);
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse, "{err}");
    assert_eq!(
        api.verify::<Claims>(&next.access_token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

/// A logout whose session revocation cannot be recorded fails with `store` and leaves the
/// session as it was, never half-ended.
#[tokio::test]
async fn a_logout_that_cannot_be_recorded_fails_closed() {
    let clock = ManualClock::new();
    let (issuer, families, revocations) = hooked(&clock, Duration::ZERO);
    let login = issuer.issue("alice", &()).await.unwrap();
    revocations.refuse_sessions.store(true, Ordering::SeqCst);
    assert_eq!(
        issuer
            .revoke(&login.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Store
    );
    assert!(wait(families.get(&sid(&login.access_token)))
        .unwrap()
        .is_some());
}

/// An HS256 token with exactly these claims (the builder writes whole seconds).
fn signed(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"at+jwt"}"#),
        b64(claims.to_string().as_bytes())
    );
    let signature = keycard::Signer::sign(&key(), input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// Finding 8 (lifecycle half): a token minted in the cutoff's second with a fractional `iat`
/// (T + 0.5) escaped a sign-out at T under the old code, which compared it to the whole second.
#[tokio::test]
async fn a_token_from_the_cutoff_second_is_refused_whatever_its_fraction() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock).build().unwrap();
    let api = issuer.access_validator().build().unwrap();
    let token = signed(&serde_json::json!({
        "iss": "https://auth.example.com",
        "aud": "api",
        "sub": "alice",
        "jti": "j-1",
        "iat": START as f64 + 0.5,
        "exp": START + 900,
    }));
    // Signed out at T; the token is checked a second later, when its `iat` is in the past.
    issuer.revoke_subject("alice").await.unwrap();
    clock.advance(Duration::seconds(1));
    let err = api.verify::<Claims>(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
    // The next second is not covered.
    let later = signed(&serde_json::json!({
        "iss": "https://auth.example.com",
        "aud": "api",
        "sub": "alice",
        "jti": "j-2",
        "iat": START + 1,
        "exp": START + 900,
    }));
    api.verify::<Claims>(&later).unwrap();
}

/// Finding 10: the issuer's, the stores' and the validator's `Debug` show sizes and
/// configuration, never a session id or a refresh `jti`, and stay small however many sessions.
#[tokio::test]
async fn debug_output_shows_sizes_never_session_or_token_ids() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock).build().unwrap();
    let api = issuer.access_validator().build().unwrap();
    let mut ids = Vec::new();
    for i in 0..1_000 {
        let pair = issuer.issue(&format!("user-{i}"), &()).await.unwrap();
        let claims: serde_json::Value =
            keycard::unverified::decode_claims(&pair.refresh_token).unwrap();
        ids.push(claims["sid"].as_str().unwrap().to_owned());
        ids.push(claims["jti"].as_str().unwrap().to_owned());
        if i % 2 == 0 {
            issuer.revoke(&pair.refresh_token).await.unwrap();
        }
    }
    // The issuer shows its stores' sizes; the validator shows only that it has a revocation list
    // (it never prints a store's `Debug`: `hardening::validator_debug_shows_...`).
    let issuer_debug = format!("{issuer:?}");
    assert!(issuer_debug.contains("500"), "{issuer_debug}");
    assert!(format!("{api:?}").contains("revocations: true"));
    for debug in [issuer_debug, format!("{api:?}")] {
        assert!(debug.len() < 8_192, "{} bytes: {debug}", debug.len());
        for id in &ids {
            assert!(!debug.contains(id.as_str()), "{id} in {debug}");
        }
    }
}

/// Finding 11: with the default grace, 16 requests of one client refreshing one token at once
/// keep the session (they all get the one successor); a replay after the grace still ends it.
#[tokio::test]
async fn the_default_grace_keeps_concurrent_refreshes_and_still_catches_a_late_replay() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock).build().unwrap();
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let barrier = std::sync::Barrier::new(16);
    let results: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    block_on(issuer.refresh(&login.refresh_token))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = results[0].as_ref().unwrap();
    for result in &results {
        assert_eq!(result.as_ref().unwrap(), first);
    }
    api.verify::<Claims>(&first.access_token).unwrap();

    clock.advance(TokenIssuer::DEFAULT_GRACE);
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse);
    assert_eq!(
        api.verify::<Claims>(&first.access_token)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

/// The default grace is 30 s, and never reaches a short access-token lifetime.
#[tokio::test]
async fn the_default_grace_is_30_seconds_or_half_a_short_access_lifetime() {
    assert_eq!(TokenIssuer::DEFAULT_GRACE, Duration::seconds(30));
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .access_lifetime(Duration::seconds(20))
        .build()
        .unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    clock.advance(Duration::seconds(9));
    assert_eq!(issuer.refresh(&login.refresh_token).await.unwrap(), next);
    clock.advance(Duration::seconds(1));
    assert_eq!(
        issuer
            .refresh(&login.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RefreshReuse
    );
}

/// Session limits: no rotation extends a session past its absolute lifetime; the last pair
/// expires at the session's end.
#[tokio::test]
async fn no_rotation_extends_a_session_past_its_lifetime() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .session_lifetime(Duration::hours(1))
        .build()
        .unwrap();
    let mut pair = issuer.issue("alice", &()).await.unwrap();
    for _ in 0..5 {
        clock.advance(Duration::minutes(10));
        pair = issuer.refresh(&pair.refresh_token).await.unwrap();
    }
    // 50 minutes in: the access token is cut to the 10 minutes left, the refresh token too.
    assert_eq!(pair.expires_in, Duration::minutes(10));
    let claims: serde_json::Value =
        keycard::unverified::decode_claims(&pair.refresh_token).unwrap();
    assert_eq!(claims["exp"], START + 3600);
    clock.advance(Duration::minutes(10));
    let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Revoked | ErrorKind::Expired),
        "{err}"
    );
}

/// Session limits: a session unused for its idle timeout ends, though its refresh token has not
/// expired; one used within it goes on.
#[tokio::test]
async fn an_idle_session_ends_at_its_timeout() {
    let clock = ManualClock::new();
    let issuer = issuer_builder(&clock)
        .idle_timeout(Duration::hours(1))
        .build()
        .unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    clock.advance(Duration::minutes(59));
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    clock.advance(Duration::minutes(59));
    let next = issuer.refresh(&next.refresh_token).await.unwrap();
    clock.advance(Duration::minutes(60));
    let err = issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}

/// The rule that revoked `jti` and `sid` values are kept apart: revoking a session whose id
/// equals some token's `jti` does not revoke that token, and the other way round.
#[test]
fn revoked_tokens_and_sessions_are_separate_namespaces() {
    let store = MemoryRevocationStore::new();
    let t = keycard::time::OffsetDateTime::from_unix_timestamp(START).unwrap();
    wait(keycard_lifecycle::RevocationStore::revoke_session(
        &store,
        "x",
        t + Duration::hours(1),
        t,
    ))
    .unwrap();
    wait(keycard_lifecycle::RevocationStore::revoke_token(
        &store,
        "y",
        t + Duration::hours(1),
        t,
    ))
    .unwrap();
    use keycard::RevocationList;
    assert!(store.is_session_revoked("x").unwrap());
    assert!(!store.is_token_revoked("x").unwrap());
    assert!(store.is_token_revoked("y").unwrap());
    assert!(!store.is_session_revoked("y").unwrap());
}
