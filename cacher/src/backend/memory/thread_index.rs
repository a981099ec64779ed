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
//! capacity of pointers (4 096 by default, and never more than a bounded tier's `max_entries`), in
//! a set-associative table of two places per set that grows to at most four places per pointer
//! (128 KiB at the default capacity); an admission into a full set of the largest table lets go of
//! the set's older entry, and one into a full index lets go of its dead entries, or starts over if
//! too few were dead. An entry that left the shared table is freed when the last index pointing to
//! it lets go of it: when that thread indexes the key's new entry or another of its set, when its
//! index fills, after a clear of the tier at the thread's next
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

use super::removal::drop_caught;
use super::{CacheLine, Slot};
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

/// A thread's pointers, found by hash in a set-associative table: the hash's low bits choose a
/// set of [`WAYS`] places, and a lookup compares at most that many hashes — no probe sequence, no
/// control bytes (a `hashbrown` probe was a sixth of a `u64` hit's instructions). The table
/// starts at [`FIRST_PLACES`] and doubles when an admission finds its set full, up to
/// [`PLACES_PER_ENTRY`] times the capacity; past that, an admission into a full set replaces the
/// set's older entry.
struct Slots<K, V> {
    /// `WAYS` places per set; a power of two places in all.
    places: Vec<Option<Arc<Slot<K, V>>>>,
    /// The places that hold an entry.
    held: usize,
}

/// Where an admission would place an entry in its set (indexes into `places`).
enum Place {
    /// The place of an entry with the same hash, or of a dead one: replaced.
    Taken(usize),
    /// An empty place.
    Free(usize),
    /// The set (starting here) is full of live entries of other hashes.
    Full(usize),
    /// No table yet.
    None,
}

/// Places per set: a lookup compares this many hashes at most. (Two: `find` and `admit` are
/// written for two.)
const WAYS: usize = 2;

/// Places of a new index (a power of two, at least `WAYS`): grown as admissions need.
const FIRST_PLACES: usize = 16;

/// The table grows up to this many places per entry of its capacity: sparse enough that few
/// sets overflow when the working set is as large as the capacity (1 set in 70, the table a
/// quarter full).
const PLACES_PER_ENTRY: usize = 4;

