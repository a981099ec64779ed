//! What an async call's future is: `Send` (so that a cached `async fn` can be spawned on a
//! multi-threaded runtime: the body's future is boxed as `Send`), and still cached with
//! `send = false` when the function's future is not (an `Rc` held across an `.await`, on a
//! `LocalSet`). A body that is not `Send` without `send = false` is a compile error which says to
//! write it (`tests-build/tests/ui/async_body_not_send.rs`).

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use cacher::{Cache, cached};

static SENT: AtomicUsize = AtomicUsize::new(0);
static LOCAL: AtomicUsize = AtomicUsize::new(0);

#[cached]
async fn sent(n: u64) -> u64 {
    SENT.fetch_add(1, SeqCst);
    tokio::task::yield_now().await;
    n * 2
}

#[cached(send = false)]
async fn local(n: u64) -> Result<u64, String> {
    LOCAL.fetch_add(1, SeqCst);
    // Not `Send`: held across an `.await`.
    let held = Rc::new(n);
    tokio::task::yield_now().await;
    Ok(*held + 1)
}

fn spawnable<F: std::future::Future + Send + 'static>(future: F) -> F {
    future
}

fn sendable<F: std::future::Future + Send>(future: F) -> F {
    future
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_async_fn_whose_body_is_send_can_be_spawned() {
    let first = tokio::spawn(spawnable(sent(21))).await.unwrap();
    let again = tokio::spawn(spawnable(sent(21))).await.unwrap();
    assert_eq!((first, again), (42, 42));
    assert_eq!(SENT.load(SeqCst), 1, "the second call is a hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_or_compute_async_is_send_too() {
    let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
    let task = tokio::spawn(async move {
        let value = sendable(cache.get_or_compute_async(&1, || async { 7 })).await;
        (value, cache.get(&1))
    });
    assert_eq!(task.await.unwrap(), (7, Some(7)));
}

#[tokio::test]
async fn a_cached_async_fn_whose_body_is_not_send_runs_on_a_local_set_and_is_cached() {
    let set = tokio::task::LocalSet::new();
    let (first, again) = set
        .run_until(async {
            let first = tokio::task::spawn_local(local(1)).await.unwrap();
            (first, local(1).await)
        })
        .await;
    assert_eq!((first, again), (Ok(2), Ok(2)));
    assert_eq!(LOCAL.load(SeqCst), 1, "the second call is a hit");
}

static PERSISTED: AtomicUsize = AtomicUsize::new(0);

#[cached(
    backend = "file",
    cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/macros_futures/persisted")
)]
async fn persisted(n: u64) -> u64 {
    PERSISTED.fetch_add(1, SeqCst);
    tokio::task::yield_now().await;
    n * 3
}

#[cached(
    backend = "file",
    cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/macros_futures/persisted_local"),
    send = false
)]
async fn persisted_local(n: u64) -> u64 {
    let held = Rc::new(n);
    tokio::task::yield_now().await;
    *held * 3
}

/// The same with a persistent tier, whose steps (the tier's reads, writes and generations) the
/// untyped driver awaits through boxed futures: `Send`, or local with `send = false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_cached_async_fn_is_send_or_local_as_written() {
    let _ = std::fs::remove_dir_all(concat!(env!("CARGO_TARGET_TMPDIR"), "/macros_futures"));
    let first = tokio::spawn(spawnable(persisted(7))).await.unwrap();
    let again = tokio::spawn(spawnable(persisted(7))).await.unwrap();
    assert_eq!((first, again), (21, 21));
    assert_eq!(PERSISTED.load(SeqCst), 1, "the second call is a hit");
    let set = tokio::task::LocalSet::new();
    let local = set.run_until(async { tokio::task::spawn_local(persisted_local(7)).await });
    assert_eq!(local.await.unwrap(), 21);
}
