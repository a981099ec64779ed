//! Redis down, unreachable or hung: the function still runs and returns its value, the failure is
//! a warning and a count in `stats().errors`, no call waits longer than the timeouts, and when the
//! server is back the cache works again without being rebuilt.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend, RedisBackend, RedisOptions};
use cacher_tests::redis_server::{RedisServer, free_port};
use cacher_tests::{Calls, init_tracing};

/// Short enough that the tests do not wait on it for long.
const BACKOFF: Duration = Duration::from_millis(50);

fn cache(url: &str, memory: bool) -> Cache<u32, String> {
    let mut builder = Cache::builder().namespace("failover");
    if memory {
        builder = builder.backend(MemoryBackend::new());
    }
    let options = RedisOptions::new(url)
        .reconnect_backoff(BACKOFF)
        .response_timeout(Duration::from_millis(200));
    builder
        .backend(RedisBackend::new(options).unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_server_killed_mid_run_costs_misses_until_it_is_back() {
    init_tracing();
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let cache = cache(&server.url(), false);
    let calls = Calls::default();
    let compute = || {
        calls.hit();
        format!("computed {}", calls.count())
    };
    assert_eq!(cache.get_or_compute(&1, compute), "computed 1");
    assert_eq!(cache.get_or_compute(&1, compute), "computed 1");
    assert_eq!(cache.stats().errors, 0);

    server.kill();
    // Down: a miss that still returns the function's value; the failed read and the failed write
    // are counted.
    assert_eq!(cache.get_or_compute(&1, compute), "computed 2");
    let errors = cache.stats().errors;
    assert!(errors >= 1, "errors {errors}");
    assert_eq!(cache.get(&1), None);
    assert!(
        cache.insert(&1, "x".into()).is_err(),
        "insert reports the failure"
    );

    server.restart();
    // Past the backoff that the failed connection attempts started.
    std::thread::sleep(BACKOFF);
    let errors = cache.stats().errors;
    // The restarted server is empty (no persistence): computed again, stored, then a hit.
    assert_eq!(cache.get_or_compute(&1, compute), "computed 3");
    assert_eq!(cache.get_or_compute(&1, compute), "computed 3");
    assert_eq!(
        cache.stats().errors,
        errors,
        "no failure once the server is back"
    );
    assert_eq!(calls.count(), 3);
}

#[test]
fn a_restart_between_two_calls_is_invisible() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let cache = cache(&server.url(), false);
    cache.insert(&1, "one".into()).unwrap();
    // The pooled connection dies with the server; the next command finds out and retries once
    // on a fresh connection.
    server.restart();
    assert_eq!(cache.get(&1), None, "the restarted server is empty");
    cache.insert(&1, "one".into()).unwrap();
    assert_eq!(cache.get(&1).as_deref(), Some("one"));
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn a_server_never_reachable_still_lets_the_function_run() {
    init_tracing();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let cache = cache(&url, true);
    let calls = Calls::default();
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(
            cache.get_or_compute(&1, || {
                calls.hit();
                "value".to_string()
            }),
            "value"
        );
    }
    // The memory tier in front still caches.
    assert_eq!(calls.count(), 1);
    assert!(cache.stats().errors >= 1);
    assert!(cache.remove(&1).is_err());
    assert!(cache.clear().is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_server_that_never_answers_costs_one_timeout() {
    init_tracing();
    // Accepts connections (the kernel does, into the backlog) and never replies.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let cache: Cache<u32, String> = Cache::builder()
        .backend(
            RedisBackend::new(
                RedisOptions::new(&url)
                    .connect_timeout(Duration::from_millis(300))
                    .response_timeout(Duration::from_millis(200))
                    .reconnect_backoff(Duration::from_secs(5)),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(cache.get_or_compute(&1, || "value".into()), "value");
    let elapsed = started.elapsed();
    // The first connection attempt waits for its handshake's replies, each bounded by the 300 ms
    // connect timeout; it fails, and the call tries that server no more (no second look, no
    // write): one error, one timeout.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
    assert_eq!(cache.stats().errors, 1);
    drop(listener);
}

#[test]
fn a_hung_server_costs_one_response_timeout_per_command() {
    init_tracing();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = cache(&server.url(), false);
    cache.insert(&1, "one".into()).unwrap();
    // The server stops answering every client (even a CLIENT UNPAUSE) for 800 ms.
    assert_eq!(server.raw(&["CLIENT", "PAUSE", "800", "ALL"]), "+OK\r\n");
    let started = Instant::now();
    assert_eq!(cache.get(&1), None);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(700), "{elapsed:?}");
    assert_eq!(cache.stats().errors, 1);
    std::thread::sleep(Duration::from_millis(900).saturating_sub(started.elapsed()));
    // The timed-out connection was dropped (a late reply must not answer the next command).
    assert_eq!(cache.get(&1).as_deref(), Some("one"));
    assert_eq!(cache.stats().errors, 1);
}

/// A hung server costs a miss one response timeout in all: after the read times out, the call
/// neither takes the cross-process lock on that server nor writes to it.
#[test]
fn a_hung_server_costs_a_miss_one_response_timeout_not_one_per_command() {
    init_tracing();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let timeout = Duration::from_millis(200);
    let options = RedisOptions::new(server.url())
        .reconnect_backoff(BACKOFF)
        .response_timeout(timeout);
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("failover-deadline")
        .backend(MemoryBackend::new())
        .backend(RedisBackend::new(options.clone()).unwrap())
        .cross_process_lock(cacher::RedisLock::new(options).unwrap())
        .build()
        .unwrap();
    // Connect both clients first, so that only the hang is timed.
    assert_eq!(cache.get_or_compute(&0, || "zero".into()), "zero");
    assert_eq!(server.raw(&["CLIENT", "PAUSE", "1500", "ALL"]), "+OK\r\n");
    let started = Instant::now();
    assert_eq!(cache.get_or_compute(&1, || "one".into()), "one");
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(
        elapsed < timeout * 2,
        "a miss took {elapsed:?}, more than one timeout"
    );
    assert_eq!(
        cache.stats().errors,
        1,
        "only the read failed: nothing else was tried"
    );
    std::thread::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed()));
}

#[test]
fn the_url_is_checked_when_the_backend_is_made() {
    let error = RedisBackend::new(RedisOptions::new("not a url")).unwrap_err();
    assert!(error.to_string().contains("invalid Redis URL"), "{error}");
    // Well-formed: nothing is connected yet, so no server is needed.
    RedisBackend::new(RedisOptions::new("redis://localhost:1/15")).unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_a_server_killed_mid_run_costs_misses_until_it_is_back() {
    init_tracing();
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let cache = cache(&server.url(), false);
    let calls = Calls::default();
    let compute = || async {
        calls.hit();
        format!("computed {}", calls.count())
    };
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "computed 1");
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "computed 1");

    server.kill();
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "computed 2");
    assert!(cache.stats().errors >= 1);

    server.restart();
    tokio::time::sleep(BACKOFF).await;
    let errors = cache.stats().errors;
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "computed 3");
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "computed 3");
    assert_eq!(cache.stats().errors, errors);
    assert_eq!(calls.count(), 3);
}
