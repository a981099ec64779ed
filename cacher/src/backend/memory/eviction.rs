//! Which entry a full bounded shard gives up: its least recently used, found a quarter of the
//! shard at a time.
//!
//! One scan of the shard's recency stamps lists its least recently used quarter, the oldest last
//! ([`Victims`]); the evictions after it take them in that order, each checked to be still in
//! the shard (found by its address) and unused since (its stamp as listed). An eviction then
//! costs a probe of the shard's table, and the shard's stamps are scanned once every quarter of
//! it — where each eviction scanned them all (a tier bounded to 10 000 entries: 625 stamps, each
//! behind its own pointer, 13 000 instructions an insert; now 2 500). The list holds 24 bytes an
//! entry it names (a quarter of those its scan saw: some 6 bytes an entry of the shard, more in a
//! shard of under 4 entries or one emptied since), and each scan, for a moment, 16 bytes an
//! entry it reads.
//!
//! The order stays exact. Stamps grow: an insert stamps its entry past every stamp there is, a hit
//! stamps the recency clock's `now`, which no earlier stamp passes. So an entry not listed is at
//! least as recent as every listed one, then and later; a listed entry used since moved on (it is
//! passed over: the next scan sees it where it is now); and the listed entry that is next, unused,
//! is the least recent of the shard. (Hits take no lock: one that read `now` before another hit
//! or a scan, and stores it after, leaves its entry with an older stamp than it might have — listed
//! or not, that entry's eviction may wait for the next scan. The scan of every stamp raced with
//! such hits as well.)

use std::sync::Arc;

use super::Entry;
use super::shard::Shard;

/// One scan lists this share of the entries it scans (at least one).
const SCANNED_PER_LISTED: usize = 4;

/// Entries the last scan of a shard listed as its least recently used, the oldest last: the
/// next to go, each unless it left the shard or was used since.
pub(super) struct Victims(Vec<Victim>);

/// A listed entry: its hash and address (which tell it from a later entry of its key), and its
/// stamp as the scan read it.
struct Victim {
    hash: u64,
    address: usize,
    used: u64,
}

impl Victims {
    pub(super) const fn new() -> Self {
        Self(Vec::new())
    }
}

/// An entry's address: what tells it from a later entry of its key in the same place.
pub(super) fn address(entry: &Entry) -> usize {
    Arc::as_ptr(entry).cast::<()>() as usize
}

impl Shard {
    /// Removes the least recently used of the first `among` entries (at least one; those after
    /// are inserts this eviction makes room for), under the shard's write lock, and hands it
    /// back, marked dead, for the caller to drop once unlocked.
    pub(super) fn evict_least_recent(&mut self, among: usize) -> Entry {
        // A scan of no entries would list none, and the loop below never end.
        assert!(
            (1..=self.len()).contains(&among),
            "an eviction among {among} of {} entries",
            self.len()
        );
        let mut listed_now = false;
        let place = loop {
            let Some(victim) = self.victims().0.pop() else {
                self.list_victims(among);
                listed_now = true;
                continue;
            };
            if let Some(place) = self.victim_place(&victim, among, listed_now) {
                break place;
            }
        };
        let gone = self.take(place);
        gone.times.retire();
        gone
    }

    /// Where `victim` is among the first `among` entries, if it is still there and unused since
    /// it was listed. Just listed, under this lock, it is there; its stamp is not asked again: a
    /// hit takes no lock and may move it on at any time, and the oldest goes all the same.
    fn victim_place(&self, victim: &Victim, among: usize, listed_now: bool) -> Option<usize> {
        let place = self.place_of(victim.hash, victim.address)?;
        let unused = listed_now || self.entries()[place].times.last_used() == victim.used;
        (place < among && unused).then_some(place)
    }

    /// Lists the least recently used quarter of the first `among` entries, the oldest last (of
    /// equally recent ones, the first in the shard last).
    fn list_victims(&mut self, among: usize) {
        let entries = &self.entries()[..among];
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a shard holds under 2^32 entries"
        )]
        let mut stamps: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .map(|(place, entry)| (entry.times.last_used(), place as u32))
            .collect();
        let listed = (among / SCANNED_PER_LISTED).max(1);
        if listed < stamps.len() {
            // The `listed` least stamps before the one at `listed`, in no order.
            stamps.select_nth_unstable(listed);
            stamps.truncate(listed);
        }
        stamps.sort_unstable_by(|a, b| b.cmp(a));
        let victims = stamps
            .iter()
            .map(|&(used, place)| {
                let entry = &entries[place as usize];
                Victim {
                    hash: entry.hash,
                    address: address(entry),
                    used,
                }
            })
            .collect();
        self.victims().0 = victims;
    }
}

#[cfg(test)]
mod tests;
