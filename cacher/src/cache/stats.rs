use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "metrics")]
mod export;

/// What a cache has done since it was made (or since [`Cache::reset_stats`](crate::Cache::reset_stats)).
///
/// # Examples
///
/// ```
/// use cacher::Cache;
///
/// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
/// cache.get_or_compute(&1, || 10);
/// cache.get_or_compute(&1, || 10);
/// let stats = cache.stats();
/// assert_eq!((stats.hits, stats.misses, stats.stores), (1, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Calls answered from the cache, including callers that waited for another's computation.
    pub hits: u64,
    /// Calls that ran the function (or found nothing, for `get`).
    pub misses: u64,
    /// Values stored in at least one tier (a value every tier failed to take is not counted).
    pub stores: u64,
    /// Backend failures: unreadable or corrupt entries, failed writes, invalid paths. Each was
    /// also logged as a `tracing` warning, and none cost the caller its value.
    pub errors: u64,
    /// Expired entries served because the function failed (`stale_if_error`).
    pub stale_served: u64,
    /// Entries a tier dropped to stay within its bounds (`max_entries`, `max_size`): the memory
    /// tier's least recently used, a disk tier's oldest. Entries dropped because they expired,
    /// removed or cleared are not evictions.
    ///
    /// ```
    /// use cacher::{Cache, MemoryBackend};
    ///
    /// let cache: Cache<u32, u32> =
    ///     Cache::builder().backend(MemoryBackend::new().max_entries(2)).build().unwrap();
    /// for n in 0..3 {
    ///     cache.get_or_compute(&n, || n);
    /// }
    /// assert_eq!(cache.stats().evictions, 1);
    /// ```
    pub evictions: u64,
}

/// What a cache counts, in one place: every event goes through one of these methods, which count
/// it for [`CacheStats`] and, with the `metrics` feature, export it ([`export`]).
#[derive(Default)]
pub(crate) struct Counters {
    hits: HitCounter,
    misses: AtomicU64,
    stores: AtomicU64,
    errors: AtomicU64,
    stale_served: AtomicU64,
    evictions: AtomicU64,
    /// Each persistent tier's running total of evictions as last read
    /// ([`PersistentBackend::evictions`](crate::PersistentBackend::evictions)).
    evictions_seen: Box<[AtomicU64]>,
    #[cfg(feature = "metrics")]
    export: export::Export,
}

impl Counters {
    /// The counters of the cache `namespace` (the label of its exported metrics), with
    /// `persistent` persistent tiers.
    pub(crate) fn new(namespace: &str, persistent: usize) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = namespace;
        Self {
            evictions_seen: (0..persistent).map(|_| AtomicU64::new(0)).collect(),
            #[cfg(feature = "metrics")]
            export: export::Export::new(namespace),
            ..Self::default()
        }
    }

    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A call answered by `tier` (`"memory"`, or a backend's name).
    #[inline]
    pub(crate) fn hit(&self, tier: &'static str) {
        self.hits.add();
        #[cfg(feature = "metrics")]
        self.export.hit(tier);
        #[cfg(not(feature = "metrics"))]
        let _ = tier;
    }

    /// A call that ran the function, or a lookup that found nothing.
    pub(crate) fn miss(&self) {
        Self::add(&self.misses);
        #[cfg(feature = "metrics")]
        self.export.miss();
    }

    /// A value stored in at least one tier.
    pub(crate) fn store(&self) {
        Self::add(&self.stores);
        #[cfg(feature = "metrics")]
        self.export.store();
    }

    /// A failure of `tier` (a backend's name, or `"all"`).
    pub(crate) fn error(&self, tier: &str) {
        Self::add(&self.errors);
        #[cfg(feature = "metrics")]
        self.export.error(tier);
        #[cfg(not(feature = "metrics"))]
        let _ = tier;
    }

    /// An entry past its ttl served: within `stale_while_revalidate`, during the error backoff,
    /// or because the function failed (`stale_if_error`).
    pub(crate) fn stale_served(&self) {
        Self::add(&self.stale_served);
        #[cfg(feature = "metrics")]
        self.export.stale_served();
    }

    /// `count` entries that `tier` (`"memory"`, or a backend's name) dropped for its bounds.
    pub(crate) fn evicted(&self, tier: &'static str, count: u64) {
        if count == 0 {
            return;
        }
        self.evictions.fetch_add(count, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.export.evicted(tier, count);
        #[cfg(not(feature = "metrics"))]
        let _ = tier;
    }

    /// Persistent tier `tier` (named `name`) reports `total` evictions since it was made: counts
    /// those not counted yet. Concurrent writers may read the totals in any order; each eviction
    /// is counted once.
    pub(crate) fn evictions_total(&self, tier: usize, name: &'static str, total: u64) {
        let Some(seen) = self.evictions_seen.get(tier) else {
            return;
        };
        let before = seen.fetch_max(total, Ordering::Relaxed);
        self.evicted(name, total.saturating_sub(before));
    }

    /// The function ran, taking `took` (exported only: `CacheStats` has no latency).
    pub(crate) fn computed(&self, took: std::time::Duration) {
        #[cfg(feature = "metrics")]
        self.export.computed(took);
        #[cfg(not(feature = "metrics"))]
        let _ = took;
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: self.hits.sum(),
            misses: get(&self.misses),
            stores: get(&self.stores),
            errors: get(&self.errors),
            stale_served: get(&self.stale_served),
            evictions: get(&self.evictions),
        }
    }

    pub(crate) fn reset(&self) {
        self.hits.reset();
        let counters = [
            &self.misses,
            &self.stores,
            &self.errors,
            &self.stale_served,
            &self.evictions,
        ];
        for c in counters {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The hit count, counted where a hit is cheapest: every hit adds to it, so one atomic shared by
/// all threads would be a cache line that two cores writing it at once pass back and forth on
/// every hit, costing more than the lookup itself.
///
/// It is split into stripes on cache lines of their own. The first [`EXCLUSIVE`] stripes belong
/// each to one thread at a time (claimed on the thread's first hit, released when it exits), which
/// adds to its stripe with a plain load and store, no locked instruction; threads beyond those
/// share the other stripes through `fetch_add`. The count is the sum of the stripes, less the sum
/// at the last reset (an owner's plain store could otherwise undo a reset that zeroed its stripe).
pub(crate) struct HitCounter {
    /// Inline, like the memory tier's shards: no pointer to follow on a hit.
    stripes: [Stripe; STRIPES],
    /// The sum of the stripes at the last reset.
    base: AtomicU64,
}

/// Stripes per counter: [`EXCLUSIVE`] owned by a thread, the rest shared.
const STRIPES: usize = 16;
/// Stripes that one thread at a time owns.
const EXCLUSIVE: usize = 12;

#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// Which stripe of every counter this thread adds to: below [`EXCLUSIVE`] one it owns.
/// `UNCLAIMED` until its first hit.
const UNCLAIMED: usize = usize::MAX;

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Releases this thread's exclusive stripe when the thread exits.
    static RELEASE: Release = const { Release };
}

/// Which exclusive stripes are owned, by a live thread, right now.
static OWNED: Mutex<[bool; EXCLUSIVE]> = Mutex::new([false; EXCLUSIVE]);
/// Hands out the shared stripes round-robin.
static NEXT_SHARED: AtomicU64 = AtomicU64::new(0);

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let index = STRIPE.with(|s| s.replace(shared_stripe()));
        if index < EXCLUSIVE {
            // The mutex orders this thread's last plain store before the next owner's first
            // load.
            OWNED.lock().unwrap_or_else(|e| e.into_inner())[index] = false;
        }
    }
}

