//! Lookups: in this thread's index, else in the shared table under its shard's read lock.

use std::hash::Hash;
use std::sync::Arc;

use super::locks::UserCode;
use super::{Absence, Entry, MemoryBackend, holds};
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
        let now = self.tier.bound.now();
        self.tier.index.as_ref()?.find(hash, key, now)
    }

    /// The lookup in the shared table, under the shard's read lock; the entry may join this
    /// thread's index.
    #[inline(never)]
    pub(crate) fn get_shared<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Result<(V, Stamp), Absence> {
        let locked = self.tier.shard(hash);
        // `None` from user code run under this shard's lock: answered as a miss.
        let Some(shard) = locked.read_shard() else {
            return Err(Absence::seen(self.tier.shard_index(hash), &locked.inserts));
        };
        let is = |e: &Entry| holds::<K, V, Q>(e, key);
        let Some(place) = shard.find(locked.address(), hash, is) else {
            return Err(Absence::seen(self.tier.shard_index(hash), &locked.inserts));
        };
        let entry = shard.get(place);
        let found = {
            let _user = UserCode::enter(locked.address());
            match entry.typed::<K, V>() {
                Some((_, value)) => entry.read(value, self.tier.bound.now()),
                None => return Err(Absence::seen(self.tier.shard_index(hash), &locked.inserts)),
            }
        };
        // Not from user code run under a shard's lock: the index's admission may drop entries.
        let Some(index) = &self.tier.index else {
            return Ok(found);
        };
        if UserCode::running() || !index.admits() {
            return Ok(found);
        }
        let entry = Arc::clone(entry);
        drop(shard);
        index.admit(entry);
        Ok(found)
    }
}
