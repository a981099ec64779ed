//! Each thread's index of the memory tier's entries it hit often: a hit found there takes no
//! lock and writes no cache line that another thread reads.
//!
//! The shared table is sharded behind read-write locks; taking a read lock is two locked
//! instructions on a line every reader of that shard writes, which is most of a hit's time on one
//! thread and makes two threads reading one shard wait on each other. So each thread keeps, per
//! memory tier, a small table of pointers (`Arc`) to the entries it hit: not copies of the values,
//! the shared entries themselves. An entry that leaves the shared table (replaced, removed,
//! evicted, cleared) is marked dead first, under its shard's write lock; a thread that finds it
//! dead in its index asks the shared table instead. So a thread never serves an entry that a
//! write it could have seen has replaced: after `remove(k)` returns, no thread's next lookup of
//! `k` finds the old value, wherever it was indexed.
//!
//! Costs: a hit through the index is a thread-local lookup and a read of the entry; a hit that the
//! index does not have yet pays the index's probe too, and one such hit in [`ADMIT_EVERY`] adds the
//! entry (an `Arc` clone and an insert; the first admission of an entry by any thread also moves it
//! behind that `Arc`, under its shard's write lock, so that an insert allocates nothing for entries
//! no index wants), so that keys hit once do not fill it. Each thread's index holds at most its
//! capacity of pointers (4 096 by default, and never more than a bounded tier's `max_entries`;
//! about 170 KiB when full: 8 192 hash table buckets of 17 bytes and 4 096 pointers of 8); when
//! full it lets go of its dead entries, or starts over if too few were dead. An entry that left the
//! shared table is freed when the last index pointing to it lets go of it: when that thread indexes
//! the key's new entry, when its index fills, after a clear of the tier at the thread's next
//! admission (the index starts over), or when the cache is dropped. Until then a thread
//! keeps it (a lookup that finds it dead does not let go of it: that would cost every hit): at most
//! its index's capacity of entries, however many left the tier.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;

use super::places::Places;
use super::removal::drop_caught;
use super::{CacheLine, Held, Slot};
use crate::key::KeyRef;

/// Pointers each thread's index holds before it starts over, unless
/// [`MemoryBackend::thread_index`](super::MemoryBackend::thread_index) says otherwise.
pub(super) const DEFAULT_CAPACITY: usize = 4096;

/// A hit in the shared table adds its entry to the thread's index once in this many: a key hit
/// again and again gets in within a few hits; a key hit once seldom pays for the insert.
const ADMIT_EVERY: u32 = 4;

/// One index per thread that used the tier.
pub(super) struct ThreadIndex<K, V> {
    /// Each thread's `Local<K, V>`, boxed on cache lines of its own so that two threads' indexes
    /// never share one (a hit writes its index's borrow flag; the pointers here are only read).
    /// Behind `dyn Any` (see [`typed`]): `ThreadLocal` asks in its type that its values be
    /// `Send`, which the tier's are wherever a lookup can reach them (a cache's keys and values
    /// are), not in the tier's definition. And one `ThreadLocal` type serves every tier: its code
    /// (a thread's first use, its buckets, its drop) is compiled once, not per cache type.
    threads: ThreadLocal<Box<dyn Any + Send>>,
    /// What it holds at most: `requested`, or a bounded tier's `max_entries` if that is less.
    capacity: usize,
    /// The capacity given to [`new`](Self::new), which a later bound does not change.
    requested: usize,
    /// How many times the tier was cleared: a thread's index that saw fewer starts over at its
    /// next admission, letting go of the entries the clear took out of the tier.
    clears: AtomicU64,
    types: PhantomData<fn() -> (K, V)>,
}

struct Local<K, V> {
    slots: RefCell<Slots<K, V>>,
    /// Hits in the shared table since this thread started, for admission.
    shared_hits: Cell<u32>,
    /// The tier's clears this index has caught up with.
    clears: Cell<u64>,
}

/// A thread's pointers, found by hash: the table holds each one's hash and its place in
/// `slots`. The table is not generic (one copy of its code, probe and growth, for every cache of
/// a program: compile time); only the vector of pointers is typed.
struct Slots<K, V> {
    places: Places,
    slots: Vec<Arc<Slot<K, V>>>,
}

/// A thread's index as its tier's types: always a `CacheLine<Local<K, V>>`, as this index makes
/// its threads' values and no other. (Given the box's contents: a `&Box<dyn Any>` would coerce
/// to a `dyn Any` that is the box itself, which no downcast to `Local` matches.)
///
/// The downcast costs a hit 8 instructions (a call of `type_id` through the vtable and a compare)
/// over a trait object that hands the index back typed (`dyn Typed<K, V> + Send`), measured:
/// 147 against 139 per `u64` hit. Not taken: the `ThreadLocal` would then be a type per cache
/// type, its code compiled for each, +23 000 IR lines for the 50 functions of the compile-time
/// bench (+6 %).
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
fn typed<K: 'static, V: 'static>(local: &(dyn Any + Send)) -> Option<&Local<K, V>> {
    local
        .downcast_ref::<CacheLine<Local<K, V>>>()
        .map(|local| &**local)
}

impl<K, V> ThreadIndex<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            threads: ThreadLocal::new(),
            capacity,
            requested: capacity,
            clears: AtomicU64::new(0),
            types: PhantomData,
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
}

