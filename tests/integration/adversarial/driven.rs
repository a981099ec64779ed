//! The async call's future as two halves (cache/drive/relay.rs): the cache's steps (an engine per
//! cache type) and the function's future beside them, run when the engine asks. What the single
//! state machine did before must hold across the seam: the function's run in the
//! `cacher.compute` span (each poll, and its drop when the call is dropped mid-run), other
//! callers released when the call is dropped or panics, the function's error handed back
//! unchanged through every kind of call, and the future `Send` or local as the function's is.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, Clock, cached};

use super::cancel::{YieldOnce, Yielding, poll_then_drop};

/// The name of the span the caller is in, if any.
fn span_name() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|m| m.name())
}

/// Records the span it is dropped in.
struct Spy(Arc<Mutex<Vec<Option<&'static str>>>>);

impl Drop for Spy {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(span_name());
    }
}

/// Each poll of the function's future is made in `cacher.compute`, and so is its drop when the
/// call is dropped while it runs, as the `Instrumented` future of the single state machine did
/// (a guard the function holds logs its cancellation in the span of the run). A bypass has no
/// such span, as before.
#[tokio::test]
async fn the_functions_future_is_polled_and_dropped_in_the_compute_span() {
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry());
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let polls = Arc::clone(&seen);
    let value = cache
        .get_or_compute_async(&1, || async move {
            polls.lock().unwrap().push(span_name());
            YieldOnce(false).await;
            polls.lock().unwrap().push(span_name());
            7
        })
        .await;
    assert_eq!(value, 7);
    assert_eq!(*seen.lock().unwrap(), [Some("cacher.compute"); 2]);

    seen.lock().unwrap().clear();
    let spy = Spy(Arc::clone(&seen));
    let call = cache.get_or_compute_async(&2, || async move {
        let _spy = spy;
        std::future::pending::<u32>().await
    });
    assert_eq!(poll_then_drop(call, 3), None);
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("cacher.compute")],
        "the function's future was dropped outside the span of its run"
    );

    seen.lock().unwrap().clear();
    let polls = Arc::clone(&seen);
    let bypassed = cache.bypass_async(cache.get_or_compute_async(&3, || async move {
        polls.lock().unwrap().push(span_name());
        3
    }));
    assert_eq!(bypassed.await, 3);
    assert_eq!(*seen.lock().unwrap(), [None]);
}

/// The function's future is dropped before the call lets its claim on the key go, as in the
/// single state machine, where the run was the innermost await: a caller waiting for the key
/// never runs the function beside a cancelled run that still holds what it took (here, whose
/// drop takes a while to give it back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_call_drops_its_functions_future_before_it_lets_the_key_go() {
    struct Held(Arc<AtomicBool>);
    impl Drop for Held {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(200));
            self.0.store(false, SeqCst);
        }
    }
    let cache: Cache<u32, bool> = Cache::builder()
        .wait_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let held = Arc::new(AtomicBool::new(false));
    let leader = {
        let held = Arc::clone(&held);
        cache.get_or_compute_async(&1, || async move {
            held.store(true, SeqCst);
            let _held = Held(held);
            std::future::pending::<bool>().await
        })
    };
    let mut leader = Box::pin(leader);
    assert_eq!(poll_then_drop(leader.as_mut(), 2), None);
    assert!(held.load(SeqCst));
    let waiter = {
        let (cache, held) = (cache.clone(), Arc::clone(&held));
        tokio::spawn(async move {
            cache
                .get_or_compute_async(&1, || async move { !held.load(SeqCst) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(leader);
    assert!(waiter.await.unwrap(), "ran beside the cancelled run");
}

/// A call dropped while its function runs lets a caller waiting for the key run it at once,
/// not after the wait's bound.
#[tokio::test]
async fn a_call_dropped_while_its_function_runs_releases_its_waiters() {
    let cache: Cache<u32, u32> = Cache::builder()
        .wait_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let leader = {
        let (cache, started) = (cache.clone(), Arc::clone(&started));
        tokio::spawn(async move {
            cache
                .get_or_compute_async(&1, || async move {
                    started.store(true, SeqCst);
                    std::future::pending::<u32>().await
                })
                .await
        })
    };
    while !started.load(SeqCst) {
        tokio::task::yield_now().await;
    }
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get_or_compute_async(&1, || async { 2 }).await })
    };
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    leader.abort();
    let waited = tokio::time::timeout(Duration::from_secs(30), waiter).await;
    assert_eq!(waited.expect("the waiter hung").unwrap(), 2);
    assert_eq!(cache.get(&1), Some(2));
}

/// A value whose first clone after [`ARMED`] is set panics.
#[derive(Debug, PartialEq)]
struct Fragile(u32);

static ARMED: AtomicBool = AtomicBool::new(false);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(!ARMED.swap(false, SeqCst), "a value's clone failed");
        Fragile(self.0)
    }
}

