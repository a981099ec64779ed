//! Each thread's index of the memory tier's entries it hit often: a hit found there takes no
//! lock and writes no cache line that another thread reads.
//!
//! The shared table is sharded behind read-write locks; taking a read lock is two locked
//! instructions on a line every reader of that shard writes, which is most of a hit's time on one
//! thread and makes two threads reading one shard wait on each other. So each thread keeps, per
//! memory tier, a small table of pointers (`Arc`) to the entries it hit: not copies of the values,
//! the shared entries themselves (their types erased, so that the index's code is compiled once
//! for every tier: see [`Entry`]). An entry that leaves the shared table (replaced, removed,
//! evicted, cleared) is marked dead first, under its shard's write lock; a thread that finds it
//! dead in its index asks the shared table instead. So a thread never serves an entry that a
//! write it could have seen has replaced: after `remove(k)` returns, no thread's next lookup of
//! `k` finds the old value, wherever it was indexed.
//!
//! Costs: a hit through the index is a thread-local lookup and a read of the entry; a hit that the
//! index does not have yet pays the index's probe too, and one such hit in [`ADMIT_EVERY`] adds the
//! entry (an `Arc` clone and an insert: every entry is behind its own `Arc`, which its shard and
//! the indexes share), so that keys hit once do not fill it. Each thread's index holds at most its
//! capacity of pointers (4 096 by default, and never more than a bounded tier's `max_entries`;
//! about 200 KiB when full: 8 192 hash table buckets of 25 bytes, a hash and a pointer); when
//! full it lets go of its dead entries, or starts over if too few were dead. An entry that left the
//! shared table is freed when the last index pointing to it lets go of it: when that thread indexes
//! the key's new entry, when its index fills, after a clear of the tier at the thread's next
//! admission (the index starts over), or when the cache is dropped. Until then a thread
//! keeps it (a lookup that finds it dead does not let go of it: that would cost every hit): at most
//! its index's capacity of entries, however many left the tier.

