//! The companion `<name>_cache()` of a function without `self` keeps no static of its own: it
//! finds the cache at each call (`__private::companion_cache`). Whichever comes first, from
//! whichever thread, it is the one cache the function uses, in a module and in an impl.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cacher::cached;

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn squared(n: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    n * n
}

struct Prices;

static PRICE_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Prices {
    // No receiver: the attribute cannot tell it from a function at the top of a module.
    #[cached]
    fn price(id: u32) -> u32 {
        PRICE_RUNS.fetch_add(1, Ordering::SeqCst);
        id * 100
    }
}

#[test]
fn the_companion_found_first_from_many_threads_is_the_functions_cache() {
    // Before the function's first call, from eight threads at once: one cache for all.
    let found: Vec<usize> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| std::ptr::from_ref(squared_cache()) as usize))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(found.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(squared(3), 9);
    assert_eq!(squared(3), 9);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    // The function's entries are in the cache the companion gives, again and again.
    for _ in 0..3 {
        let cache = squared_cache();
        assert_eq!(std::ptr::from_ref(cache) as usize, found[0]);
        assert_eq!(cache.stats().hits, 1);
        assert_eq!(cache.peek(&(3,)), Some(9));
    }
    squared_cache().remove(&(3,)).unwrap();
    assert_eq!(squared(3), 9);
    assert_eq!(
        RUNS.load(Ordering::SeqCst),
        2,
        "the removal reached the function's cache"
    );
}

static BUILDS: AtomicUsize = AtomicUsize::new(0);

/// `built_once`'s clock, made once per build of its cache. The first build waits a moment for
/// a second to begin (the first calls of many threads at once), so that two builds, if the
/// registry lets them happen, overlap.
fn counted_clock() -> cacher::Clock {
    let first = BUILDS.fetch_add(1, Ordering::SeqCst) == 0;
    let until = Instant::now() + Duration::from_millis(300);
    while first && BUILDS.load(Ordering::SeqCst) == 1 && Instant::now() < until {
        std::thread::yield_now();
    }
    cacher::Clock::system()
}

#[cached(ttl = "1h", clock = counted_clock)]
fn built_once(n: u64) -> u64 {
    n + 1
}

#[test]
fn the_first_companion_calls_of_many_threads_build_its_cache_once() {
    // Before: each thread that found no cache built one (a directory made, a store opened), and
    // the first recorded won: eight threads at once, up to eight builds.
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                built_once_cache();
            });
        }
    });
    assert_eq!(
        BUILDS.load(Ordering::SeqCst),
        1,
        "one build for eight threads"
    );
    assert_eq!(built_once(1), 2);
    assert_eq!(built_once_cache().stats().misses, 1);
    assert_eq!(
        BUILDS.load(Ordering::SeqCst),
        1,
        "the function found the same cache"
    );
}

#[test]
fn the_companion_of_an_associated_function_is_its_cache_after_its_first_call() {
    assert_eq!(Prices::price(2), 200);
    let cache = Prices::price_cache();
    assert_eq!(cache.peek(&(2,)), Some(200));
    assert_eq!(cache.stats().misses, 1);
    cache.clear().unwrap();
    assert_eq!(Prices::price(2), 200);
    assert_eq!(PRICE_RUNS.load(Ordering::SeqCst), 2);
}

#[cached]
fn tripled(n: u64) -> u64 {
    n * 3
}

/// Calls the companion as the thread's locals are destroyed.
struct AtExit(std::sync::mpsc::Sender<u64>);

impl Drop for AtExit {
    fn drop(&mut self) {
        let _ = self.0.send(tripled_cache().stats().misses);
    }
}

thread_local! {
    static AT_EXIT: std::cell::RefCell<Option<AtExit>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn the_companion_answers_from_a_thread_local_destructor() {
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        AT_EXIT.with_borrow_mut(|at_exit| *at_exit = Some(AtExit(sent)));
        assert_eq!(tripled(2), 6);
        // The companion's table of this thread, made after `AT_EXIT`, is destroyed before it.
        assert_eq!(tripled_cache().stats().misses, 1);
    })
    .join()
    .expect("the thread's end does not panic");
    assert_eq!(received.recv().unwrap(), 1);
}
