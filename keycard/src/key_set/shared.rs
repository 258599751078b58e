//! The key set a validator and all its clones share, replaceable while they verify.
//!
//! Verifying must not touch shared mutable state: a lock or a reference count updated by every
//! verification makes the cores fight over one cache line, and throughput stops scaling with
//! threads. So each thread keeps its own snapshot of the set and re-reads the shared one only
//! when a generation counter says it was replaced. On the hot path that is one atomic *load* of a
//! counter no one writes until the next rotation (the cache line stays shared by all cores) and a
//! look into the thread's own cache. std has no atomic `Arc` swap and keycard takes no
//! dependency for one, hence this.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::KeySet;

/// How many validators' snapshots one thread keeps; the least recently refreshed goes first.
const SNAPSHOTS_PER_THREAD: usize = 8;

thread_local! {
    static SNAPSHOTS: RefCell<Vec<Snapshot>> = const { RefCell::new(Vec::new()) };
}

/// One thread's copy of one shared set, as of a generation.
struct Snapshot {
    owner: u64,
    generation: u64,
    keys: Arc<KeySet>,
}

/// A key set shared by clones of a validator and replaced whole.
#[derive(Debug)]
pub(crate) struct SharedKeys {
    /// Tells this set's snapshots from other validators' in a thread's cache; never reused.
    id: u64,
    /// Bumped after every replacement.
    generation: AtomicU64,
    current: RwLock<Arc<KeySet>>,
}

impl SharedKeys {
    pub(crate) fn new(keys: KeySet) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        SharedKeys {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            current: RwLock::new(Arc::new(keys)),
        }
    }

    /// The set, to change while nothing else can see it (a validator being built).
    pub(crate) fn get_mut(&mut self) -> &mut KeySet {
        let current = self
            .current
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::make_mut(current)
    }

    /// The current set, taken under the lock.
    pub(crate) fn snapshot(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a whole `Arc`: a panic cannot leave half a set behind.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the set. Every verification that starts after this returns sees the new one.
    pub(crate) fn replace(&self, keys: KeySet) {
        let old = {
            let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *current, Arc::new(keys))
        };
        // After the swap, so that a reader who sees the new generation reads the new set.
        self.generation.fetch_add(1, Ordering::Release);
        drop(old);
    }

    /// Runs `f` on the current set, from this thread's snapshot when it is up to date.
    pub(crate) fn with_current<R>(&self, f: impl FnOnce(&KeySet) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        let mut f = Some(f);
        let cached = SNAPSHOTS.try_with(|cell| {
            // A shared borrow, so a verifier that verifies another token inside `f` still works.
            let snapshots = cell.try_borrow().ok()?;
            let snapshot = snapshots
                .iter()
                .find(|s| s.owner == self.id && s.generation == generation)?;
            f.take().map(|f| f(&snapshot.keys))
        });
        if let Ok(Some(result)) = cached {
            return result;
        }
        // Read under the lock after loading the generation: the set is at least that new.
        let keys = self.snapshot();
        // `try_with`: during thread teardown the cache is gone, and verifying still works.
        let _ = SNAPSHOTS.try_with(|cell| {
            if let Ok(mut snapshots) = cell.try_borrow_mut() {
                snapshots.retain(|s| s.owner != self.id);
                if snapshots.len() >= SNAPSHOTS_PER_THREAD {
                    snapshots.remove(0);
                }
                snapshots.push(Snapshot {
                    owner: self.id,
                    generation,
                    keys: Arc::clone(&keys),
                });
            }
        });
        match f.take() {
            Some(f) => f(&keys),
            // `f` is taken only on a cache hit, and a hit has returned above.
            None => unreachable!("with_current: f taken without a cache hit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, HmacKey};

    fn set(kid: &str) -> KeySet {
        KeySet::from_iter([HmacKey::new(Algorithm::HS256, &[7; 32])
            .unwrap()
            .with_key_id(kid)])
    }

    fn kid(keys: &KeySet) -> String {
        keys.iter().next().unwrap().key_id().unwrap().to_owned()
    }

    #[test]
    fn a_replacement_is_seen_by_the_next_call_on_every_thread() {
        let shared = Arc::new(SharedKeys::new(set("a")));
        assert_eq!(shared.with_current(kid), "a");
        shared.replace(set("b"));
        assert_eq!(shared.with_current(kid), "b");
        let other = Arc::clone(&shared);
        std::thread::spawn(move || {
            assert_eq!(other.with_current(kid), "b");
            other.replace(set("c"));
        })
        .join()
        .unwrap();
        assert_eq!(shared.with_current(kid), "c");
    }

    #[test]
    fn snapshots_of_different_sets_do_not_mix() {
        let (one, two) = (SharedKeys::new(set("one")), SharedKeys::new(set("two")));
        for _ in 0..3 {
            assert_eq!(one.with_current(kid), "one");
            assert_eq!(two.with_current(kid), "two");
        }
        // More sets than a thread keeps: still each its own.
        let many: Vec<SharedKeys> = (0..20)
            .map(|i| SharedKeys::new(set(&i.to_string())))
            .collect();
        for (i, keys) in many.iter().enumerate() {
            assert_eq!(keys.with_current(kid), i.to_string());
        }
        assert_eq!(one.with_current(kid), "one");
    }

    #[test]
    fn a_nested_call_on_the_same_thread_works() {
        let (outer, inner) = (SharedKeys::new(set("outer")), SharedKeys::new(set("inner")));
        outer.with_current(|_| ());
        let nested = outer.with_current(|o| format!("{}/{}", kid(o), inner.with_current(kid)));
        assert_eq!(nested, "outer/inner");
    }
}
