//! The bounded map behind the in-memory stores: every entry carries the time after which it is
//! useless, and entries past it are pruned whenever the map has doubled since the last pruning, so
//! its size stays within twice the number of live entries (or [`PRUNE_FLOOR`]) at amortized O(1)
//! per insertion. A hard capacity refuses new entries rather than forgetting live ones.

use std::collections::HashMap;
use std::fmt;

use time::OffsetDateTime;

use keycard::Error;

/// Below this many entries the map is not pruned: a scan would cost more than the memory.
pub(crate) const PRUNE_FLOOR: usize = 1024;

/// Entries with an expiry, pruned as the map grows. No `Debug`: its keys are session and token
/// ids, which the stores never print.
pub(crate) struct ExpiringMap<V> {
    entries: HashMap<String, (V, OffsetDateTime)>,
    prune_at: usize,
    capacity: usize,
    what: &'static str,
}

impl<V> ExpiringMap<V> {
    /// An empty map that holds at most `capacity` live entries of `what` (named in errors).
    pub(crate) fn new(capacity: usize, what: &'static str) -> Self {
        ExpiringMap {
            entries: HashMap::new(),
            prune_at: PRUNE_FLOOR,
            capacity,
            what,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&(V, OffsetDateTime)> {
        self.entries.get(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Sets `key` to `value`, to be kept until `until`; `now` decides what may be pruned.
    pub(crate) fn insert(
        &mut self,
        key: &str,
        value: V,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        if self.entries.len() >= self.prune_at {
            self.prune(now);
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(key) {
            self.prune(now);
            if self.entries.len() >= self.capacity {
                return Err(Error::store(Full {
                    what: self.what,
                    capacity: self.capacity,
                }));
            }
        }
        self.entries.insert(key.to_owned(), (value, until));
        Ok(())
    }

    /// Forgets every entry whose time has passed.
    fn prune(&mut self, now: OffsetDateTime) {
        self.entries.retain(|_, (_, until)| *until > now);
        self.prune_at = PRUNE_FLOOR.max(self.entries.len().saturating_mul(2));
    }
}

/// An in-memory store reached its capacity with every entry still live.
#[derive(Debug)]
struct Full {
    what: &'static str,
    capacity: usize,
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the in-memory {} store is full ({} live entries); raise its capacity or keep them \
             in a database",
            self.what, self.capacity
        )
    }
}

impl std::error::Error for Full {}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn expired_entries_are_pruned_as_the_map_grows() {
        let mut map = ExpiringMap::new(usize::MAX, "test");
        for i in 0..10 * PRUNE_FLOOR {
            let now = t(i64::try_from(i).unwrap());
            map.insert(&i.to_string(), (), now + Duration::seconds(10), now)
                .unwrap();
            assert!(map.len() <= PRUNE_FLOOR, "{} entries at {i}", map.len());
        }
    }

    #[test]
    fn a_full_map_refuses_rather_than_forgets() {
        let mut map = ExpiringMap::new(2, "test");
        map.insert("a", (), t(100), t(0)).unwrap();
        map.insert("b", (), t(100), t(0)).unwrap();
        let err = map.insert("c", (), t(100), t(0)).unwrap_err();
        assert_eq!(err.kind(), keycard::ErrorKind::Store);
        assert!(err.to_string().contains("full (2 live entries)"), "{err}");
        map.insert("a", (), t(200), t(0)).unwrap();
        // Once the others expire there is room again.
        map.insert("c", (), t(300), t(150)).unwrap();
        assert!(map.get("b").is_none() && map.get("a").is_some());
    }
}
