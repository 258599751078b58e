//! The store rules on a real server: insert, get, compare-and-set and remove; the namespaces
//! (token, session, subject; and schemas) are apart; the later cutoff wins; nothing past its
//! time is read, and cleanup deletes it in bounded batches; migrations are idempotent; errors
//! carry no ids.

use crate::cluster::Cluster;
use crate::common::{config, inspect, store, TestClock};

use keycard::time::{Duration, OffsetDateTime};
use keycard::{Clock, ErrorKind, RevocationList};
use keycard_lifecycle::{Family, FamilyStore, RevocationStore};
use keycard_postgres::PostgresStore;

fn family(current: &str, expires_at: OffsetDateTime) -> Family {
    serde_json::from_value(serde_json::json!({
        "current": current,
        "expires_at": expires_at.unix_timestamp(),
    }))
    .expect("a family")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn families_insert_get_swap_once_and_remove() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = clock.now();
    let first = family("jti-1", now + Duration::hours(1));
    assert_eq!(store.get("s1").await.unwrap(), None);
    store.insert("s1", first.clone(), now).await.unwrap();
    assert_eq!(store.get("s1").await.unwrap(), Some(first.clone()));

    let second = family("jti-2", now + Duration::hours(2));
    let stranger = family("jti-0", now + Duration::hours(1));
    assert!(!store
        .compare_and_set("s1", &stranger, second.clone(), now)
        .await
        .unwrap());
    assert!(store
        .compare_and_set("s1", &first, second.clone(), now)
        .await
        .unwrap());
    assert_eq!(store.get("s1").await.unwrap(), Some(second.clone()));
    // The same expected state a second time: already swapped, nothing changes.
    let third = family("jti-3", now + Duration::hours(3));
    assert!(!store
        .compare_and_set("s1", &first, third.clone(), now)
        .await
        .unwrap());
    assert_eq!(store.get("s1").await.unwrap(), Some(second.clone()));
    // Another family is untouched by all this.
    assert_eq!(store.get("s2").await.unwrap(), None);

    store.remove("s1").await.unwrap();
    assert_eq!(store.get("s1").await.unwrap(), None);
    assert!(!store
        .compare_and_set("s1", &second, third, now)
        .await
        .unwrap());
    store.remove("s1").await.unwrap(); // removing what is gone is no error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_kinds_of_revocation_and_two_schemas_are_apart() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = clock.now();
    let until = now + Duration::minutes(20);
    store.revoke_token("x", until, now).await.unwrap();
    assert!(store.is_token_revoked("x").unwrap());
    assert!(!store.is_session_revoked("x").unwrap());
    assert_eq!(store.subject_cutoff("x").unwrap(), None);
    assert!(!store.fetch_session_revoked("x").await.unwrap());
    store.revoke_session("y", until, now).await.unwrap();
    assert!(store.is_session_revoked("y").unwrap());
    assert!(!store.is_token_revoked("y").unwrap());
    assert!(store.fetch_session_revoked("y").await.unwrap());

    // A second schema on the same database shares nothing with the first.
    let other_config = config(&cluster, &clock).schema("other_issuer");
    PostgresStore::migrate(&other_config).await.unwrap();
    let other = PostgresStore::connect(other_config).await.unwrap();
    store
        .insert("s", family("j", now + Duration::hours(1)), now)
        .await
        .unwrap();
    other.catch_up().await.unwrap();
    assert!(!other.is_token_revoked("x").unwrap());
    assert!(!other.is_session_revoked("y").unwrap());
    assert!(!other.fetch_session_revoked("y").await.unwrap());
    assert_eq!(other.get("s").await.unwrap(), None);
    other.revoke_token("z", until, now).await.unwrap();
    store.catch_up().await.unwrap();
    assert!(!store.is_token_revoked("z").unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_later_cutoff_is_kept_exactly_and_never_undone() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let a = store(&cluster, &clock).await;
    let b = store(&cluster, &clock).await;
    let now = clock.now();
    // The last nanosecond of a second, as the issuer writes it.
    let late = now + Duration::nanoseconds(999_999_999);
    let early = now - Duration::minutes(5);
    a.revoke_subject("alice", late, now + Duration::days(14), now)
        .await
        .unwrap();
    a.revoke_subject("alice", early, now + Duration::days(15), now)
        .await
        .unwrap();
    assert_eq!(a.fetch_subject_cutoff("alice").await.unwrap(), Some(late));
    assert_eq!(a.subject_cutoff("alice").unwrap(), Some(late));
    b.catch_up().await.unwrap();
    assert_eq!(b.subject_cutoff("alice").unwrap(), Some(late));
    assert_eq!(b.fetch_subject_cutoff("bob").await.unwrap(), None);
    // The later `until` was kept too.
    let db = inspect(&cluster).await;
    let row = db
        .query_one(
            "SELECT until FROM keycard.subject_cutoffs WHERE subject = 'alice'",
            &[],
        )
        .await
        .unwrap();
    let until: OffsetDateTime = row.get(0);
    assert_eq!(until, now + Duration::days(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_past_its_time_is_read_and_cleanup_deletes_it_in_batches() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = clock.now();
    let hour = now + Duration::hours(1);
    let fam = family("j", hour);
    store.insert("s", fam.clone(), now).await.unwrap();
    store.revoke_token("t", hour, now).await.unwrap();
    store.revoke_session("gone", hour, now).await.unwrap();
    store.revoke_subject("u", now, hour, now).await.unwrap();
    assert!(store.is_token_revoked("t").unwrap());

    // Two hours later by the store's clock: every row is past its time and none is read,
    // though the database (whose clock has not moved) still holds them all.
    clock.advance(Duration::hours(2));
    store.catch_up().await.unwrap();
    assert_eq!(store.get("s").await.unwrap(), None);
    let later = clock.now();
    let next = family("k", later + Duration::hours(1));
    assert!(!store.compare_and_set("s", &fam, next, later).await.unwrap());
    assert!(!store.is_token_revoked("t").unwrap());
    assert!(!store.is_session_revoked("gone").unwrap());
    assert_eq!(store.subject_cutoff("u").unwrap(), None);
    assert!(!store.fetch_session_revoked("gone").await.unwrap());
    assert_eq!(store.fetch_subject_cutoff("u").await.unwrap(), None);
    assert_eq!(store.cleanup().await.unwrap(), 0);

    // Rows whose time passed more than the margin ago by the database's clock: one written
    // through the store, 2,500 in bulk. Cleanup deletes them all, in batches of 1,000, and
    // leaves the live ones.
    let long_ago = OffsetDateTime::now_utc() - Duration::minutes(5);
    store
        .insert("old", family("j", long_ago), long_ago)
        .await
        .unwrap();
    let db = inspect(&cluster).await;
    db.batch_execute(
        "INSERT INTO keycard.families (id, current, record, expires_at) \
         SELECT 'bulk-' || g, 'j', '{}', now() - interval '5 minutes' \
         FROM generate_series(1, 2500) g",
    )
    .await
    .unwrap();
    assert_eq!(store.cleanup().await.unwrap(), 2501);
    let left: i64 = db
        .query_one("SELECT count(*) FROM keycard.families", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        left, 1,
        "the family of the hour, still in its time by the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_explicit_idempotent_and_versioned() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let fresh = config(&cluster, &clock).schema("fresh");
    // Not migrated: connect refuses and says what to do.
    let err = PostgresStore::connect(fresh.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(err.to_string().contains("PostgresStore::migrate"), "{err}");

    // Four instances starting at once all migrate; the migration runs once.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let fresh = fresh.clone();
            tokio::spawn(async move { PostgresStore::migrate(&fresh).await })
        })
        .collect();
    for run in runs {
        assert_eq!(run.await.unwrap().unwrap(), PostgresStore::SCHEMA_VERSION);
    }
    assert_eq!(
        PostgresStore::migrate(&fresh).await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    let db = inspect(&cluster).await;
    let rows = db
        .query("SELECT version, name FROM fresh.schema_migrations", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 1);
    PostgresStore::connect(fresh).await.unwrap();

    // A schema name that is not a plain identifier never reaches the SQL.
    let err = PostgresStore::migrate(&config(&cluster, &clock).schema("x; DROP TABLE y"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_operation_never_the_id() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = clock.now();
    // PostgreSQL's text refuses NUL; its message would quote the bytes, ours does not.
    let id = "secret-session-id\0";
    let err = store
        .insert(id, family("secret-jti", now + Duration::hours(1)), now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    let text = format!("{err} {err:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("recording a family"), "{text}");
    let err = store
        .revoke_token("secret-jti\0", now + Duration::hours(1), now)
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_forgets_its_family_in_the_same_statement() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let store = store(&cluster, &clock).await;
    let now = clock.now();
    store
        .insert("s", family("j", now + Duration::hours(1)), now)
        .await
        .unwrap();
    store
        .revoke_session("s", now + Duration::minutes(20), now)
        .await
        .unwrap();
    // One statement wrote the revocation and deleted the family: the issuer's `remove` after
    // it has nothing left to do, so a connection lost between the two leaves nothing behind.
    assert_eq!(store.get("s").await.unwrap(), None);
    assert!(store.fetch_session_revoked("s").await.unwrap());
}
