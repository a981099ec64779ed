//! Async calls of one key interleaved at their await points, polled by hand in a chosen order
//! (the tiers yield before and after each read and write): a deterministic schedule of races
//! that threads hit by chance.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use cacher::{Cache, MemoryBackend};

use super::cancel::{YieldOnce, Yielding};

/// A call polled by hand.
struct Polled<'a, T>(Pin<Box<dyn Future<Output = T> + 'a>>, Option<T>);

impl<'a, T> Polled<'a, T> {
    fn new(future: impl Future<Output = T> + 'a) -> Self {
        Self(Box::pin(future), None)
    }

    /// Polls once; whether it is done.
    fn step(&mut self) -> bool {
        if self.1.is_none() {
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(out) = self.0.as_mut().poll(&mut cx) {
                self.1 = Some(out);
            }
        }
        self.1.is_some()
    }

    fn finish(mut self) -> T {
        while !self.step() {}
        self.1.take().unwrap()
    }
}

/// A cache whose memory tier is empty in front of a tier holding 1 for key 1 (a restarted
/// process, or an entry the memory tier evicted).
fn restarted() -> Cache<u32, u64> {
    let tier = Yielding::default();
    let before: Cache<u32, u64> = Cache::builder().backend(tier.clone()).build().unwrap();
    before.insert(&1, 1).unwrap();
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(tier)
        .build()
        .unwrap()
}

/// An empty memory tier in front of two empty yielding tiers (returned to look into).
fn two_tiers() -> (Cache<u32, u64>, Yielding, Yielding) {
    let (a, b) = (Yielding::default(), Yielding::default());
    let cache = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(a.clone())
        .backend(b.clone())
        .build()
        .unwrap();
    (cache, a, b)
}

/// A forced refresh does not join the key's flight. A call that missed memory read the tier's
/// 1 before the refresh wrote 2 there, and copied 1 into memory after the refresh had put 2
/// there: the refresh returned 2, and the cache served the 1 it replaced, fresh, until its ttl
/// (store.rs `computed`: a refresh's store was not alone in its stripe as an insert's is, and a
/// call that started after the refresh's invalidation filled freely).
#[test]
fn a_call_racing_a_refresh_does_not_put_the_replaced_value_back_in_memory() {
    let cache = restarted();
    let mut refresh = Polled::new(
        cache.refresh_async(cache.get_or_compute_async(&1, || async {
            YieldOnce(false).await;
            2
        })),
    );
    let mut reader = Polled::new(cache.get_or_compute_async(&1, || async { 3 }));
    assert!(!refresh.step(), "the refresh computes");
    assert!(!reader.step(), "the reader missed memory, reads the tier");
    assert!(!reader.step(), "the reader read the tier's 1");
    assert_eq!(refresh.finish(), 2);
    assert_eq!(reader.finish(), 1, "it read 1 before the refresh ended");
    assert_eq!(
        cache.get(&1),
        Some(2),
        "after the refresh returned 2, the cache serves the value it replaced"
    );
}

/// `remove` called on the thread that polls an async call in the middle of its writes (a task
/// of a current-thread runtime calling the blocking `remove`): the remove waits for the store
/// under way, which could not move without being polled. It waited out its bound (10 s), cleared
/// the tiers, and the call's remaining writes then put the removed value back after `remove`
/// returned (drive.rs `run_async`: each tier's write was awaited in the caller's future).
#[test]
fn a_remove_on_the_thread_that_polls_a_store_under_way_comes_after_it() {
    let (cache, a, b) = two_tiers();
    let key = cache.key_of(&1).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    for polls in 0..12 {
        let mut call = Polled::new(cache.get_or_compute_async(&1, || async { 2 }));
        for _ in 0..polls {
            call.step();
        }
        // Memory holds 2 once the call's store has begun (a get stores nothing).
        let stored = cache.get(&1) == Some(2);
        let start = std::time::Instant::now();
        cache.remove(&1).unwrap();
        let took = start.elapsed();
        assert_eq!(call.finish(), 2, "the call's caller gets its value");
        let after = (cache.get(&1), a.value(&key), b.value(&key));
        if stored {
            let message = "its store begun, then removed: the value computed before is found after";
            assert_eq!(after, (None, None, None), "polled {polls} times, {message}");
        } else {
            let agree = after == (None, None, None) || after == (Some(2), Some(2), Some(2));
            assert!(agree, "polled {polls} times: the tiers disagree: {after:?}");
        }
        let bound = std::time::Duration::from_secs(5);
        assert!(took < bound, "remove waited {took:?}");
    }
}

