//! Bounded slowdown of repeated authentication failures per client id.
//!
//! After [`FREE_FAILURES`] failures in a row, a client id is refused without a secret check
//! for a window that doubles with each further failure, up to [`MAX_BACKOFF`]; a success
//! forgets its failures. The table is bounded ([`MAX_TRACKED`] ids): when it is full, entries
//! whose window is over are dropped first, and ids that still find no room share one overflow
//! entry, so a flood of made-up ids slows itself down instead of growing memory.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Failures allowed before the first backoff.
pub(crate) const FREE_FAILURES: u32 = 3;
/// The longest backoff window.
pub(crate) const MAX_BACKOFF: Duration = Duration::seconds(30);
/// The most client ids tracked at once.
pub(crate) const MAX_TRACKED: usize = 4096;

/// The id all untracked ids share when the table is full.
const OVERFLOW: &str = "";

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: OffsetDateTime,
}

/// The failure table.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a consistent map: counters only.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `id` may try to authenticate at `now`.
    pub(crate) fn allows(&self, id: &str, now: OffsetDateTime) -> bool {
        let entries = self.lock();
        let entry = entries.get(id).or_else(|| {
            (entries.len() >= MAX_TRACKED)
                .then(|| entries.get(OVERFLOW))
                .flatten()
        });
        entry.is_none_or(|e| e.blocked_until <= now)
    }

    /// Records a failure of `id` at `now`.
    pub(crate) fn failed(&self, id: &str, now: OffsetDateTime) {
        let mut entries = self.lock();
        if !entries.contains_key(id) && entries.len() >= MAX_TRACKED {
            entries.retain(|key, e| key == OVERFLOW || e.blocked_until > now);
        }
        let key = if entries.contains_key(id) || entries.len() < MAX_TRACKED {
            id
        } else {
            OVERFLOW
        };
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            blocked_until: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= FREE_FAILURES {
            let doublings = (entry.failures - FREE_FAILURES).min(16);
            let backoff = Duration::seconds(1_i64 << doublings).min(MAX_BACKOFF);
            entry.blocked_until = now + backoff;
        }
    }

    /// Forgets the failures of `id` after a success.
    pub(crate) fn succeeded(&self, id: &str) {
        self.lock().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(s)
    }

    #[test]
    fn backoff_starts_after_the_free_failures_doubles_and_is_capped() {
        let throttle = Throttle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed("c", t(0));
            assert!(throttle.allows("c", t(0)));
        }
        throttle.failed("c", t(0));
        assert!(!throttle.allows("c", t(0)));
        assert!(throttle.allows("c", t(1)));
        throttle.failed("c", t(1));
        assert!(!throttle.allows("c", t(2)));
        assert!(throttle.allows("c", t(3)));
        for _ in 0..40 {
            throttle.failed("c", t(3));
        }
        assert!(throttle.allows("c", t(3) + MAX_BACKOFF));
        assert!(throttle.allows("other", t(3)));
        throttle.succeeded("c");
        assert!(throttle.allows("c", t(3)));
    }

    #[test]
    fn a_flood_of_ids_stays_bounded_and_shares_the_overflow_entry() {
        let throttle = Throttle::default();
        for i in 0..MAX_TRACKED + 64 {
            for _ in 0..FREE_FAILURES {
                throttle.failed(&format!("id{i}"), t(0));
            }
        }
        assert!(throttle.lock().len() <= MAX_TRACKED + 1);
        assert!(!throttle.allows("never-seen", t(0)));
    }
}
