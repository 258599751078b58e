//! The verified-token cache a validator can keep ([`ValidatorBuilder::cache_verified`]): the
//! decoded claims JSON of tokens whose signature (and every other check) passed, keyed by the
//! whole token, so that a token seen again skips the base64url and the signature, the costly part
//! of an RS256 or ES256 verify. What a hit does not skip is listed in the builder's docs: the
//! claims are read into the caller's type and every claim rule runs again against now.
//!
//! An entry answers only for the exact token (the full text is compared on every lookup; the
//! 64-bit SipHash, keyed per cache, only picks the bucket), only while the key set has the
//! generation it was verified under ([`SharedKeys::generation`](crate::key_set::SharedKeys),
//! read before the token was verified, so an entry can be older than its keys, never newer), and
//! only for `max_age` from when it was made. The cache holds at most `max_entries` entries and
//! `max_bytes` bytes, in [`SHARDS`] shards of their own lock, so that threads verifying different
//! tokens do not wait on each other; within a shard the oldest entry goes first.
//!
//! [`ValidatorBuilder::cache_verified`]: super::ValidatorBuilder::cache_verified

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{PoisonError, RwLock};

use time::Duration;

/// The most shards a cache is split into (fewer for a cache of fewer entries).
const SHARDS: usize = 16;

/// What one entry costs beside its token and payload bytes: the entry itself, the map's slot and
/// the eviction queue's record, counted against `max_bytes`.
pub(crate) const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>()
    + std::mem::size_of::<u64>()
    + 2 * std::mem::size_of::<(u64, u64)>()
    + 8;

/// The settings of [`ValidatorBuilder::cache_verified`](super::ValidatorBuilder::cache_verified)
/// and its companions, checked by `build`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheSettings {
    pub(crate) max_entries: usize,
    pub(crate) max_age: Duration,
    /// `None`: [`DEFAULT_BYTES_PER_ENTRY`] per entry.
    pub(crate) max_bytes: Option<usize>,
    pub(crate) max_token_len: usize,
}

/// The byte bound of a cache whose `max_bytes` was not set, per entry allowed.
pub(crate) const DEFAULT_BYTES_PER_ENTRY: usize = 2 * 1024;

/// The longest token cached unless set otherwise (longer ones are verified every time).
pub(crate) const DEFAULT_MAX_CACHED_TOKEN_LEN: usize = 4 * 1024;

/// A verified-token cache (see the module docs).
pub(crate) struct TokenCache {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
    /// `max_age` in nanoseconds.
    max_age: i128,
    max_token_len: usize,
    settings: CacheSettings,
    /// `settings.max_bytes` or its default.
    max_bytes: usize,
}

/// Where [`TokenCache::get`] put the payload: the caller's inline buffer (its first `n` bytes)
/// or its heap buffer.
pub(crate) enum Found {
    Inline(usize),
    Heap,
}

struct Shard {
    /// By the token's hash; the entry holds the token, compared in full.
    map: HashMap<u64, Entry, BuildHasherDefault<Prehashed>>,
    /// `(hash, seq)` of every entry in the order made, oldest first; records whose entry was
    /// replaced or removed are skipped when they come up.
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
    bytes: usize,
    /// The generation of the entries: a token verified under another one empties the shard.
    generation: u64,
    max_entries: usize,
    max_bytes: usize,
}

struct Entry {
    token: Box<str>,
    payload: Box<[u8]>,
    generation: u64,
    /// When it was made, in nanoseconds since the epoch by the validator's clock.
    made: i128,
    seq: u64,
}

impl Entry {
    fn cost(&self) -> usize {
        cost(&self.token, &self.payload)
    }
}

fn cost(token: &str, payload: &[u8]) -> usize {
    token.len() + payload.len() + ENTRY_OVERHEAD
}

impl TokenCache {
    /// A cache with `settings` (checked by the builder: entries, age and bytes positive).
    pub(crate) fn new(settings: CacheSettings) -> Self {
        let max_bytes = settings
            .max_bytes
            .unwrap_or_else(|| settings.max_entries.saturating_mul(DEFAULT_BYTES_PER_ENTRY));
        // A power of two no larger than the entries (nor than the bytes in ordinary entries), so
        // that every shard has room for some and the shards together hold no more than the
        // bounds (each shard gets its share, rounded down).
        let shards = SHARDS
            .min(prev_power_of_two(settings.max_entries.max(1)))
            .min(prev_power_of_two(
                (max_bytes / DEFAULT_BYTES_PER_ENTRY).max(1),
            ));
        let shard = || {
            RwLock::new(Shard {
                map: HashMap::default(),
                order: VecDeque::new(),
                next_seq: 0,
                bytes: 0,
                generation: 0,
                max_entries: settings.max_entries / shards,
                max_bytes: max_bytes / shards,
            })
        };
        TokenCache {
            shards: (0..shards).map(|_| shard()).collect(),
            hasher: RandomState::new(),
            max_age: settings.max_age.whole_nanoseconds(),
            max_token_len: settings.max_token_len,
            settings,
            max_bytes,
        }
    }