/// A leader and a waiter of one key, one of them dropped after every pair of poll counts: the
/// other ends with a value computed for the key, and once the dropped call's writes are done
/// (the runtime shut down waits for them) memory and both tiers hold that same value.
#[test]
fn a_leader_or_a_waiter_dropped_at_any_point_leaves_the_tiers_agreeing_with_the_survivor() {
    for drop_leader in [true, false] {
        for (led, waited) in (0..8).flat_map(|l| (0..6).map(move |w| (l, w))) {
            let (cache, a, b) = two_tiers();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let entered = runtime.enter();
            let mut leader = Polled::new(cache.get_or_compute_async(&1, || async {
                YieldOnce(false).await;
                YieldOnce(false).await;
                2
            }));
            let mut waiter = Polled::new(cache.get_or_compute_async(&1, || async { 3 }));
            for _ in 0..led {
                leader.step();
            }
            for _ in 0..waited {
                waiter.step();
            }
            let survivor = if drop_leader {
                drop(leader);
                waiter.finish()
            } else {
                drop(waiter);
                leader.finish()
            };
            drop(entered);
            drop(runtime);
            let key = cache.key_of(&1).unwrap();
            let held = (cache.peek(&1), a.value(&key), b.value(&key));
            assert_eq!(
                held,
                (Some(survivor), Some(survivor), Some(survivor)),
                "leader polled {led}, waiter {waited}, {} dropped: it ended with {survivor}",
                if drop_leader {
                    "the leader"
                } else {
                    "the waiter"
                }
            );
        }
    }
}

/// A call that began before a `remove` (polled at least once: it noted the key's generation)
/// and goes on after it, at every poll count: whether it read the tier's 1 or computed 2, it
/// puts nothing back in any tier after the remove returned (its caller still gets its value).
#[test]
fn a_call_begun_before_a_remove_stores_nothing_after_it_whatever_its_point() {
    for polls in 1..12 {
        let tier = Yielding::default();
        let before: Cache<u32, u64> = Cache::builder().backend(tier.clone()).build().unwrap();
        before.insert(&1, 1).unwrap();
        let cache = super::memory_over(tier.clone());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let entered = runtime.enter();
        let mut call = Polled::new(cache.get_or_compute_async(&1, || async {
            YieldOnce(false).await;
            2
        }));
        for _ in 0..polls {
            call.step();
        }
        cache.remove(&1).unwrap();
        let got = call.finish();
        drop(entered);
        drop(runtime);
        let key = cache.key_of(&1).unwrap();
        assert!(got == 1 || got == 2, "the caller got {got}");
        assert_eq!(
            (cache.peek(&1), tier.value(&key)),
            (None, None),
            "polled {polls} times, then removed: it got {got}, and it is found after the remove"
        );
    }
}

/// `remove` while every thread of tokio's blocking pool is busy and an async call's writes wait
/// there in the queue (a runtime built with one blocking thread, taken by other work): the
/// remove waits its bound (10 s) for the store it sees under way, gives up, clears memory and the
/// tiers and returns; the writes then ran and put the removed value back in both tiers, served
/// again once memory forgot it (found by the review of session 7).
#[test]
fn writes_queued_behind_a_busy_blocking_pool_do_not_land_after_a_remove_that_went_on() {
    let (cache, a, b) = two_tiers();
    let key = cache.key_of(&1).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let busy = runtime.spawn_blocking(move || held.recv());
    let mut call = Polled::new(cache.get_or_compute_async(&1, || async { 2 }));
    // Until memory holds 2: the call's store has begun, its writes queued behind `busy`.
    while cache.get(&1) != Some(2) {
        assert!(!call.step(), "the call cannot end before its writes");
    }
    cache.remove(&1).unwrap();
    release.send(()).unwrap();
    runtime.block_on(busy).unwrap().unwrap();
    assert_eq!(call.finish(), 2, "the call's caller gets its value");
    let after = (cache.get(&1), a.value(&key), b.value(&key));
    assert_eq!(
        after,
        (None, None, None),
        "remove returned, then the call's queued writes put the removed value back"
    );
}
