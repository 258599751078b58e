//! Issue 22's lifecycle findings, each on a memory store that injects the fault: a store error
//! after a rotation was stored leaves nothing the client cannot obtain (a retry of the same
//! refresh token receives the same successor, whatever the grace period, unless the session was
//! revoked meanwhile), and a reuse whose session revocation cannot be recorded still stops the
//! session from rotating.

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::{issuer_builder, wait, HookedFamilies, HookedRevocations, ManualClock};
use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::{FamilyStore, TokenIssuer};

fn sid(token: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

fn hooked(
    clock: &ManualClock,
    grace: Option<Duration>,
) -> (TokenIssuer, Arc<HookedFamilies>, Arc<HookedRevocations>) {
    let families = Arc::new(HookedFamilies::default());
    let revocations = Arc::new(HookedRevocations::default());
    let mut builder = issuer_builder(clock)
        .families(families.clone())
        .revocations(revocations.clone());
    if let Some(grace) = grace {
        builder = builder.grace_period(grace);
    }
    (builder.build().unwrap(), families, revocations)
}

/// The retry comes `after` the failed refresh: it receives the pair the rotation recorded, the
/// same again after one more failed retry, which then rotates normally; the session stays live.
async fn a_retry_after(
    clock: &ManualClock,
    (issuer, families, revocations): &(TokenIssuer, Arc<HookedFamilies>, Arc<HookedRevocations>),
    token: &str,
    after: Duration,
) {
    let api = issuer.access_validator().build().unwrap();
    let recorded = wait(families.get(&sid(token)))
        .unwrap()
        .and_then(|family| family.previous)
        .expect("the rotation recorded its successor")
        .successor;
    clock.advance(after);
    revocations.fail_cutoff_reads.store(1, Ordering::SeqCst);
    let err = issuer.refresh(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    let retried = issuer
        .refresh(token)
        .await
        .expect("a retry after a store error receives the successor, not reuse");
    assert_eq!(retried, recorded, "the one successor, every retry");
    api.verify::<Claims>(&retried.access_token).unwrap();
    let next = issuer.refresh(&retried.refresh_token).await.unwrap();
    api.verify::<Claims>(&next.access_token).unwrap();
}

#[tokio::test]
async fn a_refresh_whose_cutoff_read_fails_after_its_swap_is_retried_to_the_same_successor_without_grace(
) {
    let clock = ManualClock::new();
    let stores = hooked(&clock, Some(Duration::ZERO));
    let login = stores.0.issue("alice", &()).await.unwrap();
    stores.2.fail_cutoff_reads.store(1, Ordering::SeqCst);
    let err = stores.0.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    a_retry_after(&clock, &stores, &login.refresh_token, Duration::seconds(10)).await;
}

#[tokio::test]
async fn a_refresh_whose_cutoff_read_fails_is_retried_to_the_same_successor_after_the_grace() {
    let clock = ManualClock::new();
    let stores = hooked(&clock, None);
    let login = stores.0.issue("alice", &()).await.unwrap();
    stores.2.fail_cutoff_reads.store(1, Ordering::SeqCst);
    let err = stores.0.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    // A Redis outage of a few minutes: far past the 30 s grace.
    a_retry_after(&clock, &stores, &login.refresh_token, Duration::minutes(5)).await;
}

#[tokio::test]
async fn a_refresh_whose_swap_answer_is_lost_is_retried_to_the_same_successor() {
    let clock = ManualClock::new();
    let stores = hooked(&clock, Some(Duration::ZERO));
    let login = stores.0.issue("alice", &()).await.unwrap();
    stores.1.lose_next_swap_answer.store(true, Ordering::SeqCst);
    let err = stores.0.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    a_retry_after(&clock, &stores, &login.refresh_token, Duration::seconds(30)).await;
}

#[tokio::test]
async fn a_refresh_whose_confirmation_fails_still_hands_out_its_successor() {
    let clock = ManualClock::new();
    let (issuer, families, _) = hooked(&clock, Some(Duration::ZERO));
    let login = issuer.issue("alice", &()).await.unwrap();
    // The rotation's swap goes through; the second write, which marks the successor handed
    // out, fails: the client gets the stored pair anyway, and it rotates.
    {
        let hooked = families.clone();
        families
            .after_next_swap(move || hooked.lose_next_swap_answer.store(true, Ordering::SeqCst));
    }
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    issuer.refresh(&next.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_retry_after_a_store_error_is_refused_once_the_session_was_revoked_meanwhile() {
    let clock = ManualClock::new();
    let (issuer, _, revocations) = hooked(&clock, Some(Duration::ZERO));
    let login = issuer.issue("alice", &()).await.unwrap();
    let other = issuer.issue("alice", &()).await.unwrap();
    revocations.fail_cutoff_reads.store(1, Ordering::SeqCst);
    assert_eq!(
        issuer
            .refresh(&login.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Store
    );
    issuer.revoke(&login.refresh_token).await.unwrap();
    clock.advance(Duration::seconds(10));
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");

    // Signed out everywhere meanwhile: the retry is refused too.
    revocations.fail_cutoff_reads.store(1, Ordering::SeqCst);
    assert_eq!(
        issuer
            .refresh(&other.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Store
    );
    issuer.revoke_subject("alice").await.unwrap();
    clock.advance(Duration::seconds(10));
    let err = issuer.refresh(&other.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}

#[tokio::test]
async fn a_repeat_right_after_a_refresh_that_succeeded_is_still_reuse_without_grace() {
    let clock = ManualClock::new();
    let (issuer, _, _) = hooked(&clock, Some(Duration::ZERO));
    let login = issuer.issue("alice", &()).await.unwrap();
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    // However late: the successor was handed out, so a repeat is a replay.
    clock.advance(Duration::minutes(5));
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse, "{err}");
    let err = issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}

#[tokio::test]
async fn a_reuse_whose_session_revocation_cannot_be_recorded_stops_the_session_from_rotating() {
    let clock = ManualClock::new();
    let (issuer, families, revocations) = hooked(&clock, Some(Duration::ZERO));
    let api = issuer.access_validator().build().unwrap();
    let login = issuer.issue("alice", &()).await.unwrap();
    let next = issuer.refresh(&login.refresh_token).await.unwrap();

    // The revocation store is full: the replay cannot be recorded as a revoked session.
    revocations.refuse_sessions.store(true, Ordering::SeqCst);
    let err = issuer.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    // Fail closed: the session's latest refresh token no longer rotates (it used to, for ever).
    let err = issuer
        .refresh(&next.refresh_token)
        .await
        .expect_err("a session whose reuse was detected must not rotate");
    // Reuse again, whose revocation still cannot be recorded.
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    // The family is kept, so that once the store recovers the next replay ends the session.
    assert!(wait(families.get(&sid(&login.access_token)))
        .unwrap()
        .is_some());
    revocations.refuse_sessions.store(false, Ordering::SeqCst);
    let err = issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuse, "{err}");
    assert_eq!(
        api.verify::<Claims>(&next.access_token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
}
