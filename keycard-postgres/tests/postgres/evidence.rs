//! The figures in the README, from tests that are `#[ignore]`d (they take minutes, and print
//! rather than assert timings). Run them in a release build, alone:
//!
//! ```text
//! cargo test -p keycard-postgres --release --test postgres evidence -- --ignored --nocapture --test-threads 1
//! ```

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use crate::cluster::Cluster;
use crate::common::{inspect, instances, percentile, sid, Instance, TestClock};
use crate::propagation::measure_propagation;
use crate::storm::{round_without_grace, INSTANCES, TASKS};

use keycard::time::Duration;
use keycard_lifecycle::{Family, FamilyStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "evidence: minutes; run with --ignored in a release build"]
async fn evidence_rotation_storm_of_1000_rounds() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, INSTANCES, |b| {
        b.grace_period(Duration::ZERO)
    })
    .await;
    let start = Instant::now();
    for round in 0..1_000 {
        round_without_grace(&nodes, round).await;
    }
    println!(
        "FIGURE storm: {INSTANCES} instances x {TASKS} tasks x 1000 rounds, grace 0: exactly \
         one successor per round, {:?} in all, {:?} a round",
        start.elapsed(),
        start.elapsed() / 1_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "evidence: minutes; run with --ignored in a release build"]
async fn evidence_propagation_over_1000_revocations() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, 2, |b| b).await;
    let (delays, after_ack) = measure_propagation(&nodes[0], &nodes[1], 1_000).await;
    println!(
        "FIGURE propagation over {} revocations (revoke on A until verify on B refuses): \
         p50 {:?}, p90 {:?}, p99 {:?}, max {:?}; from revoke's return: p50 {:?}, p99 {:?}, \
         max {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 90),
        percentile(&delays, 99),
        delays[delays.len() - 1],
        percentile(&after_ack, 50),
        percentile(&after_ack, 99),
        after_ack[after_ack.len() - 1],
    );
}

const FAMILIES: i64 = 1_000_000;

