//! Per-call controls (`refresh_async`, `bypass_async`, `lookup_async`) around async calls, under
//! cancellation, timeouts, nesting and work stealing: a control steers the one call it wraps,
//! wherever its future is polled, and nothing after its future is gone.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use cacher::{Cache, Origin, cached};

use super::cancel::poll_then_drop;

fn cache() -> Cache<u32, u64> {
    Cache::builder()
        .wait_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A function that marks that it runs, then never ends.
fn hung(started: &Arc<AtomicBool>) -> impl FnOnce() -> std::future::Pending<u64> + use<> {
    let started = Arc::clone(started);
    move || {
        started.store(true, Ordering::SeqCst);
        std::future::pending()
    }
}

/// Polls `future` once with a waker that does nothing: pending or not.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Each control, its future polled until its function ran and then dropped, steers no call made
/// after it on the thread: the next call of the same key is an ordinary one.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_dropped_controlled_future_steers_no_later_call_on_its_thread() {
    let cache = cache();
    let started = Arc::new(AtomicBool::new(false));
    for round in 0..3u32 {
        let call = cache.get_or_compute_async(&1, hung(&started));
        match round {
            0 => assert!(poll_then_drop(cache.refresh_async(call), 3).is_none()),
            1 => assert!(poll_then_drop(cache.bypass_async(call), 3).is_none()),
            _ => assert!(poll_then_drop(cache.lookup_async(call), 3).is_none()),
        }
        assert!(started.swap(false, Ordering::SeqCst), "round {round}: ran");
        cache.insert(&2, 5).unwrap();
        let later = cache.get_or_compute_async(&2, || async { 9 }).await;
        assert_eq!(
            later, 5,
            "round {round}: an ordinary call, served its entry"
        );
        assert_eq!(cache.get_or_compute(&2, || 9), 5, "round {round}: blocking");
    }
}

/// A refresh cancelled while its function runs (dropped, or by a timeout) holds no later
/// caller: the entry it was to replace is served at once, beside it and after it, rather than
/// after `wait_timeout`.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_refresh_cancelled_mid_run_holds_no_later_caller() {
    let cache = cache();
    cache.insert(&1, 1).unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let mut refresh = Box::pin(cache.refresh_async(cache.get_or_compute_async(&1, hung(&started))));
    assert!(poll_once(refresh.as_mut()).is_pending());
    assert!(
        started.load(Ordering::SeqCst),
        "the refresh runs its function"
    );
    // A refresh leads no flight: a call beside it does not wait for it.
    let beside = cache.get_or_compute_async(&1, || async { 2 });
    assert_eq!(poll_then_drop(beside, 1), Some(1));
    let begun = tokio::time::Instant::now();
    drop(refresh);
    assert_eq!(cache.get_or_compute_async(&1, || async { 3 }).await, 1);
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );

    let timed = cache.refresh_async(cache.get_or_compute_async(&1, hung(&started)));
    let timed = tokio::time::timeout(Duration::from_secs(1), timed).await;
    assert!(timed.is_err());
    let begun = tokio::time::Instant::now();
    assert_eq!(cache.get_or_compute_async(&1, || async { 4 }).await, 1);
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
}

/// A bypass takes no part in single-flight: it does not wait for a leader that hangs, its value
/// goes to no waiter and to no tier, and it counts nothing.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_bypass_beside_a_hung_leader_neither_waits_nor_stores() {
    let cache = cache();
    let started = Arc::new(AtomicBool::new(false));
    let mut leader = Box::pin(cache.get_or_compute_async(&1, hung(&started)));
    assert!(poll_once(leader.as_mut()).is_pending());
    let stats = cache.stats();
    let begun = tokio::time::Instant::now();
    let bypassed = cache.bypass_async(cache.get_or_compute_async(&1, || async { 7 }));
    assert_eq!(bypassed.await, 7);
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(cache.peek(&1), None, "a bypass stores nothing");
    let now = cache.stats();
    assert_eq!((now.hits, now.misses), (stats.hits, stats.misses));
    let failed = cache.bypass_async(cache.try_get_or_compute_async(&2, || async { Err("down") }));
    assert_eq!(failed.await, Err("down"));
    let kept = cache.bypass_async(cache.try_get_or_compute_async(&2, || async { Ok::<_, ()>(8) }));
    assert_eq!(kept.await, Ok(8));
    assert_eq!(cache.peek(&2), None);
}

