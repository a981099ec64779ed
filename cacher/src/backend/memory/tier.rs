//! The memory tier's state that does not name a cache's types — its shards, their locks, the
//! bound and the threads' indexes — and what is done with it: compiled once for every tier of a
//! program, not once per key and value types (compile time). [`MemoryBackend`] is this, typed.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock, RwLockWriteGuard};

use hashbrown::DefaultHashBuilder;

use super::Entry;
#[cfg(doc)]
use super::MemoryBackend;
use super::bound::{self, Bound, DEFAULT_SHARDS};
use super::removal::Inserted;
use super::shard::{Located, Shard};
use super::thread_index::{self, ThreadIndex};

/// The untyped part of a [`MemoryBackend`], which holds it (its `tier`): what a cache's build
/// makes and moves, compiled once (the builder's memory tier, `Settings::memory`).
pub(crate) struct Tier {
    /// Inline rather than boxed: a lookup goes from the tier straight to its shard's lock, one
    /// dependent load fewer. A bounded tier uses only the first `shard_mask + 1`.
    shards: [ShardLock; DEFAULT_SHARDS],
    /// The shards in use, less one; their count is a power of two, so this masks instead of
    /// dividing.
    shard_mask: usize,
    hasher: DefaultHashBuilder,
    /// The bound given to [`max_entries`](MemoryBackend::max_entries), and its counts.
    pub(super) bound: Bound,
    /// Each thread's pointers to the entries it hit often; `None` with `thread_index(0)`.
    pub(super) index: Option<ThreadIndex>,
}

/// One shard and its lock, alone on its cache lines.
type ShardLock = CacheLine<Locked>;

/// A shard's lock, and the count of its inserts beside it (on the same line, which an insert
/// owns already).
pub(super) struct Locked {
    pub(super) lock: RwLock<Shard>,
    /// Inserts into the shard so far, counted under its write lock: while it stays the same, a
    /// key the shard did not have is still not there (see [`Absence`]).
    pub(super) inserts: AtomicU64,
}

impl std::ops::Deref for Locked {
    type Target = RwLock<Shard>;

    fn deref(&self) -> &Self::Target {
        &self.lock
    }
}

/// What a lookup that found no entry saw: its key's shard and that shard's inserts so far. If
/// the count has not moved since, no entry has been put in the shard, so the key is still absent
/// (removals and evictions cannot add it): [`Tier::still_absent`] tells it without the
/// lock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Absence {
    shard: usize,
    inserts: u64,
}

impl Absence {
    /// What a lookup saw of `shard`, whose inserts are counted in `inserts`.
    #[inline]
    pub(super) fn seen(shard: usize, inserts: &AtomicU64) -> Self {
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
pub(super) struct CacheLine<T>(pub(super) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// `key`'s hash by `hasher`, as [`BuildHasher::hash_one`] makes it but written out: through
/// `hash_one` a key form compiled `hash_one` and `Hash for &Q` beside its own `Hash` (two
/// functions more per cache type in a debug build: compile time). The memory tier's hash and
/// the flights' ([`Tier::key_hasher`]).
#[inline]
#[allow(
    clippy::manual_hash_one,
    reason = "`hash_one` is two functions more per cache type in a debug build"
)]
pub(crate) fn hash_key<Q: Hash + ?Sized>(hasher: &DefaultHashBuilder, key: &Q) -> u64 {
    let mut state = hasher.build_hasher();
    key.hash(&mut state);
    state.finish()
}

impl Tier {
    /// An unbounded tier.
    pub(crate) fn new() -> Self {
        Self {
            shards: [const {
                CacheLine(Locked {
                    lock: RwLock::new(Shard::new()),
                    inserts: AtomicU64::new(0),
                })
            }; DEFAULT_SHARDS],
            shard_mask: DEFAULT_SHARDS - 1,
            hasher: Self::key_hasher(),
            bound: Bound::new(None),
            index: Some(ThreadIndex::new(thread_index::DEFAULT_CAPACITY)),
        }
    }

    /// The hasher of every memory tier of the process, and of every cache's flights and
    /// generations (`Inner::flight_hash`): a cache hashes a key once on a miss, for its memory
    /// lookup, its flight and its insert, which need the same hash. One per process, made once,
    /// its seed random: shared by tables that are never filled from one another in iteration
    /// order (where a shared hasher would cluster their keys).
    pub(crate) fn key_hasher() -> DefaultHashBuilder {
        static HASHER: OnceLock<DefaultHashBuilder> = OnceLock::new();
        HASHER.get_or_init(DefaultHashBuilder::default).clone()
    }

