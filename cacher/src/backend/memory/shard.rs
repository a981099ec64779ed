//! A shard's entries: a dense vector of entries, found through a table of each entry's hash and
//! place in the vector.
//!
//! Neither is generic: the entries' types are erased ([`Entry`]), and `hashbrown`'s code (its
//! probe, growth and rehash) is compiled once in cacher for every cache of a program, as are the
//! vector's, the evictions' and the drops'. Only the test of a key (the caller's closure) names
//! the types. An entry leaves by `swap_remove` (the last one takes its place, whose number the
//! table is told), so the vector stays dense: an eviction's scan reads it as a slice.

use super::Entry;
use super::eviction::{Victims, address};
use super::places::Places;
use crate::reentry::UserCode;

/// The entries a shard makes room for at its first insert: a cache filled from empty (a new one,
/// or one cleared) otherwise grew each shard's vector four times (4 → 64 entries) and its table
/// five (4 → 128 buckets) on the way to 64 entries — about 80 instructions a miss of its first
/// thousand keys (`ab-miss`, `memory-miss-rounds-u64`). A shard holds up to ≈ 0.65 KiB more while
/// it has fewer than 15 entries, and the same after (a tier bounded under 16 entries keeps the
/// room all the same).
const FIRST_ROOM: usize = 16;

/// One shard's entries, under its lock.
pub(super) struct Shard {
    places: Places,
    entries: Vec<Entry>,
    /// The next to go when the shard is full (`eviction.rs`).
    victims: Victims,
}

/// Where an insert's entry goes ([`Shard::locate`]).
pub(super) enum Located {
    /// A new place, claimed for its hash: the entry is pushed there.
    Claimed,
    /// In place of the entry of its key, at this place.
    At(usize),
    /// Beside the entries of its hash, which are other keys' (a collision of 64-bit hashes).
    Beside,
}

impl Shard {
    pub(super) const fn new() -> Self {
        Self {
            places: Places::new(),
            entries: Vec::new(),
            victims: Victims::new(),
        }
    }