/// A refresh begun while an ordinary call computes the key's older value: the refresh's value is
/// returned and stays, whichever ends first.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_refresh_beside_an_older_computation_is_what_stays() {
    for leader_first in [true, false] {
        let cache = cache();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut leader = Box::pin(cache.get_or_compute_async(&1, || async {
            rx.await.unwrap();
            1
        }));
        assert!(poll_once(leader.as_mut()).is_pending());
        let mut refresh = Box::pin(
            cache.refresh_async(cache.get_or_compute_async(&1, || async {
                tokio::task::yield_now().await;
                2
            })),
        );
        assert!(poll_once(refresh.as_mut()).is_pending());
        tx.send(()).unwrap();
        if leader_first {
            let _ = leader.await;
            assert_eq!(refresh.await, 2);
        } else {
            assert_eq!(refresh.await, 2);
            let _ = leader.await;
        }
        assert_eq!(cache.peek(&1), Some(2), "leader first: {leader_first}");
        assert_eq!(cache.get_or_compute_async(&1, || async { 3 }).await, 2);
    }
}

/// `lookup_async` tells each origin: a computed value, a hit, a stale value served because the
/// function failed; and an ordinary call of the cache made by the observed function's body does
/// not overwrite what it told.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lookup_async_tells_the_origin_of_the_call_it_wraps() {
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl(Duration::from_secs(10))
        .stale_if_error(Duration::from_secs(100))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&2, 20).unwrap();
    let body = || async { cache.get_or_compute_async(&2, || async { 21 }).await + 1 };
    let first = cache
        .lookup_async(cache.get_or_compute_async(&1, body))
        .await;
    assert_eq!((first.value, first.origin), (21, Origin::Computed));
    let hit = cache
        .lookup_async(cache.get_or_compute_async(&1, || async { 0 }))
        .await;
    assert_eq!((hit.value, hit.origin), (21, Origin::Hit));
    mock.advance(Duration::from_secs(20));
    let failing = || async { Err::<u64, &str>("down") };
    let stale = cache
        .lookup_async(cache.try_get_or_compute_async(&1, failing))
        .await;
    assert_eq!((stale.value, stale.origin), (Ok(21), Origin::Stale));
}

/// Controls nest, each steering the first call of its own cache inside it, also from inside the
/// function of a call another control steers.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn nested_controls_each_steer_their_own_call() {
    let (a, b) = (cache(), cache());
    a.insert(&2, 20).unwrap();
    a.insert(&3, 30).unwrap();
    b.insert(&1, 10).unwrap();
    let body = || async {
        let refreshed = a.refresh_async(a.get_or_compute_async(&2, || async { 21 }));
        let plain = a.get_or_compute_async(&3, || async { 31 }).await;
        refreshed.await + plain
    };
    let outer = a.lookup_async(a.get_or_compute_async(&1, body)).await;
    assert_eq!((outer.value, outer.origin), (51, Origin::Computed));
    assert_eq!((a.peek(&2), a.peek(&3)), (Some(21), Some(30)));
    let mixed = a.refresh_async(b.lookup_async(async {
        let b1 = b.get_or_compute_async(&1, || async { 11 }).await;
        let a3 = a.get_or_compute_async(&3, || async { 32 }).await;
        b1 + a3
    }));
    let mixed = mixed.await;
    assert_eq!((mixed.value, mixed.origin), (42, Origin::Hit));
    assert_eq!((a.peek(&3), b.peek(&1)), (Some(32), Some(10)));
}

static VERSION: AtomicU64 = AtomicU64::new(0);

struct Client {
    base: String,
}

impl Client {
    #[cached(key = (self.base.as_str(), id))]
    async fn fetch(&self, id: u32) -> u64 {
        tokio::task::yield_now().await;
        VERSION.fetch_add(1, Ordering::SeqCst) + u64::from(id) * 1000
    }
}

