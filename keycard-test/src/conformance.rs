//! The store conformance suite: what every [`FamilyStore`] and [`RevocationStore`] must do, run
//! unchanged against each backend (memory, Redis, and any store added later).
//!
//! A backend's test calls [`run`] (or [`families`], [`revocations`], [`capacity`] and
//! [`issuer`] one by one) with a [`Backend`] that makes fresh, empty stores on the clock it is
//! given and waits for its local views to catch up. Every check asserts behaviour the lifecycle
//! relies on; a failing one names the rule.
//!
//! ```no_run
//! # async fn run() {
//! use keycard_test::conformance;
//! conformance::run(&conformance::Memory).await;
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::join_all;
use keycard::{Algorithm, ErrorKind, HmacKey};
use keycard_lifecycle::{
    Family, FamilyStore, MemoryFamilyStore, MemoryRevocationStore, RevocationStore, TokenIssuer,
};
use time::{Duration, OffsetDateTime};

use crate::TestClock;

/// A boxed future, for the [`Backend`] hooks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A family store and a revocation store of one backend.
pub type Stores = (Arc<dyn FamilyStore>, Arc<dyn RevocationStore>);

/// One store backend under test.
pub trait Backend: Send + Sync {
    /// A family store with nothing in it (a fresh key prefix, a fresh table) that reads the
    /// time of day from `clock`: a family past its `expires_at` by `clock` is not returned.
    fn family_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn FamilyStore>>;

    /// A revocation store with nothing in it, reading the time of day from `clock`: an entry
    /// past its `until` by `clock` no longer counts.
    fn revocation_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn RevocationStore>>;

    /// Waits until `store`'s synchronous reads ([`RevocationList`](keycard::RevocationList)) reflect every write any
    /// store of this backend acknowledged, and the view has confirmed itself fresh as of the
    /// clock's current reading: a networked store's local view has caught up. Memory stores: at
    /// once.
    fn settle<'a>(&'a self, store: &'a Arc<dyn RevocationStore>) -> BoxFuture<'a, ()>;

    /// Stores that hold at most `capacity` live entries (families; revocations of each kind),
    /// when the backend has such a bound; `None` (the default) skips [`capacity`].
    fn bounded(&self, capacity: usize, clock: &TestClock) -> Option<BoxFuture<'_, Stores>> {
        let _ = (capacity, clock);
        None
    }
}

/// The in-memory stores, the reference every other backend is held to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory;

impl Backend for Memory {
    fn family_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn FamilyStore>> {
        let store = MemoryFamilyStore::new().clock(clock.clone());
        Box::pin(async { Arc::new(store) as Arc<dyn FamilyStore> })
    }

    fn revocation_store(&self, clock: &TestClock) -> BoxFuture<'_, Arc<dyn RevocationStore>> {
        let store = MemoryRevocationStore::new().clock(clock.clone());
        Box::pin(async { Arc::new(store) as Arc<dyn RevocationStore> })
    }

    fn settle<'a>(&'a self, _store: &'a Arc<dyn RevocationStore>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn bounded(&self, capacity: usize, clock: &TestClock) -> Option<BoxFuture<'_, Stores>> {
        let families = MemoryFamilyStore::with_capacity(capacity).clock(clock.clone());
        let revocations = MemoryRevocationStore::with_capacity(capacity).clock(clock.clone());
        Some(Box::pin(async move {
            (
                Arc::new(families) as Arc<dyn FamilyStore>,
                Arc::new(revocations) as Arc<dyn RevocationStore>,
            )
        }))
    }
}

/// Every check: [`families`], [`revocations`], [`capacity`] (where the backend is bounded) and
/// [`issuer`].
pub async fn run(backend: &dyn Backend) {
    families(backend).await;
    revocations(backend).await;
    capacity(backend).await;
    issuer(backend).await;
}

/// A family record as a store sees one: `current` is what compare-and-set compares. Built from
/// its JSON form (`Family` is `#[non_exhaustive]`), which is checked to be `Family`'s own.
fn family(current: &str, expires_at: OffsetDateTime) -> Family {
    let json = serde_json::json!({
        "current": current,
        "expires_at": expires_at.unix_timestamp(),
    });
    let family: Family = match serde_json::from_value(json.clone()) {
        Ok(family) => family,
        Err(e) => panic!("a family record in its documented JSON form: {e}"),
    };
    assert_eq!(
        serde_json::to_value(&family).ok(),
        Some(json),
        "Family's serde form is {{current, expires_at}} without the optional members"
    );
    family
}

