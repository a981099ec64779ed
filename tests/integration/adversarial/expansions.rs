//! Two `#[cached]` functions that one `macro_rules!` expansion writes at the same place, and a
//! `clock` that is a function of the user's: each function has its own cache, and its cache and
//! rate limiter run on one clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Clock, MockClock, cached};

/// One function per value, each `fn one()` in a block of its own, all written by one
/// invocation: `line!()` and `column!()` give every one the invocation's place, and their
/// names are alike.
macro_rules! table {
    ($($v:expr),*) => {
        fn table() -> Vec<u32> {
            vec![$({
                #[cached]
                fn one() -> u32 {
                    $v
                }
                one()
            }),*]
        }
    };
}

table!(1, 2, 3);

#[test]
fn functions_one_macro_writes_at_one_place_each_have_their_own_cache() {
    // Before: [1, 1, 1] — the three shared the first one's cache.
    assert_eq!(table(), vec![1, 2, 3]);
    assert_eq!(table(), vec![1, 2, 3]);
}

static CLOCKS: AtomicUsize = AtomicUsize::new(0);
static MOCKS: Mutex<Vec<Arc<MockClock>>> = Mutex::new(Vec::new());

/// A fresh mock clock each call, its handle kept: a clock function a test would write.
fn fresh_clock() -> Clock {
    CLOCKS.fetch_add(1, Ordering::SeqCst);
    let (clock, mock) = Clock::mock();
    MOCKS.lock().unwrap().push(mock);
    clock
}

#[cached(ttl = "1h", rate_limit = "1s", clock = fresh_clock)]
fn limited(n: u32) -> u32 {
    n + 1
}

#[test]
fn the_clock_function_makes_one_clock_for_the_cache_and_its_rate_limiter() {
    assert_eq!(limited(1), 2);
    // Before: two clocks, the cache's and the limiter's, which a test advanced apart.
    assert_eq!(CLOCKS.load(Ordering::SeqCst), 1, "one clock for both");
    let mock = Arc::clone(&MOCKS.lock().unwrap()[0]);
    // The limiter's next start is due a second after the first, on the one clock.
    mock.advance(Duration::from_secs(1));
    assert_eq!(limited(2), 3);
    mock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(limited(1), 2, "expired on the same clock, computed again");
    assert_eq!(limited_cache().stats().misses, 3);
}
