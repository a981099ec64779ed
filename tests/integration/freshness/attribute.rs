//! The freshness options through `#[cached]` on `fn` and `async fn`, on a mock clock given by the
//! `clock` option.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cacher::{Clock, MockClock, cached};
use serde::{Deserialize, Serialize};

use super::{MIN, eventually};

/// A mock clock of its own for each function below (`$clock` for its `clock` option, `$mock` to
/// move it), so that tests running together do not move each other's time.
macro_rules! mock_clock {
    ($clock:ident, $mock:ident, $pair:ident) => {
        fn $mock() -> &'static MockClock {
            &$pair().1
        }
        fn $clock() -> Clock {
            $pair().0.clone()
        }
        fn $pair() -> &'static (Clock, Arc<MockClock>) {
            static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
            MOCK.get_or_init(Clock::mock)
        }
    };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Token {
    user: u32,
    expires_in: u64,
}

fn token_ttl(token: &Token) -> Option<Duration> {
    Some(Duration::from_secs(token.expires_in))
}

mock_clock!(token_clock, token_mock, token_pair);
static TOKEN_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1h", ttl_fn = token_ttl, clock = token_clock)]
fn token(user: u32) -> Token {
    TOKEN_CALLS.fetch_add(1, Ordering::SeqCst);
    Token {
        user,
        expires_in: if user == 1 { 60 } else { 3600 * 24 },
    }
}

mock_clock!(held_clock, held_mock, held_pair);
static HELD_CALLS: AtomicUsize = AtomicUsize::new(0);

/// A clock held in a `static` (read at run time, not a constant).
static HELD_CLOCK: fn() -> Clock = held_clock;

#[cached(ttl = "1m", clock = HELD_CLOCK)]
fn held(n: u64) -> u64 {
    HELD_CALLS.fetch_add(1, Ordering::SeqCst);
    n
}

#[test]
fn a_clock_held_in_a_static_ages_the_entries() {
    held(1);
    held(1);
    assert_eq!(HELD_CALLS.load(Ordering::SeqCst), 1);
    held_mock().advance(2 * MIN);
    held(1);
    assert_eq!(
        HELD_CALLS.load(Ordering::SeqCst),
        2,
        "expired on the static's clock"
    );
}

#[test]
fn ttl_fn_gives_each_entry_its_own_ttl() {
    token(1);
    token(2);
    token_mock().advance(2 * MIN);
    token(1);
    token(2);
    assert_eq!(
        TOKEN_CALLS.load(Ordering::SeqCst),
        3,
        "user 1's 60 s are over"
    );
    token_mock().advance(2 * 60 * MIN);
    token(2);
    assert_eq!(
        TOKEN_CALLS.load(Ordering::SeqCst),
        3,
        "user 2's day, over the fixed hour"
    );
}

mock_clock!(lease_clock, lease_mock, lease_pair);
static LEASE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// A `ttl_fn` that returns a `Duration` itself, as helper-106 wrote it first (a bare type
/// mismatch before: only `Option<Duration>` was taken).
fn lease_ttl(seconds: &u64) -> Duration {
    Duration::from_secs(*seconds)
}

#[cached(ttl_fn = lease_ttl, clock = lease_clock)]
fn lease(seconds: u64) -> u64 {
    LEASE_CALLS.fetch_add(1, Ordering::SeqCst);
    seconds
}

#[test]
fn a_ttl_fn_may_return_a_duration() {
    lease(60);
    lease(3600);
    lease_mock().advance(2 * MIN);
    lease(60);
    lease(3600);
    assert_eq!(
        LEASE_CALLS.load(Ordering::SeqCst),
        3,
        "the 60 s lease is over, the hour's is not"
    );
}

mock_clock!(page_clock, page_mock, page_pair);
static PAGE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", clock = page_clock)]
fn page(path: &str) -> String {
    let n = PAGE_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{path}#{n}")
}

#[test]
fn stale_while_revalidate_on_a_fn_serves_stale_and_refreshes_in_the_background() {
    assert_eq!(page("/a"), "/a#0");
    page_mock().advance(2 * MIN);
    assert_eq!(page("/a"), "/a#0", "stale, at once");
    eventually("the refresh", || {
        page_cache().get(&("/a".to_owned(),)).as_deref() == Some("/a#1")
    });
    assert_eq!(page("/a"), "/a#1");
}

