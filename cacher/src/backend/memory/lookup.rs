//! Lookups: in this thread's index, else in the shared table under its shard's read lock.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::locks::UserCode;
use super::thread_index::ThreadIndex;
use super::{Absence, Held, MemoryBackend, NO_TTL, Slot, holds, is_at};
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
    #[inline(always)]
    pub(crate) fn get_hashed<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Result<(V, Stamp), Absence> {
        if let Some(index) = &self.index
            && let Some(found) = index.find(hash, key, |slot| self.read(slot))
        {
            return Ok(found);
        }
        self.get_shared(hash, key)
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
        let absent = || Absence {
            shard: self.shard_index(hash),
            inserts: locked.inserts.load(Ordering::Relaxed),
        };
        // `None` from user code run under this shard's lock: answered as a miss.
        let Some(shard) = locked.read_shard() else {
            return Err(absent());
        };
        let Some(held) = shard.table.find(hash, holds(locked, key)) else {
            return Err(absent());
        };
        let found = {
            let _user = UserCode::enter(locked);
            self.read(held)
        };
        // Not from user code run under a shard's lock: sharing the entry takes the write lock.
        let admits = |index: &&ThreadIndex<K, V>| !UserCode::running() && index.admits();
        let Some(index) = self.index.as_ref().filter(admits) else {
            return Ok(found);
        };
        let shared = match held {
            Held::Shared(slot) => Some(Arc::clone(slot)),
            Held::Inline(_) => None,
        };
        let address = std::ptr::from_ref::<Slot<K, V>>(held);
        drop(shard);
        if let Some(slot) = shared.or_else(|| self.share(hash, address)) {
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
        let entry = shard.table.find_entry(hash, is_at(inline)).ok()?;
        let (held, vacant) = entry.remove();
        let slot = match held {
            Held::Inline(slot) => Arc::new(slot),
            Held::Shared(slot) => slot,
        };
        vacant.insert(Held::Shared(Arc::clone(&slot)));
        Some(slot)
    }

    /// A hit's read of an entry: its value and times, and its use for the eviction order.
    #[inline(always)]
    fn read(&self, slot: &Slot<K, V>) -> (V, Stamp) {
        if self.max_entries.is_some() {
            // A load of the shared clock, and a store to this entry only when it moved on.
            let now = self.epoch.load(Ordering::Relaxed);
            if slot.last_used.load(Ordering::Relaxed) != now {
                slot.last_used.store(now, Ordering::Relaxed);
            }
        }
        let stamp = Stamp {
            created_ms: slot.created_ms,
            ttl_ms: (slot.ttl_ms != NO_TTL).then_some(slot.ttl_ms),
            touched_ms: slot.touched_ms.load(Ordering::Relaxed),
        };
        (slot.value.clone(), stamp)
    }
}
