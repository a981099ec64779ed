//! The embedded store backend: one database shared by caches, threads and processes; the
//! bounds, ttl, remove and clear; the entry checks every tier does; async calls off the
//! executor. (Many processes and `kill -9`: `reliability::flight`, `reliability::store`.)

use std::time::Duration;

use cacher::format::JsonFormatter;
use cacher::{Cache, Clock, Error, MemoryBackend, SeparateFileBackend, StoreBackend};
use cacher_tests::{Calls, files_below};

fn store_cache(namespace: &str, store: StoreBackend) -> Cache<u64, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(store)
        .build()
        .unwrap()
}

fn present(cache: &Cache<u64, String>, keys: std::ops::Range<u64>) -> usize {
    keys.filter(|k| cache.get(k).is_some()).count()
}

#[test]
fn entries_survive_the_cache_and_are_shared_by_caches_of_one_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let first = store_cache("app::f", StoreBackend::new(dir.path()));
    assert_eq!(
        first.get_or_compute(&1, || {
            calls.hit();
            "one".into()
        }),
        "one"
    );
    drop(first);
    // Opened again in the same process: one handle, never "already open".
    let a = store_cache("app::f", StoreBackend::new(dir.path()));
    let b = store_cache("app::f", StoreBackend::new(dir.path()));
    assert_eq!(a.get_or_compute(&1, || unreachable!()), "one");
    assert_eq!(b.get(&1).as_deref(), Some("one"));
    assert_eq!(calls.count(), 1);
}

#[test]
fn max_entries_keeps_exactly_that_many_of_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(100));
    for k in 0..1000 {
        cache.insert(&k, format!("v{k}")).unwrap();
    }
    assert_eq!(present(&cache, 0..1000), 100);
    assert_eq!(
        present(&cache, 900..1000),
        100,
        "the oldest written go first"
    );
}

/// The bounds evict the least recently used first, as far as this process saw: a read counts
/// as a use, after the writes it sees and before the later ones.
#[test]
fn the_bounds_evict_the_entry_used_least_recently() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(3));
    for k in 0..3 {
        cache.insert(&k, format!("v{k}")).unwrap();
    }
    assert_eq!(
        cache.get(&0).as_deref(),
        Some("v0"),
        "the oldest written, read"
    );
    cache.insert(&3, "v3".into()).unwrap();
    assert_eq!(cache.get(&1), None, "written before 0 was read, and unread");
    // 2 was written before 0's read: it goes next, not 0.
    cache.insert(&4, "v4".into()).unwrap();
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&0).as_deref(), Some("v0"));
    assert_eq!(present(&cache, 3..5), 2);
}

/// Entries used alike (all read in one snapshot) go oldest written first; never the one just
/// written.
#[test]
fn a_write_over_the_bound_evicts_the_oldest_when_all_were_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(3));
    for k in 0..3 {
        cache.insert(&k, format!("v{k}")).unwrap();
    }
    assert_eq!(present(&cache, 0..3), 3);
    cache.insert(&3, "v3".into()).unwrap();
    assert_eq!(cache.get(&3).as_deref(), Some("v3"));
    assert_eq!(cache.get(&0), None);
    assert_eq!(present(&cache, 0..4), 3);
}

/// A write over an existing entry replaces it in place: the bounds count it once, at its new
/// size, and it becomes the newest written.
#[test]
fn rewrites_of_a_key_count_once_at_their_new_size() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(3));
    for round in 0..50 {
        for k in 0..3 {
            cache
                .insert(&k, "x".repeat(round * 7 + k as usize))
                .unwrap();
        }
    }
    assert_eq!(present(&cache, 0..3), 3, "rewrites never count twice");
    assert_eq!(cache.get(&2).unwrap().len(), 49 * 7 + 2);
    cache.insert(&0, "newest".into()).unwrap();
    cache.insert(&3, "fourth".into()).unwrap();
    // Key 1 was written longest ago (key 0 was just rewritten).
    assert_eq!(cache.get(&1), None);
    assert_eq!(present(&cache, 0..4), 3);
    assert_eq!(cache.get(&0).as_deref(), Some("newest"));

    // Bytes: a key rewritten ever larger, then small, under a bound it would pass if its old
    // sizes were still counted.
    let sized = store_cache("app::g", StoreBackend::new(dir.path()).max_size(16 * 1024));
    sized.insert(&100, "kept".into()).unwrap();
    for len in (1..=12).map(|i| i * 1024) {
        sized.insert(&7, "y".repeat(len)).unwrap();
    }
    sized.insert(&7, "small".into()).unwrap();
    assert_eq!(sized.get(&100).as_deref(), Some("kept"));
    assert_eq!(sized.get(&7).as_deref(), Some("small"));
}