    /// Bounds the new tier to `max_entries` ([`MemoryBackend::max_entries`]).
    pub(crate) fn bounded(&mut self, max_entries: usize) {
        // A new tier's shards are all empty: the bounded one uses the first few.
        self.shard_mask = bound::shards_for(max_entries) - 1;
        self.bound = Bound::new(Some(max_entries));
        if let Some(index) = &mut self.index {
            index.at_most(max_entries);
        }
    }

    /// The bound given to [`MemoryBackend::max_entries`], if any (a cache's build refuses 0).
    pub(crate) fn max_entries(&self) -> Option<usize> {
        self.bound.max_entries
    }

    /// Gives the threads' indexes `capacity` ([`MemoryBackend::thread_index`]).
    pub(super) fn indexed(&mut self, capacity: usize) {
        self.index = None;
        if capacity > 0 {
            let mut index = ThreadIndex::new(capacity);
            if let Some(max) = self.bound.max_entries {
                index.at_most(max);
            }
            self.index = Some(index);
        }
    }

    /// `key`'s hash by this tier's hasher ([`hash_key`]), for a removal or a use's record: the
    /// lookups and inserts take the cache's (`Inner::flight_hash`), which is the same.
    #[inline]
    pub(super) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        hash_key(&self.hasher, key)
    }

    #[inline]
    pub(super) fn shard(&self, hash: u64) -> &Locked {
        &self.shards[self.shard_index(hash)]
    }

    #[inline]
    pub(super) fn shard_index(&self, hash: u64) -> usize {
        // The table uses the low bits of the hash; the shard takes high ones.
        // (The mask is under DEFAULT_SHARDS; saying so spares a bounds check.)
        (hash >> 48) as usize & self.shard_mask & (DEFAULT_SHARDS - 1)
    }

    /// Whether the key a lookup found absent (`absence`) is still absent: true if its shard has
    /// had no insert since. A read of one counter, no lock. Acquire: pairs with the Release of
    /// the insert, so that a caller ordered after an insert (by a lock it took after the
    /// inserter released it) sees the count move.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn still_absent(&self, absence: Absence) -> bool {
        let shard = &self.shards[absence.shard & (DEFAULT_SHARDS - 1)];
        shard.inserts.load(Ordering::Acquire) == absence.inserts
    }

    /// The shards in use.
    pub(super) fn active(&self) -> &[ShardLock] {
        &self.shards[..=self.shard_mask]
    }

    /// The entries the tables have room for.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.active()
            .iter()
            .map(|s| s.write_shard().capacity())
            .sum()
    }

    /// How many entries are held: the shards' counts, each under its read lock (from user code
    /// run under a shard's lock, a shard whose lock does not come is not counted).
    pub(super) fn len(&self) -> usize {
        let mut held = 0;
        for shard in self.active() {
            if let Some(shard) = shard.read_shard() {
                held += shard.len();
            }
        }
        held
    }

    /// Stores `entry` in its shard, in place of the entry whose key `same` says is its own (user
    /// code: a key's `Eq`), if `admits()` under the shard's write lock, stamped with the recency
    /// clock there; then keeps the bound. What it did: nothing into `max_entries(0)` (which a
    /// cache refuses), nor from user code run under a shard's lock when the lock is not free at
    /// once (a value's `Clone` that misses in the tier and stores what it computed).
    pub(super) fn insert(
        &self,
        entry: Entry,
        admits: &dyn Fn() -> bool,
        same: fn(&Entry, &Entry) -> bool,
    ) -> Inserted {
        if self.bound.max_entries == Some(0) {
            return Inserted::default();
        }
        let hash = entry.hash;
        let locked = self.shard(hash);
        let Some(mut shard) = locked.write_shard_or_skip() else {
            return Inserted::skipped();
        };
        if !admits() {
            return Inserted::skipped();
        }
        bound::count_insert(&locked.inserts);
        entry.times.used(self.bound.tick());
        let located = shard.locate(locked.address(), hash, |e| same(&entry, e));
        self.put(shard, hash, located, entry)
    }

    /// Puts an insert's `entry` where it was `located` in `shard` (its hash's), then keeps the
    /// bound: what the insert did.
    fn put(
        &self,
        mut shard: RwLockWriteGuard<'_, Shard>,
        hash: u64,
        located: Located,
        entry: Entry,
    ) -> Inserted {
        if let Some(replaced) = shard.put(located, entry) {
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
}

impl std::fmt::Debug for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("shards", &(self.shard_mask + 1))
            .field("max_entries", &self.bound.max_entries)
            .field("thread_index", &self.index.is_some())
            .finish_non_exhaustive()
    }
}
