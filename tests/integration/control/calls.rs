//! Steering one call of a `#[cached]` function in its own terms, without changing its signature.

use std::sync::atomic::{AtomicUsize, Ordering};

use cacher::{Cache, Origin, cached};
use cacher_tests::{Calls, cache_with_a_stale_entry};

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn fetch(endpoint: &str, user: u32) -> String {
    let run = RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{endpoint}?user={user}#{run}")
}

#[test]
fn refresh_computes_and_stores_even_over_a_fresh_entry() {
    let first = fetch("/refresh", 1);
    assert_eq!(fetch("/refresh", 1), first, "a hit");
    let refreshed = fetch_cache().refresh(|| fetch("/refresh", 1));
    assert_ne!(refreshed, first, "the body ran again");
    assert_eq!(fetch("/refresh", 1), refreshed, "and its value was stored");
}

#[cached]
fn report(id: u32) -> String {
    let run = RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{id}#{run}")
}

#[test]
fn bypass_runs_the_body_and_leaves_the_cache_as_it_was() {
    let cached = report(1);
    let stats = report_cache().stats();
    let bypassed = report_cache().bypass(|| report(1));
    assert_ne!(bypassed, cached, "the body ran");
    assert_eq!(
        report_cache().peek(&(1,)),
        Some(cached),
        "the entry is as it was"
    );
    assert!(report_cache().bypass(|| report(2)).starts_with("2#"));
    assert_eq!(report_cache().peek(&(2,)), None, "nothing stored");
    let after = report_cache().stats();
    assert_eq!(
        (after.hits, after.misses),
        (stats.hits, stats.misses),
        "nothing counted"
    );
}

#[test]
fn invalidate_prime_and_peek_take_the_arguments_as_the_function_does() {
    let first = fetch("/keyed", 7);
    fetch_cache().remove(&("/keyed", 7)).unwrap();
    assert_eq!(fetch_cache().peek(&("/keyed", 7)), None);
    assert_ne!(fetch("/keyed", 7), first, "removed, so computed again");

    fetch_cache()
        .insert(&("/primed", 7), "given".to_owned())
        .unwrap();
    let hits = fetch_cache().stats().hits;
    assert_eq!(
        fetch_cache().peek(&("/primed", 7)).as_deref(),
        Some("given")
    );
    assert_eq!(fetch_cache().stats().hits, hits, "a peek counts no hit");
    assert_eq!(fetch("/primed", 7), "given", "the primed value is served");
}

#[test]
fn lookup_tells_a_computed_value_from_a_hit() {
    let computed = fetch_cache().lookup(|| fetch("/origin", 1));
    assert_eq!(computed.origin, Origin::Computed);
    let hit = fetch_cache().lookup(|| fetch("/origin", 1));
    assert_eq!((hit.value, hit.origin), (computed.value, Origin::Hit));
}

#[test]
fn lookup_tells_a_stale_value_served_because_the_function_failed() {
    let cache = cache_with_a_stale_entry();
    let stale = cache.lookup(|| cache.try_get_or_compute("k", || Err::<u64, _>("down")));
    assert_eq!((stale.value, stale.origin), (Ok(1), Origin::Stale));
    assert!(stale.origin.is_cached());
}

#[test]
#[should_panic(expected = "made no call of this cache")]
fn lookup_around_no_call_of_the_cache_is_a_bug_that_panics() {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let _ = cache.lookup(|| 1);
}