use std::cell::{Cell, Ref, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;

use super::bound::Bound;
use super::places::Table;
use super::removal::drop_caught;
use super::{CacheLine, Entry};
use crate::entry::Stamp;
use crate::key::KeyRef;

/// Pointers each thread's index holds before it starts over, unless
/// [`MemoryBackend::thread_index`](super::MemoryBackend::thread_index) says otherwise.
pub(super) const DEFAULT_CAPACITY: usize = 4096;

/// A hit in the shared table adds its entry to the thread's index once in this many: a key hit
/// again and again gets in within a few hits; a key hit once seldom pays for the insert.
const ADMIT_EVERY: u32 = 4;

/// One index per thread that used the tier. Not generic: what names the tier's types is the
/// entries' own (their key and value behind `dyn Any`: [`Entry`]) and the few lines that look
/// them up; a thread's index, its table and `thread_local`'s code are compiled once for every
/// tier. And `ThreadLocal` asks in its type that its values be `Send`, which an index of
/// entries is whatever the tier's types are (a tier's keys and values are `Send` and `Sync`).
pub(super) struct ThreadIndex {
    /// Each thread's index, inline in `thread_local`'s buckets (no box to follow on a hit), on
    /// cache lines of its own so that two threads' indexes never share one (a hit writes its
    /// index's borrow flag).
    threads: ThreadLocal<CacheLine<Local>>,
    /// What it holds at most: `requested`, or a bounded tier's `max_entries` if that is less.
    capacity: usize,
    /// The capacity given to [`new`](Self::new), which a later bound does not change.
    requested: usize,
    /// How many times the tier was cleared: a thread's index that saw fewer starts over at its
    /// next admission, letting go of the entries the clear took out of the tier.
    clears: AtomicU64,
}

/// A thread's index: its pointers, found by their entries' hashes (one per hash).
struct Local {
    /// The shards' own entries, shared. A hit checks its entry's type
    /// (`typed`, on `dyn Erased`): a call through the vtable and a compare of
    /// `TypeId`s, about 16 instructions and 1 ns of a `u64` hit's 9 (docs/BENCHMARKS.md,
    /// session 8). Typed pointers would need a table and a `ThreadLocal` per cache type (compile
    /// time: +23 000 IR lines for the 50 functions of the compile-time bench with a typed
    /// `ThreadLocal`, +18 % with typed tables).
    entries: RefCell<Table<Entry>>,
    /// Hits in the shared table since this thread started, for admission.
    shared_hits: Cell<u32>,
    /// The tier's clears this index has caught up with.
    clears: Cell<u64>,
}

impl ThreadIndex {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            threads: ThreadLocal::new(),
            capacity,
            requested: capacity,
            clears: AtomicU64::new(0),
        }
    }

    /// This index, holding no more than a tier bounded to `max_entries` holds: beyond that it
    /// would only keep evicted entries, and their values, alive.
    pub(super) fn at_most(&mut self, max_entries: usize) {
        self.capacity = self.requested.min(max_entries);
    }

    /// Counts a clear of the tier, after its entries were marked dead: each thread's index lets
    /// go of them at its next admission (not at once: another thread's index is its own).
    pub(super) fn cleared(&self) {
        self.clears.fetch_add(1, Ordering::Release);
    }

    /// The value and times of the live entry of `key` in this thread's index, if it has one,
    /// read as a hit ([`Slot::read`](super::slot::Slot::read)), at `bound`'s clock read once the
    /// key is found: after its `Eq`, which an insert by another thread may outlast.
    ///
    /// `None` when it has none, when the entry it has is dead, and when the index is in use
    /// further up this thread's stack (a key's `Eq` or a value's `Clone` that uses the cache):
    /// the shared table answers then.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[allow(
        clippy::question_mark,
        reason = "`?` would compile a conversion of the residual per value type"
    )]
    pub(super) fn find<K, V, Q>(&self, hash: u64, key: &Q, bound: &Bound) -> Option<(V, Stamp)>
    where
        K: Eq + 'static,
        V: Clone + 'static,
        Q: KeyRef<K> + ?Sized,
    {
        let entry = match self.entry_of(hash) {
            Some(entry) => entry,
            None => return None,
        };
        let slot = match entry.typed::<K, V>() {
            Some(slot) => slot,
            None => return None,
        };
        // One entry per hash: another key with this hash is not indexed. Acquire: pairs with the
        // write that retired it, under its shard's lock.
        // (A dead one stays indexed: letting go of it here costs every hit 5 % in instructions.)
        if !key.is_key(&slot.kv.0) || !slot.head.times.live() {
            return None;
        }
        Some(slot.read(bound.now()))
    }

    /// The entry with `hash` in this thread's index, borrowed: [`find`](Self::find)'s untyped
    /// half, compiled once for every tier rather than in each tier's `find` (and not inline in
    /// builds with debug assertions, where an inline function is compiled in each crate that
    /// calls it).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn entry_of(&self, hash: u64) -> Option<Ref<'_, Entry>> {
        let entries = self.threads.get()?.entries.try_borrow().ok()?;
        Ref::filter_map(entries, |entries| entries.get(hash)).ok()
    }

    /// Whether this hit in the shared table should add its entry to this thread's index.
    #[inline]
    pub(super) fn admits(&self) -> bool {
        let Some(local) = self.local() else {
            return false;
        };
        let hits = local.shared_hits.get().wrapping_add(1);
        local.shared_hits.set(hits);
        hits % ADMIT_EVERY == 0
    }

    /// Adds `slot` to this thread's index, in place of the entry with its hash (the same key's,
    /// dead; or in a collision of 64-bit hashes another key's, which then leaves the index).
    pub(super) fn admit(&self, indexed: Entry) {
        let hash = indexed.hash;
        // Not taken, it is let go of as what leaves the index is (it may be the last pointer to
        // a value that left the tier since the lookup: its `Drop` runs here).
        let Some(local) = self.local() else {
            return release(vec![indexed]);
        };
        let Ok(mut entries) = local.entries.try_borrow_mut() else {
            return release(vec![indexed]); // in use further up this thread's stack
        };
        // What leaves the index is dropped once it is no longer borrowed: a value's `Drop` may
        // use the tier, or panic.
        let clears = self.clears.load(Ordering::Acquire);
        let mut gone = if local.clears.get() != clears {
            // The tier was cleared since: every entry indexed before is dead.
            local.clears.set(clears);
            entries.take_all()
        } else if entries.len() >= self.capacity {
            // Full: the dead entries go; if too few were dead, it starts over.
            let mut dead = entries.take_if(|indexed| !indexed.times.live());
            if entries.len() >= self.capacity {
                dead.append(&mut entries.take_all());
            }
            dead
        } else {
            Vec::new()
        };
        if let Err((indexed, there)) = entries.claim(hash, indexed) {
            gone.push(std::mem::replace(there, indexed));
        }
        drop(entries);
        release(gone);
    }

    /// This thread's index, made on its first use; `None` once the thread's thread-locals are
    /// being torn down (a lookup from a thread-local's destructor is served by the shared table).
    fn local(&self) -> Option<&Local> {
        match self.threads.get() {
            Some(local) => Some(local),
            None => self.first_use(),
        }
    }

    /// This thread's index, made now.
    #[cold]
    fn first_use(&self) -> Option<&Local> {
        // `get_or` panics once `thread_local`'s own per-thread state is gone, and a panic out of
        // a thread-local's destructor aborts the process: `TORN_DOWN` is set just before when
        // this thread made an index earlier (see `TEARDOWN`); else the panic is caught here (a
        // thread whose first use of the tier comes from a destructor, after another library's
        // use of `thread_local` on it: its lookups go to the shared table).
        if TORN_DOWN.get() {
            return None;
        }
        let make = || {
            CacheLine(Local {
                entries: RefCell::new(Table::new()),
                shared_hits: Cell::new(0),
                clears: Cell::new(self.clears.load(Ordering::Acquire)),
            })
        };
        let local =
            std::panic::catch_unwind(AssertUnwindSafe(|| self.threads.get_or(make))).ok()?;
        let _ = TEARDOWN.try_with(|_| ());
        Some(local)
    }
}

