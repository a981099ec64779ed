//! Entries leaving the tier: removed, cleared, evicted. Each is marked dead under its shard's
//! lock (no thread's index serves it after), and dropped after the lock is released: a value's
//! `Drop` may use the cache, or panic.

use std::any::Any;
use std::hash::Hash;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::{Entry, Holds, Is, MemoryBackend, Tier};
use crate::key::KeyRef;

/// Entries taken out of the tier by [`take`](MemoryBackend::take) or
/// [`clear`](MemoryBackend::clear), dropped when this is: the cache keeps it until its own work
/// is done (every tier rid of them, stores let in again), so that a value's `Drop` that uses the
/// cache finds it in its final state, and one that panics cuts nothing short. Each value is
/// dropped even if others panic; the first panic is then resumed (unless one is already under
/// way: two at once would abort the process).
pub(crate) struct Taken {
    entry: Option<Entry>,
    entries: Vec<Entry>,
    /// Whether a shard was left as it was: its lock is held by user code further up this
    /// thread's stack (a `remove` or `clear` from a key's `Eq` or a value's `Clone`), or by
    /// another thread past the bound of such code's wait (`locks.rs`).
    kept: bool,
}

impl Taken {
    /// Whether a shard could not be reached ([`kept`](Self#structfield.kept)): its entries, the
    /// key's included, are still there.
    pub(crate) fn kept(&self) -> bool {
        self.kept
    }
}

#[cfg(test)]
impl Taken {
    /// Whether nothing was taken (`take` of a key the tier did not have).
    pub(crate) fn is_empty(&self) -> bool {
        self.entry.is_none() && self.entries.is_empty()
    }
}

/// A panic out of a value's `Drop`, caught to be resumed once the cache's work is done.
pub(crate) type Panic = Box<dyn Any + Send>;

/// Drops `value`, catching a panic of its `Drop` for the caller to resume later.
pub(super) fn drop_caught<T>(value: T) -> Option<Panic> {
    let mut value = Some(value);
    caught(&mut || drop(value.take()))
}

/// Runs `drop`, catching its panic: not generic, so that `catch_unwind`'s code is compiled once,
/// not once per type of value dropped.
fn caught(drop: &mut dyn FnMut()) -> Option<Panic> {
    catch_unwind(AssertUnwindSafe(drop)).err()
}

/// Values dropped one by one, each alone: the first panic of their `Drop`s is resumed once all
/// are dropped ([`resume`](Self::resume); two at once would abort the process), unless one is
/// under way already.
#[derive(Default)]
pub(super) struct Drops(Option<Panic>);

impl Drops {
    pub(super) fn drop<T>(&mut self, value: T) {
        if let Some(panic) = drop_caught(value) {
            self.0.get_or_insert(panic);
        }
    }

    pub(super) fn resume(self) {
        if let Some(panic) = self.0
            && !std::thread::panicking()
        {
            resume_unwind(panic);
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        let mut drops = Drops::default();
        if let Some(held) = self.entry.take() {
            drops.drop(held);
        }
        while let Some(held) = self.entries.pop() {
            drops.drop(held);
        }
        drops.resume();
    }
}

impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Takes the entry for `key` out of the tier (empty if it had none), for the caller to drop.
    pub(crate) fn take<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Taken {
        self.tier
            .take(self.tier.hash(key), &Holds::<K, V, Q>(key, PhantomData))
    }

    /// Removes the entry for `key`; true if there was one.
    #[cfg(test)]
    pub(crate) fn remove<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> bool {
        !self.take(key).is_empty()
    }
}

/// What takes entries out of the tier without naming its types.
impl Tier {
    /// Takes the entry of `hash` that `is` accepts (user code: a key's `Eq`) out of the tier
    /// (empty if it had none), for the caller to drop.
    pub(super) fn take(&self, hash: u64, is: &Is<'_>) -> Taken {
        let locked = self.shard(hash);
        // From user code run under a shard's lock, the lock may never come: then the entry
        // stays, and the caller says so.
        let Some(mut shard) = locked.write_shard_or_skip() else {
            return Taken {
                entry: None,
                entries: Vec::new(),
                kept: true,
            };
        };
        let mut entry = None;
        if let Some(place) = shard.find(locked.address(), hash, |e: &Entry| is.run(e)) {
            let gone = shard.take(place);
            gone.times.retire();
            self.bound.left(1);
            entry = Some(gone);
        }
        Taken {
            entry,
            entries: Vec::new(),
            kept: false,
        }
    }

