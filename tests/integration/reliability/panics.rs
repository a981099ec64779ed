//! Panics: a panicking function stores nothing (in memory or on disk); callers waiting for it are
//! released at once — not when `wait_timeout` runs out — and one of them runs the function again;
//! nothing is poisoned, so later calls of the same key and of others work.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use cacher_tests::{Calls, files_below, init_tracing};

fn cache_on(dir: &std::path::Path) -> Cache<String, String> {
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        // Far beyond the test's own bounds: a waiter released by the timeout would fail them.
        .wait_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn a_panicking_function_stores_nothing_on_any_tier_and_poisons_nothing() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_on(dir.path());
    for _ in 0..3 {
        let result = catch_unwind(AssertUnwindSafe(|| {
            cache.get_or_compute("k", || panic!("the function panicked"))
        }));
        assert!(result.is_err());
    }
    assert_eq!(cache.get("k"), None);
    assert!(
        files_below(dir.path()).is_empty(),
        "{:?}",
        files_below(dir.path())
    );
    assert_eq!(cache_on(dir.path()).get("k"), None);
    // Not poisoned: the same key and another one work, from memory and from disk.
    assert_eq!(cache.get_or_compute("k", || "v".into()), "v");
    assert_eq!(cache.get_or_compute("other", || "w".into()), "w");
    assert_eq!(cache.get_or_compute("k", || unreachable!()), "v");
    assert_eq!(cache_on(dir.path()).get("k").as_deref(), Some("v"));
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn waiters_of_a_panicking_leader_are_released_and_one_reruns_the_function() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_on(dir.path());
    let waiters = 6;
    let barrier = Barrier::new(waiters + 1);
    let leading = AtomicBool::new(false);
    let reruns = Calls::default();
    std::thread::scope(|scope| {
        let leader = scope.spawn(|| {
            catch_unwind(AssertUnwindSafe(|| {
                cache.get_or_compute("k", || {
                    leading.store(true, Ordering::SeqCst);
                    barrier.wait();
                    // Give the waiters time to join this flight, then die.
                    std::thread::sleep(Duration::from_millis(300));
                    panic!("the leader panicked")
                })
            }))
        });
        let handles: Vec<_> = (0..waiters)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    assert!(leading.load(Ordering::SeqCst));
                    let start = Instant::now();
                    let value = cache.get_or_compute("k", || {
                        reruns.hit();
                        std::thread::sleep(Duration::from_millis(100));
                        "rerun".to_owned()
                    });
                    (value, start.elapsed())
                })
            })
            .collect();
        assert!(
            leader.join().unwrap().is_err(),
            "the leader's panic reaches its caller"
        );
        for handle in handles {
            let (value, waited) = handle.join().expect("a waiter panicked");
            assert_eq!(value, "rerun");
            assert!(
                waited < Duration::from_secs(5),
                "a waiter was released by the timeout, not by the panic: {waited:?}"
            );
        }
    });
    assert_eq!(
        reruns.count(),
        1,
        "exactly one waiter runs the function again"
    );
    assert_eq!(cache.get("k").as_deref(), Some("rerun"));
    assert_eq!(cache_on(dir.path()).get("k").as_deref(), Some("rerun"));
    // Nothing poisoned: the next panic and the next value behave the same.
    let again = catch_unwind(AssertUnwindSafe(|| {
        cache.get_or_compute("k2", || panic!("again"))
    }));
    assert!(again.is_err());
    assert_eq!(cache.get_or_compute("k2", || "fine".into()), "fine");
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn a_panicking_wrapped_function_poisons_nothing() {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let half = cache.wrap(|n: &u32| {
        calls.hit();
        assert!(n.is_multiple_of(2), "odd input");
        n / 2
    });
    assert!(catch_unwind(AssertUnwindSafe(|| half.call(&3))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| half.call(&3))).is_err());
    assert_eq!(half.call(&4), 2);
    assert_eq!(half.call(&4), 2);
    assert_eq!(calls.count(), 3, "a panic was cached, or a value was not");
}

/// The same with async callers: tasks waiting for a leader task that panics are woken by its
/// panic and one of them runs the function again.
#[cfg(feature = "tokio")]
#[test]
fn async_waiters_of_a_panicking_leader_are_released() {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_on(dir.path());
    let reruns = Calls::default();
    runtime.block_on(async {
        let leader = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_compute_async("k", || async {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        panic!("the leader panicked")
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let (cache, reruns) = (cache.clone(), reruns.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_compute_async("k", || async {
                            reruns.hit();
                            "rerun".to_owned()
                        })
                        .await
                })
            })
            .collect();
        assert!(leader.await.unwrap_err().is_panic());
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), "rerun");
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    });
    assert_eq!(reruns.count(), 1);
    assert_eq!(cache_on(dir.path()).get("k").as_deref(), Some("rerun"));
}

/// A run of the function counts as a miss however it ends: one that panics, or whose async
/// caller is dropped while it runs, ran the function all the same. Failed before (session 15's
/// note): misses were counted when the function returned, so such runs were missing from
/// `stats().misses` (and from the exported `cacher_misses_total`), and the hit ratio a user
/// computes from them read higher than the calls it served.
#[tokio::test]
async fn a_run_that_panics_or_is_dropped_counts_as_a_miss() {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        cache.get_or_compute(&1, || panic!("the function panicked"))
    }));
    assert!(panicked.is_err());
    assert_eq!(cache.stats().misses, 1, "the panicking run");
    let dropped = tokio::time::timeout(
        Duration::from_millis(20),
        cache.get_or_compute_async(&2, std::future::pending::<u32>),
    )
    .await;
    assert!(dropped.is_err(), "the run was dropped");
    assert_eq!(cache.stats().misses, 2, "the dropped run");
    assert_eq!(cache.get_or_compute(&3, || 3), 3);
    assert_eq!(cache.get(&3), Some(3));
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses),
        (1, 3),
        "returning runs as before"
    );
}