/// Rotates random bulk families through the store (read, then the conditional `UPDATE`), from
/// 64 tasks on 4 instances; the latency of each rotation.
async fn rotate_bulk(
    nodes: &[Instance],
    template: &str,
    per_task: usize,
) -> (Vec<StdDuration>, usize) {
    let lost = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for t in 0..TASKS {
            let store = node.store.clone();
            let template = template.to_owned();
            let lost = Arc::clone(&lost);
            handles.push(tokio::spawn(async move {
                let mut delays = Vec::with_capacity(per_task);
                // A small LCG per task: random ids over the whole table, no extra crate.
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::try_from(n * TASKS + t).unwrap();
                for i in 0..per_task {
                    x = x
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let id = format!("bulk-{}", (x >> 33) % FAMILIES.unsigned_abs() + 1);
                    let now = keycard::time::OffsetDateTime::now_utc();
                    let start = Instant::now();
                    let family = store.get(&id).await.unwrap().expect("a bulk family");
                    let mut next: serde_json::Value = serde_json::from_str(&template).unwrap();
                    next["current"] = format!("next-{n}-{t}-{i}").into();
                    let next: Family = serde_json::from_value(next).unwrap();
                    let swapped = store
                        .compare_and_set(&id, &family, next, now)
                        .await
                        .unwrap();
                    delays.push(start.elapsed());
                    // Another task may have rotated the same family between the read and the
                    // swap (1 in 15,000 for two draws of a million): then a failed
                    // compare-and-set is the right answer, and is counted.
                    if !swapped {
                        lost.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                delays
            }));
        }
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    all.sort();
    (all, lost.load(std::sync::atomic::Ordering::SeqCst))
}

/// Rotates `n` random families of the `bulk-` ids present (as many as `count(*)` says), one at a
/// time.
async fn rotate_bulk_sequentially(
    node: &Instance,
    db: &tokio_postgres::Client,
    template: &str,
    n: usize,
) -> Vec<StdDuration> {
    let present: i64 = db
        .query_one(
            "SELECT count(*) FROM keycard.families WHERE id LIKE 'bulk-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if present == 0 {
        db.execute(
            "INSERT INTO keycard.families (id, current, record, expires_at) \
             SELECT 'bulk-' || g, ($1::text)::json->>'current', $1::text, now() + interval '14 days' \
             FROM generate_series(1, 2000) g",
            &[&template],
        )
        .await
        .unwrap();
    }
    let present = present.max(2_000).unsigned_abs();
    let mut delays = Vec::with_capacity(n);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let id = format!("bulk-{}", (x >> 33) % present + 1);
        let now = keycard::time::OffsetDateTime::now_utc();
        let start = Instant::now();
        let family = node.store.get(&id).await.unwrap().expect("a bulk family");
        let mut next: serde_json::Value = serde_json::from_str(template).unwrap();
        next["current"] = format!("seq-{i}").into();
        let next: Family = serde_json::from_value(next).unwrap();
        assert!(node
            .store
            .compare_and_set(&id, &family, next, now)
            .await
            .unwrap());
        delays.push(start.elapsed());
    }
    delays.sort();
    delays
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "evidence: minutes and about 2 GB of disk; run with --ignored in a release build"]
async fn evidence_a_million_families() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let clock = TestClock::new();
    let nodes = instances(&cluster, &clock, INSTANCES, |b| b).await;

    // The record of a real session after one rotation: it carries the grace-period successor
    // pair, so it is the larger of the two sizes a family has (about 1.2 KB).
    let login = nodes[0].issuer.issue("alice", &()).await.unwrap();
    let next = nodes[0].issuer.refresh(&login.refresh_token).await.unwrap();
    let db = inspect(&cluster).await;
    let template: String = db
        .query_one(
            "SELECT record FROM keycard.families WHERE id = $1",
            &[&sid(&next.access_token)],
        )
        .await
        .unwrap()
        .get(0);
    let fresh = nodes[1].issuer.issue("bob", &()).await.unwrap();
    let login_record: String = db
        .query_one(
            "SELECT record FROM keycard.families WHERE id = $1",
            &[&sid(&fresh.access_token)],
        )
        .await
        .unwrap()
        .get(0);
    // Rotation alone, one at a time, on a small table: the base line for the figure at size.
    let small = rotate_bulk_sequentially(&nodes[0], &db, &template, 2_000).await;
    db.batch_execute("DELETE FROM keycard.families WHERE id LIKE 'bulk-%'")
        .await
        .unwrap();

    let start = Instant::now();
    db.execute(
        "INSERT INTO keycard.families (id, current, record, expires_at) \
         SELECT 'bulk-' || g, ($1::text)::json->>'current', $1::text, now() + interval '14 days' \
         FROM generate_series(1, $2::bigint) g",
        &[&template, &FAMILIES],
    )
    .await
    .unwrap();
    let loaded = start.elapsed();
    db.batch_execute("VACUUM ANALYZE keycard.families")
        .await
        .unwrap();
    let sizes = db
        .query_one(
            "SELECT pg_total_relation_size('keycard.families'), \
                    pg_relation_size('keycard.families'), \
                    pg_indexes_size('keycard.families'), \
                    pg_total_relation_size('keycard.families') \
                      - pg_relation_size('keycard.families') \
                      - pg_indexes_size('keycard.families'), \
                    count(*) FROM keycard.families",
            &[],
        )
        .await
        .unwrap();
    let (total, heap, indexes, toast, rows): (i64, i64, i64, i64, i64) = (
        sizes.get(0),
        sizes.get(1),
        sizes.get(2),
        sizes.get(3),
        sizes.get(4),
    );
    let mib = |b: i64| b as f64 / 1_048_576.0;
    println!(
        "FIGURE {rows} families (rotated records of {} bytes), loaded in {loaded:?}: total \
         {:.0} MiB (table {:.0} MiB, indexes {:.0} MiB, TOAST and maps {:.1} MiB), {} bytes a \
         family",
        template.len(),
        mib(total),
        mib(heap),
        mib(indexes),
        mib(toast),
        total / rows
    );

    let sequential = rotate_bulk_sequentially(&nodes[0], &db, &template, 2_000).await;
    println!(
        "FIGURE rotation one at a time (get + conditional UPDATE, one task): at 2,000 families \
         p50 {:?}, p99 {:?}; at {rows} families p50 {:?}, p99 {:?}, max {:?}",
        percentile(&small, 50),
        percentile(&small, 99),
        percentile(&sequential, 50),
        percentile(&sequential, 99),
        sequential[sequential.len() - 1]
    );
    let started = Instant::now();
    let (delays, lost) = rotate_bulk(&nodes, &template, 200).await;
    let rate = delays.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "FIGURE rotation at {rows} families (get + conditional UPDATE on random families, \
         {INSTANCES} instances x {TASKS} tasks, {} rotations of which {lost} lost their swap to \
         another task, {rate:.0} a second): p50 {:?}, \
         p99 {:?}, max {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1]
    );

    // End to end: real sessions made at that size, each refreshed from one of 64 tasks.
    let mut pairs = Vec::new();
    for i in 0..1_024 {
        pairs.push(
            nodes[i % INSTANCES]
                .issuer
                .issue(&format!("user-{i}"), &())
                .await
                .unwrap(),
        );
    }
    let pairs = Arc::new(pairs);
    let mut handles = Vec::new();
    for task in 0..INSTANCES * TASKS {
        let (issuer, pairs) = (nodes[task % INSTANCES].issuer.clone(), Arc::clone(&pairs));
        handles.push(tokio::spawn(async move {
            let mut delays = Vec::new();
            for pair in pairs.iter().skip(task).step_by(INSTANCES * TASKS) {
                let start = Instant::now();
                issuer.refresh(&pair.refresh_token).await.unwrap();
                delays.push(start.elapsed());
            }
            delays
        }));
    }
    let mut delays = Vec::new();
    for handle in handles {
        delays.extend(handle.await.unwrap());
    }
    delays.sort();
    println!(
        "FIGURE refresh_async at {rows} families ({} sessions, 64 tasks on {INSTANCES} \
         instances): p50 {:?}, p99 {:?}, max {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1]
    );

    // The same number of families as stored at login (no successor yet).
    db.batch_execute("TRUNCATE keycard.families").await.unwrap();
    db.execute(
        "INSERT INTO keycard.families (id, current, record, expires_at) \
         SELECT 'bulk-' || g, ($1::text)::json->>'current', $1::text, now() + interval '14 days' \
         FROM generate_series(1, $2::bigint) g",
        &[&login_record, &FAMILIES],
    )
    .await
    .unwrap();
    db.batch_execute("VACUUM ANALYZE keycard.families")
        .await
        .unwrap();
    let total: i64 = db
        .query_one("SELECT pg_total_relation_size('keycard.families')", &[])
        .await
        .unwrap()
        .get(0);
    println!(
        "FIGURE {FAMILIES} families as stored at login (records of {} bytes): total {:.0} MiB, \
         {} bytes a family",
        login_record.len(),
        mib(total),
        total / FAMILIES
    );

    // Cleanup at that size: 100,000 of them expired, deleted in bounded passes.
    db.batch_execute(
        "UPDATE keycard.families SET expires_at = now() - interval '1 hour' \
         WHERE id IN (SELECT 'bulk-' || g FROM generate_series(1, 100000) g)",
    )
    .await
    .unwrap();
    let start = Instant::now();
    let mut deleted = 0;
    let mut passes = 0;
    loop {
        let n = nodes[0].store.cleanup().await.unwrap();
        passes += 1;
        deleted += n;
        if n == 0 {
            break;
        }
    }
    println!(
        "FIGURE cleanup: {deleted} expired families of {FAMILIES} deleted in {passes} passes \
         of at most 100 batches of 1000 rows, {:?}",
        start.elapsed()
    );
}
