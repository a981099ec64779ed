//! The key hashed once by a `lookup`'s call, a peek and `get_or_refresh`: the hash handed from
//! the memory lookup to the flight is the one every other path uses, with a memory tier or without one (file only), blocking and async. A wrong hash
//! would show as an invalidation the call does not see (a stale store), or as a plain and an
//! observed call of one key that do not share a flight. (A cache without a memory tier is also
//! kept right by its file's own generation and lock, so these catch a wrong hash in the caches
//! with one; the file-only case is run for its values and origins.)

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cacher::{Cache, MemoryBackend, Origin, SeparateFileBackend};

/// The caches under test: memory only, memory and file, file only.
fn caches(dir: &std::path::Path) -> Vec<(&'static str, Cache<u32, u64>)> {
    let file = |sub: &str| SeparateFileBackend::new(dir.join(sub));
    vec![
        ("memory", Cache::builder().build().unwrap()),
        (
            "memory+file",
            Cache::builder()
                .backend(MemoryBackend::new())
                .backend(file("both"))
                .build()
                .unwrap(),
        ),
        (
            "file",
            Cache::builder().backend(file("only")).build().unwrap(),
        ),
    ]
}

/// A call whose key is invalidated while its function runs stores nothing: the invalidation
/// moved the generation of the key's hash, and the call compares the generation of its own.
/// So it must be the same hash, for a plain call, an observed one, `get_or_refresh` (plain and
/// observed) and a refresh.
#[test]
fn an_invalidation_during_a_controlled_call_is_seen_by_its_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, cache) in caches(dir.path()) {
        let invalidating = |value: u64| {
            let cache = cache.clone();
            move || {
                cache.remove(&1).unwrap();
                value
            }
        };
        let plain = cache.get_or_compute(&1, invalidating(10));
        assert_eq!((plain, cache.get(&1)), (10, None), "{name}: plain");
        let seen = cache.lookup(|| cache.get_or_compute(&1, invalidating(11)));
        assert_eq!((seen.value, seen.origin), (11, Origin::Computed), "{name}");
        assert_eq!(
            cache.get(&1),
            None,
            "{name}: observed, stored over an invalidation"
        );
        let refreshed = cache.get_or_refresh(&1, invalidating(12));
        assert_eq!(
            (refreshed, cache.get(&1)),
            (12, None),
            "{name}: get_or_refresh"
        );
        let seen = cache.lookup(|| cache.get_or_refresh(&1, invalidating(13)));
        assert_eq!((seen.value, seen.origin), (13, Origin::Computed), "{name}");
        assert_eq!(cache.get(&1), None, "{name}: observed get_or_refresh");
        let forced = cache.refresh(|| cache.get_or_compute(&1, invalidating(14)));
        assert_eq!((forced, cache.get(&1)), (14, None), "{name}: refresh");
        // And without an invalidation each stores, and a lookup then finds it.
        assert_eq!(cache.lookup(|| cache.get_or_compute(&2, || 20)).value, 20);
        let again = cache.lookup(|| cache.get_or_compute(&2, || 21));
        assert_eq!((again.value, again.origin), (20, Origin::Hit), "{name}");
        assert_eq!(cache.peek(&2), Some(20), "{name}: peek");
        assert_eq!(cache.peek(&3), None, "{name}: peek of nothing");
        assert_eq!(
            cache.bypass(|| cache.get_or_compute(&2, || 22)),
            22,
            "{name}"
        );
        assert_eq!(
            cache.refresh(|| cache.get_or_compute(&2, || 23)),
            23,
            "{name}"
        );
        let after = cache.lookup(|| cache.get_or_refresh(&2, || 24));
        assert_eq!((after.value, after.origin), (23, Origin::Hit), "{name}");
    }
}

/// A plain call and an observed one of one key, at once, share one flight (the flights are
/// found by the hash each call hands on): the function runs once, the observed call is told a
/// hit (the value another caller computed while it waited).
#[test]
fn a_plain_and_an_observed_call_of_one_key_share_a_flight() {
    let dir = tempfile::tempdir().unwrap();
    for (name, cache) in caches(dir.path()) {
        for observe_first in [false, true] {
            let key = 40 + u32::from(observe_first);
            let runs = AtomicU32::new(0);
            let start = Barrier::new(2);
            let compute = || {
                runs.fetch_add(1, Ordering::SeqCst);
                // Long enough for the other caller to find this flight.
                std::thread::sleep(Duration::from_millis(300));
                7
            };
            let (a, b) = std::thread::scope(|scope| {
                let first = scope.spawn(|| {
                    start.wait();
                    match observe_first {
                        true => cache.lookup(|| cache.get_or_compute(&key, compute)).value,
                        false => cache.get_or_compute(&key, compute),
                    }
                });
                start.wait();
                std::thread::sleep(Duration::from_millis(100));
                let second = match observe_first {
                    true => (cache.get_or_compute(&key, compute), Origin::Hit),
                    false => {
                        let seen = cache.lookup(|| cache.get_or_compute(&key, compute));
                        (seen.value, seen.origin)
                    }
                };
                (first.join().unwrap(), second)
            });
            assert_eq!((a, b), (7, (7, Origin::Hit)), "{name} {observe_first}");
            assert_eq!(
                runs.load(Ordering::SeqCst),
                1,
                "{name} {observe_first}: one run"
            );
        }
    }
}

/// The async forms: an observed miss, a forced refresh and a bypass, with and without a memory
/// tier, and an invalidation during an observed async call seen by its store.
#[tokio::test(flavor = "current_thread")]
async fn the_async_controls_hash_as_the_blocking_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (name, cache) in caches(dir.path()) {
        let seen = cache
            .lookup_async(cache.get_or_compute_async(&1, || async { 1 }))
            .await;
        assert_eq!((seen.value, seen.origin), (1, Origin::Computed), "{name}");
        let seen = cache
            .lookup_async(cache.get_or_compute_async(&1, || async { 2 }))
            .await;
        assert_eq!((seen.value, seen.origin), (1, Origin::Hit), "{name}");
        let forced = cache
            .refresh_async(cache.get_or_compute_async(&1, || async { 3 }))
            .await;
        assert_eq!((forced, cache.get(&1)), (3, Some(3)), "{name}: refreshed");
        let bypassed = cache
            .bypass_async(cache.get_or_compute_async(&1, || async { 4 }))
            .await;
        assert_eq!((bypassed, cache.get(&1)), (4, Some(3)), "{name}: bypassed");
        let invalidating = Arc::new(cache.clone());
        let seen = cache
            .lookup_async(cache.get_or_compute_async(&5, || async move {
                invalidating.remove(&5).unwrap();
                50
            }))
            .await;
        assert_eq!((seen.value, seen.origin), (50, Origin::Computed), "{name}");
        assert_eq!(
            cache.get(&5),
            None,
            "{name}: async observed, stored over an invalidation"
        );
    }
}
