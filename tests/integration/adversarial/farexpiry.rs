//! "Forever" as a duration: `Duration::MAX` (or any ttl past Redis's range, as a token's
//! `expires_in` from a server may be) for an entry's ttl, a grace window or a Redis lock's
//! lease. Memory, files and the store keep such an entry; Redis's `SET … PX` refuses an expiry
//! past `i64::MAX` ms from now, so the Redis tier refused every write: it cached nothing, and
//! every call ran the function again, each counted as an error, against a healthy server.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use cacher::{Cache, CacheBuilder, RedisBackend, RedisLock, RedisOptions};
use cacher_tests::redis_server::RedisServer;

fn forever(_: &u64) -> Option<Duration> {
    Some(Duration::MAX)
}

/// Three calls of one key through `builder` with a Redis tier alone: the function must run once
/// and nothing fail.
fn calls_and_errors(server: &RedisServer, builder: CacheBuilder<u32, u64>) -> (usize, u64) {
    let options = RedisOptions::new(server.url());
    let cache: Cache<u32, u64> = builder
        .backend(RedisBackend::new(options).unwrap())
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        let value = cache.get_or_compute(&1, || {
            calls.fetch_add(1, SeqCst);
            5
        });
        assert_eq!(value, 5);
    }
    (calls.load(SeqCst), cache.stats().errors)
}

#[test]
fn entries_that_live_forever_are_stored_in_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let minute = Duration::from_secs(60);
    let builders: [(&str, CacheBuilder<u32, u64>); 4] = [
        ("ttl_fn = Duration::MAX", Cache::builder().ttl_fn(forever)),
        ("ttl = Duration::MAX", Cache::builder().ttl(Duration::MAX)),
        (
            "stale_if_error = Duration::MAX",
            Cache::builder().ttl(minute).stale_if_error(Duration::MAX),
        ),
        (
            "stale_while_revalidate = Duration::MAX",
            Cache::builder()
                .ttl(minute)
                .stale_while_revalidate(Duration::MAX),
        ),
    ];
    for (i, (what, builder)) in builders.into_iter().enumerate() {
        let builder = builder.namespace(format!("farexpiry::{i}"));
        assert_eq!(
            calls_and_errors(&server, builder),
            (1, 0),
            "with {what}, the Redis tier refused the entry: (calls, errors)"
        );
    }
}

#[test]
fn a_redis_lock_leased_forever_is_taken() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let lock = RedisLock::new(RedisOptions::new(server.url()))
        .unwrap()
        .lease(Duration::MAX);
    let guard = lock.try_acquire("farexpiry");
    assert!(
        matches!(guard, Ok(Some(_))),
        "a free lock with a lease of Duration::MAX was not taken: {:?}",
        guard.err()
    );
}
