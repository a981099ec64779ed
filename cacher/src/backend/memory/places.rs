//! Tables found by hash that are not generic over a cache's types: a shard's places of its
//! entries in a vector, a thread index's pointers to entries whose types it does not name. So
//! `hashbrown`'s code (its probe, growth and rehash) is compiled twice in cacher for every cache
//! of a program, not once per key and value types.

use hashbrown::HashTable;
use hashbrown::hash_table::{Entry, IterHash};

/// Values found by a 64-bit hash, stored beside it.
pub(super) struct Table<T>(HashTable<(u64, T)>);

/// Each entry's hash and place in its shard's vector. Two keys with the same hash (64 bits: rare,
/// but possible) have an entry each.
pub(super) type Places = Table<u32>;

/// The places of the entries with a hash, in the order of the table's probe: almost always one,
/// its key's.
struct Candidates<'a> {
    hash: u64,
    probe: IterHash<'a, (u64, u32)>,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            let &(hash, place) = self.probe.next()?;
            if hash == self.hash {
                return Some(place as usize);
            }
        }
    }
}

impl<T> Table<T> {
    pub(super) const fn new() -> Self {
        Self(HashTable::new())
    }

    /// Makes room for `n` more values.
    pub(super) fn reserve(&mut self, n: usize) {
        self.0.reserve(n, hash_of);
    }

    /// How many values it has room for.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// How many values it holds.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// The first value with `hash` the probe meets (the key's entry, but in a collision of
    /// 64-bit hashes).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn get(&self, hash: u64) -> Option<&T> {
        let (_, value) = self.0.find(hash, |&(indexed, _)| indexed == hash)?;
        Some(value)
    }

    /// Adds `value` with `hash` if no value has that hash (one probe for both); else hands it
    /// back, with the first value that has it.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn claim(&mut self, hash: u64, value: T) -> Result<(), (T, &mut T)> {
        match self.0.entry(hash, |&(indexed, _)| indexed == hash, hash_of) {
            Entry::Occupied(entry) => Err((value, &mut entry.into_mut().1)),
            Entry::Vacant(entry) => {
                entry.insert((hash, value));
                Ok(())
            }
        }
    }

    /// Takes out the values `leaves` picks, in no order.
    pub(super) fn take_if(&mut self, mut leaves: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut taken = Vec::new();
        for (_, value) in self.0.extract_if(|(_, value)| leaves(value)) {
            taken.push(value);
        }
        taken
    }

    /// Takes out every value, in no order, and gives back the memory the table held.
    pub(super) fn take_all(&mut self) -> Vec<T> {
        let mut taken = Vec::with_capacity(self.0.len());
        for (_, value) in std::mem::take(&mut self.0) {
            taken.push(value);
        }
        taken
    }
}

impl Places {
    /// The place of the first entry with `hash` the probe meets (the key's, but in a collision
    /// of 64-bit hashes).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn first(&self, hash: u64) -> Option<usize> {
        Some(*self.get(hash)? as usize)
    }

    /// Adds `hash` at `next` if no entry has it (one probe for both); else the place of the
    /// first that has it.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn place(&mut self, hash: u64, next: usize) -> Result<(), usize> {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a shard holds under 2^32 entries"
        )]
        match self.claim(hash, next as u32) {
            Ok(()) => Ok(()),
            Err((_, &mut place)) => Err(place as usize),
        }
    }

    /// The place of the first entry with `hash`, but the one at `skip`, that `test` accepts:
    /// for the rare lookup whose first entry is another key's, and a search by address. Not
    /// generic: the test is a call through a pointer.
    pub(super) fn find(
        &self,
        hash: u64,
        skip: Option<usize>,
        test: &mut dyn FnMut(usize) -> bool,
    ) -> Option<usize> {
        let mut candidates = Candidates {
            hash,
            probe: self.0.iter_hash(hash),
        };
        candidates.find(|&place| Some(place) != skip && test(place))
    }

    /// Adds the entry with `hash` at `place` (the end of the vector).
    pub(super) fn add(&mut self, hash: u64, place: usize) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a shard holds under 2^32 entries"
        )]
        self.0.insert_unique(hash, (hash, place as u32), hash_of);
    }

    /// Forgets the entry with `hash` at `place`; the vector's last entry, at `last`, moved
    /// there unless it was that one (`moved`: its hash).
    pub(super) fn remove(&mut self, hash: u64, place: usize, moved: Option<u64>, last: usize) {
        if let Ok(entry) = self.0.find_entry(hash, at(place)) {
            entry.remove();
        }
        if let Some(moved) = moved
            && let Some(entry) = self.0.find_mut(moved, at(last))
        {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a shard holds under 2^32 entries"
            )]
            let place = place as u32;
            entry.1 = place;
        }
    }
}

fn hash_of<T>(&(hash, _): &(u64, T)) -> u64 {
    hash
}

/// The test of the table's entry for the vector's `place`.
fn at(place: usize) -> impl Fn(&(u64, u32)) -> bool {
    move |&(_, indexed)| indexed as usize == place
}
