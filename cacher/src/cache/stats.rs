use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Values stored.
    pub stores: u64,
    /// Backend failures: unreadable or corrupt entries, failed writes, invalid paths. Each was
    /// also logged as a `tracing` warning, and none cost the caller its value.
    pub errors: u64,
    /// Expired entries served because the function failed (`stale_if_error`).
    pub stale_served: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) stores: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) stale_served: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            stores: get(&self.stores),
            errors: get(&self.errors),
            stale_served: get(&self.stale_served),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.hits,
            &self.misses,
            &self.stores,
            &self.errors,
            &self.stale_served,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