static FIB_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn fib(n: u64) -> u64 {
    FIB_RUNS.fetch_add(1, Ordering::SeqCst);
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn a_control_steers_the_call_it_wraps_not_the_calls_of_its_body() {
    assert_eq!(fib(20), 6765);
    let runs = FIB_RUNS.load(Ordering::SeqCst);
    assert_eq!(fib_cache().refresh(|| fib(20)), 6765);
    assert_eq!(
        FIB_RUNS.load(Ordering::SeqCst),
        runs + 1,
        "fib(19), fib(18) were hits"
    );
    assert_eq!(fib_cache().lookup(|| fib(20)).origin, Origin::Hit);
}

#[test]
fn a_control_of_one_cache_leaves_other_caches_alone() {
    let calls = Calls::default();
    let other: Cache<u32, usize> = Cache::builder().build().unwrap();
    other.get_or_compute(&1, || 0);
    let value = fetch_cache().refresh(|| {
        other.get_or_compute(&1, || {
            calls.hit();
            1
        })
    });
    assert_eq!(
        (value, calls.count()),
        (0, 0),
        "the other cache's entry was a hit"
    );
}

struct Client {
    base: String,
}

impl Client {
    #[cached]
    fn get(&self, path: &str) -> String {
        let run = RUNS.fetch_add(1, Ordering::SeqCst);
        format!("{}{path}#{run}", self.base)
    }
}

#[test]
fn methods_are_steered_the_same_way() {
    let client = Client {
        base: "https://a".into(),
    };
    let first = client.get("/m");
    let refreshed = Client::get_cache().refresh(|| client.get("/m"));
    assert_ne!(refreshed, first);
    assert_eq!(
        Client::get_cache().lookup(|| client.get("/m")).origin,
        Origin::Hit
    );
    Client::get_cache().remove(&("/m",)).unwrap();
    assert_eq!(Client::get_cache().peek(&("/m",)), None);
}

/// The rate limiter protects the service the function calls: a bypass calls it too.
#[test]
fn a_bypass_waits_for_the_rate_limiter_as_every_call_of_the_function() {
    let (clock, mock) = cacher::Clock::mock();
    let interval = std::time::Duration::from_secs(1);
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(cacher::RateLimiter::new(interval).with_clock(clock.clone()))
        .clock(clock)
        .build()
        .unwrap();
    let starts = std::sync::Mutex::new(Vec::new());
    let call = || {
        cache.get_or_compute(&1, || {
            starts.lock().unwrap().push(mock.elapsed());
            1
        })
    };
    call();
    cache.bypass(call);
    cache.bypass(call);
    let starts = starts.into_inner().unwrap();
    let gaps: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![interval; 2]);
}

#[cfg(feature = "tokio")]
mod async_calls {
    use super::*;

    static ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

    #[cached]
    async fn load(id: u32) -> usize {
        tokio::task::yield_now().await;
        ASYNC_RUNS.fetch_add(1, Ordering::SeqCst) + id as usize
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_functions_are_steered_with_their_future() {
        let first = load_cache().lookup_async(load(1)).await;
        assert_eq!(first.origin, Origin::Computed);
        assert_eq!(load_cache().lookup_async(load(1)).await.origin, Origin::Hit);
        let refreshed = load_cache().refresh_async(load(1)).await;
        assert_ne!(refreshed, first.value);
        assert_eq!(load(1).await, refreshed, "stored");
        let bypassed = load_cache().bypass_async(load(1)).await;
        assert_ne!(bypassed, refreshed);
        assert_eq!(load(1).await, refreshed, "a bypass stores nothing");
    }

    /// The easy mistake: the sync `refresh` around an `async fn`'s call steers nothing (the
    /// future runs after it returned), and its value looks right. It is said, with what to write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sync_control_around_an_async_call_says_to_use_the_async_one() {
        let first = load(2).await;
        let log = cacher_tests::Log::default();
        let future = {
            let _on_this_thread = log.on_this_thread();
            load_cache().refresh(|| load(2))
        };
        assert_eq!(future.await, first, "not refreshed: an ordinary call");
        let logged = log.text();
        assert!(
            logged.contains("write `refresh_async(fetch(…)).await`"),
            "{logged}"
        );
        let refusal = std::panic::catch_unwind(|| drop(load_cache().lookup(|| load(2))));
        let refusal = refusal.unwrap_err();
        let message = refusal.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("`lookup_async(fetch(…)).await`"),
            "{message}"
        );
    }
}

#[test]
fn a_refresh_wins_over_a_computation_already_under_way() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let (gate, held) = cacher_tests::gate();
    std::thread::scope(|s| {
        let older = s.spawn(|| cache.get_or_compute("k", || held.hold(1)));
        gate.started();
        assert_eq!(cache.refresh(|| cache.get_or_compute("k", || 2)), 2);
        gate.release();
        assert_eq!(older.join().unwrap(), 1, "its caller still gets its value");
    });
    assert_eq!(
        cache.get("k"),
        Some(2),
        "the older value was not stored over the refresh"
    );
}

#[test]
fn a_failed_refresh_returns_the_error_and_keeps_the_entry() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    cache.insert("k", 1).unwrap();
    let failed = cache.refresh(|| cache.try_get_or_compute("k", || Err::<u64, _>("down")));
    assert_eq!(failed, Err("down"));
    assert_eq!(cache.get("k"), Some(1));
}

#[test]
fn lookup_reports_a_hit_in_a_persistent_tier_and_refresh_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let build = || -> Cache<String, u64> {
        Cache::builder()
            .backend(cacher::SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    build().insert("k", 1).unwrap();
    let cache = build();
    let hit = cache.lookup(|| cache.get_or_compute("k", || 9));
    assert_eq!((hit.value, hit.origin), (1, Origin::Hit));
    assert_eq!(cache.refresh(|| cache.get_or_compute("k", || 2)), 2);
    assert_eq!(build().get("k"), Some(2), "the refreshed value is on disk");
}
