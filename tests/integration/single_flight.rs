//! Concurrent callers of one missing key run the function once, in threads and in tasks, whatever
//! the tiers; a failure releases the waiters, and no wait is unbounded. (A leader that panics:
//! `reliability::panics`.)

use std::sync::Barrier;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use cacher_tests::{Calls, gate, init_tracing};

/// Long enough for every thread to reach the cache while the leader computes.
const COMPUTE: Duration = Duration::from_millis(200);

#[test]
fn eight_threads_missing_one_key_run_the_function_once_whatever_the_tiers() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let tiers: [(&str, Cache<String, String>); 3] = [
        ("memory", Cache::builder().build().unwrap()),
        (
            "memory and file",
            Cache::builder()
                .backend(MemoryBackend::new())
                .backend(SeparateFileBackend::new(dir.path().join("memory_and_file")))
                .build()
                .unwrap(),
        ),
        (
            "file only",
            Cache::builder()
                .backend(SeparateFileBackend::new(dir.path().join("file_only")))
                .build()
                .unwrap(),
        ),
    ];
    for (tiers, cache) in tiers {
        let calls = Calls::default();
        let barrier = Barrier::new(8);
        let values: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        cache.get_or_compute("the key", || {
                            calls.hit();
                            std::thread::sleep(COMPUTE);
                            "the value".to_owned()
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            values.iter().all(|v| v == "the value"),
            "{tiers}: {values:?}"
        );
        assert_eq!(calls.count(), 1, "{tiers}: the function ran more than once");
        let stats = cache.stats();
        assert_eq!(
            (stats.misses, stats.hits, stats.errors),
            (1, 7, 0),
            "{tiers}: {stats:?}"
        );
    }
}

#[test]
fn different_keys_do_not_wait_for_each_other() {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        // The leader of key 1 blocks until key 2 has been computed.
        let cache = &cache;
        s.spawn(move || cache.get_or_compute(&1, || rx.recv().map(|()| 1).unwrap()));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(cache.get_or_compute(&2, || 2), 2);
        tx.send(()).unwrap();
    });
    assert_eq!(cache.get(&1), Some(1));
}

#[test]
fn when_the_leader_fails_a_waiter_runs_the_function_again() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let barrier = Barrier::new(4);
    let results: Vec<Result<u64, &str>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    cache.try_get_or_compute("k", || {
                        calls.hit();
                        std::thread::sleep(COMPUTE);
                        // The first attempt fails, the second succeeds.
                        if calls.count() == 1 {
                            Err("flaky")
                        } else {
                            Ok(5)
                        }
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_err()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| **r == Ok(5)).count(),
        3,
        "{results:?}"
    );
    assert_eq!(calls.count(), 2);
}

