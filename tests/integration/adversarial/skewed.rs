//! Attacks through the time a writer's clock gives its entries: a writer whose clock runs ahead
//! (a VM booted with a wrong clock, NTP's correction, a test's mock clock on a shared store).

use std::time::Duration;

use cacher::{Cache, Clock, StoreBackend};

fn store_cache(dir: &std::path::Path, clock: Clock) -> Cache<u64, String> {
    Cache::builder()
        .namespace("app::skewed")
        .backend(StoreBackend::new(dir))
        .ttl(Duration::from_secs(60))
        .clock(clock)
        .build()
        .unwrap()
}

/// One write stamped a year ahead made the store's "now" (the newest creation time it saw) a
/// year ahead for good: every later write of a correct clock was dropped as expired in its own
/// transaction, and `clear` did not undo it — the store kept nothing of the namespace.
#[test]
fn a_write_from_a_clock_a_year_ahead_does_not_expire_every_later_entry_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (ahead, mock) = Clock::mock();
    mock.advance(Duration::from_secs(365 * 24 * 3600));
    store_cache(dir.path(), ahead)
        .insert(&0, "from the future".into())
        .unwrap();
    let cache = store_cache(dir.path(), Clock::system());
    cache.insert(&1, "one".into()).unwrap();
    assert_eq!(cache.get(&1).as_deref(), Some("one"));
    cache.clear().unwrap();
    cache.insert(&2, "two".into()).unwrap();
    cache.insert(&3, "three".into()).unwrap();
    assert_eq!(cache.get(&2).as_deref(), Some("two"));
    assert_eq!(cache.get(&3).as_deref(), Some("three"));
}

/// An entry whose last use is dated further ahead of now than the idle window (written by a
/// clock a day ahead) is idle, as one made further ahead than its ttl is expired: no honest
/// clock skew explains it. Before, its idle time was counted as zero until the clock caught up
/// with it: a cache with `time_to_idle` (and no ttl) served it for a day, where its idle
/// window is 30 minutes, and every process reading the shared directory did too.
#[test]
fn an_entry_used_further_ahead_than_its_idle_window_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let build = |clock: Clock| -> Cache<u64, String> {
        Cache::builder()
            .namespace("app::skewed_idle")
            .backend(cacher::SeparateFileBackend::new(dir.path()))
            .time_to_idle(Duration::from_secs(30 * 60))
            .clock(clock)
            .build()
            .unwrap()
    };
    let (ahead, mock) = Clock::mock();
    mock.advance(Duration::from_secs(24 * 3600));
    build(ahead).insert(&1, "from a day ahead".into()).unwrap();
    let (now, _) = Clock::mock();
    assert_eq!(build(now).get(&1), None, "idle a day ahead");
    // Within one idle window ahead (an honest skew), it is still served.
    let (ahead, mock) = Clock::mock();
    mock.advance(Duration::from_secs(10 * 60));
    build(ahead).insert(&2, "ten minutes ahead".into()).unwrap();
    let (now, _) = Clock::mock();
    assert_eq!(build(now).get(&2).as_deref(), Some("ten minutes ahead"));
}