/// Drops the entries an index let go of, each alone. A panic of a value's `Drop` here is not
/// resumed: the entry left the tier earlier (replaced, removed, cleared), and the lookup that
/// admits another entry now must not lose its own value to it (the panic hook has seen it).
fn release(mut gone: Vec<Entry>) {
    while let Some(indexed) = gone.pop() {
        let _ = drop_caught(indexed);
    }
}

thread_local! {
    /// Set when this thread's thread-locals are being torn down, before `thread_local`'s own
    /// state goes: no thread index is made after. (No destructor: readable until the end.)
    static TORN_DOWN: Cell<bool> = const { Cell::new(false) };
    /// Sets `TORN_DOWN` when dropped. First touched just after a thread's first `get_or`, so
    /// after `thread_local` registered its own per-thread state: thread-locals are torn down
    /// last-registered first, so this one goes first. (A thread that never made an index, yet
    /// took a `thread_local` id elsewhere, is not covered: its first index made from a
    /// thread-local's destructor, after that id was freed, panics, which `first_use` catches.)
    static TEARDOWN: Teardown = const { Teardown };
}

struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        TORN_DOWN.set(true);
    }
}

#[cfg(test)]
impl ThreadIndex {
    /// How many entries this thread's index points to.
    pub(super) fn indexed(&self) -> usize {
        self.local().map_or(0, |local| local.entries.borrow().len())
    }

    /// The address of this thread's index, to check that it starts a cache line.
    pub(super) fn address(&self) -> usize {
        self.local()
            .map_or(0, |local| std::ptr::from_ref(local).addr())
    }
}

#[cfg(test)]
mod tests {
    use super::ThreadIndex;
    use crate::backend::memory::slot::{Times, entry};
    use crate::entry::Stamp;

    /// A value whose `Drop` panics.
    struct Bomb;

    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("a value's Drop panicked");
        }
    }

    /// An entry the index cannot take (its table in use further up this thread's stack: a key's
    /// `Eq` or a value's `Clone` run during an index hit) may hold the last pointer to a value
    /// that left the tier meanwhile: it is dropped as the index drops what it lets go of, its
    /// `Drop`'s panic caught, not thrown into the lookup that admitted it. (Failed: the panic
    /// reached the caller of the lookup, whose value was then lost.)
    #[test]
    fn an_entry_the_index_cannot_take_is_dropped_with_its_panic_caught() {
        let index = ThreadIndex::new(16);
        let stamp = Stamp {
            created_ms: 0,
            ttl_ms: None,
            touched_ms: 0,
        };
        let local = index.local().expect("this thread's index");
        let in_use = local.entries.borrow();
        index.admit(entry(7, Times::new(stamp, 0), 1u64, Bomb));
        drop(in_use);
        assert_eq!(index.indexed(), 0);
    }
}
