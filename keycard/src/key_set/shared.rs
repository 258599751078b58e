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

use super::{KeySet, KeySource};
use crate::error::Error;

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

/// A key set shared by clones of a validator: held here and replaced whole, or read from a
/// [`KeySource`].
#[derive(Debug)]
pub(crate) struct SharedKeys {
    /// Tells this set's snapshots from other validators' in a thread's cache; never reused.
    id: u64,
    origin: Origin,
}

#[derive(Debug)]
enum Origin {
    /// The validator's own set, replaced by `Validator::replace_keys`.
    Own {
        /// Bumped after every replacement.
        generation: AtomicU64,
        current: RwLock<Arc<KeySet>>,
    },
    /// A source that hands out sets and says when they change or go stale.
    Source(Arc<dyn KeySource>),
}

impl SharedKeys {
    pub(crate) fn new(keys: KeySet) -> Self {
        Self::with_origin(Origin::Own {
            generation: AtomicU64::new(0),
            current: RwLock::new(Arc::new(keys)),
        })
    }

    pub(crate) fn from_source(source: Arc<dyn KeySource>) -> Self {
        Self::with_origin(Origin::Source(source))
    }

    fn with_origin(origin: Origin) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        SharedKeys {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            origin,
        }
    }

    /// The source the keys come from, when they come from one.
    pub(crate) fn source(&self) -> Option<&Arc<dyn KeySource>> {
        match &self.origin {
            Origin::Own { .. } => None,
            Origin::Source(source) => Some(source),
        }
    }

    /// The set, to change while nothing else can see it (a validator being built); `None` when
    /// the keys come from a source.
    pub(crate) fn get_mut(&mut self) -> Option<&mut KeySet> {
        match &mut self.origin {
            Origin::Own { current, .. } => Some(Arc::make_mut(
                current.get_mut().unwrap_or_else(PoisonError::into_inner),
            )),
            Origin::Source(_) => None,
        }
    }

    /// The current set, taken under the lock (or from the source).
    pub(crate) fn snapshot(&self) -> Arc<KeySet> {
        match &self.origin {
            // A poisoned lock still holds a whole `Arc`: a panic cannot leave half a set behind.
            Origin::Own { current, .. } => {
                Arc::clone(&current.read().unwrap_or_else(PoisonError::into_inner))
            }
            Origin::Source(source) => source.keys(),
        }
    }

    /// Replaces the set. Every verification that starts after this returns sees the new one.
    ///
    /// # Errors
    /// A configuration error when the keys come from a source, which alone replaces them.
    pub(crate) fn replace(&self, keys: KeySet) -> Result<(), Error> {
        let Origin::Own {
            generation,
            current,
        } = &self.origin
        else {
            return Err(Error::configuration(
                "this validator's keys come from its key source, which replaces them; \
                 replace_keys works only on a validator built with its own keys",
            ));
        };
        let old = {
            let mut current = current.write().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *current, Arc::new(keys))
        };
        // After the swap, so that a reader who sees the new generation reads the new set.
        generation.fetch_add(1, Ordering::Release);
        drop(old);
        Ok(())
    }

    /// The generation of the current set: bumped by every replacement of the validator's own
    /// set, or the source's [`KeySource::generation`]. What a verified-token cache ties its
    /// entries to, read before the token is verified.
    ///
    /// # Errors
    /// The source's error when its keys are stale.
    pub(crate) fn generation(&self) -> Result<u64, Error> {
        match &self.origin {
            Origin::Own { generation, .. } => Ok(generation.load(Ordering::Acquire)),
            Origin::Source(source) => source.generation(),
        }
    }

    /// Runs `f` on the current set, from this thread's snapshot when it is up to date.
    ///
    /// # Errors
    /// The source's error when its keys are stale ([`KeySource::generation`]).
    pub(crate) fn with_current<R>(&self, f: impl FnOnce(&KeySet) -> R) -> Result<R, Error> {
        let generation = match &self.origin {
            Origin::Own { generation, .. } => generation.load(Ordering::Acquire),
            Origin::Source(source) => source.generation()?,
        };
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
            return Ok(result);
        }
        // Read after loading the generation: the set is at least that new.
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
            Some(f) => Ok(f(&keys)),
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
        assert_eq!(shared.with_current(kid).unwrap(), "a");
        shared.replace(set("b")).unwrap();
        assert_eq!(shared.with_current(kid).unwrap(), "b");
        let other = Arc::clone(&shared);
        std::thread::spawn(move || {
            assert_eq!(other.with_current(kid).unwrap(), "b");
            other.replace(set("c")).unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(shared.with_current(kid).unwrap(), "c");
    }

    #[test]
    fn the_generation_moves_with_every_replacement() {
        let shared = SharedKeys::new(set("a"));
        let first = shared.generation().unwrap();
        shared.replace(set("b")).unwrap();
        let second = shared.generation().unwrap();
        assert_ne!(first, second);
        assert_eq!(shared.generation().unwrap(), second);
    }

    #[test]
    fn snapshots_of_different_sets_do_not_mix() {
        let (one, two) = (SharedKeys::new(set("one")), SharedKeys::new(set("two")));
        for _ in 0..3 {
            assert_eq!(one.with_current(kid).unwrap(), "one");
            assert_eq!(two.with_current(kid).unwrap(), "two");
        }
        // More sets than a thread keeps: still each its own.
        let many: Vec<SharedKeys> = (0..20)
            .map(|i| SharedKeys::new(set(&i.to_string())))
            .collect();
        for (i, keys) in many.iter().enumerate() {
            assert_eq!(keys.with_current(kid).unwrap(), i.to_string());
        }
        assert_eq!(one.with_current(kid).unwrap(), "one");
    }

    #[test]
    fn a_nested_call_on_the_same_thread_works() {
        let (outer, inner) = (SharedKeys::new(set("outer")), SharedKeys::new(set("inner")));
        outer.with_current(|_| ()).unwrap();
        let nested = outer
            .with_current(|o| format!("{}/{}", kid(o), inner.with_current(kid).unwrap()))
            .unwrap();
        assert_eq!(nested, "outer/inner");
    }
}
