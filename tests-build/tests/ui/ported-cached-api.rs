// Code ported from the `cached` crate's API as it is: its cache types, its `Cached` trait's
// methods on a `#[cached]` function's cache, its `Return`. Each import is a warning, each use an
// error, that says what cacher calls it (before, rustc's `no method named cache_clear`, or its
// advice to import the `cached` macro for `Cached`).

use cacher::cached;
use cacher::{Cached, Return, SizedCache, TimedCache, TimedSizedCache, UnboundCache};

#[cached]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn main() {
    let _sized: SizedCache<u64, u64> = SizedCache::with_size(100);
    let _timed: TimedCache<u64, u64> = TimedCache::with_lifespan(60);
    let _both: TimedSizedCache<u64, u64> = TimedSizedCache::with_size_and_lifespan(100, 60);
    let _unbound: UnboundCache<u64, u64> = UnboundCache::new();
    let _flagged: Option<Return<u64>> = None;
    let cache = fib_cache();
    let _ = cache.cache_get(&3);
    let _ = cache.cache_get_mut(&3);
    let _ = cache.cache_get_or_set_with(3, || 2);
    let _ = cache.cache_set(3, 2);
    let _ = cache.cache_remove(&3);
    cache.cache_clear();
    cache.cache_reset();
    cache.cache_reset_metrics();
    let _ = cache.cache_size();
    let _ = cache.cache_hits();
    let _ = cache.cache_misses();
    let _ = cache.cache_capacity();
    let _ = cache.cache_lifespan();
    let _ = cache.cache_set_lifespan(60);
}