impl<K, V> ThreadIndex<K, V>
where
    K: Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// `read` of the live entry of `key` in this thread's index, if it has one.
    ///
    /// `None` when it has none, when the entry it has is dead, and when the index is in use
    /// further up this thread's stack (a key's `Eq` or a value's `Clone` that uses the cache):
    /// the shared table answers then.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn find<Q, R>(
        &self,
        hash: u64,
        key: &Q,
        read: impl FnOnce(&Slot<K, V>) -> R,
    ) -> Option<R>
    where
        Q: KeyRef<K> + ?Sized,
    {
        let slots = typed::<K, V>(&**self.threads.get()?)?
            .slots
            .try_borrow()
            .ok()?;
        let slot = slots.slots.get(slots.places.first(hash)?)?;
        // One entry per hash: another key with this hash is not indexed. Acquire: pairs with the
        // write that retired it, under its shard's lock.
        // (A dead one stays indexed: letting go of it here costs every hit 5 % in instructions.)
        if !key.is_key(&slot.key) || !slot.times.live() {
            return None;
        }
        Some(read(slot))
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
    pub(super) fn admit(&self, slot: Arc<Slot<K, V>>) {
        let Some(local) = self.local() else {
            return;
        };
        let Ok(mut slots) = local.slots.try_borrow_mut() else {
            return; // in use further up this thread's stack
        };
        // What leaves the index is dropped once it is no longer borrowed: a value's `Drop` may
        // use the tier, or panic.
        let clears = self.clears.load(Ordering::Acquire);
        let mut gone = if local.clears.get() != clears {
            // The tier was cleared since: every entry indexed before is dead.
            local.clears.set(clears);
            slots.start_over()
        } else if slots.slots.len() >= self.capacity {
            // Full: the dead entries go; if too few were dead, it starts over.
            let mut dead = slots.keep_live();
            if slots.slots.len() >= self.capacity {
                dead.append(&mut slots.start_over());
            }
            dead
        } else {
            Vec::new()
        };
        let Slots {
            places,
            slots: held,
        } = &mut *slots;
        match places.claim(slot.hash, held.len()) {
            Ok(()) => held.push(slot),
            Err(place) => gone.push(std::mem::replace(&mut held[place], slot)),
        }
        drop(slots);
        release(gone);
    }

    /// This thread's index, made on its first use; `None` once the thread's thread-locals are
    /// being torn down (a lookup from a thread-local's destructor is served by the shared table).
    fn local(&self) -> Option<&Local<K, V>> {
        let local = match self.threads.get() {
            Some(local) => local,
            None => first_use(&self.threads, &|| {
                Box::new(CacheLine(Local::<K, V> {
                    slots: RefCell::new(Slots {
                        places: Places::new(),
                        slots: Vec::new(),
                    }),
                    shared_hits: Cell::new(0),
                    clears: Cell::new(self.clears.load(Ordering::Acquire)),
                }))
            })?,
        };
        typed(&**local)
    }
}

/// This thread's index of `threads`, made by `make` on the thread's first use: not generic, so
/// that `thread_local`'s creation of a thread's value is compiled once for every tier. `None`
/// once the thread's thread-locals are being torn down.
fn first_use<'a>(
    threads: &'a ThreadLocal<Box<dyn Any + Send>>,
    make: &dyn Fn() -> Box<dyn Any + Send>,
) -> Option<&'a Box<dyn Any + Send>> {
    // `get_or` panics once `thread_local`'s own per-thread state is gone, and a panic out of a
    // thread-local's destructor aborts the process: `TORN_DOWN` is set just before when this
    // thread made an index earlier (see `TEARDOWN`); else the panic is caught here (a thread
    // whose first use of the tier comes from a destructor, after another library's use of
    // `thread_local` on it: its lookups go to the shared table).
    if TORN_DOWN.get() {
        return None;
    }
    let local = std::panic::catch_unwind(AssertUnwindSafe(|| threads.get_or(make))).ok()?;
    let _ = TEARDOWN.try_with(|_| ());
    Some(local)
}

impl<K, V> Slots<K, V> {
    /// Lets go of the dead entries (handed back, to drop), and places the live ones again.
    fn keep_live(&mut self) -> Vec<Arc<Slot<K, V>>> {
        self.places.clear();
        // `pop` and `push`, not iterator adapters: each is a copy per cache type.
        let mut dead = Vec::new();
        let mut all = std::mem::take(&mut self.slots);
        while let Some(slot) = all.pop() {
            if slot.times.live() {
                self.slots.push(slot);
            } else {
                dead.push(slot);
            }
        }
        for place in 0..self.slots.len() {
            // Distinct keys, distinct hashes but in a collision (then the later one wins a
            // place, and the other stays unreachable until the index fills again).
            let _ = self.places.claim(self.slots[place].hash, place);
        }
        dead
    }

    /// Empties the index, handing its entries back to drop.
    fn start_over(&mut self) -> Vec<Arc<Slot<K, V>>> {
        self.places.clear();
        std::mem::take(&mut self.slots)
    }
}

/// Drops the entries an index let go of, each alone. A panic of a value's `Drop` here is not
/// resumed: the entry left the tier earlier (replaced, removed, cleared), and the lookup that
/// admits another entry now must not lose its own value to it (the panic hook has seen it).
fn release<K, V>(mut gone: Vec<Arc<Slot<K, V>>>) {
    while let Some(slot) = gone.pop() {
        // As a `Held`: the same code as a removed entry's drop.
        let _ = drop_caught(Held::Shared(slot));
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
impl<K, V> ThreadIndex<K, V>
where
    K: Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// How many entries this thread's index points to.
    pub(super) fn indexed(&self) -> usize {
        self.local()
            .map_or(0, |local| local.slots.borrow().slots.len())
    }

    /// The address of this thread's index, to check that it starts a cache line.
    pub(super) fn address(&self) -> usize {
        self.local()
            .map_or(0, |local| std::ptr::from_ref(local).addr())
    }
}