/// An id no other check (nor another run against the same server) uses.
fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "{what}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The [`FamilyStore`] rules: what is inserted is read back unchanged, compare-and-set swaps
/// exactly when `current` matches and says so, concurrent swaps from one state let exactly one
/// win, removal forgets, unknown ids are absent rather than errors, and a family past its
/// `expires_at` is not returned.
pub async fn families(backend: &dyn Backend) {
    let clock = TestClock::new();
    let store = backend.family_store(&clock).await;
    let now = keycard::Clock::now(&clock);
    let later = now + Duration::hours(1);

    // Absent ids are `None`, not errors; removing one is not an error either.
    let missing = unique("missing");
    assert_eq!(
        store.get(&missing).await.expect("get of an unknown id"),
        None
    );
    store
        .remove(&missing)
        .await
        .expect("remove of an unknown id");

    // Insert, then read back unchanged.
    let id = unique("family");
    let first = family("jti-1", later);
    store.insert(&id, first.clone(), now).await.expect("insert");
    assert_eq!(
        store.get(&id).await.expect("get"),
        Some(first.clone()),
        "insert then get"
    );

    // Compare-and-set from the current state swaps and says so.
    let second = family("jti-2", later);
    assert!(
        store
            .compare_and_set(&id, &first, second.clone(), now)
            .await
            .expect("cas"),
        "compare_and_set from the current state must swap"
    );
    assert_eq!(store.get(&id).await.expect("get"), Some(second.clone()));

    // From a stale state it refuses and leaves the record as it was.
    let third = family("jti-3", later);
    assert!(
        !store
            .compare_and_set(&id, &first, third.clone(), now)
            .await
            .expect("cas"),
        "compare_and_set from a stale state must refuse"
    );
    assert_eq!(
        store.get(&id).await.expect("get"),
        Some(second.clone()),
        "a refused swap changes nothing"
    );

    // On a missing family it refuses (a removed session cannot be revived by a rotation).
    assert!(
        !store
            .compare_and_set(&missing, &first, third.clone(), now)
            .await
            .expect("cas"),
        "compare_and_set on a missing family must refuse"
    );
    assert_eq!(
        store.get(&missing).await.expect("get"),
        None,
        "a refused swap creates nothing"
    );

    // Many swaps from one state at once: exactly one wins (RFC 9700 §4.14.2 rests on this).
    let contested = unique("contested");
    let start = family("jti-start", later);
    store
        .insert(&contested, start.clone(), now)
        .await
        .expect("insert");
    let attempts = (0..16).map(|i| {
        let (store, contested, start) = (Arc::clone(&store), contested.clone(), start.clone());
        async move {
            let next = family(&format!("jti-next-{i}"), later);
            store
                .compare_and_set(&contested, &start, next, now)
                .await
                .expect("cas")
        }
    });
    let won = join_all(attempts)
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(
        won, 1,
        "concurrent compare_and_set from one state: exactly one must win"
    );

    // Removal forgets the family.
    store.remove(&id).await.expect("remove");
    assert_eq!(store.get(&id).await.expect("get"), None, "remove then get");

    // Past its `expires_at` by the store's clock, a family is gone.
    let expiring = unique("expiring");
    let soon = family("jti-soon", now + Duration::minutes(1));
    store
        .insert(&expiring, soon.clone(), now)
        .await
        .expect("insert");
    clock.advance(Duration::seconds(59));
    assert_eq!(
        store.get(&expiring).await.expect("get"),
        Some(soon),
        "a family is kept until its expires_at"
    );
    clock.advance(Duration::seconds(1));
    assert_eq!(
        store.get(&expiring).await.expect("get"),
        None,
        "a family past its expires_at is not returned"
    );
}