/// The controls steer an `async fn` keyed by an expression over `self`, its future moved across
/// the worker threads of a multi-thread runtime by its awaits: the control follows the future,
/// and the calls of other tasks, on the same threads at the same time, are not steered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_follows_its_future_across_threads_not_its_thread() {
    let client = Arc::new(Client { base: "a".into() });
    let cache = Client::fetch_cache();
    for id in 0..64u32 {
        let _ = client.fetch(id).await;
    }
    let mut tasks = Vec::new();
    for id in 0..64u32 {
        let client = Arc::clone(&client);
        tasks.push(tokio::spawn(async move {
            let cache = Client::fetch_cache();
            let before = client.fetch(id).await;
            let steered = async {
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                client.fetch(id).await
            };
            let after = match id % 4 {
                0 => cache.refresh_async(steered).await,
                1 => cache.bypass_async(steered).await,
                2 => {
                    let seen = cache.lookup_async(steered).await;
                    assert_eq!(seen.origin, Origin::Hit, "{id}");
                    seen.value
                }
                _ => steered.await,
            };
            (id, before, after, client.fetch(id).await)
        }));
    }
    for task in tasks {
        let (id, before, after, later) = task.await.unwrap();
        match id % 4 {
            0 => assert!(
                after != before && later == after,
                "{id}: refreshed and stored"
            ),
            1 => assert!(
                after != before && later == before,
                "{id}: bypassed, not stored"
            ),
            _ => assert!(after == before && later == before, "{id}: not steered"),
        }
    }
    assert!(cache.peek(&("a", 0u32)).is_some());
}

/// The blocking controls nest the same way: a control of another cache inside one does not
/// hide it (the refresh of `a` steered nothing, and said so).
#[test]
fn a_control_of_another_cache_inside_one_does_not_hide_it() {
    let (a, b) = (cache(), cache());
    a.insert(&1, 10).unwrap();
    b.insert(&1, 20).unwrap();
    let seen = a.refresh(|| b.lookup(|| b.get_or_compute(&1, || 21) + a.get_or_compute(&1, || 11)));
    assert_eq!((seen.value, seen.origin), (31, Origin::Hit));
    assert_eq!((a.peek(&1), b.peek(&1)), (Some(11), Some(20)));
    let seen = b.lookup(|| a.bypass(|| a.get_or_compute(&1, || 12) + b.get_or_compute(&1, || 22)));
    assert_eq!((seen.value, seen.origin), (32, Origin::Hit));
    assert_eq!((a.peek(&1), b.peek(&1)), (Some(11), Some(20)));
}

/// A `lookup_async` of a call that waited for another's computation, and one after a timeout
/// cut an observed call short: each tells its own call's origin.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lookup_async_of_a_waiter_and_after_a_timeout_tells_its_own_call() {
    let cache = cache();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut leader = Box::pin(cache.get_or_compute_async(&1, || async {
        rx.await.unwrap();
        1
    }));
    assert!(poll_once(leader.as_mut()).is_pending());
    let mut waiter = Box::pin(cache.lookup_async(cache.get_or_compute_async(&1, || async { 2 })));
    assert!(
        poll_once(waiter.as_mut()).is_pending(),
        "waits for the leader"
    );
    tx.send(()).unwrap();
    assert_eq!(leader.await, 1);
    let waited = waiter.await;
    assert_eq!(waited.value, 1);
    assert!(waited.origin.is_cached(), "{:?}", waited.origin);
    let started = Arc::new(AtomicBool::new(false));
    let slow = cache.lookup_async(cache.get_or_compute_async(&2, hung(&started)));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), slow)
            .await
            .is_err()
    );
    let after = cache.lookup_async(cache.get_or_compute_async(&2, || async { 3 }));
    let after = after.await;
    assert_eq!((after.value, after.origin), (3, Origin::Computed));
    let again = cache.lookup_async(cache.get_or_compute_async(&1, || async { 4 }));
    assert_eq!(again.await.origin, Origin::Hit);
}

/// A `refresh_async` or `bypass_async` whose future steered nothing (its call made in a task it
/// spawned, which it does not poll) says so, as the blocking forms do: its value looks right.
#[tokio::test(flavor = "current_thread")]
async fn an_async_control_that_steered_nothing_says_so() {
    let cache = Arc::new(cache());
    cache.insert(&1, 1).unwrap();
    let log = cacher_tests::Log::default();
    let _on_this_thread = log.on_this_thread();
    let spawned = {
        let cache = Arc::clone(&cache);
        async move {
            let call = async move { cache.get_or_compute_async(&1, || async { 2 }).await };
            tokio::spawn(call).await.unwrap()
        }
    };
    assert_eq!(cache.refresh_async(spawned).await, 1, "not refreshed");
    let logged = log.text();
    assert!(logged.contains("`refresh_async` made no call"), "{logged}");
    assert!(logged.contains("tokio::spawn"), "{logged}");
}

/// Calls `cache` from a thread-local's destructor, after the controls' own thread-local is gone.
struct CallsOnDrop(Cache<u32, u64>);

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        assert_eq!(self.0.get_or_compute(&9, || 9), 9);
    }
}

