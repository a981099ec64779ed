//! The in-process tier: typed values, no serialisation, and no lock on a repeated hit.

use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::DefaultHashBuilder;

use crate::entry::Stamp;
use crate::key::KeyRef;

// The hot paths' `inline(always)` is for optimised builds only (`not(debug_assertions)`): there a
// miss + insert took 40 instructions more when LLVM left the table's probe out of line; in a
// debug build, where nothing is inlined for speed, it would copy each such function into each
// caller, per cache type (compile time).
mod bound;
mod locks;
mod lookup;
mod places;
mod removal;
mod shard;
mod slot;
mod thread_index;

pub(crate) use removal::{Displaced, Inserted, Taken};

/// Whether this thread runs a key's `Eq` or a value's `Clone` under a memory tier's shard lock
/// (further up its stack): a lookup from there does not wait for another caller's computation.
pub(crate) fn under_shard_lock() -> bool {
    UserCode::running()
}
use bound::{Bound, DEFAULT_SHARDS};
use locks::UserCode;
use shard::Shard;
use slot::{Held, Slot, Times};
use thread_index::ThreadIndex;

/// Typed entries in process memory, sharded by key hash: the backend in front of all others.
///
/// A hit clones the value; it neither allocates nor serialises (wrap large values in `Arc` to make
/// the clone cheap). Entries live in shards behind read-write locks; each thread also keeps an
/// index of pointers to the entries it hit often ([`thread_index`](Self::thread_index)), so that
/// a repeated hit takes no lock and writes nothing another thread reads (but, when bounded, its
/// entry's recency stamp: see below): threads reading at once do not slow each other down. An
/// entry replaced, removed, evicted or cleared is marked dead before its write returns, and no
/// index serves a dead entry.
///
/// With [`max_entries`](Self::max_entries)`(n)` the backend holds exactly `n` entries once full
/// (the bound is the backend's, not split across shards). Inserting a new key into a full backend
/// evicts the least recently used entry of that key's shard (of the whole backend when the bound is
/// under 64: one shard). The costs: a hit (from the thread's index, or under its shard's read lock:
/// as in an unbounded tier) reads a shared recency counter and writes its own entry's stamp, only
/// when an insert came since its last hit (never a counter every hit writes); an insert of a new
/// key bumps two shared counters and, when full, scans its shard for the oldest stamp (about
/// `n / 16` entries: a shard holds what the keys' hashes send it). Recency is counted in inserts:
/// entries used since the last insert are equally recent.
///
/// A key's `Eq` and a value's `Clone` run under their shard's lock; they may look up the same
/// cache (such a lookup only tries the lock, and misses if it is held), but not insert into it or
/// remove from it. A value's `Drop` runs after the cache's own work, with no lock held: it may do
/// anything, and a panic in it reaches the caller once every tier is written or cleared.
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
    /// The bound given to [`max_entries`](Self::max_entries), and its counts.
    bound: Bound,
    /// Each thread's pointers to the entries it hit often; `None` with `thread_index(0)`.
    index: Option<ThreadIndex>,
}

/// One shard and its lock, alone on its cache lines.
type ShardLock<K, V> = CacheLine<Locked<K, V>>;

/// A shard's lock, and the count of its inserts beside it (on the same line, which an insert
/// owns already).
struct Locked<K, V> {
    lock: RwLock<Shard<K, V>>,
    /// Inserts into the shard so far, counted under its write lock: while it stays the same, a
    /// key the shard did not have is still not there (see [`Absence`]).
    inserts: AtomicU64,
}

impl<K, V> std::ops::Deref for Locked<K, V> {
    type Target = RwLock<Shard<K, V>>;

    fn deref(&self) -> &Self::Target {
        &self.lock
    }
}

/// What a lookup that found no entry saw: its key's shard and that shard's inserts so far. If
/// the count has not moved since, no entry has been put in the shard, so the key is still absent
/// (removals and evictions cannot add it): [`MemoryBackend::still_absent`] tells it without the
/// lock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Absence {
    shard: usize,
    inserts: u64,
}

impl Absence {
    /// What a lookup saw of `shard`, whose inserts are counted in `inserts`.
    #[inline]
    fn seen(shard: usize, inserts: &AtomicU64) -> Self {
        Self {
            shard,
            inserts: inserts.load(Ordering::Relaxed),
        }
    }
}

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

impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq,
    V: Clone,
{
    /// An unbounded memory backend.
    #[must_use]
    pub fn new() -> Self {
        Self {
            shards: [const {
                CacheLine(Locked {
                    lock: RwLock::new(Shard::new()),
                    inserts: AtomicU64::new(0),
                })
            }; DEFAULT_SHARDS],
            shard_mask: DEFAULT_SHARDS - 1,
            hasher: DefaultHashBuilder::default(),
            bound: Bound::new(None),
            index: Some(ThreadIndex::new(thread_index::DEFAULT_CAPACITY)),
        }
    }

    /// Holds at most `max_entries`, evicting the least recently used. The backend starts empty.
    ///
    /// A cache refuses `max_entries(0)` when it is built, with
    /// [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        // A new tier's shards are all empty: the bounded one uses the first few.
        self.shard_mask = bound::shards_for(max_entries) - 1;
        self.bound = Bound::new(Some(max_entries));
        if let Some(index) = &mut self.index {
            index.at_most(max_entries);
        }
        self
    }

    /// How many entries each thread's index of its hits holds (4 096 by default, and never more
    /// than [`max_entries`](Self::max_entries); 0 turns the indexes off, and every hit takes its
    /// shard's read lock).
    ///
    /// The index holds pointers to the shared entries, not copies: up to about 50 bytes an entry
    /// (its hash and pointer in a hash table), at most `capacity` per thread that
    /// used the tier; when full it lets go of the entries that left the tier, or starts over. A
    /// thread adds an entry to its index after a few hits in the shared table. Set it to about the
    /// number of entries one thread hits again and again; a larger index costs memory, not time. An
    /// entry that left the tier is freed once no index points to it (each thread lets go of it when
    /// it indexes the key's new entry, when its index fills, after a `clear` at its next
    /// admission of an entry, or when the cache is dropped): until
    /// then each thread that used the tier may keep up to `capacity` such values alive (so a tier
    /// bounded to `n` keeps at most `n` values, and `n` more per thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::{Cache, MemoryBackend};
    ///
    /// let cache: Cache<u64, u64> = Cache::builder()
    ///     .backend(MemoryBackend::new().thread_index(64))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(cache.get_or_compute(&1, || 2), 2);
    /// ```
    #[must_use]
    pub fn thread_index(mut self, capacity: usize) -> Self {
        self.index = None;
        if capacity > 0 {
            let mut index = ThreadIndex::new(capacity);
            if let Some(max) = self.bound.max_entries {
                index.at_most(max);
            }
            self.index = Some(index);
        }
        self
    }

    /// The bound given to [`max_entries`](Self::max_entries), if any: the cache's build refuses 0.
    #[allow(dead_code, reason = "for the cache's build, which checks the bound")]
    pub(crate) fn max_entries_bound(&self) -> Option<usize> {
        self.bound.max_entries
    }

    /// The hash that [`get_hashed`](Self::get_hashed) and friends take.
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Locked<K, V> {
        &self.shards[self.shard_index(hash)]
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        // The table uses the low bits of the hash; the shard takes high ones.
        // (The mask is under DEFAULT_SHARDS; saying so spares a bounds check.)
        (hash >> 48) as usize & self.shard_mask & (DEFAULT_SHARDS - 1)
    }

    /// Whether the key a lookup found absent (`absence`) is still absent: true if its shard has
    /// had no insert since. A read of one counter, no lock. Acquire: pairs with the Release of
    /// the insert, so that a caller ordered after an insert (by a lock it took after the
    /// inserter released it) sees the count move.
    #[inline]
    pub(crate) fn still_absent(&self, absence: Absence) -> bool {
        let shard = &self.shards[absence.shard & (DEFAULT_SHARDS - 1)];
        shard.inserts.load(Ordering::Acquire) == absence.inserts
    }

    /// The shards in use.
    #[cfg(test)]
    fn active(&self) -> &[ShardLock<K, V>] {
        &self.shards[..=self.shard_mask]
    }

    /// Records a use of `key` at `now_ms` (`time_to_idle`), under the read lock.
    pub(crate) fn touch<Q: KeyRef<K> + ?Sized>(&self, key: &Q, now_ms: u64) {
        let hash = self.hash(key);
        let locked = self.shard(hash);
        let Some(shard) = locked.read_shard() else {
            return; // from a key's `Eq` under this shard's lock: the use goes unrecorded
        };
        if let Some(place) = shard.find(locked.address(), hash, key, Q::is_key) {
            shard.get(place).times.touch(now_ms);
        }
    }

    /// Stores `value` under `key`, with its times (milliseconds since the Unix epoch), and says
    /// what else it did ([`Inserted`]).
    #[cfg(test)]
    pub(crate) fn insert(&self, key: K, value: V, stamp: Stamp) -> Inserted<K, V> {
        self.insert_if(key, value, stamp, &|| true)
    }

    /// [`insert`](Self::insert) if `admits()`, asked under the key's shard's write lock (else
    /// nothing is stored, as when [`skipped`](Inserted::skipped)): a condition that an operation
    /// which takes that lock after changing it (an invalidation that then writes or removes the
    /// key in this tier) can rely on — the insert comes before that operation's write, or sees
    /// the change.
    pub(crate) fn insert_if(
        &self,
        key: K,
        value: V,
        stamp: Stamp,
        admits: &dyn Fn() -> bool,
    ) -> Inserted<K, V> {
        let hash = self.hash(&key);
        if self.bound.max_entries == Some(0) {
            return Inserted::default(); // `max_entries(0)`, which a cache refuses
        }
        let locked = self.shard(hash);
        // From user code run under a shard's lock (a value's `Clone` that misses in the tier and
        // stores what it computed), only if the lock is free at once: else nothing is stored.
        let Some(mut shard) = locked.write_shard_or_skip() else {
            return Inserted::skipped();
        };
        if !admits() {
            return Inserted::skipped();
        }
        bound::count_insert(&locked.inserts);
        let times = Times::new(stamp, self.bound.tick());
        let held = Held::Inline(Slot {
            hash,
            key,
            value,
            times,
        });
        if let Some(replaced) = shard.insert(locked.address(), held) {
            return Inserted::displacing(Some(replaced), 0);
        }
        // Full: one entry goes, this shard's least recently used if it has one besides the new.
        let full = self.bound.enter();
        let mut gone = None;
        let others = shard.len() - 1;
        if full && others > 0 {
            gone = Some(shard.evict_least_recent(others));
            self.bound.left(1);
        }
        drop(shard);
        if full && gone.is_none() {
            gone = self.evict_from_another_shard(hash);
        }
        let evicted = u64::from(gone.is_some());
        Inserted::displacing(gone, evicted)
    }

    /// The entries the tables have room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.active()
            .iter()
            .map(|s| s.write_shard().capacity())
            .sum()
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.active()
            .iter()
            .map(|s| s.write_shard().entries().len())
            .sum()
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
            .field("max_entries", &self.bound.max_entries)
            .field("thread_index", &self.index.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod attack16_tests;
#[cfg(test)]
mod drop_tests;
#[cfg(test)]
mod reentry_tests;
#[cfg(test)]
mod tests;