/// A thread's index as its tier's types: always a `CacheLine<Local<K, V>>`, as this index makes
/// its threads' values and no other. (Given the box's contents: a `&Box<dyn Any>` would coerce
/// to a `dyn Any` that is the box itself, which no downcast to `Local` matches.)
///
/// The downcast costs a hit 8 instructions (a call of `type_id` through the vtable and a compare)
/// over a trait object that hands the index back typed (`dyn Typed<K, V> + Send`), measured:
/// 147 against 139 per `u64` hit. Not taken: the `ThreadLocal` would then be a type per cache
/// type, its code compiled for each, +23 000 IR lines for the 50 functions of the compile-time
/// bench (+6 %).
#[inline(always)]
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
    pub(super) fn at_most(mut self, max_entries: usize) -> Self {
        self.capacity = self.requested.min(max_entries);
        self
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
    #[inline(always)]
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
        let slot = slots.find(hash)?;
        // One entry per hash: another key with this hash is not indexed. Acquire: pairs with the
        // write that retired it, under its shard's lock.
        // (A dead one stays indexed: letting go of it here costs every hit 5 % in instructions.)
        if !key.is_key(&slot.key) || !slot.live.load(Ordering::Acquire) {
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
        let mut gone = Vec::new();
        if local.clears.get() != clears {
            // The tier was cleared since: every entry indexed before is dead.
            local.clears.set(clears);
            slots.start_over(&mut gone);
        }
        slots.admit(slot, self.capacity, &mut gone);
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
                        places: Vec::new(),
                        held: 0,
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
    /// The places of `hash`'s set.
    #[inline(always)]
    fn set(&self, hash: u64) -> std::ops::Range<usize> {
        // `places.len()` is a power of two (or zero: an empty range).
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the low bits choose the set"
        )]
        let first = hash as usize & self.places.len().wrapping_sub(1) & !(WAYS - 1);
        first..first + WAYS
    }

    /// The entry indexed under `hash`, dead or alive.
    #[inline(always)]
    fn find(&self, hash: u64) -> Option<&Arc<Slot<K, V>>> {
        match self.places.get(self.set(hash))? {
            [Some(slot), ..] if slot.hash == hash => Some(slot),
            [_, Some(slot)] if slot.hash == hash => Some(slot),
            _ => None,
        }
    }

    /// Adds `slot`, holding at most `capacity` entries; what leaves goes to `gone`. One entry
    /// per hash: it replaces the entry with its hash (the same key's, dead; or in a collision of
    /// 64-bit hashes another key's, which then leaves the index).
    ///
    /// (Loops over places rather than iterators and `rotate`: each adapter would be compiled
    /// once more per cache type.)
    fn admit(&mut self, slot: Arc<Slot<K, V>>, capacity: usize, gone: &mut Vec<Arc<Slot<K, V>>>) {
        loop {
            let (place, fresh) = match self.place_of(slot.hash) {
                Place::Taken(place) => (place, false),
                Place::Free(place) if self.held < capacity => (place, true),
                Place::Full(_)
                    if self.held < capacity
                        && self.places.len() < capacity.saturating_mul(PLACES_PER_ENTRY) =>
                {
                    self.grow();
                    continue;
                }
                Place::Full(first) => {
                    // The set's older entry (its first way) goes; the newer moves first.
                    let newer = self.places[first + 1].take();
                    if let Some(older) = std::mem::replace(&mut self.places[first], newer) {
                        gone.push(older);
                    }
                    (first + 1, false)
                }
                Place::Free(_) | Place::None => {
                    // At capacity with room in the set, or no table yet: the dead entries go;
                    // if too few were dead, it starts over.
                    self.keep_live(gone);
                    if self.held >= capacity {
                        self.start_over(gone);
                    }
                    if self.places.is_empty() {
                        self.grow();
                    }
                    continue;
                }
            };
            self.held += usize::from(fresh);
            if let Some(left) = self.places[place].replace(slot) {
                gone.push(left);
            }
            return;
        }
    }

    /// Where an entry with `hash` would go in its set.
    fn place_of(&self, hash: u64) -> Place {
        let set = self.set(hash);
        if self.places.get(set.clone()).is_none() {
            return Place::None;
        }
        let (mut dead, mut free) = (None, None);
        for place in set.clone() {
            match &self.places[place] {
                Some(held) if held.hash == hash => return Place::Taken(place),
                Some(held) if !held.live.load(Ordering::Relaxed) => dead = dead.or(Some(place)),
                Some(_) => {}
                None => free = free.or(Some(place)),
            }
        }
        match (dead, free) {
            (Some(place), _) => Place::Taken(place),
            (None, Some(place)) => Place::Free(place),
            (None, None) => Place::Full(set.start),
        }
    }

    /// Doubles the table (or makes the first), placing its entries again: the two halves of a
    /// set each hold at most what the set held.
    fn grow(&mut self) {
        let size = (self.places.len() * 2).max(FIRST_PLACES);
        let mut old = std::mem::replace(&mut self.places, Vec::with_capacity(size));
        for _ in 0..size {
            self.places.push(None);
        }
        while let Some(way) = old.pop() {
            let Some(slot) = way else {
                continue;
            };
            match self.place_of(slot.hash) {
                Place::Free(place) => self.places[place] = Some(slot),
                _ => unreachable!("a set's entries fit in either half"),
            }
        }
    }

    /// Lets go of the dead entries (into `gone`, to drop).
    fn keep_live(&mut self, gone: &mut Vec<Arc<Slot<K, V>>>) {
        for way in 0..self.places.len() {
            if let Some(slot) = &self.places[way]
                && !slot.live.load(Ordering::Relaxed)
                && let Some(dead) = self.places[way].take()
            {
                gone.push(dead);
                self.held -= 1;
            }
        }
    }

    /// Empties the index, handing its entries to `gone`, to drop.
    fn start_over(&mut self, gone: &mut Vec<Arc<Slot<K, V>>>) {
        for way in 0..self.places.len() {
            if let Some(slot) = self.places[way].take() {
                gone.push(slot);
            }
        }
        self.held = 0;
    }
}

