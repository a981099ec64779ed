//! The counters, exported (feature `metrics`): every event [`Counters`](super::Counters) counts
//! also goes to the [`metrics`] facade, labelled by namespace (and tier where there is one), so
//! that whichever exporter the application installed (Prometheus, StatsD, …) publishes them.
//!
//! | metric | kind | labels | counted when |
//! |---|---|---|---|
//! | `cacher_hits_total` | counter | `namespace`, `tier` (`memory`, `file`, `store`, `redis`, …; `flight`: another caller's computation waited for) | a call is answered with a fresh entry |
//! | `cacher_misses_total` | counter | `namespace` | a call ran the function (a background refresh is none), or `get` found nothing |
//! | `cacher_stores_total` | counter | `namespace` | a value was stored in at least one tier |
//! | `cacher_errors_total` | counter | `namespace`, `tier` (a backend's name; `lock`, `all`: a key that cannot be encoded, a removal of every tier; `refresh`: a background refresh that failed) | an operation failed (each one: a call may count several) |
//! | `cacher_stale_served_total` | counter | `namespace` | an entry past its ttl was served: within `stale_while_revalidate` (the function healthy), during the error backoff, or by `stale_if_error` (then also a miss) |
//! | `cacher_evictions_total` | counter | `namespace`, `tier` | a tier dropped entries still of use for its bounds (`max_entries`, `max_size`; an expired one is none) |
//! | `cacher_compute_seconds` | histogram | `namespace` | the user's function ran (ok, failed or panicked; not `get`'s or `insert`'s) |
//!
//! Without an installed recorder each event costs a no-op call. The handles are looked up at the
//! event, so a recorder installed after the cache was built still gets every later event.

use std::sync::Arc;
use std::time::Duration;

/// The labels of one cache's metrics.
#[derive(Debug, Clone, Default)]
pub(crate) struct Export {
    namespace: Arc<str>,
}

