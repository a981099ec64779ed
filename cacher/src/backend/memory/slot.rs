//! An entry of the tier: its hash, times and liveness, which are not typed (their code is
//! compiled once, not per cache type), and its key and value, behind `dyn Any`.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::entry::Stamp;

/// A slot's `ttl_ms` when the entry has none of its own (a ttl of 584 million years is none).
const NO_TTL: u64 = u64::MAX;

/// What every entry has, whatever its types: its hash and times.
pub(super) struct Head {
    pub(super) hash: u64,
    pub(super) times: Times,
}

/// An entry of the tier: its [`Head`], then its key and value (`kv`).
pub(super) struct Slot<K, V> {
    pub(super) head: Head,
    pub(super) kv: (K, V),
}

/// An entry as the tier holds it: shared by its shard and the threads' indexes, its key and
/// value's types erased, so that the shards, their locks, evictions and drops are compiled once
/// for every tier rather than once per cache type (compile time). What knows the types is the
/// few lines that make an entry, test its key and clone its value (`typed`, on `dyn Erased`).
///
/// A `dyn` trait over a sized slot, not a slot with an unsized `dyn Any` last field: behind the
/// latter, the type check of every hit computed two places from the vtable's alignment (the
/// slot's in the `Arc`, the key and value's in the slot: +14 instructions a hit), where this
/// computes one, as a plain `Arc<dyn Any>` does.
pub(super) type Entry = Arc<dyn Erased>;

/// A [`Slot`] of any types: its [`Head`] (what `Entry` derefs to), and its type for the check.
pub(super) trait Erased: Any + Send + Sync {
    /// The entry's hash and times.
    fn head(&self) -> &Head;
}

impl<K, V> Erased for Slot<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    #[inline]
    fn head(&self) -> &Head {
        &self.head
    }
}

impl std::ops::Deref for dyn Erased {
    type Target = Head;

    #[inline]
    fn deref(&self) -> &Head {
        self.head()
    }
}

/// The entry of `key` and `value`, with `hash` and `times`.
#[inline]
pub(super) fn entry<K, V>(hash: u64, times: Times, key: K, value: V) -> Entry
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    Arc::new(Slot {
        head: Head { hash, times },
        kv: (key, value),
    })
}

impl dyn Erased {
    /// The slot, as the tier's types: always `Some` for an entry of its own tier (only its tier
    /// makes and indexes them).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn typed<K: 'static, V: 'static>(&self) -> Option<&Slot<K, V>> {
        let any: &dyn Any = self;
        any.downcast_ref::<Slot<K, V>>()
    }
}

impl<K, V: Clone> Slot<K, V> {
    /// A hit's read of this entry: its value and times, and the use recorded for the eviction
    /// order at the bound's clock `now` (a bounded tier's).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn read(&self, now: Option<u64>) -> (V, Stamp) {
        let times = &self.head.times;
        if let Some(now) = now {
            times.used(now);
        }
        (self.kv.1.clone(), times.stamp())
    }
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
    #[cfg_attr(not(debug_assertions), inline)]
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
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn used(&self, now: u64) {
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// The times, as a hit hands them out.
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