thread_local! {
    static ON_DROP: RefCell<Option<CallsOnDrop>> = const { RefCell::new(None) };
}

/// A call made from a thread-local's destructor, after the thread's controls are gone, while a
/// control is in place on another thread (so that every call looks for one): an ordinary call,
/// not a panic in a destructor (which aborts the process).
#[test]
fn a_call_from_a_thread_local_destructor_beside_a_control_is_an_ordinary_one() {
    let cache = cache();
    let (gate, held) = cacher_tests::gate();
    let steered = std::thread::scope(|scope| {
        let other = scope.spawn(|| cache.refresh(|| held.hold(cache.get_or_compute(&1, || 1))));
        gate.started();
        let dropper = scope.spawn(|| {
            // Registered first, destroyed last: after the controls' thread-local.
            ON_DROP.with(|on| *on.borrow_mut() = Some(CallsOnDrop(cache.clone())));
            cache.lookup(|| cache.get_or_compute(&8, || 8)).value
        });
        assert_eq!(dropper.join().unwrap(), 8);
        gate.release();
        other.join().unwrap()
    });
    assert_eq!(steered, 1);
    assert_eq!(cache.peek(&9), Some(9));
}

/// A call begun under one control and finished under a `lookup_async` (its future awaited by
/// reference after a timeout cut the first short) is not the lookup's call: the lookup tells
/// the origin of the call that took it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_call_moved_into_a_lookup_does_not_tell_its_origin() {
    let cache = cache();
    cache.insert(&2, 20).unwrap();
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        1
    };
    let mut begun = std::pin::pin!(cache.get_or_compute_async(&1, slow));
    let cut = tokio::time::timeout(Duration::from_secs(1), cache.refresh_async(&mut begun)).await;
    assert!(cut.is_err());
    let seen = cache.lookup_async(async {
        let moved = (&mut begun).await;
        moved + cache.get_or_compute_async(&2, || async { 21 }).await
    });
    let seen = seen.await;
    assert_eq!((seen.value, seen.origin), (21, Origin::Hit));
}

/// Two refreshes of a key under way together: the one begun last is what stays, whichever
/// ends first.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn of_two_refreshes_under_way_the_later_one_stays() {
    for older_ends_first in [true, false] {
        let cache = cache();
        cache.insert(&1, 0).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let older = cache.get_or_compute_async(&1, || async {
            rx.await.unwrap();
            1
        });
        let mut older = Box::pin(cache.refresh_async(older));
        assert!(poll_once(older.as_mut()).is_pending());
        let later = cache.get_or_compute_async(&1, || async {
            tokio::task::yield_now().await;
            2
        });
        let mut later = Box::pin(cache.refresh_async(later));
        assert!(poll_once(later.as_mut()).is_pending());
        tx.send(()).unwrap();
        if older_ends_first {
            assert_eq!(older.await, 1);
            assert_eq!(later.await, 2);
        } else {
            assert_eq!(later.await, 2);
            assert_eq!(older.await, 1);
        }
        assert_eq!(
            cache.peek(&1),
            Some(2),
            "older ends first: {older_ends_first}"
        );
    }
}

/// Ordinary calls computing the key on other threads, from a source read before a refresh's
/// function changed it (begun before the refresh, or during it): once the refresh returned its
/// value, no call serves an older one. (A removal during a refresh wins over it, by design: the
/// readers do not remove.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_refresh_returned_no_call_serves_an_older_value() {
    let cache = Arc::new(cache());
    let source = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (cache, source, stop) = (cache.clone(), source.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let read = || async {
                    let seen = source.load(Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    seen
                };
                let _ = cache.get_or_compute_async(&1, read).await;
            }
        }));
    }
    for version in 1..=300 {
        // Absent: the readers compute it beside the refresh.
        cache.remove(&1).unwrap();
        let refresh = || async {
            source.store(version, Ordering::SeqCst);
            tokio::task::yield_now().await;
            version
        };
        let refreshed = cache.refresh_async(cache.get_or_compute_async(&1, refresh));
        assert_eq!(refreshed.await, version);
        let now = cache.get_or_compute_async(&1, || async { source.load(Ordering::SeqCst) });
        let now = now.await;
        assert!(
            now >= version,
            "served {now} after the refresh to {version} returned"
        );
    }
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        reader.await.unwrap();
    }
}