/// A leader stuck in its computation holds its waiters no longer than `wait_timeout`: each then
/// computes for itself, and the leader still gets its own value when it finishes.
#[test]
fn a_hung_leader_blocks_waiters_only_until_the_wait_timeout() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    // Long enough that the new leader's "at once" below (under half of it) holds on a loaded
    // machine: a new leader that waited for the stuck flight would take the whole bound.
    let bound = Duration::from_secs(2);
    let cache: Cache<String, String> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .wait_timeout(bound)
        .build()
        .unwrap();
    let (gate, held) = gate();
    std::thread::scope(|scope| {
        let cache_ref = &cache;
        // Hangs until the test is done with the waiters (at most 20 s).
        let leader = scope.spawn(move || {
            cache_ref.get_or_compute("k", || held.hold("from the leader".to_owned()))
        });
        gate.started();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let start = Instant::now();
                    let value = cache.get_or_compute("k", || "from a waiter".to_owned());
                    (value, start.elapsed())
                })
            })
            .collect();
        for waiter in waiters {
            let (value, waited) = waiter.join().unwrap();
            assert_eq!(value, "from a waiter");
            assert!(
                waited >= bound,
                "did not wait for the leader at all: {waited:?}"
            );
            assert!(
                waited < bound + Duration::from_secs(3),
                "a waiter was blocked {waited:?}, far beyond wait_timeout {bound:?}"
            );
        }
        // The waiters gave up on the flight, so it is past its deadline: a later miss of the
        // key leads a new one at once instead of waiting for the stuck leader again.
        cache.remove("k").unwrap();
        let start = Instant::now();
        assert_eq!(
            cache.get_or_compute("k", || "from a new leader".to_owned()),
            "from a new leader"
        );
        let waited = start.elapsed();
        assert!(
            waited < bound / 2,
            "waited {waited:?} for an abandoned flight"
        );
        gate.release();
        assert_eq!(leader.join().unwrap(), "from the leader");
    });
    assert_eq!(cache.stats().errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_missing_one_key_run_the_function_once() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute_async("k", || async {
                        calls.hit();
                        tokio::time::sleep(COMPUTE).await;
                        3
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 3);
    }
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn tasks_on_one_thread_share_a_flight_without_blocking_it() {
    // A current-thread runtime: if a waiter blocked the thread, the leader could never finish.
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let call = || {
        cache.try_get_or_compute_async("k", || async {
            calls.hit();
            tokio::time::sleep(COMPUTE).await;
            Ok::<_, ()>(4)
        })
    };
    let (a, b, c) = tokio::join!(call(), call(), call());
    assert_eq!((a, b, c), (Ok(4), Ok(4), Ok(4)));
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn a_cancelled_leader_releases_its_waiters() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let leader = cache.get_or_compute_async("k", std::future::pending);
    // Poll the leader once so it takes the flight, then drop it.
    let timed_out = tokio::time::timeout(Duration::from_millis(20), leader).await;
    assert!(timed_out.is_err());
    let value = tokio::time::timeout(
        Duration::from_secs(5),
        cache.get_or_compute_async("k", || async { 8 }),
    )
    .await
    .expect("the dropped leader must not leave the key blocked");
    assert_eq!(value, 8);
}

#[tokio::test]
async fn async_errors_are_not_cached() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    for _ in 0..2 {
        let r = cache
            .try_get_or_compute_async("k", || async {
                calls.hit();
                Err::<u64, _>("nope")
            })
            .await;
        assert_eq!(r, Err("nope"));
    }
    assert_eq!(calls.count(), 2);
}

/// Runs `get_or_compute("k")` with a function that waits for `go`, calls `during` while it
/// computes, then lets it finish: the caller still gets the computed value.
fn invalidate_during_computation(cache: &Cache<String, u64>, during: impl FnOnce()) {
    let (gate, held) = gate();
    std::thread::scope(|s| {
        let leader = s.spawn(move || cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        during();
        gate.release();
        assert_eq!(
            leader.join().unwrap(),
            1,
            "the caller gets its computed value"
        );
    });
}

#[test]
fn an_invalidation_during_a_computation_is_not_undone_by_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let build = || -> Cache<String, u64> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    for (what, expected) in [("remove", None), ("clear", None), ("insert", Some(2))] {
        let cache = build();
        cache.clear().unwrap();
        invalidate_during_computation(&cache, || match what {
            "remove" => cache.remove("k").unwrap(),
            "clear" => cache.clear().unwrap(),
            _ => cache.insert("k", 2).unwrap(),
        });
        assert_eq!(cache.get("k"), expected, "{what}: memory and file tiers");
        assert_eq!(build().get("k"), expected, "{what}: the file tier alone");
    }
}