impl Export {
    pub(crate) fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }

    fn namespace(&self) -> metrics::SharedString {
        metrics::SharedString::from(Arc::clone(&self.namespace))
    }

    pub(crate) fn hit(&self, tier: &'static str) {
        metrics::counter!("cacher_hits_total", "namespace" => self.namespace(), "tier" => tier)
            .increment(1);
    }

    pub(crate) fn miss(&self) {
        metrics::counter!("cacher_misses_total", "namespace" => self.namespace()).increment(1);
    }

    pub(crate) fn store(&self) {
        metrics::counter!("cacher_stores_total", "namespace" => self.namespace()).increment(1);
    }

    pub(crate) fn error(&self, tier: &str) {
        let tier = tier.to_owned();
        metrics::counter!("cacher_errors_total", "namespace" => self.namespace(), "tier" => tier)
            .increment(1);
    }

    pub(crate) fn stale_served(&self) {
        metrics::counter!("cacher_stale_served_total", "namespace" => self.namespace())
            .increment(1);
    }

    pub(crate) fn evicted(&self, tier: &'static str, count: u64) {
        metrics::counter!("cacher_evictions_total", "namespace" => self.namespace(), "tier" => tier)
            .increment(count);
    }

    pub(crate) fn computed(&self, took: Duration) {
        metrics::histogram!("cacher_compute_seconds", "namespace" => self.namespace())
            .record(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
        SharedString, Unit,
    };

    use crate::{Cache, MemoryBackend, SeparateFileBackend, StoreBackend};

    /// Every counter's total and every histogram's count, by `name{label=value,…}`.
    #[derive(Default, Clone)]
    struct Totals(Arc<Mutex<BTreeMap<String, u64>>>);

    struct Slot(Totals, String);

    impl CounterFn for Slot {
        fn increment(&self, value: u64) {
            *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
        }
        fn absolute(&self, _: u64) {}
    }

    impl HistogramFn for Slot {
        fn record(&self, _: f64) {
            *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += 1;
        }
    }

    fn id(key: &Key) -> String {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    impl Recorder for Totals {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Slot(self.clone(), id(key))))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(Slot(self.clone(), id(key))))
        }
    }

    #[test]
    fn every_counted_event_is_exported_by_namespace_and_tier() {
        let dir = tempfile::tempdir().unwrap();
        let totals = Totals::default();
        let file_cache = || -> Cache<u32, u32> {
            Cache::builder()
                .namespace("app::double")
                .backend(MemoryBackend::new())
                .backend(SeparateFileBackend::new(dir.path()))
                .build()
                .unwrap()
        };
        metrics::with_local_recorder(&totals, || {
            let cache = file_cache();
            cache.get_or_compute(&1, || 2); // miss, compute, store
            cache.get_or_compute(&1, || 2); // memory hit
            file_cache().get_or_compute(&1, || 2); // a new process's cache: a file hit
            let stats = cache.stats();
            assert_eq!((stats.hits, stats.misses, stats.stores), (1, 1, 1));
            // A tier that fails: its directory is a file.
            let blocked = dir.path().join("blocked");
            std::fs::write(&blocked, b"not a directory").unwrap();
            let failing: Cache<u32, u32> = Cache::builder()
                .namespace("app::failing")
                .backend(SeparateFileBackend::new(&blocked))
                .build()
                .unwrap();
            failing.get_or_compute(&1, || 2);
            assert!(failing.stats().errors >= 1);
        });
        let got = totals.0.lock().unwrap().clone();
        let want: BTreeMap<String, u64> = [
            ("cacher_compute_seconds{namespace=app::double}", 1),
            ("cacher_compute_seconds{namespace=app::failing}", 1),
            ("cacher_errors_total{namespace=app::failing,tier=file}", 2),
            // The cross-process lock file cannot be made there either.
            ("cacher_errors_total{namespace=app::failing,tier=lock}", 1),
            ("cacher_misses_total{namespace=app::failing}", 1),
            ("cacher_hits_total{namespace=app::double,tier=file}", 1),
            ("cacher_hits_total{namespace=app::double,tier=memory}", 1),
            ("cacher_misses_total{namespace=app::double}", 1),
            ("cacher_stores_total{namespace=app::double}", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(got, want);
    }

    /// Only the user's function is timed, each time it runs — a panic that ends its run
    /// included — and a `get` that found nothing is a miss: a `get` or an `insert` is no
    /// computation (helper-114: both were timed as the function's runs, and a `get` that found
    /// nothing counted no miss, so a plain store's hit ratio read 100 %).
    #[test]
    fn only_the_functions_runs_are_timed_and_a_get_that_found_nothing_is_a_miss() {
        let totals = Totals::default();
        metrics::with_local_recorder(&totals, || {
            let cache: Cache<u32, u32> = Cache::builder().namespace("app::plain").build().unwrap();
            assert_eq!(cache.get(&9), None);
            assert_eq!(cache.get(&9), None);
            cache.insert(&1, 10).unwrap();
            assert_eq!(cache.get(&1), Some(10));
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                cache.get_or_compute(&5, || -> u32 { panic!("the function fails") })
            }));
            assert!(panicked.is_err());
            let stats = cache.stats();
            assert_eq!((stats.hits, stats.misses, stats.stores), (1, 3, 1));
        });
        let got = totals.0.lock().unwrap().clone();
        let want: BTreeMap<String, u64> = [
            ("cacher_compute_seconds{namespace=app::plain}", 1),
            ("cacher_hits_total{namespace=app::plain,tier=memory}", 1),
            ("cacher_misses_total{namespace=app::plain}", 3),
            ("cacher_stores_total{namespace=app::plain}", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(got, want);
    }

    /// A caller that waited for another's computation is a hit of the flight, not of a memory
    /// tier the cache may not have (helper-114: a file-only cache's waiters were
    /// `tier=memory`).
    #[test]
    fn a_callers_wait_for_another_is_a_hit_of_the_flight() {
        use std::sync::{Arc, Barrier};
        let dir = tempfile::tempdir().unwrap();
        let totals = Totals::default();
        metrics::with_local_recorder(&totals, || {
            let cache: Cache<u32, u32> = Cache::builder()
                .namespace("app::waited")
                .backend(SeparateFileBackend::new(dir.path()))
                .build()
                .unwrap();
            let (running, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
            std::thread::scope(|scope| {
                let leader = scope.spawn(|| {
                    cache.get_or_compute(&1, || {
                        running.wait();
                        release.wait();
                        10
                    })
                });
                running.wait();
                // The leader ends once the waiter (this thread: the recorder is its own) blocks.
                scope.spawn(|| {
                    while cache.inner.flights.blocked() == 0 {
                        std::thread::yield_now();
                    }
                    release.wait();
                });
                assert_eq!(cache.get_or_compute(&1, || 11), 10);
                assert_eq!(leader.join().unwrap(), 10);
            });
        });
        let got = totals.0.lock().unwrap().clone();
        let hits: Vec<(&String, &u64)> = got
            .iter()
            .filter(|(k, _)| k.starts_with("cacher_hits_total"))
            .collect();
        assert_eq!(
            hits,
            [(
                &"cacher_hits_total{namespace=app::waited,tier=flight}".to_owned(),
                &1
            )]
        );
    }

    /// An async call's run is timed as a blocking call's: once per run of the function, ok or
    /// not; not for a hit, a bypass (as the blocking bypass) or a run dropped before its end.
    #[cfg(feature = "tokio")]
    #[test]
    fn an_async_calls_compute_time_is_exported_as_a_blocking_calls() {
        let totals = Totals::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        metrics::with_local_recorder(&totals, || {
            runtime.block_on(async {
                let cache: Cache<u32, u32> =
                    Cache::builder().namespace("app::async").build().unwrap();
                let run = || async {
                    tokio::task::yield_now().await;
                    2
                };
                assert_eq!(cache.get_or_compute_async(&1, run).await, 2);
                assert_eq!(cache.get_or_compute_async(&1, run).await, 2);
                let failing = || async { Err::<u32, ()>(()) };
                assert!(cache.try_get_or_compute_async(&2, failing).await.is_err());
                let bypassed = cache.bypass_async(cache.get_or_compute_async(&3, run));
                assert_eq!(bypassed.await, 2);
                let dropped = cache.get_or_compute_async(&4, std::future::pending);
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                assert!(std::pin::pin!(dropped).poll(&mut cx).is_pending());
            });
        });
        let got = totals.0.lock().unwrap().clone();
        let computed = got.get("cacher_compute_seconds{namespace=app::async}");
        assert_eq!(computed, Some(&2), "{got:?}");
    }

    /// An entry a bound drops after it expired (past its ttl and windows) is no eviction, in
    /// every bounded tier: `evictions` says that the bound cost entries still of use
    /// (helper-114: a cache whose entries only expired counted one per new key in memory and
    /// the file tier, and the tiers disagreed). Before the ttl, the same drops are evictions.
    #[test]
    fn an_expired_entry_a_bound_drops_is_no_eviction() {
        use crate::Clock;
        let dir = tempfile::tempdir().unwrap();
        let totals = Totals::default();
        let evictions = |name: &str, advance: u64| {
            let (clock, mock) = Clock::mock();
            let cache: Cache<u32, u32> = Cache::builder()
                .namespace(name)
                .ttl(std::time::Duration::from_secs(10))
                .clock(clock)
                .backend(MemoryBackend::new().max_entries(2))
                .backend(SeparateFileBackend::new(dir.path().join(name)).max_entries(2))
                .backend(StoreBackend::new(dir.path().join(name).join("store")).max_entries(2))
                .build()
                .unwrap();
            for n in 0..2 {
                cache.get_or_compute(&n, || n);
            }
            mock.advance(std::time::Duration::from_secs(advance));
            for n in 2..4 {
                cache.get_or_compute(&n, || n);
            }
            cache.stats().evictions
        };
        metrics::with_local_recorder(&totals, || {
            assert_eq!(evictions("app::expired", 20), 0);
            assert_eq!(evictions("app::live", 5), 2 * 3, "two per tier");
        });
        let got = totals.0.lock().unwrap().clone();
        let exported: Vec<&String> = got
            .keys()
            .filter(|k| k.starts_with("cacher_evictions_total{namespace=app::expired"))
            .collect();
        assert!(exported.is_empty(), "{exported:?}");
    }

    #[test]
    fn evictions_are_counted_and_exported_by_tier() {
        let dir = tempfile::tempdir().unwrap();
        let totals = Totals::default();
        let fill = |cache: Cache<u32, u32>| {
            for n in 0..3 {
                cache.get_or_compute(&n, || n);
            }
            cache.stats().evictions
        };
        metrics::with_local_recorder(&totals, || {
            let memory = Cache::builder()
                .namespace("app::memory")
                .backend(MemoryBackend::new().max_entries(2));
            assert_eq!(fill(memory.build().unwrap()), 1);
            let file = Cache::builder()
                .namespace("app::file")
                .backend(SeparateFileBackend::new(dir.path().join("files")).max_entries(2));
            assert_eq!(fill(file.build().unwrap()), 1);
            let store = Cache::builder()
                .namespace("app::store")
                .backend(StoreBackend::new(dir.path().join("store")).max_entries(2));
            assert_eq!(fill(store.build().unwrap()), 1);
            // Unbounded tiers evict nothing, and a reset forgets what was counted.
            let unbounded: Cache<u32, u32> = Cache::builder()
                .namespace("app::unbounded")
                .backend(MemoryBackend::new())
                .backend(StoreBackend::new(dir.path().join("store")))
                .build()
                .unwrap();
            assert_eq!(fill(unbounded.clone()), 0);
            let bounded: Cache<u32, u32> = Cache::builder()
                .namespace("app::one")
                .backend(MemoryBackend::new().max_entries(1))
                .build()
                .unwrap();
            assert_eq!(fill(bounded.clone()), 2);
            bounded.reset_stats();
            assert_eq!(bounded.stats().evictions, 0);
        });
        let got = totals.0.lock().unwrap().clone();
        let evictions: BTreeMap<&str, u64> = got
            .iter()
            .filter(|(k, _)| k.starts_with("cacher_evictions_total"))
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            evictions,
            BTreeMap::from([
                ("cacher_evictions_total{namespace=app::file,tier=file}", 1),
                (
                    "cacher_evictions_total{namespace=app::memory,tier=memory}",
                    1
                ),
                ("cacher_evictions_total{namespace=app::one,tier=memory}", 2),
                ("cacher_evictions_total{namespace=app::store,tier=store}", 1),
            ])
        );
    }
}
