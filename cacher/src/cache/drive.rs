//! The two drivers of the miss path: each performs the steps [`Miss`] asks for, one blocking and
//! one async, and decides nothing.

use std::hash::Hash;

use super::miss::{Miss, Step};
use crate::key::KeyRef;

/// Runs `miss` to its end, blocking: the call's value, or the function's error. `compute` is
/// taken when the function runs; left in place otherwise (a stale value served while it
/// refreshes in the background, for the caller to hand on).
pub(super) fn run<K, V, Q, E>(
    miss: &mut Miss<'_, K, V, Q>,
    compute: &mut Option<impl FnOnce() -> Result<V, E>>,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    loop {
        match miss.next() {
            Step::Read(backend, key) => {
                let answer = backend.get(&key);
                miss.read(answer);
            }
            Step::Write(backend, key, entry) => {
                let result = backend.insert(&key, entry);
                miss.wrote(result);
            }
            Step::Wait(flight, bound) => miss.waited(flight.wait(bound)),
            Step::Lock(lock, name) => miss.locked(lock.lock(name)),
            Step::Compute(limiter) => {
                if let Some(limiter) = limiter {
                    limiter.acquire();
                }
                let compute = compute.take().expect("the miss path computes at most once");
                match compute() {
                    Ok(value) => miss.computed(value),
                    Err(error) => return miss.failed(error),
                }
            }
            Step::Done(value) => return Ok(value),
        }
    }
}

/// Runs `miss` to its end without blocking the executor.
#[cfg(feature = "tokio")]
pub(super) async fn run_async<K, V, Q, E, Fut>(
    miss: &mut Miss<'_, K, V, Q>,
    compute: &mut Option<impl FnOnce() -> Fut>,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
    Fut: std::future::Future<Output = Result<V, E>>,
{
    loop {
        match miss.next() {
            Step::Read(backend, key) => {
                let answer = backend.get_async(&key).await;
                miss.read(answer);
            }
            Step::Write(backend, key, entry) => {
                let result = backend.insert_async(&key, entry).await;
                miss.wrote(result);
            }
            Step::Wait(flight, bound) => miss.waited(flight.wait_async(bound).await),
            Step::Lock(lock, name) => miss.locked(lock.lock_async(name).await),
            Step::Compute(limiter) => {
                if let Some(limiter) = limiter {
                    limiter.acquire_async().await;
                }
                let compute = compute.take().expect("the miss path computes at most once");
                match compute().await {
                    Ok(value) => miss.computed(value),
                    Err(error) => return miss.failed(error),
                }
            }
            Step::Done(value) => return Ok(value),
        }
    }
}