    pub(crate) fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    /// The byte bound in force (`max_bytes`, or its default).
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Whether `token` is short enough to be cached.
    pub(crate) fn admits(&self, token: &str) -> bool {
        token.len() <= self.max_token_len
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        // The top bits: the map inside the shard uses the low ones.
        let index = usize::try_from(hash >> 32).unwrap_or(0) % self.shards.len();
        &self.shards[index]
    }

    fn fresh(&self, made: i128, now: i128) -> bool {
        // A clock that went back past the entry's making also ends it.
        now >= made && now - made < self.max_age
    }

    /// The payload verified for exactly `token`, made less than `max_age` before `now`, and the
    /// key-set generation it was verified under (the caller compares it with the current one):
    /// the payload is copied into `inline` when it fits, else into `heap`.
    pub(crate) fn get(
        &self,
        token: &str,
        now: i128,
        inline: &mut [u8],
        heap: &mut Vec<u8>,
    ) -> Option<(Found, u64)> {
        let hash = self.hasher.hash_one(token);
        let shard = self
            .shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.map.get(&hash)?;
        // The whole token, byte for byte: the hash only chose the bucket.
        if *entry.token != *token || !self.fresh(entry.made, now) {
            return None;
        }
        let payload = &entry.payload[..];
        let found = match inline.get_mut(..payload.len()) {
            Some(room) => {
                room.copy_from_slice(payload);
                Found::Inline(payload.len())
            }
            None => {
                heap.clear();
                heap.extend_from_slice(payload);
                Found::Heap
            }
        };
        Some((found, entry.generation))
    }

    /// Keeps `payload` as the verified claims of `token`, verified under key-set `generation`
    /// at `now`. Call only once every check of the validator has passed.
    pub(crate) fn insert(&self, token: &str, payload: &[u8], generation: u64, now: i128) {
        if !self.admits(token) {
            return;
        }
        let cost = cost(token, payload);
        let hash = self.hasher.hash_one(token);
        let mut shard = self
            .shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if cost > shard.max_bytes || shard.max_entries == 0 {
            return;
        }
        if shard.generation != generation {
            // The key set changed: none of the entries can answer any more.
            shard.map.clear();
            shard.order.clear();
            shard.bytes = 0;
            shard.generation = generation;
        }
        if let Some(old) = shard.map.remove(&hash) {
            shard.bytes -= old.cost();
        }
        // Oldest first: those past their age, then as many as the new entry needs.
        while let Some(&(oldest, seq)) = shard.order.front() {
            let live = shard.map.get(&oldest).filter(|e| e.seq == seq);
            let full = shard.map.len() >= shard.max_entries || shard.bytes + cost > shard.max_bytes;
            match live {
                None => {
                    shard.order.pop_front();
                }
                Some(entry) if full || !self.fresh(entry.made, now) => {
                    let freed = entry.cost();
                    shard.map.remove(&oldest);
                    shard.bytes -= freed;
                    shard.order.pop_front();
                }
                Some(_) => break,
            }
        }
        let seq = shard.next_seq;
        shard.next_seq += 1;
        shard.map.insert(
            hash,
            Entry {
                token: token.into(),
                payload: payload.into(),
                generation,
                made: now,
                seq,
            },
        );
        shard.order.push_back((hash, seq));
        shard.bytes += cost;
        // Records of replaced entries stay in the queue until they come up; keep it bounded.
        if shard.order.len() > 2 * shard.max_entries + 16 {
            let Shard { map, order, .. } = &mut *shard;
            order.retain(|(hash, seq)| map.get(hash).is_some_and(|e| e.seq == *seq));
        }
    }

    /// How many entries and bytes the cache holds now (for `Debug`).
    pub(crate) fn usage(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(entries, bytes), shard| {
            let shard = shard.read().unwrap_or_else(PoisonError::into_inner);
            (entries + shard.map.len(), bytes + shard.bytes)
        })
    }
}