fn shared_stripe() -> usize {
    EXCLUSIVE + (NEXT_SHARED.fetch_add(1, Ordering::Relaxed) as usize) % (STRIPES - EXCLUSIVE)
}

/// Claims an exclusive stripe if one is free, else picks a shared one.
#[cold]
fn claim() -> usize {
    let mut owned = OWNED.lock().unwrap_or_else(|e| e.into_inner());
    let free = owned.iter().position(|taken| !taken);
    let index = match free {
        // Registering the release may fail while the thread is exiting: then stay shared.
        Some(index) if RELEASE.try_with(|_| ()).is_ok() => {
            owned[index] = true;
            index
        }
        _ => shared_stripe(),
    };
    drop(owned);
    STRIPE.with(|s| s.set(index));
    index
}

impl Default for HitCounter {
    fn default() -> Self {
        Self {
            stripes: Default::default(),
            base: AtomicU64::new(0),
        }
    }
}

impl HitCounter {
    /// Counts one hit.
    #[inline]
    pub(crate) fn add(&self) {
        let index = STRIPE.with(Cell::get);
        if index < EXCLUSIVE {
            // This thread is the stripe's only writer: a plain load and store.
            let stripe = &self.stripes[index].0;
            stripe.store(
                stripe.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
        } else {
            self.add_shared(index);
        }
    }

    /// A thread without an exclusive stripe: claims one on its first hit, else adds to a shared
    /// stripe atomically.
    #[cold]
    #[inline(never)]
    fn add_shared(&self, mut index: usize) {
        if index == UNCLAIMED {
            index = claim();
            if index < EXCLUSIVE {
                return self.add();
            }
        }
        self.stripes[index % STRIPES]
            .0
            .fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed)))
    }

    pub(crate) fn sum(&self) -> u64 {
        self.total().wrapping_sub(self.base.load(Ordering::Relaxed))
    }

    pub(crate) fn reset(&self) {
        self.base.store(self.total(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{EXCLUSIVE, HitCounter, STRIPE};

    #[test]
    fn hits_from_many_threads_all_count() {
        let counter = HitCounter::default();
        // More threads than exclusive stripes, so shared stripes are used too.
        let threads = EXCLUSIVE * 2;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        counter.add();
                    }
                });
            }
        });
        assert_eq!(counter.sum(), threads as u64 * 10_000);
        counter.reset();
        assert_eq!(counter.sum(), 0);
        counter.add();
        assert_eq!(counter.sum(), 1);
    }

    #[test]
    fn stripes_are_reused_after_threads_exit() {
        let counter = HitCounter::default();
        for _ in 0..EXCLUSIVE * 3 {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    counter.add();
                    // Each thread, once the previous ones have exited, gets an exclusive stripe.
                    assert!(STRIPE.with(Cell::get) < EXCLUSIVE);
                });
            });
        }
        assert_eq!(counter.sum(), EXCLUSIVE as u64 * 3);
    }
}
