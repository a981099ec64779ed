//! The in-process tier: typed values, no serialisation, and no lock on a repeated hit.

use std::hash::Hash;
use std::marker::PhantomData;

use crate::entry::Stamp;
use crate::key::KeyRef;

// The hot paths' `inline(always)` is for optimised builds only (`not(debug_assertions)`): there a
// miss + insert took 40 instructions more when LLVM left the table's probe out of line; in a
// debug build, where nothing is inlined for speed, it would copy each such function into each
// caller, per cache type (compile time).
mod bound;
mod eviction;
mod locks;
mod lookup;
mod places;
mod removal;
mod shard;
mod slot;
mod thread_index;
mod tier;

pub(crate) use removal::{Displaced, Inserted, Taken};

use slot::{Entry, Times};

pub(crate) use tier::Absence;
use tier::CacheLine;
pub(crate) use tier::{Tier, hash_key};

/// What tells a lookup's entry from others of its hash (the key's `Eq`): [`Holds`] per cache
/// type and key form, called through this rather than `dyn Fn` ([`crate::callback`]).
type Is<'a> = dyn for<'e> crate::callback::Callback<&'e Entry, bool> + 'a;

/// Typed entries in process memory, sharded by key hash: the backend in front of all others.
///
/// A hit clones the value; it neither allocates nor serialises (wrap large values in `Arc` to make
/// the clone cheap). An insert allocates its entry (its key, value and times: about 40 bytes more
/// than the two). Entries live in shards behind read-write locks; each thread also keeps an
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
/// key bumps two shared counters and, when full, evicts the next of the entries its shard listed
/// as least recently used (a probe of the shard's table); when the listed ones are gone (after
/// a quarter of the shard's entries were evicted or used: a shard holds what the keys' hashes
/// send it, about `n / 16` from `n = 512` on, fewer shards below), a scan of the shard's stamps
/// lists its next least recently used quarter. Recency is counted in inserts: entries used since
/// the last insert are equally recent.
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
    /// Its shards, bound and threads' indexes: not generic, as the entries' types are erased
    /// ([`Entry`]), so that they and what they do are compiled once for every tier. The cache
    /// reaches it for what names no type (the test of an absence), and the builder sets
    /// it: a method of this type for either would be a copy per cache type (compile time).
    pub(crate) tier: Tier,
    /// The types of the entries, which only the tier's typed methods name.
    pub(crate) types: PhantomData<fn() -> (K, V)>,
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
            tier: Tier::new(),
            types: PhantomData,
        }
    }

    /// Holds at most `max_entries`, evicting the least recently used. The backend starts empty.
    ///
    /// A cache refuses `max_entries(0)` when it is built, with
    /// [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.tier.bounded(max_entries);
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
        self.tier.indexed(capacity);
        self
    }

    /// The hash that [`get_shared`](Self::get_shared) and friends take (the cache's
    /// `Inner::flight_hash` outside the tests: the same hash, by the same hasher).
    #[cfg(test)]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.tier.hash(key)
    }

    /// Takes every entry out of the tier, for the caller to drop ([`Tier::clear`]).
    pub(crate) fn clear(&self) -> Taken {
        self.tier.clear()
    }

    /// The entries the tables have room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.tier.capacity()
    }

    /// How many entries are held ([`Cache::memory_len`](crate::Cache::memory_len)).
    pub(crate) fn len(&self) -> usize {
        self.tier.len()
    }
}

/// What a cache does with its memory tier: the methods that make, find or change entries, and so
/// name the types (which the tier's entries erase: `'static`, `Send` and `Sync`, as a cache's
/// keys and values are).
impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Records a use of `key` at `now_ms` (`time_to_idle`), under the read lock.
    pub(crate) fn touch<Q: KeyRef<K> + ?Sized>(&self, key: &Q, now_ms: u64) {
        let hash = self.tier.hash(key);
        self.tier
            .touch(hash, &Holds::<K, V, Q>(key, PhantomData), now_ms);
    }

    /// Stores `value` under `key`, with its times (milliseconds since the Unix epoch), and says
    /// what else it did ([`Inserted`]).
    #[cfg(test)]
    pub(crate) fn insert(&self, key: K, value: V, stamp: Stamp) -> Inserted {
        self.insert_if((self.hash(&key), key), value, stamp, &|| true)
    }

    /// Stores `value` under `key`, with its times, if `admits()`, asked under the key's shard's
    /// write lock (else nothing is stored, as when [`skipped`](Inserted::skipped)): a condition
    /// that an operation which takes that lock after changing it (an invalidation that then
    /// writes or removes the key in this tier) can rely on — the insert comes before that
    /// operation's write, or sees the change. `hash` is the key's hash (`Inner::flight_hash`),
    /// made from the call's form of it (a `KeyRef` hashes as its key does): hashing the owned
    /// key would compile its `Hash` once more per cache type.
    pub(crate) fn insert_if(
        &self,
        (hash, key): (u64, K),
        value: V,
        stamp: Stamp,
        admits: &dyn Fn() -> bool,
    ) -> Inserted {
        // Its recency stamp is the tier's clock under the shard's lock ([`Tier::insert`]).
        let entry = slot::entry(hash, Times::new(stamp, 0), key, value);
        self.tier.insert(entry, admits, same::<K, V>)
    }
}

/// Whether two entries of a tier (always of its types) have equal keys: user code, the key's
/// `Eq`.
fn same<K: Eq + 'static, V: 'static>(one: &Entry, other: &Entry) -> bool {
    match (one.typed::<K, V>(), other.typed::<K, V>()) {
        (Some(one), Some(other)) => one.kv.0 == other.kv.0,
        _ => false,
    }
}

/// Whether an entry is the key's (a tier's entries are always of its types): user code, the
/// key's `Eq`. The test the untyped tier's lookups take ([`Is`]), a [`Callback`](crate::callback)
/// of its own: one function per cache type and key form, where a closure at each lookup was two
/// (the closure, its call) beside a function for the test.
struct Holds<'q, K, V, Q: ?Sized>(&'q Q, PhantomData<fn() -> (K, V)>);

impl<'e, K, V, Q> crate::callback::Callback<&'e Entry, bool> for Holds<'_, K, V, Q>
where
    K: 'static,
    V: 'static,
    Q: KeyRef<K> + ?Sized,
{
    #[inline]
    fn run(&self, entry: &'e Entry) -> bool {
        match entry.typed::<K, V>() {
            Some(slot) => self.0.is_key(&slot.kv.0),
            None => false,
        }
    }
}

impl<K: Hash + Eq, V: Clone> Default for MemoryBackend<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> std::fmt::Debug for MemoryBackend<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.tier.fmt(f)
    }
}

#[cfg(test)]
mod attack16_tests;
#[cfg(test)]
mod drop_tests;
#[cfg(test)]
mod recency_tests;
#[cfg(test)]
mod reentry_tests;
#[cfg(test)]
mod tests;
