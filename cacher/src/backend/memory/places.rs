//! A table of hashes and places in a vector (a shard's entries, a thread index's pointers),
//! found by hash: not generic, so that `hashbrown`'s code (its probe, growth and rehash) is
//! compiled once in cacher for every cache of a program, not once per key and value types.

use hashbrown::HashTable;
use hashbrown::hash_table::{Entry, IterHash};

/// Each entry's hash and place in its vector. In a shard two keys with the same hash (64 bits:
/// rare, but possible) have an entry each; a thread's index keeps one place per hash
/// ([`claim`](Self::claim)).
pub(super) struct Places(HashTable<(u64, u32)>);

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

impl Places {
    pub(super) const fn new() -> Self {
        Self(HashTable::new())
    }

    /// Forgets every place.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// The place of the first entry with `hash` the probe meets (the key's, but in a collision
    /// of 64-bit hashes).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn first(&self, hash: u64) -> Option<usize> {
        let &(_, place) = self.0.find(hash, |&(indexed, _)| indexed == hash)?;
        Some(place as usize)
    }

    /// Adds `hash` at `next` if no entry has it (one probe for both); else the place of the
    /// first that has it.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn claim(&mut self, hash: u64, next: usize) -> Result<(), usize> {
        match self.0.entry(hash, |&(indexed, _)| indexed == hash, hash_of) {
            Entry::Occupied(entry) => Err(entry.get().1 as usize),
            Entry::Vacant(entry) => {
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "a shard holds under 2^32 entries"
                )]
                entry.insert((hash, next as u32));
                Ok(())
            }
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

fn hash_of(&(hash, _): &(u64, u32)) -> u64 {
    hash
}

/// The test of the table's entry for the vector's `place`.
fn at(place: usize) -> impl Fn(&(u64, u32)) -> bool {
    move |&(_, indexed)| indexed as usize == place
}
