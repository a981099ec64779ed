use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "metrics")]
mod export;
mod striped;

use striped::StripedCounter;

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
    /// Calls answered with a fresh entry, including callers that waited for another's
    /// computation (exported as the tier `flight`; an entry past its ttl served is counted in
    /// `stale_served` instead).
    pub hits: u64,
    /// Calls that ran the function, however the run ended (a value, an error, a panic, an async
    /// caller dropped while it ran), or found nothing, for `get`. A background refresh is not
    /// a call's miss.
    pub misses: u64,
    /// Values stored in at least one tier (a value every tier failed to take is not counted).
    pub stores: u64,
    /// Failed operations: unreadable or corrupt entries, failed writes, invalid paths, a lock
    /// file that could not be made, a key that could not be encoded, a background refresh whose
    /// function failed. Each is counted (a call may count several: a tier's read before and
    /// after the cross-process lock) and logged as a `tracing` warning, and none cost the
    /// caller its value. `insert`, `remove` and `clear` return their failures (an `insert`
    /// also counts them).
    pub errors: u64,
    /// Entries past their ttl served: within `stale_while_revalidate` (a background refresh
    /// claimed, or one already under way), within either window while the function backs off
    /// after a failure, or because the function failed (`stale_if_error`). A call served so
    /// without running the function (the first two) is counted here only, neither as a hit nor
    /// as a miss; one whose function ran and failed is also a miss, as every run is. The
    /// background refresh that follows is counted in `stores` (and `errors` when it fails), not
    /// as a miss. So with `stale_while_revalidate`, this count rises while the function is
    /// healthy.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Cache, Clock};
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache: Cache<u32, u32> = Cache::builder()
    ///     .ttl(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(600))
    ///     .clock(clock)
    ///     .build()
    ///     .unwrap();
    /// cache.get_or_refresh(&1, || 1);
    /// mock.advance(Duration::from_secs(90));
    /// // Past the ttl, within the window: served stale while a refresh runs; nothing failed.
    /// assert_eq!(cache.get_or_refresh(&1, || 2), 1);
    /// let stats = cache.stats();
    /// assert_eq!((stats.hits, stats.misses, stats.stale_served), (0, 1, 1));
    /// ```
    pub stale_served: u64,
    /// Entries still of use that a tier dropped to stay within its bounds (`max_entries`,
    /// `max_size`): the memory tier's least recently used, a disk tier's oldest. Entries
    /// dropped because they expired, removed or cleared are not evictions, nor is one a bound
    /// drops after it expired (past its ttl and every window); a file tier knows the end only
    /// of the entries its process wrote, and counts the others (found at its first write).
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
    /// Counted on every hit, miss and store: striped, so that threads counting at once write
    /// no line in common.
    hits: StripedCounter,
    misses: StripedCounter,
    stores: StripedCounter,
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
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn hit(&self, tier: &'static str) {
        self.hits.add();
        #[cfg(feature = "metrics")]
        self.export.hit(tier);
        #[cfg(not(feature = "metrics"))]
        let _ = tier;
    }

    /// A call that ran the function, or a lookup that found nothing.
    pub(crate) fn miss(&self) {
        self.misses.add();
        #[cfg(feature = "metrics")]
        self.export.miss();
    }

    /// A value stored in at least one tier.
    pub(crate) fn store(&self) {
        self.stores.add();
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

    /// The function's run begins: its time goes to the counters when it ends
    /// ([`RunTimer`]).
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn time_run(&self) -> RunTimer<'_> {
        RunTimer {
            #[cfg(feature = "metrics")]
            stats: self,
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
            #[cfg(not(feature = "metrics"))]
            stats: std::marker::PhantomData,
        }
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            stores: self.stores.sum(),
            errors: get(&self.errors),
            stale_served: get(&self.stale_served),
            evictions: get(&self.evictions),
        }
    }

    pub(crate) fn reset(&self) {
        self.hits.reset();
        self.misses.reset();
        self.stores.reset();
        let counters = [&self.errors, &self.stale_served, &self.evictions];
        for c in counters {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A run of the function under way, for the exported histogram (`cacher_compute_seconds`;
/// `CacheStats` has no latency): its time is recorded when it [`end`](Self::end)s, however the
/// function's run ended (a value or an error), and when a panic unwinds it (one in its own
/// function, or one that unwinds the caller while it runs); a run dropped unfinished otherwise
/// (an async caller gone) is not recorded. Without the `metrics` feature it holds nothing, and
/// no clock is read.
pub(crate) struct RunTimer<'a> {
    #[cfg(feature = "metrics")]
    stats: &'a Counters,
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
    #[cfg(not(feature = "metrics"))]
    stats: std::marker::PhantomData<&'a Counters>,
}

impl RunTimer<'_> {
    /// The function returned: its time to the counters.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn end(self) {
        // Recorded: its drop, for an unwind, has nothing to do.
        #[cfg(feature = "metrics")]
        {
            self.record();
            std::mem::forget(self);
        }
    }

    #[cfg(feature = "metrics")]
    fn record(&self) {
        self.stats.export.computed(self.started.elapsed());
    }
}

/// Dropped unended: by a panic's unwind (recorded), or with an async caller gone (not).
#[cfg(feature = "metrics")]
impl Drop for RunTimer<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.record();
        }
    }
}