/// The [`RevocationStore`] rules: each kind of revocation is seen by the store's own reads and,
/// once settled, by its synchronous [`RevocationList`](keycard::RevocationList) view; the three namespaces are apart; a
/// subject keeps the later of two cutoffs; unknown values are not revoked; an entry past its
/// `until` no longer counts.
pub async fn revocations(backend: &dyn Backend) {
    let clock = TestClock::new();
    let store = backend.revocation_store(&clock).await;
    let now = keycard::Clock::now(&clock);
    let until = now + Duration::hours(1);
    let (jti, sid, sub) = (unique("jti"), unique("sid"), unique("sub"));

    backend.settle(&store).await;
    assert!(
        !store.is_token_revoked(&jti).expect("read"),
        "nothing revoked yet"
    );
    assert!(!store.is_session_revoked(&sid).expect("read"));
    assert_eq!(store.subject_cutoff(&sub).expect("read"), None);
    assert_eq!(store.fetch_subject_cutoff(&sub).await.expect("fetch"), None);

    store
        .revoke_token(&jti, until, now)
        .await
        .expect("revoke_token");
    store
        .revoke_session(&sid, until, now)
        .await
        .expect("revoke_session");
    let cutoff = now - Duration::seconds(10);
    store
        .revoke_subject(&sub, cutoff, until, now)
        .await
        .expect("revoke_subject");
    // The store's own read sees a cutoff at once, before any view has caught up.
    assert_eq!(
        store.fetch_subject_cutoff(&sub).await.expect("fetch"),
        Some(cutoff)
    );

    backend.settle(&store).await;
    assert!(
        store.is_token_revoked(&jti).expect("read"),
        "a revoked jti is refused"
    );
    assert!(
        store.is_session_revoked(&sid).expect("read"),
        "a revoked sid is refused"
    );
    assert_eq!(
        store.subject_cutoff(&sub).expect("read"),
        Some(cutoff),
        "a subject cutoff is seen"
    );

    // Namespaces are apart: a jti equal to a revoked sid is not revoked, and so on.
    assert!(
        !store.is_token_revoked(&sid).expect("read"),
        "a revoked sid does not revoke that jti"
    );
    assert!(
        !store.is_session_revoked(&jti).expect("read"),
        "a revoked jti does not revoke that sid"
    );
    assert_eq!(store.subject_cutoff(&jti).expect("read"), None);

    // A subject keeps the later of two cutoffs, whichever order they come in.
    let earlier = cutoff - Duration::minutes(5);
    store
        .revoke_subject(&sub, earlier, until, now)
        .await
        .expect("revoke_subject");
    assert_eq!(
        store.fetch_subject_cutoff(&sub).await.expect("fetch"),
        Some(cutoff),
        "an earlier cutoff never undoes a later one"
    );
    let latest = now;
    store
        .revoke_subject(&sub, latest, until, now)
        .await
        .expect("revoke_subject");
    assert_eq!(
        store.fetch_subject_cutoff(&sub).await.expect("fetch"),
        Some(latest),
        "a later cutoff replaces an earlier one"
    );
    backend.settle(&store).await;
    assert_eq!(store.subject_cutoff(&sub).expect("read"), Some(latest));

    // Revoking twice is not an error and keeps the revocation.
    store
        .revoke_token(&jti, until, now)
        .await
        .expect("revoke_token again");
    backend.settle(&store).await;
    assert!(store.is_token_revoked(&jti).expect("read"));

    // Entries count until their `until`, by the store's clock, and not after.
    let (short_jti, short_sid, short_sub) = (unique("jti"), unique("sid"), unique("sub"));
    let minute = now + Duration::minutes(1);
    store
        .revoke_token(&short_jti, minute, now)
        .await
        .expect("revoke_token");
    store
        .revoke_session(&short_sid, minute, now)
        .await
        .expect("revoke_session");
    store
        .revoke_subject(&short_sub, cutoff, minute, now)
        .await
        .expect("revoke_subject");
    backend.settle(&store).await;
    // Time moves: a view that proves its freshness against the store's clock (keycard-postgres)
    // confirms itself again before it answers, as it would in a second of real time.
    clock.advance(Duration::seconds(59));
    backend.settle(&store).await;
    assert!(store.is_token_revoked(&short_jti).expect("read"));
    assert!(store.is_session_revoked(&short_sid).expect("read"));
    assert_eq!(
        store.subject_cutoff(&short_sub).expect("read"),
        Some(cutoff)
    );
    clock.advance(Duration::seconds(1));
    backend.settle(&store).await;
    assert!(
        !store.is_token_revoked(&short_jti).expect("read"),
        "a token revocation past its until no longer counts"
    );
    assert!(
        !store.is_session_revoked(&short_sid).expect("read"),
        "a session revocation past its until no longer counts"
    );
    assert_eq!(
        store.subject_cutoff(&short_sub).expect("read"),
        None,
        "a subject cutoff past its until no longer counts"
    );
    assert_eq!(
        store.fetch_subject_cutoff(&short_sub).await.expect("fetch"),
        None,
        "fetch_subject_cutoff past its until: none"
    );
    // The long ones still count.
    assert!(store.is_token_revoked(&jti).expect("read"));
    assert!(store.is_session_revoked(&sid).expect("read"));
}

