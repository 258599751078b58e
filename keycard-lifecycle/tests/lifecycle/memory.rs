//! Bounded memory: over a million issued-and-expired tokens, the in-memory stores hold only the
//! entries still in force (plus pruning slack), measured as entry counts rather than RSS.

use crate::common;

use std::sync::Arc;

use common::{issuer_builder, wait, ManualClock, START};
use keycard::time::{Duration, OffsetDateTime};
use keycard::RevocationList;
use keycard_lifecycle::{FamilyStore, MemoryFamilyStore, MemoryRevocationStore, RevocationStore};

const TOKENS: i64 = 1_000_000;
/// Tokens issued per second of simulated time.
const RATE: i64 = 100;
/// Each token's lifetime: so about `RATE * LIFETIME` = 6,000 are live at any moment.
const LIFETIME: i64 = 60;
/// The most a store may hold: twice the live entries, `2 * RATE * (LIFETIME + 1)` (it prunes
/// when it has doubled since the last pruning), or the pruning floor of 1,024 entries.
const BOUND: usize = 12_200;

fn at(second: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(START + second).unwrap()
}

#[test]
fn the_revocation_store_stays_bounded_over_a_million_revoked_tokens() {
    let store = MemoryRevocationStore::new();
    let mut largest = 0;
    for i in 0..TOKENS {
        let now = at(i / RATE);
        wait(store.revoke_token(&format!("jti-{i}"), now + Duration::seconds(LIFETIME), now))
            .unwrap();
        largest = largest.max(store.len());
    }
    assert!(largest <= BOUND, "{largest} entries held, bound {BOUND}");
    // The most recent revocations are all still in force.
    for i in TOKENS - RATE * LIFETIME..TOKENS {
        assert!(store.is_token_revoked(&format!("jti-{i}")).unwrap(), "{i}");
    }
    assert!(!store.is_token_revoked("jti-0").unwrap());
}

#[test]
fn subject_cutoffs_stay_bounded_too() {
    let store = MemoryRevocationStore::new();
    let mut largest = 0;
    for i in 0..TOKENS / 10 {
        let now = at(i / RATE);
        wait(store.revoke_subject(
            &format!("user-{i}"),
            now,
            now + Duration::seconds(LIFETIME),
            now,
        ))
        .unwrap();
        largest = largest.max(store.len());
    }
    assert!(largest <= BOUND, "{largest} entries held, bound {BOUND}");
}

#[tokio::test]
async fn the_family_store_stays_bounded_over_a_million_expired_sessions() {
    let store = MemoryFamilyStore::new();
    let clock = ManualClock::new();
    // Families are only made by an issuer: take one real record and store it under a million
    // ids, each expiring LIFETIME seconds after it was stored.
    let probe = Arc::new(MemoryFamilyStore::new());
    let pair = issuer_builder(&clock)
        .families(probe.clone())
        .build()
        .unwrap()
        .issue("alice", &())
        .await
        .unwrap();
    let claims: serde_json::Value = keycard::unverified::decode_claims(&pair.access_token).unwrap();
    let template = wait(probe.get(claims["sid"].as_str().unwrap()))
        .unwrap()
        .unwrap();

    let mut largest = 0;
    for i in 0..TOKENS {
        let now = at(i / RATE);
        let mut json = serde_json::to_value(&template).unwrap();
        json["expires_at"] =
            serde_json::json!((now + Duration::seconds(LIFETIME)).unix_timestamp());
        let family = serde_json::from_value(json).unwrap();
        wait(store.insert(&format!("sid-{i}"), family, now)).unwrap();
        largest = largest.max(store.len());
    }
    assert!(largest <= BOUND, "{largest} entries held, bound {BOUND}");
}

#[tokio::test]
async fn an_issuer_under_constant_logins_and_logouts_keeps_its_stores_bounded() {
    let clock = ManualClock::new();
    let families = Arc::new(MemoryFamilyStore::new());
    let revocations = Arc::new(MemoryRevocationStore::new());
    let issuer = issuer_builder(&clock)
        .access_lifetime(Duration::seconds(30))
        .refresh_lifetime(Duration::seconds(60))
        .families(families.clone())
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let (mut most_families, mut most_revocations) = (0, 0);
    for i in 0..10_000 {
        let pair = issuer.issue(&format!("user-{i}"), &()).await.unwrap();
        if i % 2 == 0 {
            issuer.revoke(&pair.access_token).await.unwrap();
        }
        most_families = most_families.max(families.len());
        most_revocations = most_revocations.max(revocations.len());
        if i % 10 == 9 {
            clock.advance(Duration::seconds(1));
        }
    }
    // 10 logins a second living 60 s: about 610 live families; 5 revocations a second kept 30 s
    // plus the 5-minute maximum leeway: about 1,655 live. Each store stays within twice that.
    assert!(most_families <= 2 * 610, "{most_families}");
    assert!(most_revocations <= 2 * 1655, "{most_revocations}");
}
