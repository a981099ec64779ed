//! The Redis lock: exclusive, released only by its holder, expiring after its lease, waits bounded;
//! and single-flight across processes — three processes missing one key run the function once.

use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend, RedisBackend, RedisLock, RedisOptions, SeparateFileBackend};
use cacher_tests::redis_server::{RedisServer, child_results, free_port, spawn_self};
use cacher_tests::{Calls, init_tracing, test_name};

const ROLE_ENV: &str = "CACHER_TEST_REDIS_ROLE";
const URL_ENV: &str = "CACHER_TEST_REDIS_URL";

fn connection(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn the_lock_is_exclusive_and_released_by_its_holder() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let lock = RedisLock::new(RedisOptions::new(server.url())).unwrap();
    let held = lock.try_acquire("job").unwrap().expect("free");
    assert_eq!(held.redis_key(), "cacher:lock:job");
    assert!(lock.try_acquire("job").unwrap().is_none(), "held");
    assert!(lock.try_acquire("other job").unwrap().is_some());
    assert!(held.release().unwrap(), "released by its holder");
    let again = lock.try_acquire("job").unwrap().expect("free again");
    drop(again);
    assert!(
        lock.try_acquire("job").unwrap().is_some(),
        "dropping releases"
    );
}

#[test]
fn an_expired_holder_does_not_release_the_next_one() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let lock = RedisLock::new(RedisOptions::new(server.url()))
        .unwrap()
        .lease(Duration::from_millis(100));
    let first = lock.try_acquire("job").unwrap().unwrap();
    // The lease is Redis's expiry, on Redis's clock: this test sleeps past it.
    std::thread::sleep(Duration::from_millis(150));
    let second = lock
        .try_acquire("job")
        .unwrap()
        .expect("the first lease ran out");
    assert!(!first.release().unwrap(), "no longer the holder");
    let mut con = connection(&server);
    let exists: i64 = redis::cmd("EXISTS")
        .arg("cacher:lock:job")
        .query(&mut con)
        .unwrap();
    assert_eq!(exists, 1, "the second holder's lock survived");
    assert!(second.release().unwrap());
}

#[test]
fn a_waiter_gives_up_after_the_wait_timeout_and_the_cache_then_computes_without_the_lock() {
    init_tracing();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let options = RedisOptions::new(server.url());
    let lock = RedisLock::new(options.clone())
        .unwrap()
        .wait_timeout(Duration::from_millis(150));
    {
        let _held = lock.try_acquire("job").unwrap().unwrap();
        let started = Instant::now();
        assert!(lock.acquire("job").unwrap().is_none());
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(waited < Duration::from_secs(1), "{waited:?}");
    }

    // A cache whose cross-process lock is held by another process for longer than the lock's
    // wait_timeout: its caller waits that long, then computes without the lock.
    let cache: Cache<u32, u32> = Cache::builder()
        .namespace("lock::held")
        .backend(RedisBackend::new(options.clone()).unwrap())
        .cross_process_lock(lock)
        .build()
        .unwrap();
    let other_process = RedisLock::new(options).unwrap();
    let _held_elsewhere = other_process
        .try_acquire(&format!("lock::held:{}", cache.key_of(&1).unwrap()))
        .unwrap()
        .expect("free");
    let calls = Calls::default();
    let started = Instant::now();
    let value = cache.get_or_compute(&1, || {
        calls.hit();
        7
    });
    let waited = started.elapsed();
    assert_eq!((value, calls.count()), (7, 1));
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert_eq!(
        cache.stats().errors,
        0,
        "a wait that runs out is not an error"
    );
    assert_eq!(cache.get(&1), Some(7), "and the value is stored");
}

