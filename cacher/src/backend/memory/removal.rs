//! Entries leaving the tier: removed, cleared, evicted. Each is marked dead under its shard's
//! lock (no thread's index serves it after), and dropped after the lock is released: a value's
//! `Drop` may use the cache, or panic.

use std::any::Any;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::Ordering;

use hashbrown::HashTable;

use super::{Held, MemoryBackend, Slot, holds, is_at};
use crate::key::KeyRef;

/// Entries taken out of the tier by [`take`](MemoryBackend::take) or
/// [`clear`](MemoryBackend::clear), dropped when this is: the cache keeps it until its own work
/// is done (every tier rid of them, stores let in again), so that a value's `Drop` that uses the
/// cache finds it in its final state, and one that panics cuts nothing short. Each value is
/// dropped even if others panic; the first panic is then resumed (unless one is already under
/// way: two at once would abort the process).
pub(crate) struct Taken<K, V> {
    entry: Option<Held<K, V>>,
    tables: Vec<HashTable<Held<K, V>>>,
}

#[cfg(test)]
impl<K, V> Taken<K, V> {
    /// Whether nothing was taken (`take` of a key the tier did not have).
    pub(crate) fn is_empty(&self) -> bool {
        self.entry.is_none() && self.tables.iter().all(HashTable::is_empty)
    }
}

/// A panic out of a value's `Drop`, caught to be resumed once the cache's work is done.
pub(crate) type Panic = Box<dyn Any + Send>;

/// Drops `value`, catching a panic of its `Drop` for the caller to resume later.
pub(super) fn drop_caught<T>(value: T) -> Option<Panic> {
    catch_unwind(AssertUnwindSafe(|| drop(value))).err()
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

impl<K, V> Drop for Taken<K, V> {
    fn drop(&mut self) {
        let mut drops = Drops::default();
        if let Some(held) = self.entry.take() {
            drops.drop(held);
        }
        // `pop`, not the vector's iterator: one iterator type less compiled per cache type.
        while let Some(table) = self.tables.pop() {
            for held in table {
                drops.drop(held);
            }
        }
        drops.resume();
    }
}

impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq,
    V: Clone,
{
    /// Takes the entry for `key` out of the tier (empty if it had none), for the caller to drop.
    pub(crate) fn take<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Taken<K, V> {
        let hash = self.hash(key);
        let locked = self.shard(hash);
        let mut shard = locked.write_shard();
        let entry = match shard.table.find_entry(hash, holds(locked, key)) {
            Ok(entry) => {
                let (gone, _) = entry.remove();
                gone.retire();
                if self.max_entries.is_some() {
                    self.len.fetch_sub(1, Ordering::Relaxed);
                }
                Some(gone)
            }
            Err(_) => None,
        };
        Taken {
            entry,
            tables: Vec::new(),
        }
    }

    /// Takes every entry out of the tier, for the caller to drop, and gives back the memory the
    /// tables held: a cleared tier is as small as a new one (its tables grow again as entries
    /// come). Every shard is emptied and every entry marked dead before any is dropped.
    pub(crate) fn clear(&self) -> Taken<K, V> {
        let mut tables = Vec::with_capacity(self.active().len());
        for lock in self.active() {
            let mut shard = lock.write_shard();
            if self.max_entries.is_some() {
                self.len.fetch_sub(shard.table.len(), Ordering::Relaxed);
            }
            let table = std::mem::take(&mut shard.table);
            table.iter().for_each(|slot| slot.retire());
            drop(shard);
            tables.push(table);
        }
        if let Some(index) = &self.index {
            index.cleared();
        }
        Taken {
            entry: None,
            tables,
        }
    }

    /// Evicts the least recently used entry of the first shard other than `hash`'s that has
    /// one (one lock at a time, so no order between locks is needed), and hands it back.
    pub(super) fn evict_from_another_shard(&self, hash: u64) -> Option<Held<K, V>> {
        let own = std::ptr::from_ref(self.shard(hash));
        for lock in self.active() {
            if std::ptr::eq(&**lock, own) {
                continue;
            }
            let mut shard = lock.write_shard();
            if !shard.table.is_empty() {
                let gone = evict_least_recent(&mut shard.table);
                self.len.fetch_sub(1, Ordering::Relaxed);
                return gone;
            }
        }
        None
    }

    /// Removes the entry for `key`; true if there was one.
    #[cfg(test)]
    pub(crate) fn remove<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> bool {
        !self.take(key).is_empty()
    }
}

/// Removes the entry with the oldest stamp, under the shard's write lock, and hands it back.
/// Found again by its address, not its stamp: an index hit writes stamps without the lock, and
/// the oldest must go even if one moved it on since the scan (or the count would drift).
pub(super) fn evict_least_recent<K, V>(table: &mut HashTable<Held<K, V>>) -> Option<Held<K, V>> {
    let oldest = table
        .iter()
        .min_by_key(|held| held.last_used.load(Ordering::Relaxed))
        .map(|held| (held.hash, std::ptr::from_ref::<Slot<K, V>>(held)))?;
    let (hash, oldest) = oldest;
    let (gone, _) = table.find_entry(hash, is_at(oldest)).ok()?.remove();
    gone.retire();
    Some(gone) // for the caller to drop once unlocked
}

/// What an insert did besides storing its value.
pub(crate) struct Inserted<K, V> {
    /// Entries it evicted to stay within [`max_entries`](MemoryBackend::max_entries) (0 or 1),
    /// for the cache to count (this module cannot reach the cache's counters).
    pub(crate) evicted: u64,
    /// The entry it replaced or evicted, for the cache to drop once its store is done: a value's
    /// `Drop` may use the cache (an insert's stripe is its own until then) or panic (which must
    /// cut no tier's write short).
    pub(crate) displaced: Option<Displaced<K, V>>,
    /// Whether it stored nothing: made from a key's `Eq` or a value's `Clone` running under the
    /// key's shard lock, which was not free (see `locks.rs`).
    pub(crate) skipped: bool,
}

impl<K, V> Default for Inserted<K, V> {
    fn default() -> Self {
        Self {
            evicted: 0,
            displaced: None,
            skipped: false,
        }
    }
}

/// An entry an insert replaced or evicted, boxed (an allocation only when one is displaced).
pub(crate) struct Displaced<K, V>(pub(super) Box<Held<K, V>>);

impl<K, V> Displaced<K, V> {
    /// Drops it, handing back the panic of its value's `Drop`, if any.
    pub(crate) fn release(self) -> Option<Panic> {
        drop_caught(self.0)
    }
}