#[test]
fn a_waiter_runs_its_own_function_when_the_leader_falls_back_to_a_stale_entry() {
    // Without an error backoff (with one, the waiter serves the stale entry too: see
    // `freshness::outage`).
    let cache = cacher_tests::cache_with_a_stale_entry_and_backoff(Duration::ZERO);
    let (gate, held) = gate();
    std::thread::scope(|s| {
        let leader =
            s.spawn(|| cache.try_get_or_compute("k", move || held.hold(Err("the API is down"))));
        gate.started();
        let waiter = s.spawn(|| cache.try_get_or_compute("k", || Ok::<u64, &str>(2)));
        // Let the waiter reach the flight (were it late, it would lead and pass all the same).
        std::thread::sleep(Duration::from_millis(100));
        gate.release();
        assert_eq!(
            leader.join().unwrap(),
            Ok(1),
            "the leader serves the stale entry"
        );
        assert_eq!(
            waiter.join().unwrap(),
            Ok(2),
            "the waiter runs its own function"
        );
    });
}

/// A function that asks the cache for its own key (a recursion, or a helper that reads through
/// the cache) is not made to wait for itself until `wait_timeout`: it computes at once.
#[test]
fn a_function_asking_for_its_own_key_does_not_wait_for_itself() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let start = Instant::now();
    let value = cache.get_or_compute("k", || {
        calls.hit();
        cache.get_or_compute("k", || {
            calls.hit();
            1
        }) + 1
    });
    assert_eq!(value, 2);
    assert_eq!(calls.count(), 2);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "waited {took:?} for itself");
}

/// The same in async code (attack, session 16): an async function asking for its own key,
/// directly or through a function of another key it awaits. Its call's wait is polled from the
/// leader's own function, which cannot end before the wait does: computed at once. Before, the
/// same-thread check did not apply to async code, and the inner call waited the whole
/// `wait_timeout` (60 s by default) for its own caller.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn an_async_function_asking_for_its_own_key_does_not_wait_for_itself() {
    let cache: Cache<u32, u64> = Cache::builder()
        .wait_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let value = cache
        .get_or_compute_async(&1, || async {
            cache.get_or_compute_async(&1, || async { 1 }).await + 1
        })
        .await;
    assert_eq!(value, 2);
    let through_another = cache
        .get_or_compute_async(&2, || async {
            let other = cache
                .get_or_compute_async(&3, || async {
                    cache.get_or_compute_async(&2, || async { 20 }).await + 10
                })
                .await;
            other + 1
        })
        .await;
    assert_eq!(through_another, 31);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "waited {took:?} for itself");
}

/// Another task's call of the key still waits for its leader, which runs beside it.
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_call_of_a_key_another_task_computes_still_waits_for_it() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    let calls = Calls::default();
    let (started, ready) = tokio::sync::oneshot::channel();
    let leader = {
        let (cache, calls) = (cache.clone(), calls.clone());
        tokio::spawn(async move {
            cache
                .get_or_compute_async(&1, || async move {
                    calls.hit();
                    started.send(()).unwrap();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    1
                })
                .await
        })
    };
    ready.await.unwrap();
    let calls2 = calls.clone();
    let waited = cache
        .get_or_compute_async(&1, || async move {
            calls2.hit();
            2
        })
        .await;
    assert_eq!((waited, leader.await.unwrap()), (1, 1));
    assert_eq!(calls.count(), 1);
}

/// A key that counts its hashes on this thread.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
struct Counted(u32);

thread_local! {
    static HASHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl std::hash::Hash for Counted {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        HASHES.with(|hashes| hashes.set(hashes.get() + 1));
        self.0.hash(state);
    }
}

/// The hashes of `Counted` keys that `call` makes on this thread.
fn hashes(call: impl FnOnce()) -> u32 {
    HASHES.with(|hashes| hashes.set(0));
    call();
    HASHES.with(std::cell::Cell::get)
}

