//! Two controls of one cache, one inside the other: a `lookup` around a `refresh` (to learn
//! where the refreshed value came from) and a `refresh` around a `lookup`. The call inside takes
//! both: it is refreshed, and the lookup tells its origin. (Before, the inner control took the
//! call alone: the outer `lookup` panicked, saying its closure made no call of the cache, and an
//! outer `refresh` steered nothing.)

use std::sync::atomic::{AtomicU32, Ordering};

use cacher::{Cache, Origin};

fn cache_with_old_value() -> Cache<u32, u32> {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    cache.insert(&1, 10).unwrap();
    cache
}

#[test]
fn a_lookup_around_a_refresh_tells_the_refreshed_calls_origin() {
    let cache = cache_with_old_value();
    let runs = AtomicU32::new(0);
    let compute = || cache.get_or_compute(&1, || 20 + runs.fetch_add(1, Ordering::SeqCst));
    let seen = cache.lookup(|| cache.refresh(compute));
    assert_eq!((seen.value, seen.origin), (20, Origin::Computed));
    assert_eq!(cache.get(&1), Some(20), "refreshed");
}

#[test]
fn a_refresh_around_a_lookup_refreshes_the_call_the_lookup_observes() {
    let cache = cache_with_old_value();
    let seen = cache.refresh(|| cache.lookup(|| cache.get_or_compute(&1, || 30)));
    assert_eq!((seen.value, seen.origin), (30, Origin::Computed));
    assert_eq!(cache.get(&1), Some(30), "refreshed");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn the_async_forms_nest_alike() {
    let cache = cache_with_old_value();
    let call = cache.get_or_compute_async(&1, || async { 40 });
    let seen = cache.lookup_async(cache.refresh_async(call)).await;
    assert_eq!((seen.value, seen.origin), (40, Origin::Computed));
    assert_eq!(cache.get(&1), Some(40), "refreshed");
}
