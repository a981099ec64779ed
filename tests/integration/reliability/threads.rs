//! The memory tier's per-thread indexes of hot entries: what holds when threads exit and their
//! indexes pass to new threads, when tasks move between a runtime's threads, and when a cache is
//! used from a thread-local's destructor as its thread exits.

use std::sync::{Arc, OnceLock};

use cacher::{Cache, MemoryBackend};

/// Enough hits for a key to join the calling thread's index.
fn hit_often(cache: &Cache<u64, u64>, key: u64) -> Option<u64> {
    let mut found = None;
    for _ in 0..16 {
        found = cache.get(&key);
    }
    found
}

#[test]
fn a_thread_that_inherits_an_exited_threads_index_serves_nothing_stale() {
    let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
    cache.insert(&1, 10).unwrap();
    cache.insert(&2, 20).unwrap();
    for round in 0..20u64 {
        // Each thread indexes both keys, then exits; the next may be handed its index.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                assert_eq!(hit_often(&cache, 1), Some(10 + round));
                assert_eq!(hit_often(&cache, 2), (round == 0).then_some(20));
            });
        });
        cache.insert(&1, 11 + round).unwrap();
        cache.remove(&2).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn tasks_moving_between_threads_never_read_an_older_value_than_they_did() {
    let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
    cache.insert(&1, 0).unwrap();
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                let mut seen = 0;
                for _ in 0..2_000 {
                    let value = cache.get_or_compute_async(&1, || async { 0 }).await;
                    assert!(value >= seen, "{value} after {seen}");
                    seen = value;
                    tokio::task::yield_now().await; // and maybe on to another thread
                }
            })
        })
        .collect();
    let writer = {
        let cache = cache.clone();
        tokio::spawn(async move {
            for version in 1..=2_000 {
                cache.insert(&1, version).unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    writer.await.unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(cache.get(&1), Some(2_000));
}

static ON_EXIT_CACHE: OnceLock<Cache<u64, u64>> = OnceLock::new();

/// Uses [`ON_EXIT_CACHE`] when its thread's thread-locals are torn down.
struct UseOnExit;

impl Drop for UseOnExit {
    fn drop(&mut self) {
        let cache = ON_EXIT_CACHE.get().unwrap();
        assert_eq!(hit_often(cache, 1), Some(1));
        assert_eq!(cache.get_or_compute(&2, || 2), 2);
    }
}

thread_local! {
    static ON_EXIT: UseOnExit = const { UseOnExit };
}

#[test]
fn a_cache_used_from_a_thread_local_destructor_still_serves_it() {
    let cache = ON_EXIT_CACHE.get_or_init(|| Cache::builder().build().unwrap());
    cache.insert(&1, 1).unwrap();
    std::thread::spawn(|| {
        ON_EXIT.with(|_| ()); // dropped after every thread-local the cache made afterwards
        assert_eq!(hit_often(cache, 1), Some(1));
    })
    .join()
    .unwrap();
    assert_eq!(cache.get(&2), Some(2));
}

#[test]
fn max_entries_bounds_the_values_kept_alive_indexes_included() {
    // Each key is hit often enough to join this thread's index, then evicted by the next ones:
    // an index that kept every evicted entry it had hit would keep thousands of values alive in
    // a tier bounded to 4.
    let cache: Cache<u64, Arc<()>> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(4))
        .build()
        .unwrap();
    let probe = Arc::new(());
    for key in 0..1_000 {
        cache.insert(&key, Arc::clone(&probe)).unwrap();
        for _ in 0..16 {
            assert!(cache.get(&key).is_some());
        }
    }
    let alive = Arc::strong_count(&probe) - 1;
    assert!(
        alive <= 8,
        "{alive} values alive: the tier's 4 and at most 4 in the index"
    );
}