#[test]
fn a_call_a_lookup_observes_hashes_its_key_once_as_a_plain_call_does() {
    // Before: an observed call looked its key up apart (a hash) and hashed it again for its
    // flight. (The race that second hash let a test stop at, a miss answered between the lookup
    // and the flight, is tested in the library: `cache::miss::tests`.)
    let cache: Cache<Counted, u32> = Cache::builder().build().unwrap();
    let miss = hashes(|| {
        cache.get_or_compute(&Counted(1), || 1);
    });
    let observed_miss = hashes(|| {
        let seen = cache.lookup(|| cache.get_or_compute(&Counted(2), || 2));
        assert_eq!(seen.origin, cacher::Origin::Computed);
    });
    let observed_hit = hashes(|| {
        let seen = cache.lookup(|| cache.get_or_compute(&Counted(2), || 3));
        assert_eq!((seen.value, seen.origin), (2, cacher::Origin::Hit));
    });
    assert_eq!((miss, observed_miss, observed_hit), (1, 1, 1));
    // So do a peek and `get_or_refresh` (each hashed it for its lookup, then for its flight).
    let peek = hashes(|| assert_eq!(cache.peek(&Counted(3)), None));
    let refresh_miss = hashes(|| assert_eq!(cache.get_or_refresh(&Counted(4), || 4), 4));
    assert_eq!((peek, refresh_miss), (1, 1));
}

/// Set to make the next [`Brittle`] clones count, and the second of them panic.
static BRITTLE_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static BRITTLE_CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A value whose second clone once armed panics: a leader's copy for its waiters (the first is
/// the memory insert's).
#[derive(Debug)]
struct Brittle(u64);

impl Clone for Brittle {
    fn clone(&self) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        if BRITTLE_ARMED.load(SeqCst) && BRITTLE_CLONES.fetch_add(1, SeqCst) == 1 {
            panic!("a value's clone failed");
        }
        Brittle(self.0)
    }
}

/// A leader whose value's `Clone` panics as it hands the value to its waiters fails the flight on
/// its way out: the waiter retries at once instead of waiting its whole `wait_timeout` (30 s
/// here) for a value that never comes. (Found by the review of the miss machine's rewrite; older
/// than it.)
#[test]
fn a_clone_that_panics_at_the_hand_over_releases_the_waiters() {
    let cache: Cache<String, Brittle> = Cache::builder()
        .wait_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (computing_tx, computing) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        let leader = s.spawn(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                cache.get_or_compute("k", || {
                    computing_tx.send(()).unwrap();
                    // The waiter joins the flight meanwhile.
                    std::thread::sleep(COMPUTE);
                    BRITTLE_ARMED.store(true, std::sync::atomic::Ordering::SeqCst);
                    Brittle(1)
                })
            }))
        });
        computing.recv().unwrap();
        let start = Instant::now();
        let got = cache.get_or_compute("k", || Brittle(2));
        let took = start.elapsed();
        assert!(
            leader.join().unwrap().is_err(),
            "the leader's hand-over clone panicked"
        );
        assert!(
            took < Duration::from_secs(10),
            "the waiter waited {took:?} of its 30 s bound"
        );
        assert!(matches!(got.0, 1 | 2), "{got:?}");
    });
}

/// A key whose every value hashes alike: the flights, known by their key's hash, all collide.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
struct Colliding(u32);

impl std::hash::Hash for Colliding {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

#[test]
fn keys_whose_hashes_collide_each_get_their_own_value_computed_once() {
    // A caller of one key may join the flight of another with the same hash: it must not take
    // that key's value, but go round again and get its own.
    let cache: Cache<Colliding, u32> = Cache::builder().build().unwrap();
    let runs = std::sync::Mutex::new(std::collections::HashMap::<u32, u32>::new());
    let barrier = Barrier::new(4);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (cache, runs, barrier) = (&cache, &runs, &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..32u32 {
                    let k = (i * 7 + t * 5) % 32;
                    let value = cache.get_or_compute(&Colliding(k), || {
                        *runs.lock().unwrap().entry(k).or_default() += 1;
                        std::thread::yield_now();
                        k * 10
                    });
                    assert_eq!(value, k * 10, "key {k} got another key's value");
                }
            });
        }
    });
    let runs = runs.into_inner().unwrap();
    assert_eq!(runs.len(), 32);
    assert!(runs.values().all(|&n| n == 1), "runs per key: {runs:?}");
}