mock_clock!(fetch_clock, fetch_mock, fetch_pair);
static FETCH_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", stale_if_error = "1h", clock = fetch_clock)]
async fn fetch(id: u32, mut attempt: String) -> Result<String, String> {
    attempt.push('!');
    let n = FETCH_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(format!("{id}{attempt}{n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_while_revalidate_on_an_async_fn_refreshes_on_the_runtime() {
    assert_eq!(fetch(7, "a".into()).await, Ok("7a!0".into()));
    fetch_mock().advance(2 * MIN);
    assert_eq!(fetch(7, "a".into()).await, Ok("7a!0".into()));
    for _ in 0..4000 {
        if fetch_cache().get(&(7, "a".to_owned())).as_deref() == Some("7a!1") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the async refresh did not land");
}

mock_clock!(idle_clock, idle_mock, idle_pair);

#[cached(backend = ["memory", "file"], cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/freshness/idle"), time_to_idle = "10m", clock = idle_clock)]
fn idle(n: u32) -> u32 {
    n * 2
}

#[test]
fn time_to_idle_keeps_entries_in_use() {
    idle_cache().clear().unwrap();
    keeps_entries_in_use(idle, idle_cache(), idle_mock());
}

// The same with the memory tier alone (built by `__private::memory_build` from its site's
// options): the idle time is not a ttl, an entry in use stays past it.
mock_clock!(idle_memory_clock, idle_memory_mock, idle_memory_pair);

#[cached(time_to_idle = "10m", clock = idle_memory_clock)]
fn idle_in_memory(n: u32) -> u32 {
    n * 2
}

#[test]
fn time_to_idle_keeps_entries_in_use_in_memory() {
    keeps_entries_in_use(idle_in_memory, idle_in_memory_cache(), idle_memory_mock());
}

/// With a 10 min idle time: an entry read every 5 min stays for 20 min, one left alone goes.
fn keeps_entries_in_use(
    call: fn(u32) -> u32,
    cache: &cacher::Cache<(u32,), u32>,
    mock: &MockClock,
) {
    call(1);
    call(2);
    for _ in 0..4 {
        mock.advance(5 * MIN);
        assert_eq!(cache.get(&(1,)), Some(2));
    }
    assert_eq!(cache.get(&(2,)), None, "idle for 20 min");
}

mock_clock!(down_clock, down_mock, down_pair);
static DOWN_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_if_error = "1h", error_backoff = "5m", clock = down_clock)]
fn down(fail: bool) -> Result<u32, String> {
    DOWN_CALLS.fetch_add(1, Ordering::SeqCst);
    if fail { Err("down".into()) } else { Ok(1) }
}

#[test]
fn an_outage_calls_the_failing_function_once_per_backoff() {
    down_cache().insert(&(true,), 1).unwrap();
    down_mock().advance(2 * MIN);
    for _ in 0..5 {
        assert_eq!(down(true), Ok(1));
    }
    assert_eq!(DOWN_CALLS.load(Ordering::SeqCst), 1);
    // Its own 5 min, not the default 30 s: a minute on, the function is still not called.
    down_mock().advance(MIN);
    assert_eq!(down(true), Ok(1));
    assert_eq!(DOWN_CALLS.load(Ordering::SeqCst), 1);
    down_mock().advance(4 * MIN);
    assert_eq!(down(true), Ok(1));
    assert_eq!(DOWN_CALLS.load(Ordering::SeqCst), 2);
}

mock_clock!(async_clock, async_mock, async_pair);
static ASYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(
    backend = ["memory", "file"],
    cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/freshness/async_token"),
    ttl = "1h",
    ttl_fn = token_ttl,
    time_to_idle = "1d",
    stale_if_error = "1h",
    clock = async_clock
)]
async fn async_token(user: u32, fail: bool) -> Result<Token, String> {
    ASYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    if fail {
        return Err("down".into());
    }
    Ok(Token {
        user,
        expires_in: 60,
    })
}

#[tokio::test]
async fn an_async_fn_honours_ttl_fn_idle_time_and_the_error_backoff() {
    async_token_cache().clear().unwrap();
    let calls = || ASYNC_CALLS.load(Ordering::SeqCst);
    async_token(1, false).await.unwrap();
    async_mock().advance(Duration::from_secs(59));
    async_token(1, false).await.unwrap();
    assert_eq!(calls(), 1, "within its own 60 s");
    async_mock().advance(Duration::from_secs(2));
    let token = async_token(1, false).await.unwrap();
    assert_eq!(calls(), 2, "past its own 60 s, not the fixed hour");
    // A stale entry and a failing function: the stale token is served, and for the backoff
    // the function is not called again.
    async_token_cache().insert(&(1, true), token).unwrap();
    async_mock().advance(2 * MIN);
    for _ in 0..3 {
        assert_eq!(async_token(1, true).await.map(|t| t.user), Ok(1));
    }
    assert_eq!(calls(), 3, "one failing call for three");
}
