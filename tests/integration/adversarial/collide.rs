//! Keys whose hashes collide, asked for from inside another's computation (attacker's note,
//! session 13). A `Hash` that writes less than `Eq` compares (a constant, or some of the
//! fields) is legal, and makes distinct keys share a 64-bit hash. A flight known by its hash
//! alone made the caller of a colliding key wait for the flight of another key: from inside that
//! key's own computation — on another thread the leader waits for, or in async code, where the
//! same-thread check does not apply — the wait was for a leader waiting for it, and lasted the
//! whole `wait_timeout` (60 s by default; a century with `Duration::MAX`). A flight is joined by
//! its own key only.

use std::time::{Duration, Instant};

use cacher::Cache;

/// A key whose every value hashes alike.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
struct Colliding(u32);

impl std::hash::Hash for Colliding {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

fn cache() -> Cache<Colliding, u32> {
    Cache::builder()
        .wait_timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

#[test]
fn a_colliding_key_computed_on_a_thread_its_leader_waits_for_does_not_wait_for_it() {
    let cache = cache();
    let start = Instant::now();
    let value = cache.get_or_compute(&Colliding(1), || {
        std::thread::scope(|s| {
            s.spawn(|| cache.get_or_compute(&Colliding(2), || 20))
                .join()
                .unwrap()
        }) + 1
    });
    assert_eq!(value, 21);
    assert_eq!(cache.get(&Colliding(2)), Some(20));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "waited {took:?}");
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_colliding_key_asked_for_inside_an_async_computation_does_not_wait_for_it() {
    let cache = cache();
    let start = tokio::time::Instant::now();
    let value = cache
        .get_or_compute_async(&Colliding(1), || async {
            cache
                .get_or_compute_async(&Colliding(2), || async { 20 })
                .await
                + 1
        })
        .await;
    assert_eq!(value, 21);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "waited {took:?} (paused time)"
    );
}

#[test]
fn distinct_keys_whose_hashes_collide_are_computed_at_once_not_one_after_another() {
    // Each caller of its own key leads its own flight: eight computations of 300 ms together
    // take about 300 ms, not 2.4 s (one flight at a time, each waiter going round again).
    let cache = cache();
    let barrier = std::sync::Barrier::new(8);
    let start = Instant::now();
    std::thread::scope(|s| {
        for k in 0..8u32 {
            let (cache, barrier) = (&cache, &barrier);
            s.spawn(move || {
                barrier.wait();
                let value = cache.get_or_compute(&Colliding(k), || {
                    std::thread::sleep(Duration::from_millis(300));
                    k
                });
                assert_eq!(value, k);
            });
        }
    });
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

#[test]
fn keys_whose_hashes_collide_get_their_own_values_through_a_file_tier_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<Colliding, u32> = Cache::builder()
        .backend(cacher::MemoryBackend::new())
        .backend(cacher::SeparateFileBackend::new(dir.path()))
        .wait_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let cache = &cache;
            s.spawn(move || {
                for i in 0..24u32 {
                    let k = (i * 5 + t * 3) % 8;
                    if i % 5 == t {
                        cache.remove(&Colliding((k + 1) % 8)).unwrap();
                    }
                    let value = cache.get_or_compute(&Colliding(k), || {
                        std::thread::yield_now();
                        k * 10
                    });
                    assert_eq!(value, k * 10, "key {k} got another key's value");
                }
            });
        }
    });
    for k in 0..8u32 {
        if let Some(value) = cache.get(&Colliding(k)) {
            assert_eq!(value, k * 10);
        }
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