    /// Takes every entry out of the tier, for the caller to drop, and gives back the memory the
    /// tables held: a cleared tier is as small as a new one (its tables grow again as entries
    /// come). Every shard is emptied and every entry marked dead before any is dropped.
    pub(super) fn clear(&self) -> Taken {
        let (mut all, mut kept) = (Vec::new(), false);
        for locked in self.active() {
            // As in `take`: a shard whose lock does not come to user code stays as it is.
            let Some(mut shard) = locked.write_shard_or_skip() else {
                kept = true;
                continue;
            };
            let mut entries = shard.take_all();
            self.bound.left(entries.len());
            retire_all(&entries); // under the lock: no index serves them once it is free
            drop(shard);
            all.append(&mut entries);
        }
        if let Some(index) = &self.index {
            index.cleared();
        }
        Taken {
            entry: None,
            entries: all,
            kept,
        }
    }

    /// Evicts the least recently used entry of the first shard other than `hash`'s that has
    /// one (one lock at a time, so no order between locks is needed), and hands it back. From
    /// user code run under a shard's lock (an insert from a value's `Clone`), a shard whose lock
    /// does not come is passed over (`write_shard_or_skip`): it may be the one this thread holds.
    /// The tier then holds one entry over its bound, until an entry is removed.
    pub(super) fn evict_from_another_shard(&self, hash: u64) -> Option<Entry> {
        let own = self.shard_index(hash);
        for (number, locked) in self.active().iter().enumerate() {
            if number == own {
                continue;
            }
            let Some(mut shard) = locked.write_shard_or_skip() else {
                continue;
            };
            let held = shard.len();
            if held > 0 {
                let gone = shard.evict_least_recent(held);
                self.bound.left(1);
                return Some(gone);
            }
        }
        None
    }
}

/// Marks entries taken out of their shard dead.
fn retire_all(entries: &[Entry]) {
    for entry in entries {
        entry.times.retire();
    }
}

/// What an insert did besides storing its value.
#[derive(Default)]
pub(crate) struct Inserted {
    /// Entries it evicted to stay within [`max_entries`](MemoryBackend::max_entries) (0 or 1),
    /// for the cache to count (this module cannot reach the cache's counters).
    pub(crate) evicted: u64,
    /// The entry it replaced or evicted, for the cache to drop once its store is done: a value's
    /// `Drop` may use the cache (an insert's stripe is its own until then) or panic (which must
    /// cut no tier's write short).
    pub(crate) displaced: Option<Displaced>,
    /// Whether it stored nothing: made from a key's `Eq` or a value's `Clone` running under the
    /// key's shard lock, which was not free (see `locks.rs`), or refused by its condition
    /// ([`insert_if`](MemoryBackend::insert_if)).
    pub(crate) skipped: bool,
}

impl Inserted {
    /// An insert that stored nothing (see [`skipped`](Self::skipped)).
    pub(super) fn skipped() -> Self {
        Self {
            evicted: 0,
            displaced: None,
            skipped: true,
        }
    }

    /// An insert that replaced or evicted `displaced` (`evicted`: 1 if evicted).
    pub(super) fn displacing(displaced: Option<Entry>, evicted: u64) -> Self {
        let displaced = displaced.map(Displaced);
        Self {
            evicted,
            displaced,
            skipped: false,
        }
    }
}

/// An entry an insert replaced or evicted.
pub(crate) struct Displaced(Entry);

impl Displaced {
    /// The entry's times.
    pub(crate) fn stamp(&self) -> crate::entry::Stamp {
        self.0.times.stamp()
    }

    /// The entry.
    #[cfg(test)]
    pub(super) fn entry(&self) -> &Entry {
        &self.0
    }

    /// Drops it, handing back the panic of its value's `Drop`, if any.
    pub(crate) fn release(self) -> Option<Panic> {
        drop_caught(self.0) // the same code as a removed entry's drop
    }
}