#[test]
fn max_size_bounds_the_bytes_of_a_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::new(dir.path()).max_size(64 * 1024);
    let cache = store_cache("app::f", store);
    for k in 0..100 {
        cache.insert(&k, "x".repeat(4000)).unwrap();
    }
    let kept = present(&cache, 0..100);
    assert!(
        (10..=16).contains(&kept),
        "{kept} entries of 4 KB in 64 KiB"
    );
    assert_eq!(
        present(&cache, 100 - kept as u64..100),
        kept,
        "the newest are kept"
    );
}

#[test]
fn bounds_of_one_namespace_never_evict_another() {
    let dir = tempfile::tempdir().unwrap();
    let small = store_cache("app::small", StoreBackend::new(dir.path()).max_entries(2));
    let other = store_cache("app::other", StoreBackend::new(dir.path()));
    other.insert(&1, "kept".into()).unwrap();
    for k in 0..10 {
        small.insert(&k, "v".into()).unwrap();
    }
    assert_eq!(present(&small, 0..10), 2);
    assert_eq!(other.get(&1).as_deref(), Some("kept"));
}

#[test]
fn remove_and_clear_touch_only_their_own_entries() {
    let dir = tempfile::tempdir().unwrap();
    let a = store_cache("app::a", StoreBackend::new(dir.path()));
    let ab = store_cache("app::ab", StoreBackend::new(dir.path()));
    for k in 0..5 {
        a.insert(&k, "a".into()).unwrap();
        ab.insert(&k, "ab".into()).unwrap();
    }
    a.remove(&0).unwrap();
    assert_eq!(a.get(&0), None);
    assert_eq!(ab.get(&0).as_deref(), Some("ab"));
    a.clear().unwrap();
    assert_eq!(present(&a, 0..5), 0);
    assert_eq!(present(&ab, 0..5), 5);
    // Counts start again from zero after a clear.
    let bounded = store_cache("app::a", StoreBackend::new(dir.path()).max_entries(3));
    for k in 0..3 {
        bounded.insert(&k, "again".into()).unwrap();
    }
    assert_eq!(present(&bounded, 0..3), 3);
}

#[test]
fn an_entry_of_another_version_or_type_is_a_miss_and_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let v1: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .version("1")
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    v1.insert(&1, "v1".into()).unwrap();
    let v2: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .version("2")
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    assert_eq!(v2.get(&1), None);
    assert_eq!(v2.get_or_compute(&1, || "v2".into()), "v2");
    assert_eq!(v1.get(&1).as_deref(), Some("v1"), "versions apart");
    // Same namespace and version, another value type: refused by the entry check.
    let numbers: Cache<u64, u64> = Cache::builder()
        .namespace("app::f")
        .version("1")
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    assert_eq!(numbers.get(&1), None);
    assert_eq!(numbers.get_or_compute(&1, || 7), 7);
    assert_eq!(numbers.get(&1), Some(7));
}

#[test]
fn entries_past_the_ttl_are_misses_and_are_dropped_by_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(StoreBackend::new(dir.path()).max_entries(1000))
        .ttl(Duration::from_secs(60))
        .clock(clock)
        .build()
        .unwrap();
    for k in 0..4 {
        cache.insert(&k, "old".into()).unwrap();
    }
    mock.advance(Duration::from_secs(61));
    assert_eq!(cache.get(&0), None, "expired");
    cache.insert(&100, "new".into()).unwrap();
    // The write dropped the expired entries: a cache without a ttl no longer finds them.
    let no_ttl = store_cache("app::f", StoreBackend::new(dir.path()));
    assert_eq!(present(&no_ttl, 0..4), 0);
    assert_eq!(no_ttl.get(&100).as_deref(), Some("new"));
}

#[test]
fn zero_bounds_are_refused_at_build() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        StoreBackend::new(dir.path()).max_entries(0),
        StoreBackend::new(dir.path()).max_size(0),
    ] {
        let built: Result<Cache<u64, String>, _> = Cache::builder().backend(store).build();
        assert!(matches!(built, Err(Error::Config(_))), "{built:?}");
    }
}

