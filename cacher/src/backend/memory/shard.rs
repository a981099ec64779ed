//! A shard's entries: a dense vector of typed entries, found through a table of each entry's
//! hash and place in the vector.
//!
//! The table is not generic: `hashbrown`'s code (its probe, growth and rehash) is compiled once in
//! cacher for every cache of a program, not once per key and value types, as a table of the
//! entries themselves was (its `reserve_rehash`, `find`, `insert` and iterators were a third of
//! the memory tier's compiled code: compile time). Only the vector, and the few lines that test
//! a key or move an entry, are typed. An entry leaves by `swap_remove` (the last one takes its
//! place, whose number the table is told), so the vector stays dense: an eviction scans it as a
//! slice.

use super::Held;
use super::locks::UserCode;
use super::places::Places;

/// One shard's entries, under its lock.
pub(super) struct Shard<K, V> {
    places: Places,
    entries: Vec<Held<K, V>>,
}

impl<K, V> Shard<K, V> {
    pub(super) const fn new() -> Self {
        Self {
            places: Places::new(),
            entries: Vec::new(),
        }
    }

    /// The place of the entry whose key `is` tells from `key`, among those with `hash`. The
    /// test is user code (a key's `Eq`), run as such under the lock at `lock`.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn find<Q: ?Sized>(
        &self,
        lock: usize,
        hash: u64,
        key: &Q,
        is: impl Fn(&Q, &K) -> bool,
    ) -> Option<usize> {
        let place = self.places.first(hash)?;
        if self.holds_at(lock, place, key, &is) {
            return Some(place);
        }
        self.find_beyond(lock, hash, place, key, is)
    }

    /// Whether the entry at `place` is `key`'s: user code (a key's `Eq`), run as such under the
    /// lock at `lock`.
    #[inline]
    fn holds_at<Q: ?Sized>(
        &self,
        lock: usize,
        place: usize,
        key: &Q,
        is: &impl Fn(&Q, &K) -> bool,
    ) -> bool {
        let _user = UserCode::enter(lock);
        is(key, &self.entries[place].key)
    }

    /// [`find`](Self::find) among the entries with `hash` but the one at `first`: keys whose
    /// 64-bit hashes collide.
    #[cold]
    fn find_beyond<Q: ?Sized>(
        &self,
        lock: usize,
        hash: u64,
        first: usize,
        key: &Q,
        is: impl Fn(&Q, &K) -> bool,
    ) -> Option<usize> {
        let test = &mut |place: usize| self.holds_at(lock, place, key, &is);
        self.places.find(hash, Some(first), test)
    }

    /// Adds `held`, or puts it in place of the entry with its key, which it hands back (marked
    /// dead). Under the lock at `lock`, where the key's `Eq` runs.
    #[inline]
    pub(super) fn insert(&mut self, lock: usize, held: Held<K, V>) -> Option<Held<K, V>>
    where
        K: Eq,
    {
        // One probe finds the key's entry or claims the place of a new one.
        let place = match self.places.place(held.hash, self.entries.len()) {
            Ok(()) => {
                self.entries.push(held);
                return None;
            }
            Err(place) => place,
        };
        let place = match self.holds_at(lock, place, &held.key, &K::eq) {
            true => place,
            false => match self.find_beyond(lock, held.hash, place, &held.key, K::eq) {
                Some(place) => place,
                None => {
                    self.push(held); // a key whose hash another key's has
                    return None;
                }
            },
        };
        let replaced = std::mem::replace(&mut self.entries[place], held);
        replaced.times.retire();
        Some(replaced)
    }

    /// The place of the entry at `address` (found again after the lock was let go of, or after
    /// a scan), among those with `hash`.
    pub(super) fn find_at(&self, hash: u64, address: *const super::Slot<K, V>) -> Option<usize> {
        let test = &mut |place: usize| std::ptr::eq(&*self.entries[place], address);
        self.places.find(hash, None, test)
    }

    #[inline]
    pub(super) fn get(&self, place: usize) -> &Held<K, V> {
        &self.entries[place]
    }

    /// Adds an entry whose key the shard does not hold.
    pub(super) fn push(&mut self, held: Held<K, V>) {
        self.places.add(held.hash, self.entries.len());
        self.entries.push(held);
    }

    /// Takes the entry at `place` out of the shard (the last one takes its place).
    pub(super) fn take(&mut self, place: usize) -> Held<K, V> {
        let gone = self.entries.swap_remove(place);
        let moved = if place < self.entries.len() {
            Some(self.entries[place].hash)
        } else {
            None
        };
        self.places
            .remove(gone.hash, place, moved, self.entries.len());
        gone
    }

    /// The entries, in no order.
    pub(super) fn entries(&self) -> &[Held<K, V>] {
        &self.entries
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes every entry out, and gives back the memory the shard held.
    pub(super) fn take_all(&mut self) -> Vec<Held<K, V>> {
        self.places = Places::new();
        std::mem::take(&mut self.entries)
    }

    /// The entries the shard has room for.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.entries.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::super::slot::{Held, Slot, Times};
    use super::Shard;
    use crate::entry::Stamp;

    fn held(hash: u64, key: u64, value: u64) -> Held<u64, u64> {
        let stamp = Stamp {
            created_ms: 0,
            ttl_ms: None,
            touched_ms: 0,
        };
        Held::Inline(Slot {
            hash,
            key,
            value,
            times: Times::new(stamp, 0),
        })
    }

    fn value(shard: &Shard<u64, u64>, hash: u64, key: u64) -> Option<u64> {
        let place = shard.find(0, hash, &key, u64::eq)?;
        Some(shard.get(place).value)
    }

    /// Keys whose 64-bit hashes collide each keep an entry of their own: a lookup, a replace and
    /// a removal of one never reach the other's (the table's first entry for a hash need not be
    /// the key's).
    #[test]
    fn keys_with_the_same_hash_keep_their_own_entries() {
        let mut shard = Shard::new();
        for key in 0..4 {
            assert!(shard.insert(0, held(7, key, key * 10)).is_none());
        }
        assert!(shard.insert(0, held(9, 100, 1)).is_none());
        for key in 0..4 {
            assert_eq!(value(&shard, 7, key), Some(key * 10));
        }
        assert_eq!(
            value(&shard, 7, 4),
            None,
            "a key not there, with a hash that is"
        );
        // Replaced: the old entry comes back, marked dead, and the others stay.
        let replaced = shard.insert(0, held(7, 2, 21)).expect("replaced");
        assert!(!replaced.times.live());
        assert_eq!(shard.len(), 5);
        // Taken from the middle: the last entry moves into its place, and is still found.
        let place = shard.find(0, 7, &1, u64::eq).unwrap();
        assert_eq!(shard.take(place).key, 1);
        let expected = [
            (7, 0, Some(0)),
            (7, 1, None),
            (7, 2, Some(21)),
            (7, 3, Some(30)),
        ];
        for (hash, key, expected) in expected {
            assert_eq!(value(&shard, hash, key), expected);
        }
        assert_eq!(value(&shard, 9, 100), Some(1));
        // Evicted down to nothing, every place stays right.
        while shard.len() > 0 {
            let gone = shard.evict_least_recent(shard.entries().len());
            assert!(value(&shard, gone.hash, gone.key).is_none());
            for other in shard.entries() {
                assert_eq!(value(&shard, other.hash, other.key), Some(other.value));
            }
        }
    }
}
