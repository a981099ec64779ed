//! The rate limiter shared through Redis: two processes calling the same API together keep one
//! minimum interval between call starts; when Redis is down each falls back to its own limiter
//! without ever blocking for long.
//!
//! These tests run on real time (Redis's clock is the shared one, and no mock moves it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cacher::{Cache, RateLimiter, RedisOptions};
use cacher_tests::redis_server::{RedisServer, child_results, free_port, spawn_self};
use cacher_tests::{init_tracing, test_name};

const ROLE_ENV: &str = "CACHER_TEST_REDIS_ROLE";
const URL_ENV: &str = "CACHER_TEST_REDIS_URL";

const INTERVAL: Duration = Duration::from_millis(200);
const CALLS_PER_PROCESS: u32 = 4;

/// Measurement noise allowed on each gap. Redis grants starts at least `INTERVAL` apart on its
/// own clock, and each caller starts as soon as the grant's reply reaches it; but what a test can
/// record is the time at the function's first instruction, which also includes the reply's trip
/// and the scheduler's delay (for a task: the connection's driver task, then the task itself,
/// being polled). Those differ from call to call — tens of microseconds on an idle machine, about
/// a millisecond on a loaded one with a multi-threaded runtime — so a recorded gap can be a
/// little shorter than the granted one. 5 ms is 2.5 % of the interval: a limiter that failed to
/// share its schedule would show gaps near zero.
const SCHEDULING_SLACK: Duration = Duration::from_millis(5);

fn micros_now() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

/// Makes `CALLS_PER_PROCESS` distinct calls (all misses) through a cache limited by the shared
/// limiter, and returns when each started, in microseconds since the epoch.
fn call_the_api(url: &str, who: &str) -> Vec<u64> {
    let limiter = RateLimiter::redis(RedisOptions::new(url), "api.example.com", INTERVAL).unwrap();
    let cache: Cache<u32, String> = Cache::builder()
        .namespace(format!("rate::{who}"))
        .rate_limit(limiter)
        .build()
        .unwrap();
    let starts = Mutex::new(Vec::new());
    for n in 0..CALLS_PER_PROCESS {
        cache.get_or_compute(&n, || {
            starts.lock().unwrap().push(micros_now());
            format!("{who} {n}")
        });
    }
    assert_eq!(cache.stats().misses, u64::from(CALLS_PER_PROCESS));
    starts.into_inner().unwrap()
}

/// The child side of [`two_processes_share_one_interval`].
#[test]
fn child_rate_limited_calls() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let url = std::env::var(URL_ENV).unwrap();
    for start in call_the_api(&url, &role) {
        println!("RESULT start={start}");
    }
}

fn assert_spaced(mut starts: Vec<u64>) {
    starts.sort_unstable();
    let min = u64::try_from((INTERVAL - SCHEDULING_SLACK).as_micros()).unwrap();
    let gaps: Vec<u64> = starts.windows(2).map(|pair| pair[1] - pair[0]).collect();
    println!("gaps between starts (µs): {gaps:?}");
    for &gap in &gaps {
        assert!(
            gap >= min,
            "two starts {gap} µs apart, interval {INTERVAL:?}: {starts:?}"
        );
    }
}

#[test]
fn two_processes_share_one_interval() {
    init_tracing();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let envs = |role: &str| [(ROLE_ENV, role.to_string()), (URL_ENV, server.url())];
    let child = spawn_self(&test_name!(child_rate_limited_calls), &envs("child"));
    let mine = call_the_api(&server.url(), "parent");
    let theirs: Vec<u64> = child_results(child)
        .into_iter()
        .filter(|(k, _)| k == "start")
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), CALLS_PER_PROCESS as usize);
    let mut all = mine.clone();
    all.extend(&theirs);
    assert_spaced(all.clone());
    all.sort_unstable();
    // Eight starts, seven intervals: had each process kept only its own interval, their calls
    // would have overlapped in time instead.
    let span = Duration::from_micros(all[all.len() - 1] - all[0]);
    assert!(span >= (INTERVAL - SCHEDULING_SLACK) * 7, "{span:?}");
}

#[test]
fn threads_of_one_process_queue_in_order() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let limiter = RateLimiter::redis(RedisOptions::new(server.url()), "threads", INTERVAL).unwrap();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let limiter = limiter.clone();
            let starts = Arc::clone(&starts);
            std::thread::spawn(move || {
                limiter.acquire();
                starts.lock().unwrap().push(micros_now());
            })
        })
        .collect();
    let started = Instant::now();
    for thread in threads {
        thread.join().unwrap();
    }
    // Queued on the local schedule first, then granted by Redis: no thread waits much longer
    // than its turn.
    assert!(started.elapsed() < INTERVAL * 3 + Duration::from_millis(300));
    assert_spaced(Arc::try_unwrap(starts).unwrap().into_inner().unwrap());
}

#[test]
fn redis_down_falls_back_to_the_local_interval_and_never_blocks() {
    init_tracing();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let limiter = RateLimiter::redis(RedisOptions::new(&url), "down", INTERVAL).unwrap();
    let cache: Cache<u32, u32> = Cache::builder().rate_limit(limiter).build().unwrap();
    let started = Instant::now();
    let starts = Mutex::new(Vec::new());
    for n in 0..3 {
        assert_eq!(
            cache.get_or_compute(&n, || {
                starts.lock().unwrap().push(micros_now());
                n * 2
            }),
            n * 2
        );
    }
    // Still spaced (by this process's own schedule), and no longer than that.
    assert_spaced(starts.into_inner().unwrap());
    assert!(started.elapsed() < INTERVAL * 2 + Duration::from_millis(500));
}

#[test]
fn a_caller_waits_at_most_the_wait_timeout() {
    init_tracing();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let long = Duration::from_secs(5);
    // Two limiters (two processes, as far as their local schedules go) sharing one name.
    let first = RateLimiter::redis(RedisOptions::new(server.url()), "slow api", long).unwrap();
    let second = RateLimiter::redis(RedisOptions::new(server.url()), "slow api", long)
        .unwrap()
        .wait_timeout(Duration::from_millis(100));
    first.acquire();
    let started = Instant::now();
    second.acquire();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
}

#[test]
fn the_schedule_lives_under_its_own_key_and_expires() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let limiter =
        RateLimiter::redis(RedisOptions::new(server.url()), "api.example.com", INTERVAL).unwrap();
    limiter.acquire();
    let pttl = server.raw(&["PTTL", "cacher:rate:api.example.com"]);
    let pttl: i64 = pttl.trim_start_matches(':').trim().parse().unwrap();
    // One interval plus a second: the key does not outlive its use.
    assert!((1..=1200).contains(&pttl), "{pttl}");
    assert!(format!("{limiter:?}").contains("cacher:rate:api.example.com"));
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_share_the_interval() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    // Two limiters as two processes would have, each used by two tasks.
    let limiters = [
        RateLimiter::redis(RedisOptions::new(server.url()), "async", INTERVAL).unwrap(),
        RateLimiter::redis(RedisOptions::new(server.url()), "async", INTERVAL).unwrap(),
    ];
    let starts = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..4 {
        let limiter = limiters[i % 2].clone();
        let starts = Arc::clone(&starts);
        tasks.push(tokio::spawn(async move {
            limiter.acquire_async().await;
            starts.lock().unwrap().push(micros_now());
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_spaced(Arc::try_unwrap(starts).unwrap().into_inner().unwrap());
}
