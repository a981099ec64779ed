//! An entry of the tier: its key and value, typed, and its times and liveness, which are not
//! (their code is compiled once, not per cache type).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::entry::Stamp;

/// A slot's `ttl_ms` when the entry has none of its own (a ttl of 584 million years is none).
const NO_TTL: u64 = u64::MAX;

pub(super) struct Slot<K, V> {
    pub(super) hash: u64,
    pub(super) key: K,
    pub(super) value: V,
    pub(super) times: Times,
}

/// An entry's times and whether it is still in its shard.
pub(super) struct Times {
    created_ms: u64,
    /// The entry's own ttl, [`NO_TTL`] for none: a plain `u64` keeps the slot 8 bytes smaller
    /// than an `Option` would (a miss + insert writes every byte of it).
    ttl_ms: u64,
    /// The last use recorded (`time_to_idle`): an atomic, so that a touch takes the read lock.
    touched_ms: AtomicU64,
    /// The recency stamp of a bounded tier (see [`Bound`](super::bound::Bound)).
    last_used: AtomicU64,
    /// False once the entry left its shard (replaced, removed, evicted, cleared), set under the
    /// shard's write lock: a thread's index that still points to it misses.
    live: AtomicBool,
}

impl Times {
    /// The times of an entry inserted with `stamp`, stamped `tick` for the eviction order.
    #[inline]
    pub(super) fn new(stamp: Stamp, tick: u64) -> Self {
        Self {
            created_ms: stamp.created_ms,
            ttl_ms: match stamp.ttl_ms {
                Some(ttl_ms) => ttl_ms,
                None => NO_TTL,
            },
            touched_ms: AtomicU64::new(stamp.touched_ms),
            last_used: AtomicU64::new(tick),
            live: AtomicBool::new(true),
        }
    }

    /// Records a hit's use at the recency clock's `now`, for the eviction order: a store to
    /// this entry only when the clock moved on.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn used(&self, now: u64) {
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// The times, as a hit hands them out.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn stamp(&self) -> Stamp {
        Stamp {
            created_ms: self.created_ms,
            ttl_ms: (self.ttl_ms != NO_TTL).then_some(self.ttl_ms),
            touched_ms: self.touched_ms.load(Ordering::Relaxed),
        }
    }

    /// Records a use at `now_ms` (`time_to_idle`).
    pub(super) fn touch(&self, now_ms: u64) {
        self.touched_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// The recency stamp, for the eviction's scan.
    #[inline]
    pub(super) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Whether the entry is still in its shard. Acquire: pairs with the write that retired it,
    /// under its shard's lock.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Marks an entry leaving its shard: Release, paired with the index's Acquire.
    #[inline]
    pub(super) fn retire(&self) {
        self.live.store(false, Ordering::Release);
    }
}

/// An entry in its shard: inline (no allocation of its own on an insert) until a thread's index
/// first points to it, then behind an `Arc` that the indexes share.
pub(super) enum Held<K, V> {
    Inline(Slot<K, V>),
    Shared(Arc<Slot<K, V>>),
}

impl<K, V> std::ops::Deref for Held<K, V> {
    type Target = Slot<K, V>;

    #[inline]
    fn deref(&self) -> &Slot<K, V> {
        match self {
            Held::Inline(slot) => slot,
            Held::Shared(slot) => slot,
        }
    }
}
