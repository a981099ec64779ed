//! The in-process tier: typed values, no serialisation, and no global lock on a hit.

use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;

use crate::entry::Stamp;
use crate::key::KeyRef;

/// Shards for an unbounded memory tier: enough that two threads rarely share a lock.
const DEFAULT_SHARDS: usize = 16;
/// A bounded tier gets fewer shards when it is small, so that each shard keeps at least this many
/// entries and its LRU order stays meaningful (a tier of fewer than 64 entries is one shard,
/// hence exact LRU).
const MIN_ENTRIES_PER_SHARD: usize = 32;

/// Typed entries in process memory, sharded by key hash: the backend in front of all others.
///
/// A hit takes one shard's read lock and clones the value; it neither allocates nor serialises
/// (wrap large values in `Arc` to make the clone cheap).
///
/// With [`max_entries`](Self::max_entries)`(n)` the backend holds exactly `n` entries once full
/// (the bound is the backend's, not split across shards). Inserting a new key into a full backend
/// evicts the least recently used entry of that key's shard (of the whole backend when the bound
/// is under 64: one shard). The costs: a hit takes its shard's read lock (a write to the lock's
/// line, which hits on other keys of that shard also write: as in an unbounded tier), reads a
/// shared recency counter and writes its own entry's stamp, only when an insert came since its
/// last hit (never a counter every hit writes); an insert of a new key bumps two shared
/// counters and, when full, scans its shard for the oldest stamp (about `n / 16` entries: a
/// shard holds what the keys' hashes send it). Recency is counted in inserts: entries used since the last insert are equally recent.
///
/// It is a backend but not a [`PersistentBackend`](crate::PersistentBackend): it keeps values as
/// they are, typed, so a cache holds at most one, always in front of the persistent ones.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, MemoryBackend};
///
/// let cache: Cache<String, u32> = Cache::builder()
///     // At most 10,000 entries, least recently used evicted first.
///     .backend(MemoryBackend::new().max_entries(10_000))
///     .build()
///     .unwrap();
/// assert_eq!(cache.get_or_compute("a", || 1), 1);
/// ```
pub struct MemoryBackend<K, V> {
    /// Inline rather than boxed: a lookup goes from the tier straight to its shard's lock, one
    /// dependent load fewer. A bounded tier uses only the first `shard_mask + 1`.
    shards: [ShardLock<K, V>; DEFAULT_SHARDS],
    /// The shards in use, less one; their count is a power of two, so this masks instead of
    /// dividing.
    shard_mask: usize,
    hasher: DefaultHashBuilder,
    /// The bound given to [`max_entries`](Self::max_entries).
    max_entries: Option<usize>,
    /// Entries held, counted when bounded.
    len: CacheLine<AtomicUsize>,
    /// The recency clock, when bounded: ticked by inserts only, read by hits.
    epoch: CacheLine<AtomicU64>,
}

/// One shard and its lock, alone on its cache lines.
type ShardLock<K, V> = CacheLine<RwLock<Shard<K, V>>>;

/// Keeps each shard (its lock word and table header) on cache lines of its own, so that threads
/// reading different shards never write to a shared line (128 bytes: adjacent-line prefetchers
/// pair 64-byte lines).
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

struct Shard<K, V> {
    table: HashTable<Slot<K, V>>,
}

struct Slot<K, V> {
    hash: u64,
    key: K,
    value: V,
    created_ms: u64,
    ttl_ms: Option<u64>,
    /// The last use recorded (`time_to_idle`): an atomic, so that a touch takes the read lock.
    touched_ms: AtomicU64,
    last_used: AtomicU64,
}

impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq,
    V: Clone,
{
    /// An unbounded memory backend.
    #[must_use]
    pub fn new() -> Self {
        Self::with_shards(DEFAULT_SHARDS)
    }

    /// Holds at most `max_entries`, evicting the least recently used. The backend starts empty.
    ///
    /// A cache refuses `max_entries(0)` when it is built, with
    /// [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub fn max_entries(self, max_entries: usize) -> Self {
        let mut shards = DEFAULT_SHARDS;
        while shards > 1 && max_entries / shards < MIN_ENTRIES_PER_SHARD {
            shards /= 2;
        }
        let mut bounded = Self::with_shards(shards);
        bounded.max_entries = Some(max_entries);
        bounded
    }

    /// The bound given to [`max_entries`](Self::max_entries), if any: the cache's build refuses 0.
    #[allow(dead_code, reason = "for the cache's build, which checks the bound")]
    pub(crate) fn max_entries_bound(&self) -> Option<usize> {
        self.max_entries
    }

    fn with_shards(count: usize) -> Self {
        debug_assert!(count.is_power_of_two() && count <= DEFAULT_SHARDS);
        let shards = std::array::from_fn(|_| {
            CacheLine(RwLock::new(Shard {
                table: HashTable::new(),
            }))
        });
        Self {
            shards,
            shard_mask: count - 1,
            hasher: DefaultHashBuilder::default(),
            max_entries: None,
            len: CacheLine(AtomicUsize::new(0)),
            epoch: CacheLine(AtomicU64::new(0)),
        }
    }

    /// The hash that [`get_hashed`](Self::get_hashed) and friends take.
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &RwLock<Shard<K, V>> {
        // The table uses the low bits of the hash; the shard takes high ones.
        // (The mask is under DEFAULT_SHARDS; saying so spares a bounds check.)
        let index = (hash >> 48) as usize & self.shard_mask & (DEFAULT_SHARDS - 1);
        &self.shards[index]
    }

    /// The shards in use.
    fn active(&self) -> &[ShardLock<K, V>] {
        &self.shards[..=self.shard_mask]
    }

    /// The value and its times, looked up with a precomputed hash.
    #[inline(always)]
    pub(crate) fn get_hashed<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Option<(V, Stamp)> {
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        let slot = shard.table.find(hash, |slot| key.is_key(&slot.key))?;
        if self.max_entries.is_some() {
            // A load of the shared clock, and a store to this entry only when it moved on.
            let now = self.epoch.load(Ordering::Relaxed);
            if slot.last_used.load(Ordering::Relaxed) != now {
                slot.last_used.store(now, Ordering::Relaxed);
            }
        }
        let stamp = Stamp {
            created_ms: slot.created_ms,
            ttl_ms: slot.ttl_ms,
            touched_ms: slot.touched_ms.load(Ordering::Relaxed),
        };
        Some((slot.value.clone(), stamp))
    }

    /// Records a use of `key` at `now_ms` (`time_to_idle`), under the read lock.
    pub(crate) fn touch<Q: KeyRef<K> + ?Sized>(&self, key: &Q, now_ms: u64) {
        let hash = self.hash(key);
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = shard.table.find(hash, |slot| key.is_key(&slot.key)) {
            slot.touched_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    /// Stores `value` under `key`, with its times (milliseconds since the Unix epoch); how many
    /// entries it evicted to stay within [`max_entries`](Self::max_entries) (0 or 1), for the
    /// cache to count (this module cannot reach the cache's counters).
    pub(crate) fn insert(&self, key: K, value: V, stamp: Stamp) -> u64 {
        let hash = self.hash(&key);
        self.insert_hashed(hash, key, value, stamp)
    }

    pub(crate) fn insert_hashed(&self, hash: u64, key: K, value: V, stamp: Stamp) -> u64 {
        if self.max_entries == Some(0) {
            return 0; // `max_entries(0)`, which a cache refuses: hold nothing, never loop
        }
        let mut shard = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
        // Odd stamps for inserts, even ones for hits: an entry inserted now is more recent than
        // every hit before it, and less than every hit after it.
        let tick = match self.max_entries {
            Some(_) => self.epoch.fetch_add(2, Ordering::Relaxed) + 1,
            None => 0,
        };
        let slot = Slot {
            hash,
            key,
            value,
            created_ms: stamp.created_ms,
            ttl_ms: stamp.ttl_ms,
            touched_ms: AtomicU64::new(stamp.touched_ms),
            last_used: AtomicU64::new(tick),
        };
        if let Some(existing) = shard
            .table
            .find_mut(hash, |existing| existing.key == slot.key)
        {
            *existing = slot;
            return 0;
        }
        let mut evicted = 0;
        let mut evict_elsewhere = false;
        if let Some(max) = self.max_entries
            && self.len.fetch_add(1, Ordering::Relaxed) >= max
        {
            // Full: one entry goes, this shard's least recently used if it has one.
            if shard.table.is_empty() {
                evict_elsewhere = true;
            } else {
                evict_least_recent(&mut shard.table);
                self.len.fetch_sub(1, Ordering::Relaxed);
                evicted = 1;
            }
        }
        shard.table.insert_unique(hash, slot, |s| s.hash);
        drop(shard);
        if evict_elsewhere && self.evict_from_another_shard(hash) {
            evicted = 1;
        }
        evicted
    }

    /// Evicts the least recently used entry of the first shard other than `hash`'s that has
    /// one (one lock at a time, so no order between locks is needed); false if none had one.
    fn evict_from_another_shard(&self, hash: u64) -> bool {
        let own = std::ptr::from_ref(self.shard(hash));
        for lock in self.active() {
            if std::ptr::eq(&**lock, own) {
                continue;
            }
            let mut shard = lock.write().unwrap_or_else(|e| e.into_inner());
            if !shard.table.is_empty() {
                evict_least_recent(&mut shard.table);
                self.len.fetch_sub(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// Removes the entry for `key`; true if there was one.
    pub(crate) fn remove<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> bool {
        let hash = self.hash(key);
        let mut shard = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
        match shard.table.find_entry(hash, |slot| key.is_key(&slot.key)) {
            Ok(entry) => {
                entry.remove();
                if self.max_entries.is_some() {
                    self.len.fetch_sub(1, Ordering::Relaxed);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Removes every entry.
    pub(crate) fn clear(&self) {
        for shard in self.active() {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            if self.max_entries.is_some() {
                self.len.fetch_sub(shard.table.len(), Ordering::Relaxed);
            }
            shard.table.clear();
        }
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.active()
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).table.len())
            .sum()
    }
}

fn evict_least_recent<K, V>(table: &mut HashTable<Slot<K, V>>) {
    let oldest = table
        .iter()
        .min_by_key(|slot| slot.last_used.load(Ordering::Relaxed))
        .map(|slot| (slot.hash, slot.last_used.load(Ordering::Relaxed)));
    if let Some((hash, used)) = oldest
        && let Ok(entry) =
            table.find_entry(hash, |slot| slot.last_used.load(Ordering::Relaxed) == used)
    {
        entry.remove();
    }
}

impl<K: Hash + Eq, V: Clone> Default for MemoryBackend<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> std::fmt::Debug for MemoryBackend<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("shards", &(self.shard_mask + 1))
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryBackend;
    use crate::entry::Stamp;

    fn at(created_ms: u64) -> Stamp {
        Stamp {
            created_ms,
            ttl_ms: None,
            touched_ms: created_ms,
        }
    }

    fn get(memory: &MemoryBackend<String, u32>, key: &str) -> Option<u32> {
        memory
            .get_hashed(memory.hash(key), key)
            .map(|(value, _)| value)
    }

    #[test]
    fn a_full_backend_evicts_the_least_recently_used() {
        let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(2);
        assert_eq!(memory.insert("a".to_owned(), 1, at(0)), 0);
        assert_eq!(memory.insert("b".to_owned(), 2, at(0)), 0);
        assert_eq!(get(&memory, "a"), Some(1)); // "a" is now the most recently used
        assert_eq!(memory.insert("c".to_owned(), 3, at(0)), 1); // evicts "b"
        assert_eq!(memory.insert("c".to_owned(), 4, at(0)), 0); // a replacement evicts none
        assert_eq!(get(&memory, "b"), None);
        assert_eq!(memory.len(), 2);
    }

    #[test]
    fn max_entries_is_exact_across_shards() {
        let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(1000);
        for k in 0..1000 {
            memory.insert(k, k, at(0));
        }
        assert_eq!(memory.len(), 1000);
        for k in 1000..3000 {
            memory.insert(k, k, at(0));
            assert_eq!(memory.len(), 1000, "after {k}");
        }
        assert!(memory.remove(&2999));
        memory.insert(5000, 0, at(0));
        assert_eq!(memory.len(), 1000);
        memory.clear();
        memory.insert(1, 1, at(0));
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn the_evicted_entry_is_the_least_recently_used_of_its_shard() {
        // Under 64 entries the backend is one shard: exact LRU.
        let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(3);
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            memory.insert(k.to_owned(), v, at(0));
        }
        assert_eq!(get(&memory, "a"), Some(1));
        memory.insert("d".to_owned(), 4, at(0)); // evicts "b", the least recently used
        assert_eq!(get(&memory, "b"), None);
        assert_eq!(get(&memory, "c"), Some(3));
        memory.insert("e".to_owned(), 5, at(0)); // evicts "a": "c" was used after it
        assert_eq!(get(&memory, "a"), None);
        assert_eq!(memory.len(), 3);
    }

    #[test]
    fn removed_and_cleared_entries_are_gone() {
        let memory: MemoryBackend<String, u32> = MemoryBackend::new();
        memory.insert("a".to_owned(), 1, at(5));
        memory.insert("b".to_owned(), 2, at(6));
        assert_eq!(memory.get_hashed(memory.hash("b"), "b"), Some((2, at(6))));
        assert!(memory.remove("a"));
        assert!(!memory.remove("a"));
        memory.clear();
        assert_eq!(memory.len(), 0);
    }

    #[test]
    fn max_entries_zero_holds_nothing_and_never_panics() {
        let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(0);
        assert_eq!(memory.max_entries_bound(), Some(0));
        memory.insert("a".to_owned(), 1, at(0));
        assert_eq!(get(&memory, "a"), None);
        assert_eq!(memory.len(), 0);
    }

    #[test]
    fn threads_inserting_at_once_leave_exactly_max_entries() {
        for max in [1, 63, 64, 100, 1000] {
            let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(max);
            std::thread::scope(|scope| {
                for t in 0..8u64 {
                    let memory = &memory;
                    scope.spawn(move || {
                        for k in 0..2000 {
                            memory.insert(t * 10_000 + k, k, at(0));
                        }
                    });
                }
            });
            assert_eq!(memory.len(), max, "max_entries({max})");
            // And the count it keeps agrees: the next insert evicts exactly one.
            memory.insert(u64::MAX, 0, at(0));
            assert_eq!(memory.len(), max, "max_entries({max}), one more");
        }
    }
}