#[test]
fn without_redis_the_cache_still_computes_without_the_lock() {
    init_tracing();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let lock = RedisLock::new(RedisOptions::new(url)).unwrap();
    assert!(lock.try_acquire("job").is_err());
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, u32> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .cross_process_lock(lock)
        .build()
        .unwrap();
    let calls = Calls::default();
    let started = Instant::now();
    for _ in 0..2 {
        let value = cache.get_or_compute(&1, || {
            calls.hit();
            42
        });
        assert_eq!(value, 42);
    }
    assert_eq!(calls.count(), 1, "computed once, then a hit in memory");
    assert_eq!(cache.stats().errors, 1, "the unreachable lock is counted");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// One process's call, through a cache whose leader takes the Redis lock before computing
/// (`cross_process_lock`). Counts computations in Redis, where all processes see them.
fn call_once_across_processes(url: &str) -> String {
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("lock::expensive")
        .backend(MemoryBackend::new())
        .backend(RedisBackend::new(RedisOptions::new(url)).unwrap())
        .cross_process_lock(
            RedisLock::new(RedisOptions::new(url))
                .unwrap()
                .poll_interval(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let value = cache.get_or_compute(&1, || {
        let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: i64 = redis::cmd("INCR")
            .arg("computations")
            .query(&mut con)
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        format!("computed by {}", std::process::id())
    });
    assert_eq!(cache.stats().errors, 0);
    value
}

/// The child side of [`three_processes_missing_one_key_compute_it_once`].
#[test]
fn child_single_flight() {
    if std::env::var(ROLE_ENV).is_err() {
        return;
    }
    let url = std::env::var(URL_ENV).unwrap();
    // Start together: wait for the parent's signal.
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::cmd("EXISTS")
        .arg("go")
        .query::<i64>(&mut con)
        .unwrap()
        == 0
    {
        assert!(Instant::now() < deadline, "no go signal");
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("RESULT value={}", call_once_across_processes(&url));
}

#[test]
fn three_processes_missing_one_key_compute_it_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let children: Vec<_> = (0..3)
        .map(|i| {
            spawn_self(
                &test_name!(child_single_flight),
                &[(ROLE_ENV, format!("child {i}")), (URL_ENV, server.url())],
            )
        })
        .collect();
    // Let the children start and connect, then release them at once.
    std::thread::sleep(Duration::from_millis(200));
    server.raw(&["SET", "go", "1"]);
    let values: Vec<String> = children
        .into_iter()
        .map(|child| {
            let results = child_results(child);
            results
                .into_iter()
                .find(|(k, _)| k == "value")
                .map(|(_, v)| v)
                .expect("a value")
        })
        .collect();
    let mut con = connection(&server);
    let computations: i64 = redis::cmd("GET")
        .arg("computations")
        .query(&mut con)
        .unwrap();
    assert_eq!(computations, 1, "{values:?}");
    assert!(values.iter().all(|v| v == &values[0]), "{values:?}");
    let lock_left: i64 = redis::cmd("EXISTS")
        .arg("cacher:lock:lock::expensive:1")
        .query(&mut con)
        .unwrap();
    assert_eq!(lock_left, 0, "released");
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_of_four_caches_compute_one_key_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let calls = Calls::default();
    // Four caches, each with its own memory tier, flights and lock connection — as four processes
    // would have — sharing Redis: only the lock keeps them from computing four times.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (calls, url) = (calls.clone(), url.clone());
            tokio::spawn(async move {
                let cache: Cache<u32, String> = Cache::builder()
                    .namespace("lock::expensive_async")
                    .backend(MemoryBackend::new())
                    .backend(RedisBackend::new(RedisOptions::new(&url)).unwrap())
                    .cross_process_lock(
                        RedisLock::new(RedisOptions::new(&url))
                            .unwrap()
                            .poll_interval(Duration::from_millis(10)),
                    )
                    .build()
                    .unwrap();
                cache
                    .get_or_compute_async(&1, || async {
                        calls.hit();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        "once".to_string()
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "once");
    }
    assert_eq!(calls.count(), 1);
}

/// The calls of the server's scripts made since the last `CONFIG RESETSTAT`: by text
/// (`EVAL`), by hash (`EVALSHA`).
fn script_calls(con: &mut redis::Connection) -> (u64, u64) {
    let stats: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    let calls = |name: &str| {
        let line = stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")));
        line.and_then(|l| l.split("calls=").nth(1))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    (calls("eval"), calls("evalsha"))
}

/// A lock and a cache behind a rate limiter called `name`, both on `server`.
fn lock_and_limited(server: &RedisServer, name: &str) -> (RedisLock, Cache<u32, u32>) {
    let lock = RedisLock::new(RedisOptions::new(server.url())).unwrap();
    let interval = Duration::from_millis(1);
    let limiter = cacher::RateLimiter::redis(RedisOptions::new(server.url()), name, interval);
    let cache = Cache::builder()
        .namespace(format!("scripts::{name}"))
        .rate_limit(limiter.unwrap())
        .build()
        .unwrap();
    (lock, cache)
}

/// Makes the server forget its scripts and its command counts.
fn flush_scripts(con: &mut redis::Connection) {
    redis::cmd("SCRIPT").arg("FLUSH").query::<()>(con).unwrap();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(con)
        .unwrap();
}

/// The lock's and the rate limiter's scripts go by their hash (`EVALSHA`): each call carries its
/// arguments, not the script's text, and the server hashes no script per call. A server that no
/// longer holds them (a restart, `SCRIPT FLUSH`, a failover) gets their text once, and no call
/// fails for it. (Failed before: every acquire, release and grant went as `EVAL`.)
#[test]
fn the_locks_and_the_rate_limiters_scripts_go_by_hash_and_survive_a_script_flush() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut con = connection(&server);
    let (lock, cache) = lock_and_limited(&server, "limited");
    let round = |n: u32| {
        let held = lock.try_acquire("scripts").unwrap().expect("free");
        assert!(held.release().unwrap(), "released by its holder");
        assert_eq!(cache.get_or_compute(&n, || n * 2), n * 2);
    };
    round(0);
    flush_scripts(&mut con);
    for n in 1..=10 {
        round(n);
    }
    let (eval, evalsha) = script_calls(&mut con);
    assert_eq!(
        eval, 3,
        "after the flush, each of the three scripts sent in full once (acquire, release, grant)"
    );
    assert!(evalsha >= 30, "every call by hash first: {evalsha}");
    assert_eq!(cache.stats().errors, 0);
}

/// The same on the async path (`eval_async`, a multiplexed connection): after a `SCRIPT FLUSH`,
/// the lock's acquire and release and the rate limiter's grant are each sent in full once, and
/// no call fails for it.
#[tokio::test]
async fn the_async_lock_and_rate_limiter_survive_a_script_flush() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut con = connection(&server);
    let (lock, cache) = lock_and_limited(&server, "limited-async");
    for n in 0..4 {
        if n == 1 {
            flush_scripts(&mut con);
        }
        let held = lock.try_acquire_async("scripts").await.unwrap();
        assert!(held.expect("free").release_async().await, "released");
        let value = cache
            .get_or_compute_async(&n, || async move { n * 2 })
            .await;
        assert_eq!(value, n * 2);
    }
    assert_eq!(script_calls(&mut con).0, 3, "each script in full once");
    assert_eq!(cache.stats().errors, 0);
}
