//! Lookups: in this thread's index, else in the shared table under its shard's read lock.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use super::{Absence, Entry, Holds, Is, MemoryBackend, Tier};
use crate::callback::CallbackMut;
use crate::entry::Stamp;
use crate::key::KeyRef;
use crate::reentry::UserCode;

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
        // A `match` rather than `?`, which would compile a conversion of the residual per value
        // type (compile time).
        match &self.tier.index {
            Some(index) => index.find(hash, key, &self.tier.bound),
            None => None,
        }
    }

    /// The lookup in the shared table, under the shard's read lock; the entry may join this
    /// thread's index.
    #[inline(never)]
    #[allow(
        clippy::question_mark,
        reason = "`?` would compile a conversion of the residual per value type"
    )]
    pub(crate) fn get_shared<Q: KeyRef<K> + ?Sized>(
        &self,
        hash: u64,
        key: &Q,
    ) -> Result<(V, Stamp), Absence> {
        let mut read = Read::<K, V> {
            bound: &self.tier.bound,
            found: None,
            types: PhantomData,
        };
        let holds = &Holds::<K, V, Q>(key, PhantomData);
        if let Err(absence) = self.tier.read_shared(hash, holds, &mut read) {
            return Err(absence);
        }
        match read.found {
            Some(found) => Ok(found),
            None => Err(self.tier.absence(hash)),
        }
    }
}

/// A shared-table lookup's read of the entry it found, under the shard's lock: its value and
/// times, the use recorded at the clock read then — a use after every insert that took the lock
/// before it (a slow `Eq` or a wait for the lock may outlast one). A [`CallbackMut`] of its own:
/// one function per cache type, where a closure was two (the closure, its call).
struct Read<'t, K, V> {
    bound: &'t super::bound::Bound,
    found: Option<(V, Stamp)>,
    types: PhantomData<fn() -> K>,
}

impl<'e, K: 'static, V: Clone + 'static> CallbackMut<&'e Entry, ()> for Read<'_, K, V> {
    fn run_mut(&mut self, entry: &'e Entry) {
        if let Some(slot) = entry.typed::<K, V>() {
            self.found = Some(slot.read(self.bound.now()));
        }
    }
}

/// The shared table's lookup, untyped: compiled once for every tier.
impl Tier {
    /// Calls `read` with the entry of `hash` that `is` accepts (its key is the lookup's), under
    /// its shard's read lock, both run as user code (a key's `Eq`, a value's `Clone`); or, if
    /// there is none, what the lookup saw of its absence. The entry may join this thread's
    /// index.
    pub(super) fn read_shared(
        &self,
        hash: u64,
        is: &Is<'_>,
        read: &mut dyn for<'e> CallbackMut<&'e Entry, ()>,
    ) -> Result<(), Absence> {
        let locked = self.shard(hash);
        // `None` from user code run under this shard's lock: answered as a miss.
        let Some(shard) = locked.read_shard() else {
            return Err(self.absence(hash));
        };
        let Some(place) = shard.find(locked.address(), hash, |e: &Entry| is.run(e)) else {
            return Err(self.absence(hash));
        };
        let entry = shard.get(place);
        {
            let _user = UserCode::enter(locked.address());
            read.run_mut(entry);
        }
        // Not from user code run under a shard's lock: what the index lets go of is dropped.
        let Some(index) = &self.index else {
            return Ok(());
        };
        if UserCode::running() || !index.admits() {
            return Ok(());
        }
        let entry = Arc::clone(entry);
        drop(shard);
        index.admit(entry);
        Ok(())
    }

    /// Records a use at `now_ms` (`time_to_idle`) of the entry of `hash` that `is` accepts,
    /// under the read lock.
    pub(super) fn touch(&self, hash: u64, is: &Is<'_>, now_ms: u64) {
        let locked = self.shard(hash);
        let Some(shard) = locked.read_shard() else {
            return; // from a key's `Eq` under this shard's lock: the use goes unrecorded
        };
        if let Some(place) = shard.find(locked.address(), hash, |e: &Entry| is.run(e)) {
            shard.get(place).times.touch(now_ms);
        }
    }

    /// What a lookup of `hash` that found no entry saw of its shard now.
    pub(super) fn absence(&self, hash: u64) -> Absence {
        Absence::seen(self.shard_index(hash), &self.shard(hash).inserts)
    }
}
