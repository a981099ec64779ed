//! What users rely on from any cache: errors and panics are not cached, tiers fill each other,
//! the plain-store API, stats.

use std::time::Duration;

use cacher::{Cache, Error, MemoryBackend, SeparateFileBackend};
use cacher_tests::{Calls, files_below};

fn memory_cache() -> Cache<String, u64> {
    Cache::builder().build().unwrap()
}

#[test]
fn err_is_returned_and_never_stored() {
    let cache = memory_cache();
    let calls = Calls::default();
    let failing = || {
        calls.hit();
        Err::<u64, &str>("overloaded")
    };
    assert_eq!(cache.try_get_or_compute("k", failing), Err("overloaded"));
    assert_eq!(cache.try_get_or_compute("k", failing), Err("overloaded"));
    assert_eq!(calls.count(), 2, "an Err must not be served from the cache");
    assert_eq!(cache.get("k"), None);
    let ok = cache.try_get_or_compute("k", || Ok::<_, &str>(7));
    assert_eq!(ok, Ok(7));
    assert_eq!(cache.try_get_or_compute("k", failing), Ok(7));
    assert_eq!(calls.count(), 2);
}

#[test]
fn err_is_not_written_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    let _ = cache.try_get_or_compute("k", || Err::<u64, ()>(()));
    assert!(files_below(dir.path()).is_empty());
}

#[test]
fn get_insert_and_remove_work_as_a_plain_store() {
    let cache = memory_cache();
    assert_eq!(cache.get("a"), None);
    cache.insert("a", 1).unwrap();
    assert_eq!(cache.get("a"), Some(1));
    cache.remove("a").unwrap();
    assert_eq!(cache.get("a"), None);
}

#[test]
fn stats_count_hits_misses_stores() {
    let cache = memory_cache();
    cache.get_or_compute("a", || 1);
    cache.get_or_compute("a", || 1);
    cache.get_or_compute("a", || 1);
    cache.get_or_compute("b", || 2);
    let _ = cache.try_get_or_compute("c", || Err::<u64, ()>(()));
    let stats = cache.stats();
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.misses, 3);
    assert_eq!(stats.stores, 2);
    assert_eq!(stats.errors, 0);
    cache.reset_stats();
    assert_eq!(cache.stats(), Default::default());
}

#[test]
fn a_hit_in_the_file_tier_fills_the_memory_tier() {
    let dir = tempfile::tempdir().unwrap();
    let build = || -> Cache<String, u64> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    build().get_or_compute("k", || 42);
    // A new process (a new cache on the same directory) has an empty memory tier.
    let cache = build();
    assert_eq!(cache.get_or_compute("k", || unreachable!()), 42);
    // Now the memory tier holds it: deleting the file does not matter.
    std::fs::remove_file(cache.path_of("k").unwrap()).unwrap();
    assert_eq!(cache.get_or_compute("k", || unreachable!()), 42);
    assert_eq!(cache.stats().hits, 2);
}

#[test]
fn a_hit_in_a_later_file_tier_fills_the_earlier_one() {
    let near = tempfile::tempdir().unwrap();
    let far = tempfile::tempdir().unwrap();
    let far_only: Cache<String, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(far.path()))
        .build()
        .unwrap();
    far_only.insert("k", 9).unwrap();
    let tiers: Cache<String, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(near.path()))
        .backend(SeparateFileBackend::new(far.path()))
        .build()
        .unwrap();
    assert_eq!(tiers.get("k"), Some(9));
    assert_eq!(
        files_below(near.path()).len(),
        1,
        "the near tier was filled"
    );
}

#[test]
fn wrap_caches_a_function() {
    let calls = Calls::default();
    let cache: Cache<(String, u32, String), Vec<String>> = Cache::builder()
        .arg_names(&["endpoint", "user_id", "sort"])
        .build()
        .unwrap();
    let fetch = cache.wrap(|(endpoint, user_id, sort): &(String, u32, String)| {
        calls.hit();
        vec![format!("{endpoint}?user={user_id}&sort={sort}")]
    });
    let args = ("/posts".to_string(), 1, "asc".to_string());
    let first = fetch.call(&args);
    let second = fetch.call(&args);
    assert_eq!(first, second);
    assert_eq!(calls.count(), 1);
    fetch.call(&("/posts".to_string(), 2, "asc".to_string()));
    assert_eq!(calls.count(), 2);
}

