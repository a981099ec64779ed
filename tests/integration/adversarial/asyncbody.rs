//! The body of an async `#[cached]` function, which the expansion boxes (`Pin<Box<dyn Future +
//! Send>>`, without `Send` under `send = false`): checked against the function's return type as
//! an `async fn`'s body is against its signature, and run, panicked, cancelled and steered as the
//! function would be, boxed as `Send` or not.
//!
//! The first test is what the attacker of session 19 found: a body whose value coerces to the
//! return type (`Arc::new(x)` for an `Arc<dyn Trait>`) did not compile in an async function,
//! boxed or not, nor under `stale_while_revalidate`, where it does in a blocking one ("expected
//! `Arc<dyn Greeter>`, found `Arc<En>`"): the body's `async` block had its output inferred, as
//! the value's own type, not the cache's. The expansions here must compile warning-free.

#![deny(warnings)]

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use cacher::{Origin, cached};
use tokio::sync::Notify;

use super::cancel::poll_then_drop;

trait Greeter: Send + Sync {
    fn greet(&self) -> String;
}

struct En(u32);

impl Greeter for En {
    fn greet(&self) -> String {
        format!("hello {}", self.0)
    }
}

type AppResult<T> = Result<T, String>;

#[cached]
fn blocking_greeter(n: u32) -> Arc<dyn Greeter> {
    Arc::new(En(n))
}

#[cached]
async fn greeter(n: u32) -> Arc<dyn Greeter> {
    tokio::task::yield_now().await;
    Arc::new(En(n))
}

#[cached]
async fn adder(n: u32) -> Arc<dyn Fn(u32) -> u32 + Send + Sync> {
    if n == 0 {
        return Arc::new(|x| x);
    }
    Arc::new(move |x| x + n)
}

#[cached(result = true)]
async fn aliased(n: u32) -> AppResult<Arc<dyn Greeter>> {
    if n == 0 {
        return Err("zero".into());
    }
    Ok(Arc::new(En(n)))
}

#[cached(send = false)]
async fn local_greeter(n: u32) -> Arc<dyn Greeter> {
    let held = Rc::new(n);
    tokio::task::yield_now().await;
    Arc::new(En(*held))
}

#[cached(ttl = "1h", stale_while_revalidate = "1h")]
async fn refreshed_greeter(n: u32) -> Arc<dyn Greeter> {
    Arc::new(En(n))
}

#[tokio::test]
async fn an_async_body_coerces_its_values_to_the_return_type_as_a_blocking_one_does() {
    assert_eq!(blocking_greeter(1).greet(), "hello 1");
    assert_eq!(greeter(1).await.greet(), "hello 1");
    assert_eq!((adder(0).await(5), adder(2).await(5)), (5, 7));
    assert_eq!(aliased(3).await.unwrap().greet(), "hello 3");
    assert_eq!(aliased(0).await.err(), Some("zero".to_string()));
    assert_eq!(local_greeter(4).await.greet(), "hello 4");
    assert_eq!(refreshed_greeter(5).await.greet(), "hello 5");
    assert_eq!(greeter_cache().stats().misses, 1);
}

/// Runs of the functions that panic once, and the gates their first runs wait at.
static RUNS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static GATES: [Notify; 2] = [Notify::const_new(), Notify::const_new()];

/// Its first run waits at its gate, then panics; the runs after it return `n`.
#[cached]
async fn panics_once(n: u32) -> u32 {
    if RUNS[0].fetch_add(1, SeqCst) == 0 {
        GATES[0].notified().await;
        panic!("the body failed");
    }
    n
}

#[cached(send = false)]
async fn panics_once_locally(n: u32) -> u32 {
    let held = Rc::new(n);
    if RUNS[1].fetch_add(1, SeqCst) == 0 {
        GATES[1].notified().await;
        panic!("the body failed");
    }
    *held
}