/// A bounded backend refuses a write past its bound with [`ErrorKind::Store`] rather than
/// forget a live entry, still accepts writes to entries it holds, and has room again once
/// entries are past their time. Skipped for a backend without a bound.
pub async fn capacity(backend: &dyn Backend) {
    const CAPACITY: usize = 4;
    let clock = TestClock::new();
    let Some(stores) = backend.bounded(CAPACITY, &clock) else {
        return;
    };
    let (families, revocations) = stores.await;
    let now = keycard::Clock::now(&clock);
    let minute = now + Duration::minutes(1);

    let ids: Vec<String> = (0..CAPACITY).map(|_| unique("family")).collect();
    for id in &ids {
        families
            .insert(id, family("jti", minute), now)
            .await
            .expect("insert within the bound");
    }
    let err = families
        .insert(&unique("family"), family("jti", minute), now)
        .await
        .expect_err("an insert past the bound must fail");
    assert_eq!(err.kind(), ErrorKind::Store, "a full family store: {err}");
    assert!(
        families.get(&ids[0]).await.expect("get").is_some(),
        "a full store forgets no live family"
    );
    let current = family("jti", minute);
    assert!(families
        .compare_and_set(&ids[0], &current, family("jti-2", minute), now)
        .await
        .expect("a rotation of a family it holds"));

    let jtis: Vec<String> = (0..CAPACITY).map(|_| unique("jti")).collect();
    for jti in &jtis {
        revocations
            .revoke_token(jti, minute, now)
            .await
            .expect("revoke within the bound");
    }
    let err = revocations
        .revoke_token(&unique("jti"), minute, now)
        .await
        .expect_err("a revocation past the bound must fail");
    assert_eq!(
        err.kind(),
        ErrorKind::Store,
        "a full revocation store: {err}"
    );
    backend.settle(&revocations).await;
    assert!(
        revocations.is_token_revoked(&jtis[0]).expect("read"),
        "a full store forgets no live revocation"
    );
    revocations
        .revoke_token(&jtis[0], minute, now)
        .await
        .expect("revoking again what it holds");

    // Once they are past their time, there is room again.
    clock.advance(Duration::minutes(2));
    let later = keycard::Clock::now(&clock);
    families
        .insert(
            &unique("family"),
            family("jti", later + Duration::minutes(1)),
            later,
        )
        .await
        .expect("room again once the families expired");
    revocations
        .revoke_token(&unique("jti"), later + Duration::minutes(1), later)
        .await
        .expect("room again once the revocations expired");
}

/// The lifecycle on this backend: a login, then 16 concurrent refreshes with its refresh token
/// and no grace period, of which exactly one succeeds; the others see reuse (or the session
/// already revoked), and the session ends, the winner's tokens included.
pub async fn issuer(backend: &dyn Backend) {
    let clock = TestClock::new();
    let families = backend.family_store(&clock).await;
    let revocations = backend.revocation_store(&clock).await;
    let key = match HmacKey::new(Algorithm::HS256, b"conformance suite secret 32 b!!!") {
        Ok(key) => key,
        Err(e) => panic!("a 32-byte HMAC key: {e}"),
    };
    let issuer = match TokenIssuer::builder(key.clone(), key)
        .issuer("https://auth.example.com")
        .audience("api")
        .grace_period(Duration::ZERO)
        .clock(clock.clone())
        .families(Arc::clone(&families))
        .revocations(Arc::clone(&revocations))
        .build()
    {
        Ok(issuer) => issuer,
        Err(e) => panic!("a valid issuer: {e}"),
    };
    let login = issuer
        .issue(&unique("subject"), &())
        .await
        .expect("a login");
    let attempts = (0..16).map(|_| issuer.refresh(&login.refresh_token));
    let results = join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "16 concurrent refreshes of one token without grace: exactly one succeeds ({:?})",
        results
            .iter()
            .map(|r| r.as_ref().map_err(keycard::Error::kind))
            .collect::<Vec<_>>()
    );
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e.kind(), ErrorKind::RefreshReuse | ErrorKind::Revoked),
                "a losing refresh sees reuse or the revoked session, not {e}"
            );
        }
    }
    // Reuse ended the session: the winner's refresh token no longer works.
    backend.settle(&revocations).await;
    let err = issuer
        .refresh(&winners[0].refresh_token)
        .await
        .expect_err("the session ended on reuse");
    assert_eq!(err.kind(), ErrorKind::Revoked, "{err}");
}
