//! The bound of a tier made with `max_entries`: its count of entries and its recency clock. Not
//! generic: one copy of this bookkeeping for every cache type.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::CacheLine;

/// Shards for an unbounded memory tier: enough that two threads rarely share a lock.
pub(super) const DEFAULT_SHARDS: usize = 16;
/// A bounded tier gets fewer shards when it is small, so that each shard keeps at least this many
/// entries and its LRU order stays meaningful (a tier of fewer than 64 entries is one shard,
/// hence exact LRU).
const MIN_ENTRIES_PER_SHARD: usize = 32;

pub(super) struct Bound {
    /// The bound given to `max_entries`.
    pub(super) max_entries: Option<usize>,
    /// Entries held, counted when bounded.
    len: CacheLine<AtomicUsize>,
    /// The recency clock, when bounded: ticked by inserts only, read by hits.
    epoch: CacheLine<AtomicU64>,
}

/// The shards a tier bounded to `max_entries` uses: a power of two.
pub(super) fn shards_for(max_entries: usize) -> usize {
    let mut shards = DEFAULT_SHARDS;
    while shards > 1 && max_entries / shards < MIN_ENTRIES_PER_SHARD {
        shards /= 2;
    }
    shards
}

/// Counts an insert into a shard whose write lock the caller holds (`inserts`, the shard's
/// count; see `Absence`).
#[inline]
pub(super) fn count_insert(inserts: &AtomicU64) {
    // Counted before the entry is there (both under the lock): a reader of the count that saw
    // the old one took the read lock before this insert. A plain store, not a locked add: the
    // write lock makes this thread the count's only writer.
    let count = inserts.load(Ordering::Relaxed);
    inserts.store(count.wrapping_add(1), Ordering::Release);
}

impl Bound {
    pub(super) const fn new(max_entries: Option<usize>) -> Self {
        Self {
            max_entries,
            len: CacheLine(AtomicUsize::new(0)),
            epoch: CacheLine(AtomicU64::new(0)),
        }
    }

    /// The stamp of an entry inserted now. Odd stamps for inserts, even ones for hits: an entry
    /// inserted now is more recent than every hit before it, and less than every hit after it.
    #[inline]
    pub(super) fn tick(&self) -> u64 {
        match self.max_entries {
            Some(_) => self.epoch.0.fetch_add(2, Ordering::Relaxed) + 1,
            None => 0,
        }
    }

    /// The recency clock a hit records its use at; `None` when unbounded.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn now(&self) -> Option<u64> {
        self.max_entries
            .map(|_| self.epoch.0.load(Ordering::Relaxed))
    }

    /// Counts a new key in; true if the tier was full, and one entry must go.
    #[inline]
    pub(super) fn enter(&self) -> bool {
        match self.max_entries {
            Some(max) => self.len.0.fetch_add(1, Ordering::Relaxed) >= max,
            None => false,
        }
    }

    /// Counts `gone` entries out.
    #[inline]
    pub(super) fn left(&self, gone: usize) {
        if self.max_entries.is_some() {
            self.len.0.fetch_sub(gone, Ordering::Relaxed);
        }
    }
}