/// A leader whose body panics after a waiter came for its key (`spawn` the leader and the
/// waiter): the panic reaches the leader's task, and the waiter runs the body itself, at once
/// (not after the wait's bound).
async fn a_panic_reaches_its_caller_and_frees_the_key<T>(which: usize, spawn: impl Fn() -> T)
where
    T: Future<Output = Result<u32, tokio::task::JoinError>>,
{
    let leader = spawn();
    while RUNS[which].load(SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let waiter = spawn();
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    GATES[which].notify_one();
    assert!(leader.await.expect_err("the body's panic").is_panic());
    let waited = tokio::time::timeout(Duration::from_secs(30), waiter).await;
    assert_eq!(waited.expect("the waiter hung").unwrap(), 7);
    assert_eq!(RUNS[which].load(SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_body_reaches_its_caller_and_a_waiter_runs_it() {
    a_panic_reaches_its_caller_and_frees_the_key(0, || tokio::spawn(panics_once(7))).await;
    assert_eq!(panics_once(7).await, 7);
    assert_eq!(RUNS[0].load(SeqCst), 2, "kept");
}

#[tokio::test]
async fn a_panicking_local_body_reaches_its_caller_and_a_waiter_runs_it() {
    let set = tokio::task::LocalSet::new();
    set.run_until(async {
        let spawn = || tokio::task::spawn_local(panics_once_locally(7));
        a_panic_reaches_its_caller_and_frees_the_key(1, spawn).await;
        assert_eq!(panics_once_locally(7).await, 7);
    })
    .await;
    assert_eq!(RUNS[1].load(SeqCst), 2, "kept");
}

/// Set when a hung body's future is dropped.
struct Dropped(&'static AtomicBool);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

static HUNG_DROPPED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// Hangs when `hang`, holding what marks its drop; else returns `n`.
#[cached]
async fn hangs(n: u32, #[cached(skip)] hang: bool) -> u32 {
    let _held = Dropped(&HUNG_DROPPED[0]);
    if hang {
        std::future::pending::<()>().await;
    }
    n
}

#[cached(send = false)]
async fn hangs_locally(n: u32, #[cached(skip)] hang: bool) -> u32 {
    let _held = (Dropped(&HUNG_DROPPED[1]), Rc::new(()));
    if hang {
        std::future::pending::<()>().await;
    }
    n
}

/// A call dropped while its body runs (a timeout) drops the body's future with it, and the next
/// call of the key runs the body at once and keeps its value.
#[tokio::test]
async fn a_call_dropped_while_its_body_runs_drops_the_body_and_frees_the_key() {
    assert!(poll_then_drop(hangs(1, true), 3).is_none());
    assert!(HUNG_DROPPED[0].load(SeqCst), "the body's future dropped");
    let next = tokio::time::timeout(Duration::from_secs(30), hangs(1, false)).await;
    assert_eq!(next.expect("the next call hung"), 1);
    assert!(poll_then_drop(hangs_locally(1, true), 3).is_none());
    assert!(
        HUNG_DROPPED[1].load(SeqCst),
        "the local body's future dropped"
    );
    let next = tokio::time::timeout(Duration::from_secs(30), hangs_locally(1, false)).await;
    assert_eq!(next.expect("the next call hung"), 1);
    assert_eq!(
        (hangs_cache().get(&(1,)), hangs_locally_cache().get(&(1,))),
        (Some(1), Some(1))
    );
}

/// Panics when dropped, unless a panic is under way.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the body's drop failed");
        }
    }
}

/// Hangs, holding what panics when the body's future is dropped, when `hang`; else returns `n`.
#[cached]
async fn hangs_then_panics_on_drop(n: u32, #[cached(skip)] hang: bool) -> u32 {
    if hang {
        let _held = PanicsOnDrop;
        std::future::pending::<()>().await;
    }
    n
}

/// A body whose future panics as the dropped call drops it: the panic reaches the one who
/// dropped the call, and the key is free (the cache's steps, dropped after the body's future,
/// are still dropped as the panic unwinds).
#[tokio::test]
async fn a_body_that_panics_as_its_cancelled_call_drops_it_leaves_the_key_free() {
    let dropped =
        std::panic::catch_unwind(|| poll_then_drop(hangs_then_panics_on_drop(1, true), 3));
    assert!(dropped.is_err(), "the drop's panic reaches the caller");
    let next = tokio::time::timeout(Duration::from_secs(30), hangs_then_panics_on_drop(1, false));
    assert_eq!(next.await.expect("the next call hung"), 1);
}

static STEERED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

#[cached]
async fn steered(n: u32) -> usize {
    tokio::task::yield_now().await;
    STEERED[0].fetch_add(1, SeqCst) + n as usize
}

#[cached(send = false)]
async fn steered_locally(n: u32) -> usize {
    let held = Rc::new(n as usize);
    tokio::task::yield_now().await;
    STEERED[1].fetch_add(1, SeqCst) + *held
}

/// `lookup_async`, `refresh_async` and `bypass_async` steer a call of a boxed body, `Send` or
/// not, as they steer any: a miss then a hit, a forced run kept, a run not kept.
#[tokio::test]
async fn the_async_controls_steer_a_call_of_a_boxed_body_send_or_not() {
    let cache = steered_cache();
    let first = cache.lookup_async(steered(0)).await;
    assert_eq!((first.value, first.origin), (0, Origin::Computed));
    let again = cache.lookup_async(steered(0)).await;
    assert_eq!((again.value, again.origin), (0, Origin::Hit));
    assert_eq!(cache.refresh_async(steered(0)).await, 1);
    assert_eq!(cache.bypass_async(steered(0)).await, 2);
    assert_eq!(steered(0).await, 1, "the refresh kept, the bypass not");
    let local = steered_locally_cache();
    let first = local.lookup_async(steered_locally(0)).await;
    assert_eq!((first.value, first.origin), (0, Origin::Computed));
    let again = local.lookup_async(steered_locally(0)).await;
    assert_eq!((again.value, again.origin), (0, Origin::Hit));
    assert_eq!(local.refresh_async(steered_locally(0)).await, 1);
    assert_eq!(local.bypass_async(steered_locally(0)).await, 2);
    assert_eq!(
        steered_locally(0).await,
        1,
        "the refresh kept, the bypass not"
    );
}
