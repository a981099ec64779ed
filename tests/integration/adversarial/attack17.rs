//! Session 17's attacks: the key hashed once per miss (its hash carried from the memory lookup
//! to the flight and the insert), flight key boxes reused, and the companion found per thread.

use std::sync::Arc;

use cacher::Cache;
use cacher::key::Encoded;
use serde::{Serialize, Serializer};

/// A key argument whose `Serialize` always fails: its `Encoded` key equals no other.
struct Unwritable;

impl Serialize for Unwritable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("no"))
    }
}

/// A key that cannot be encoded is never served from memory; nor may it be kept there: each
/// call's value would stay in an unbounded memory tier for good, one more per call.
#[test]
fn an_unencodable_key_leaves_no_entry_in_memory() {
    let cache: Cache<Encoded, Arc<()>> = Cache::builder().build().unwrap();
    let value = Arc::new(());
    for _ in 0..100 {
        cache.get_or_compute(&Unwritable, || Arc::clone(&value));
    }
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "values kept under keys no call finds"
    );
}

static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A clock function whose first call panics: the first build of its cache fails.
fn flaky_clock() -> cacher::Clock {
    if BUILDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        panic!("first build fails");
    }
    cacher::Clock::system()
}

#[cacher::cached(ttl = "1h", clock = flaky_clock)]
fn after_panic(n: u32) -> u32 {
    n * 2
}

/// A build that panicked leaves nothing half made: the next call builds the cache, and the
/// function and its companion, called from many threads, find one cache.
#[test]
fn after_a_build_panicked_function_and_companion_find_one_cache() {
    assert!(std::panic::catch_unwind(|| after_panic(1)).is_err());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let cache = after_panic_cache();
                assert_eq!(after_panic(t), t * 2);
                (cache as *const Cache<(u32,), u32>) as usize
            })
        })
        .collect();
    let found: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(found.windows(2).all(|w| w[0] == w[1]), "{found:?}");
    assert_eq!(after_panic_cache().get(&(3,)), Some(6));
    assert_eq!(after_panic_cache().stats().misses, 4);
}