#[test]
fn try_wrap_does_not_cache_errors() {
    let calls = Calls::default();
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let half = cache.try_wrap(|n: &u32| {
        calls.hit();
        if n.is_multiple_of(2) {
            Ok(n / 2)
        } else {
            Err("odd")
        }
    });
    assert_eq!(half.call(&3), Err("odd"));
    assert_eq!(half.call(&3), Err("odd"));
    assert_eq!(half.call(&4), Ok(2));
    assert_eq!(half.call(&4), Ok(2));
    assert_eq!(calls.count(), 3);
    assert_eq!(half.cache().stats().hits, 1);
}

#[test]
fn clear_empties_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert("a", 1).unwrap();
    cache.insert("b", 2).unwrap();
    cache.clear().unwrap();
    assert_eq!(cache.get("a"), None);
    assert!(files_below(dir.path()).is_empty());
}

#[test]
fn max_entries_evicts_the_least_recently_used() {
    let cache: Cache<u32, u32> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(2))
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    cache.insert(&2, 2).unwrap();
    assert_eq!(cache.get(&1), Some(1)); // 1 is now more recent than 2
    cache.insert(&3, 3).unwrap();
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&3), Some(3));
}

#[test]
fn invalid_configurations_are_refused_by_build_never_by_a_panic() {
    let refused = |what: &str, built: cacher::Result<Cache<u32, u32>>| {
        assert!(
            matches!(built, Err(Error::Config(_))),
            "{what}: {:?}",
            built.map(|_| ())
        );
    };
    let dir = tempfile::tempdir().unwrap();
    refused(
        "stale_if_error without a ttl",
        Cache::builder()
            .stale_if_error(Duration::from_secs(1))
            .build(),
    );
    refused("a zero ttl", Cache::builder().ttl(Duration::ZERO).build());
    refused(
        "a memory backend of 0 entries",
        Cache::builder()
            .backend(MemoryBackend::new().max_entries(0))
            .build(),
    );
    refused(
        "a file backend of 0 entries",
        Cache::builder()
            .backend(SeparateFileBackend::new(dir.path()).max_entries(0))
            .build(),
    );
    refused(
        "two memory backends",
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(MemoryBackend::new())
            .build(),
    );
    refused(
        "a memory backend behind a file backend",
        Cache::builder()
            .backend(SeparateFileBackend::new(dir.path()))
            .backend(MemoryBackend::new())
            .build(),
    );
}

/// `stats().stores` counts values some tier took: a write every tier refused is an error, not a
/// store.
#[test]
fn a_value_every_tier_refused_is_not_counted_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    // A cache directory below a regular file: every write fails.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let unwritable = || SeparateFileBackend::new(blocker.join("cache"));
    let file_only: Cache<u32, u32> = Cache::builder().backend(unwritable()).build().unwrap();
    assert_eq!(file_only.get_or_compute(&1, || 10), 10);
    assert_eq!(file_only.stats().stores, 0);
    assert!(
        file_only.stats().errors >= 1,
        "the refused write is an error"
    );
    let with_memory: Cache<u32, u32> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(unwritable())
        .build()
        .unwrap();
    assert_eq!(with_memory.get_or_compute(&1, || 10), 10);
    assert_eq!(with_memory.stats().stores, 1, "the memory tier took it");
}

#[test]
fn max_entries_keeps_exactly_that_many_in_memory() {
    let cache: Cache<u32, u32> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(1000))
        .build()
        .unwrap();
    for k in 0..1000 {
        cache.insert(&k, k).unwrap();
    }
    assert_eq!((0..1000).filter(|k| cache.get(k).is_some()).count(), 1000);
    for k in 1000..1500 {
        cache.insert(&k, k).unwrap();
    }
    assert_eq!((0..1500).filter(|k| cache.get(k).is_some()).count(), 1000);
}