/// Drops the entries an index let go of, each alone. A panic of a value's `Drop` here is not
/// resumed: the entry left the tier earlier (replaced, removed, cleared), and the lookup that
/// admits another entry now must not lose its own value to it (the panic hook has seen it).
fn release<K, V>(mut gone: Vec<Arc<Slot<K, V>>>) {
    while let Some(slot) = gone.pop() {
        let _ = drop_caught(slot);
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
        self.local().map_or(0, |local| local.slots.borrow().held)
    }

    /// The address of this thread's index, to check that it starts a cache line.
    pub(super) fn address(&self) -> usize {
        self.local()
            .map_or(0, |local| std::ptr::from_ref(local).addr())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::{Slot, Slots};

    fn slot(hash: u64) -> Arc<Slot<u64, u64>> {
        Arc::new(Slot {
            hash,
            key: hash,
            value: hash,
            created_ms: 0,
            ttl_ms: super::super::NO_TTL,
            touched_ms: AtomicU64::new(0),
            last_used: AtomicU64::new(0),
            live: AtomicBool::new(true),
        })
    }

    fn admit(slots: &mut Slots<u64, u64>, slot: &Arc<Slot<u64, u64>>, capacity: usize) -> usize {
        let mut gone = Vec::new();
        slots.admit(Arc::clone(slot), capacity, &mut gone);
        gone.len()
    }

    fn indexed(slots: &Slots<u64, u64>, hash: u64) -> bool {
        slots.find(hash).is_some_and(|slot| slot.hash == hash)
    }

    // Hashes 0, 16, 32, 48 share a set of the first table (16 places, sets by the low bits).
    #[test]
    fn a_third_entry_of_a_full_set_replaces_the_older_and_a_dead_one_goes_first() {
        let (a, b, c, d) = (slot(0), slot(16), slot(32), slot(48));
        // Capacity 2: the table cannot grow past its first 16 places.
        let mut slots = Slots {
            places: Vec::new(),
            held: 0,
        };
        assert_eq!(admit(&mut slots, &a, 2) + admit(&mut slots, &b, 2), 0);
        assert_eq!(admit(&mut slots, &c, 2), 1, "the older entry left");
        assert!(!indexed(&slots, 0) && indexed(&slots, 16) && indexed(&slots, 32));
        assert_eq!(slots.held, 2);
        // A dead entry of the set is replaced before a live one.
        c.live.store(false, Ordering::Relaxed);
        assert_eq!(admit(&mut slots, &d, 2), 1);
        assert!(indexed(&slots, 16) && !indexed(&slots, 32) && indexed(&slots, 48));
        assert_eq!(
            Arc::strong_count(&a) + Arc::strong_count(&c),
            2,
            "let go of"
        );
    }

    #[test]
    fn a_full_set_grows_the_table_while_the_capacity_allows() {
        let mut slots = Slots {
            places: Vec::new(),
            held: 0,
        };
        let all: Vec<_> = [0, 16, 32, 48, 64].into_iter().map(slot).collect();
        for slot in &all {
            assert_eq!(
                admit(&mut slots, slot, 100),
                0,
                "nothing leaves below the capacity"
            );
        }
        assert!(all.iter().all(|slot| indexed(&slots, slot.hash)));
        assert_eq!(slots.held, 5);
        // The same hash again replaces its own entry: one entry per hash.
        assert_eq!(admit(&mut slots, &slot(32), 100), 1);
        assert_eq!(slots.held, 5);
    }
}
