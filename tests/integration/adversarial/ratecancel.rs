//! Async callers of a rate-limited function that give up while they wait for their start
//! (attack, session 16): a `tokio::time::timeout` around the call, a `select!` that takes
//! another branch, a cancelled task. The in-process limiter reserves each caller a start slot
//! one interval after the last; a caller dropped before its slot came kept it reserved, so
//! every later caller queued behind starts nobody made. Callers arriving faster than the
//! interval under a timeout shorter than the queue then all gave up: the function stopped
//! running at all, for as long as callers kept coming.

use std::time::{Duration, Instant};

use cacher::{Cache, RateLimiter};

/// One call start per second: the twenty callers below are first polled within the 970 ms
/// before the first waiting slot even on a loaded machine (with 100 ms, a 70 ms stall before
/// their first poll would have let one start within its 30 ms).
const INTERVAL: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_gave_up_waiting_for_the_rate_limiter_leave_no_slot_taken() {
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(RateLimiter::new(INTERVAL))
        .build()
        .unwrap();
    // The first call starts at once and takes the first slot.
    assert_eq!(cache.get_or_compute_async(&0, || async { 0 }).await, 0);
    // Twenty callers of other keys, each giving up after 30 ms: none reaches its slot.
    let mut gave_up = tokio::task::JoinSet::new();
    for n in 1..=20 {
        let cache = cache.clone();
        gave_up.spawn(async move {
            let call = cache.get_or_compute_async(&n, || async move { n });
            tokio::time::timeout(Duration::from_millis(30), call).await
        });
    }
    while let Some(done) = gave_up.join_next().await {
        assert!(done.unwrap().is_err(), "a caller started within 30 ms");
    }
    // The next caller waits for the one slot reserved by a call that ran (the first), not for
    // the twenty nobody used: it starts at most about one interval after the first call.
    tokio::time::sleep(INTERVAL).await;
    let start = Instant::now();
    assert_eq!(cache.get_or_compute_async(&99, || async { 99 }).await, 99);
    let waited = start.elapsed();
    assert!(
        waited < 5 * INTERVAL,
        "waited {waited:?} for the slots of callers that gave up"
    );
}

/// The same for the limiter alone.
#[tokio::test(flavor = "current_thread")]
async fn a_limiters_slot_is_free_again_once_its_caller_gave_up() {
    let limiter = RateLimiter::new(INTERVAL);
    limiter.acquire_async().await;
    let mut gave_up = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let limiter = limiter.clone();
        gave_up.spawn(async move {
            tokio::time::timeout(Duration::from_millis(30), limiter.acquire_async()).await
        });
    }
    while let Some(done) = gave_up.join_next().await {
        assert!(done.unwrap().is_err(), "a caller started within 30 ms");
    }
    tokio::time::sleep(INTERVAL).await;
    let start = Instant::now();
    limiter.acquire_async().await;
    let waited = start.elapsed();
    assert!(
        waited < 5 * INTERVAL,
        "waited {waited:?} for the slots of callers that gave up"
    );
}