/// A value's `Clone` that panics in the cache's steps after the function ran (the store's copy)
/// costs that call only: its waiters run the function, and the cache goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_values_clone_that_panics_after_the_run_releases_the_waiters() {
    let cache: Cache<u32, Fragile> = Cache::builder()
        .wait_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let (release, gate) = tokio::sync::oneshot::channel::<()>();
    let started = Arc::new(AtomicBool::new(false));
    let leader = {
        let (cache, started) = (cache.clone(), Arc::clone(&started));
        tokio::spawn(async move {
            cache
                .get_or_compute_async(&1, || async move {
                    started.store(true, SeqCst);
                    let _ = gate.await;
                    ARMED.store(true, SeqCst);
                    Fragile(1)
                })
                .await
        })
    };
    // The leader's function runs before the waiter calls (with a sleep here, a slow machine
    // could start the waiter first, which would then lead, and the leader's function never run).
    while !started.load(SeqCst) {
        tokio::task::yield_now().await;
    }
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_compute_async(&1, || async { Fragile(2) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.send(()).unwrap();
    let led = leader.await;
    let waited = tokio::time::timeout(Duration::from_secs(30), waiter).await;
    let waited = waited.expect("the waiter hung").unwrap();
    assert!(led.is_err() || waited == Fragile(1), "{led:?} {waited:?}");
    assert_eq!(
        cache
            .get_or_compute_async(&2, || async { Fragile(3) })
            .await,
        Fragile(3)
    );
}

/// An error that is neither `Clone` nor `Send` nor `Sync`.
#[derive(Debug, PartialEq)]
struct Down(Rc<str>);

/// The function's error through each kind of async call: handed back unchanged, stored nowhere,
/// and the call steered as the blocking call of the same function is.
#[tokio::test]
async fn the_functions_error_comes_back_unchanged_from_every_kind_of_call() {
    let set = tokio::task::LocalSet::new();
    set.run_until(async {
        let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
        let runs = Rc::new(AtomicUsize::new(0));
        let failing = || {
            let runs = Rc::clone(&runs);
            move || async move {
                runs.fetch_add(1, SeqCst);
                tokio::task::yield_now().await;
                Err::<u32, _>(Down(Rc::from("down")))
            }
        };
        let down = Err(Down(Rc::from("down")));
        assert_eq!(cache.try_get_or_compute_async(&1, failing()).await, down);
        assert_eq!(cache.try_get_or_compute_async(&1, failing()).await, down);
        assert_eq!((runs.load(SeqCst), cache.get(&1)), (2, None));

        cache.insert(&2, 20).unwrap();
        let refreshed = cache.refresh_async(cache.try_get_or_compute_async(&2, failing()));
        assert_eq!(refreshed.await, down);
        assert_eq!(cache.get(&2), Some(20), "a failed refresh left the entry");
        let bypassed = cache.bypass_async(cache.try_get_or_compute_async(&3, failing()));
        assert_eq!(bypassed.await, down);
        let looked = cache.lookup_async(cache.try_get_or_compute_async(&4, failing()));
        let looked = looked.await;
        let blocking = cache.lookup(|| cache.try_get_or_compute(&4, || Err::<u32, _>("down")));
        assert_eq!((looked.value, looked.origin), (down, blocking.origin));
        assert_eq!(runs.load(SeqCst), 5);
        assert_eq!((cache.get(&3), cache.get(&4)), (None, None));
    })
    .await;
}

/// Past the ttl, within `stale_if_error`, a failing function's error gives way to the stale
/// value, for a plain and a refreshing call; a non-`Send` error is only dropped.
#[tokio::test]
async fn a_failing_function_serves_the_stale_value_within_stale_if_error() {
    let set = tokio::task::LocalSet::new();
    set.run_until(async {
        let (clock, mock) = Clock::mock();
        let cache: Cache<u32, u32> = Cache::builder()
            .ttl(Duration::from_secs(60))
            .stale_if_error(Duration::from_secs(600))
            .clock(clock)
            .build()
            .unwrap();
        cache.insert(&1, 10).unwrap();
        mock.advance(Duration::from_secs(120));
        let failing = || async {
            tokio::task::yield_now().await;
            Err::<u32, _>(Down(Rc::from("down")))
        };
        assert_eq!(cache.try_get_or_compute_async(&1, failing).await, Ok(10));
        assert_eq!(cache.stats().stale_served, 1);
    })
    .await;
}

/// A failed background refresh of `get_or_refresh_async` (the function the call did not use,
/// run on a task) keeps the stale entry and is counted as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_async_refresh_keeps_the_stale_entry() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .ttl(Duration::from_secs(60))
        .stale_while_revalidate(Duration::from_secs(600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 10).unwrap();
    mock.advance(Duration::from_secs(120));
    let runs = Arc::new(AtomicUsize::new(0));
    let failing = {
        let runs = Arc::clone(&runs);
        || async move {
            runs.fetch_add(1, SeqCst);
            tokio::task::yield_now().await;
            Err::<u32, String>("down".into())
        }
    };
    assert_eq!(cache.try_get_or_refresh_async(&1, failing).await, Ok(10));
    for _ in 0..2000 {
        if cache.stats().errors == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!((cache.stats().errors, runs.load(SeqCst)), (1, 1));
    assert_eq!(cache.peek(&1), None, "still stale");
    let again = cache.get_or_refresh_async(&1, || async { 11 }).await;
    assert_eq!(again, 10, "the stale entry kept");
}

fn sendable<F: std::future::Future + Send>(future: F) -> F {
    future
}

struct Service {
    base: String,
}

impl Service {
    #[cached(key = id)]
    async fn fetch(&self, id: u32) -> String {
        tokio::task::yield_now().await;
        format!("{}/{id}", self.base)
    }
}

#[cached]
async fn length(name: &str, times: usize) -> usize {
    tokio::task::yield_now().await;
    name.len() * times
}

#[cached]
async fn refused(n: u32) -> Result<u32, Rc<str>> {
    tokio::task::yield_now().await;
    Err(Rc::from(format!("refused {n}")))
}

/// The futures of a cached async method on `&self` and of a function of borrowed arguments are
/// `Send` (not `'static`: they borrow); a function whose error is not `Send` runs on a
/// `LocalSet`, its error handed back and not cached.
#[tokio::test]
async fn borrowing_and_local_calls_are_what_their_bodies_are() {
    let service = Service {
        base: "https://a".into(),
    };
    assert_eq!(sendable(service.fetch(1)).await, "https://a/1");
    let name = String::from("abc");
    assert_eq!(sendable(length(&name, 2)).await, 6);
    assert_eq!(sendable(length("xyz", 2)).await, 6);
    let set = tokio::task::LocalSet::new();
    let (first, again) = set
        .run_until(async {
            let first = tokio::task::spawn_local(refused(1)).await.unwrap();
            (first, refused(1).await)
        })
        .await;
    assert_eq!(
        (first, again),
        (Err(Rc::from("refused 1")), Err(Rc::from("refused 1")))
    );
    assert_eq!(refused_cache().get(&(1,)), None);
}

/// Each kind of async call, its function yielding once (so that the call can be dropped while
/// the function runs, and between its end and the cache's writes), dropped after each number of
/// polls, then the key removed (or the cache cleared): no tier holds a value after that, whatever
/// the writes or the background refresh left under way did.
#[test]
fn a_call_dropped_at_any_poll_of_its_function_stores_nothing_after_a_remove() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let computed = || async {
        YieldOnce(false).await;
        2
    };
    for kind in 0..3 {
        for polls in 0..10 {
            let (a, mut b) = (Yielding::default(), Yielding::default());
            b.slow = Duration::from_millis(20);
            let (clock, mock) = Clock::mock();
            let cache: Cache<u32, u64> = Cache::builder()
                .backend(cacher::MemoryBackend::new())
                .backend(a.clone())
                .backend(b.clone())
                .ttl(Duration::from_secs(60))
                .stale_while_revalidate(Duration::from_secs(600))
                .clock(clock)
                .build()
                .unwrap();
            cache.insert(&1, 1).unwrap();
            mock.advance(Duration::from_secs(90));
            let call: std::pin::Pin<Box<dyn std::future::Future<Output = u64>>> = match kind {
                0 => Box::pin(cache.get_or_compute_async(&1, computed)),
                1 => Box::pin(cache.refresh_async(cache.get_or_compute_async(&1, computed))),
                _ => Box::pin(cache.get_or_refresh_async(&1, computed)),
            };
            poll_then_drop(call, polls);
            match polls % 2 {
                0 => cache.remove(&1).unwrap(),
                _ => cache.clear().unwrap(),
            }
            std::thread::sleep(Duration::from_millis(100));
            let key = cache.key_of(&1).unwrap();
            assert_eq!(
                (cache.peek(&1), a.value(&key), b.value(&key)),
                (None, None, None),
                "call {kind} dropped after {polls} polls, then removed"
            );
        }
    }
}

/// The rate limiter is waited for before the function runs, in every kind of async call: a
/// bypass and a forced refresh too (they call the service the limiter protects).
#[tokio::test]
async fn every_kind_of_async_call_waits_for_the_rate_limiter_before_the_run() {
    let (clock, mock) = Clock::mock();
    let interval = Duration::from_secs(1);
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(cacher::RateLimiter::new(interval).with_clock(clock.clone()))
        .clock(clock)
        .build()
        .unwrap();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let call = |key| {
        let (starts, mock) = (Arc::clone(&starts), Arc::clone(&mock));
        cache.get_or_compute_async(key, move || async move {
            starts.lock().unwrap().push(mock.elapsed());
            1
        })
    };
    call(&1).await;
    cache.bypass_async(call(&1)).await;
    cache.refresh_async(call(&1)).await;
    cache.lookup_async(call(&2)).await;
    cache.get_or_refresh_async(&3, || async { 1 }).await;
    let starts = starts.lock().unwrap().clone();
    let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![interval; 3]);
    assert_eq!(mock.elapsed(), 4 * interval);
}