#[test]
fn a_store_behind_memory_fills_it_and_many_threads_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(MemoryBackend::new().max_entries(10))
        .backend(StoreBackend::new(dir.path()).durable(true))
        .build()
        .unwrap();
    let calls = Calls::default();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for k in 0..50 {
                    let value = cache.get_or_compute(&k, || {
                        calls.hit();
                        format!("v{k}")
                    });
                    assert_eq!(value, format!("v{k}"));
                }
            });
        }
    });
    assert_eq!(calls.count(), 50, "each key computed once");
    let reopened = store_cache("app::f", StoreBackend::new(dir.path()));
    assert_eq!(present(&reopened, 0..50), 50);
    // Only the database, its lock file and the lock folder: nothing a sweep takes for an entry.
    let names: Vec<_> = files_below(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn async_calls_on_a_current_thread_runtime_read_and_write_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let value = cache
            .get_or_compute_async(&1, || async { "one".to_owned() })
            .await;
        assert_eq!(value, "one");
        let again = cache
            .get_or_compute_async(&1, || async { unreachable!("stored") })
            .await;
        assert_eq!(again, "one");
    });
    assert_eq!(cache.stats().errors, 0);
}

/// JSON, noting the thread of every decode.
#[derive(Debug, Clone, Copy)]
struct Spy;

static DECODED_ON: std::sync::Mutex<Vec<std::thread::ThreadId>> = std::sync::Mutex::new(Vec::new());

impl cacher::format::Formatter for Spy {
    fn name(&self) -> &'static str {
        "spy"
    }
    fn extension(&self) -> &'static str {
        "json"
    }
    fn encode<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<Vec<u8>, cacher::format::FormatError> {
        JsonFormatter.encode(value)
    }
    fn decode<'de, T: serde::Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<T, cacher::format::FormatError> {
        DECODED_ON.lock().unwrap().push(std::thread::current().id());
        JsonFormatter.decode(bytes)
    }
    fn decode_prefix<'de, T: serde::Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<T, cacher::format::FormatError> {
        JsonFormatter.decode_prefix(bytes)
    }
}

#[test]
fn async_reads_of_the_file_and_store_tiers_run_on_blocking_threads() {
    let dir = tempfile::tempdir().unwrap();
    let tiers: [Cache<u64, String>; 2] = [
        Cache::builder()
            .namespace("app::f")
            .backend(StoreBackend::new(dir.path().join("store")).formatter(Spy))
            .build()
            .unwrap(),
        Cache::builder()
            .namespace("app::f")
            .backend(SeparateFileBackend::new(dir.path().join("files")).formatter(Spy))
            .build()
            .unwrap(),
    ];
    // A current-thread runtime: its only executor thread is this one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for cache in &tiers {
        cache.insert(&1, "one".into()).unwrap();
        DECODED_ON.lock().unwrap().clear();
        let value = runtime.block_on(cache.get_or_compute_async(&1, || async { unreachable!() }));
        assert_eq!(value, "one");
        let threads = DECODED_ON.lock().unwrap().clone();
        assert!(!threads.is_empty());
        let here = std::thread::current().id();
        assert!(
            threads.iter().all(|t| *t != here),
            "read on the executor's thread"
        );
    }
}

#[test]
fn long_keys_and_namespaces_fit_and_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let long_namespace = format!("app::{}", "n".repeat(600));
    let cache: Cache<String, String> = Cache::builder()
        .namespace(long_namespace.as_str())
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    let (a, b) = ("k".repeat(2000), format!("{}x", "k".repeat(1999)));
    cache.insert(&a, "a".into()).unwrap();
    cache.insert(&b, "b".into()).unwrap();
    assert_eq!(cache.get(&a).as_deref(), Some("a"));
    assert_eq!(cache.get(&b).as_deref(), Some("b"));
    assert_eq!(cache.stats().errors, 0);
    cache.clear().unwrap();
    assert_eq!(cache.get(&a), None);
}

#[test]
fn an_entry_larger_than_max_size_is_still_kept_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache("app::f", StoreBackend::new(dir.path()).max_size(1000));
    cache.insert(&1, "x".repeat(5000)).unwrap();
    assert_eq!(cache.get(&1).map(|v| v.len()), Some(5000));
    cache.insert(&2, "y".repeat(5000)).unwrap();
    assert_eq!(cache.get(&1), None, "the older one went");
    assert!(cache.get(&2).is_some());
}