    /// The place of the entry that `is` accepts (its key is the lookup's), among those with
    /// `hash`. The test is user code (a key's `Eq`), run as such under the lock at `lock`.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn find(
        &self,
        lock: usize,
        hash: u64,
        is: impl Fn(&Entry) -> bool,
    ) -> Option<usize> {
        let place = self.places.first(hash)?;
        if self.holds_at(lock, place, &is) {
            return Some(place);
        }
        self.find_beyond(lock, hash, place, &is)
    }

    /// Whether `is` accepts the entry at `place`: user code (a key's `Eq`), run as such under
    /// the lock at `lock`.
    #[inline]
    fn holds_at(&self, lock: usize, place: usize, is: &impl Fn(&Entry) -> bool) -> bool {
        let _user = UserCode::enter(lock);
        is(&self.entries[place])
    }

    /// [`find`](Self::find) among the entries with `hash` but the one at `first`: keys whose
    /// 64-bit hashes collide. Not generic: the test through a pointer.
    #[cold]
    fn find_beyond(
        &self,
        lock: usize,
        hash: u64,
        first: usize,
        is: &dyn Fn(&Entry) -> bool,
    ) -> Option<usize> {
        let test = &mut |place: usize| {
            let _user = UserCode::enter(lock);
            is(&self.entries[place])
        };
        self.places.find(hash, Some(first), test)
    }

    /// Where an entry with `hash`, whose key `is` tells apart, goes: one probe finds the key's
    /// entry or claims the place of a new one. Then [`put`](Self::put) it there, at once.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn locate(
        &mut self,
        lock: usize,
        hash: u64,
        is: impl Fn(&Entry) -> bool,
    ) -> Located {
        if self.entries.capacity() == 0 {
            self.first_room();
        }
        let place = match self.places.place(hash, self.entries.len()) {
            Ok(()) => return Located::Claimed,
            Err(place) => place,
        };
        if self.holds_at(lock, place, &is) {
            return Located::At(place);
        }
        match self.find_beyond(lock, hash, place, &is) {
            Some(place) => Located::At(place),
            None => Located::Beside,
        }
    }

    /// Room for [`FIRST_ROOM`] entries in the vector and the table, at the first insert.
    #[cold]
    fn first_room(&mut self) {
        self.entries.reserve(FIRST_ROOM);
        self.places.reserve(FIRST_ROOM);
    }

    /// Puts `entry` where [`locate`](Self::locate) said; the entry it replaced, marked dead.
    #[inline]
    pub(super) fn put(&mut self, located: Located, entry: Entry) -> Option<Entry> {
        match located {
            Located::Claimed => {
                self.entries.push(entry);
                None
            }
            Located::Beside => {
                self.push(entry);
                None
            }
            Located::At(place) => {
                let replaced = std::mem::replace(&mut self.entries[place], entry);
                replaced.times.retire();
                Some(replaced)
            }
        }
    }

    #[inline]
    pub(super) fn get(&self, place: usize) -> &Entry {
        &self.entries[place]
    }

    /// Adds an entry whose key the shard does not hold.
    fn push(&mut self, entry: Entry) {
        self.places.add(entry.hash, self.entries.len());
        self.entries.push(entry);
    }

    /// Takes the entry at `place` out of the shard (the last one takes its place).
    pub(super) fn take(&mut self, place: usize) -> Entry {
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

    /// The place of the entry at `address` (an [`address`]) with `hash`, if it is still here.
    pub(super) fn place_of(&self, hash: u64, at: usize) -> Option<usize> {
        let entries = &self.entries;
        self.places
            .find(hash, None, &mut |place| address(&entries[place]) == at)
    }

    /// The entries listed to go next, for [`evict_least_recent`](Self::evict_least_recent).
    pub(super) fn victims(&mut self) -> &mut Victims {
        &mut self.victims
    }

    /// The entries, in no order.
    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes every entry out, and gives back the memory the shard held.
    pub(super) fn take_all(&mut self) -> Vec<Entry> {
        self.places = Places::new();
        self.victims = Victims::new();
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
    use super::super::slot::{Entry, Times, entry};
    use super::Shard;
    use crate::entry::Stamp;

    fn made(hash: u64, key: u64, value: u64) -> Entry {
        let stamp = Stamp {
            created_ms: 0,
            ttl_ms: None,
            touched_ms: 0,
        };
        entry(hash, Times::new(stamp, 0), key, value)
    }

    fn kv(entry: &Entry) -> (u64, u64) {
        entry.typed::<u64, u64>().unwrap().kv
    }

    fn is(key: u64) -> impl Fn(&Entry) -> bool {
        move |entry| kv(entry).0 == key
    }

    fn insert(shard: &mut Shard, entry: Entry) -> Option<Entry> {
        let located = shard.locate(0, entry.hash, is(kv(&entry).0));
        shard.put(located, entry)
    }

    fn value(shard: &Shard, hash: u64, key: u64) -> Option<u64> {
        let place = shard.find(0, hash, is(key))?;
        Some(kv(shard.get(place)).1)
    }

    /// A shard's first insert makes room for [`FIRST_ROOM`](super::FIRST_ROOM) entries at
    /// once, in its vector and its table, as does the first after a clear; a shard never
    /// inserted into holds nothing.
    #[test]
    fn the_first_insert_makes_room_for_several_entries() {
        let mut shard = Shard::new();
        assert_eq!((shard.capacity(), shard.places.capacity()), (0, 0));
        for round in 0..2 {
            insert(&mut shard, made(1, 1, 10));
            assert!(shard.capacity() >= super::FIRST_ROOM, "round {round}");
            let table = shard.places.capacity();
            for key in 2..=super::FIRST_ROOM as u64 {
                insert(&mut shard, made(key, key, key * 10));
            }
            assert_eq!(shard.places.capacity(), table, "the table did not grow");
            assert_eq!(value(&shard, 16, 16), Some(160));
            assert_eq!(shard.take_all().len(), super::FIRST_ROOM);
            assert_eq!((shard.capacity(), shard.places.capacity()), (0, 0));
        }
    }

    /// Keys whose 64-bit hashes collide each keep an entry of their own: a lookup, a replace and
    /// a removal of one never reach the other's (the table's first entry for a hash need not be
    /// the key's).
    #[test]
    fn keys_with_the_same_hash_keep_their_own_entries() {
        let mut shard = Shard::new();
        for key in 0..4 {
            assert!(insert(&mut shard, made(7, key, key * 10)).is_none());
        }
        assert!(insert(&mut shard, made(9, 100, 1)).is_none());
        for key in 0..4 {
            assert_eq!(value(&shard, 7, key), Some(key * 10));
        }
        assert_eq!(
            value(&shard, 7, 4),
            None,
            "a key not there, with a hash that is"
        );
        // Replaced: the old entry comes back, marked dead, and the others stay.
        let replaced = insert(&mut shard, made(7, 2, 21)).expect("replaced");
        assert!(!replaced.times.live());
        assert_eq!(shard.len(), 5);
        // Taken from the middle: the last entry moves into its place, and is still found.
        let place = shard.find(0, 7, is(1)).unwrap();
        assert_eq!(kv(&shard.take(place)).0, 1);
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
            assert!(value(&shard, gone.hash, kv(&gone).0).is_none());
            for other in shard.entries() {
                assert_eq!(value(&shard, other.hash, kv(other).0), Some(kv(other).1));
            }
        }
    }
}