/// The largest power of two not above `n` (`n` ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// The hasher of a shard's map, whose keys are already SipHash outputs: it passes them through.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; any other input is folded in, still deterministic.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_cache(max_entries: usize, max_bytes: Option<usize>) -> TokenCache {
        TokenCache::new(CacheSettings {
            max_entries,
            max_age: Duration::minutes(1),
            max_bytes,
            max_token_len: 100,
        })
    }

    /// What the validator takes from the cache: the payload, when its generation is current.
    fn get(cache: &TokenCache, token: &str, generation: u64, now: i128) -> Option<Vec<u8>> {
        let (mut inline, mut heap) = ([0u8; 8], Vec::new());
        match cache.get(token, now, &mut inline, &mut heap)? {
            (_, made_under) if made_under != generation => None,
            (Found::Inline(n), _) => Some(inline[..n].to_vec()),
            (Found::Heap, _) => Some(heap),
        }
    }

    #[test]
    fn answers_only_for_the_same_token_generation_and_age() {
        let cache = new_cache(10, None);
        cache.insert("a.b.c", b"{}", 1, 0);
        assert_eq!(get(&cache, "a.b.c", 1, 5).as_deref(), Some(&b"{}"[..]));
        assert_eq!(get(&cache, "a.b.cd", 1, 5), None);
        assert_eq!(get(&cache, "a.b.", 1, 5), None);
        assert_eq!(get(&cache, "a.b.c", 2, 5), None, "another key set");
        let minute = Duration::minutes(1).whole_nanoseconds();
        assert_eq!(get(&cache, "a.b.c", 1, minute), None, "too old");
        assert_eq!(get(&cache, "a.b.c", 1, -1), None, "the clock went back");
        // A payload longer than the inline buffer goes to the heap.
        cache.insert("d.e.f", b"0123456789", 1, 0);
        assert_eq!(
            get(&cache, "d.e.f", 1, 0).as_deref(),
            Some(&b"0123456789"[..])
        );
    }

    #[test]
    fn holds_its_bounds() {
        let cache = new_cache(4, None);
        for i in 0..100 {
            cache.insert(&format!("t.{i}.s"), b"{}", 1, i);
            let (entries, bytes) = cache.usage();
            assert!(entries <= 4 && bytes <= 4 * DEFAULT_BYTES_PER_ENTRY, "{i}");
        }
        let per_entry = cost("t.00.s", b"{}");
        let small = cache_with_bytes(3 * per_entry);
        for i in 10..100 {
            small.insert(&format!("t.{i}.s"), b"{}", 1, 0);
            assert!(small.usage().1 <= 3 * per_entry);
        }
        assert_eq!(
            small.usage().0,
            3,
            "one shard for so few bytes: all three fit"
        );
        small.insert(&"x".repeat(101), b"{}", 1, 0);
        assert_eq!(
            get(&small, &"x".repeat(101), 1, 0),
            None,
            "longer than max_token_len"
        );
        // A key-set change empties a shard when the next token comes.
        let single = new_cache(1, None);
        single.insert("one", b"1", 1, 0);
        single.insert("two", b"2", 2, 0);
        assert_eq!(single.usage().0, 1);
        assert_eq!(get(&single, "two", 2, 0).as_deref(), Some(&b"2"[..]));
    }

    fn cache_with_bytes(max_bytes: usize) -> TokenCache {
        TokenCache::new(CacheSettings {
            max_entries: 100,
            max_age: Duration::minutes(1),
            max_bytes: Some(max_bytes),
            max_token_len: 100,
        })
    }

    #[test]
    fn a_replaced_entry_is_counted_once() {
        let cache = new_cache(2, None);
        for _ in 0..100 {
            cache.insert("same", b"{}", 1, 0);
        }
        assert_eq!(cache.usage(), (1, cost("same", b"{}")));
        let shard = cache.shard(cache.hasher.hash_one("same")).read().unwrap();
        assert!(shard.order.len() <= 2 * shard.max_entries + 16);
    }

    #[test]
    fn the_overhead_an_entry_is_documented_as() {
        // ValidatorBuilder::cache_max_bytes says "about 130 bytes an entry".
        assert!((100..=160).contains(&ENTRY_OVERHEAD), "{ENTRY_OVERHEAD}");
    }

    #[test]
    fn powers_of_two() {
        assert_eq!(
            [1, 2, 3, 4, 15, 16, 17, 1000].map(prev_power_of_two),
            [1, 2, 2, 4, 8, 16, 16, 512]
        );
    }
}
