//! "Wait as long as it takes": `wait_timeout(Duration::MAX)` on the Redis lock and on the
//! Redis-shared rate limiter, as the cache's own `wait_timeout(Duration::MAX)` already is, must
//! be a wait without a bound, not an overflow panic reaching the caller of a cached function.
//! (No server is needed: the panic came before the first command; a server that cannot be
//! reached costs the lock or the shared schedule, never the value.)

use std::time::Duration;

use cacher::{Cache, MemoryBackend, RateLimiter, RedisLock, RedisOptions, SeparateFileBackend};

/// Nothing listens on port 1: every command fails at once.
fn unreachable() -> RedisOptions {
    RedisOptions::new("redis://127.0.0.1:1/")
}

fn call(cache: &Cache<u32, u64>) -> std::thread::Result<u64> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_or_compute(&1, || 7)
    }))
}

/// `RedisLock::acquire` computed `Instant::now() + wait_timeout`: "overflow when adding
/// duration to instant" on every miss.
#[test]
fn a_redis_lock_waiting_without_a_bound_does_not_panic() {
    let lock = RedisLock::new(unreachable())
        .unwrap()
        .wait_timeout(Duration::MAX);
    let dir = tempfile::tempdir().unwrap();
    // A lock is taken for a miss that persistent tiers share with other processes.
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .cross_process_lock(lock)
        .build()
        .unwrap();
    assert_eq!(
        call(&cache).ok(),
        Some(7),
        "a miss under a RedisLock with wait_timeout(Duration::MAX) panicked instead of \
         returning the function's value"
    );
}

/// The shared rate limiter's `Grant::new` computed `Instant::now() + wait_timeout`: the same
/// panic before each call of the function.
#[test]
fn a_redis_rate_limiter_waiting_without_a_bound_does_not_panic() {
    let limiter = RateLimiter::redis(unreachable(), "api", Duration::from_millis(1))
        .unwrap()
        .wait_timeout(Duration::MAX);
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .rate_limit(limiter)
        .build()
        .unwrap();
    assert_eq!(
        call(&cache).ok(),
        Some(7),
        "a call under a Redis rate limiter with wait_timeout(Duration::MAX) panicked instead of \
         returning the function's value"
    );
}

/// The connection's `reconnect_backoff(Duration::MAX)` (never try again after a failure) computed
/// `Instant::now() + backoff` when the first connect failed: a panic on the first miss instead of
/// the tier's failure reported.
#[test]
fn a_redis_tier_that_never_reconnects_does_not_panic() {
    let options = unreachable().reconnect_backoff(Duration::MAX);
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(cacher::RedisBackend::new(options).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        call(&cache).ok(),
        Some(7),
        "a miss over a Redis tier with reconnect_backoff(Duration::MAX) panicked instead of \
         returning the function's value"
    );
}
