//! Lookups: in this thread's index, else in the shared table under its shard's read lock.

use std::hash::Hash;
use std::sync::Arc;

use super::locks::UserCode;
use super::{Absence, Held, MemoryBackend, Slot};
use crate::entry::Stamp;
use crate::key::KeyRef;

/// Lookups: what a thread's index asks of the types (a cache's keys and values are all of it).
impl<K, V> MemoryBackend<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value and its times, looked up with a precomputed hash: in this thread's index, else
    /// in the shared table; or, if there is none, what the lookup saw of its absence.
    #[cfg(test)]
    pub(crate) fn get_hashed<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Result<(V, Stamp), Absence> {
        match self.get_indexed(hash, key) {
            Some(found) => Ok(found),
            None => self.get_shared(hash, key),
        }
    }

    /// The value and its times from this thread's index, if it has the key's live entry.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn get_indexed<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Option<(V, Stamp)> {
        self.index.as_ref()?.find(hash, key, |slot| self.read(slot))
    }

    /// The lookup in the shared table, under the shard's read lock; the entry may join this
    /// thread's index.
    #[inline(never)]
    pub(crate) fn get_shared<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Result<(V, Stamp), Absence> {
        let locked = self.shard(hash);
        // `None` from user code run under this shard's lock: answered as a miss.
        let Some(shard) = locked.read_shard() else {
            return Err(Absence::seen(self.shard_index(hash), &locked.inserts));
        };
        let Some(place) = shard.find(locked.address(), hash, key, Q::is_key) else {
            return Err(Absence::seen(self.shard_index(hash), &locked.inserts));
        };
        let held = shard.get(place);
        let found = {
            let _user = UserCode::enter(locked.address());
            self.read(held)
        };
        // Not from user code run under a shard's lock: sharing the entry takes the write lock.
        let Some(index) = &self.index else {
            return Ok(found);
        };
        if UserCode::running() || !index.admits() {
            return Ok(found);
        }
        let shared = match held {
            Held::Shared(slot) => Some(Arc::clone(slot)),
            Held::Inline(_) => None,
        };
        let address = std::ptr::from_ref::<Slot<K, V>>(held);
        drop(shard);
        let shared = match shared {
            Some(slot) => Some(slot),
            None => self.share(hash, address),
        };
        if let Some(slot) = shared {
            index.admit(slot);
        }
        Ok(found)
    }

    /// Moves the entry found inline at `inline` behind an `Arc` for the threads' indexes, under
    /// the write lock (once in the entry's life: the first time a thread admits it); `None` if it
    /// left meanwhile.
    ///
    /// Found again by its address, not its key: no user code (a key's `Eq`, which might look into
    /// this tier) runs under the write lock on a lookup. Another entry that took its place there
    /// is shared instead: harmless, as an index matches entries by their own keys.
    #[cold]
    fn share(&self, hash: u64, inline: *const Slot<K, V>) -> Option<Arc<Slot<K, V>>> {
        let mut shard = self.shard(hash).write_shard();
        let place = shard.find_at(hash, inline)?;
        // Taken out and put back (at the end of the shard: its place does not matter).
        let slot = match shard.take(place) {
            Held::Inline(slot) => Arc::new(slot),
            Held::Shared(slot) => slot,
        };
        shard.push(Held::Shared(Arc::clone(&slot)));
        Some(slot)
    }

    /// A hit's read of an entry: its value and times, and its use for the eviction order.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn read(&self, slot: &Slot<K, V>) -> (V, Stamp) {
        if let Some(now) = self.bound.now() {
            slot.times.used(now);
        }
        let stamp = slot.times.stamp();
        (slot.value.clone(), stamp)
    }
}
