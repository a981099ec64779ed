//! time_to_idle: entries in use stay, idle ones expire, in memory and on disk, and a hot entry
//! is not rewritten on every hit.

use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, SeparateFileBackend};

use super::MIN;

#[test]
fn an_entry_in_use_stays_and_an_idle_one_expires_in_memory() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .time_to_idle(10 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    cache.insert(&2, 2).unwrap();
    for _ in 0..6 {
        mock.advance(5 * MIN);
        assert_eq!(
            cache.get(&1),
            Some(1),
            "used every 5 min of a 10 min idle window"
        );
    }
    assert_eq!(cache.get(&2), None, "30 min unused");
}

#[test]
fn the_ttl_still_bounds_an_entry_in_use() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl(20 * MIN)
        .time_to_idle(10 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    for _ in 0..3 {
        mock.advance(5 * MIN);
        assert_eq!(cache.get(&1), Some(1));
    }
    mock.advance(5 * MIN);
    assert_eq!(cache.get(&1), None, "20 min old");
}

/// A use is recorded in memory, never by rewriting the file: a file cannot be rewritten only if
/// it still holds the write the use is of, in one step, and a rewrite after a check would put
/// back a value another process replaced in between (`adversarial::touchback`). So the file's
/// idle window counts from its write: this process keeps serving the entry it uses, another
/// process finds the file idle.
#[test]
fn a_use_is_recorded_in_memory_and_the_files_idle_window_counts_from_its_write() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let build = || -> Cache<u32, u64> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .time_to_idle(8 * MIN)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let cache = build();
    cache.insert(&1, 1).unwrap();
    let path = cache.path_of(&1).unwrap();
    let written = || std::fs::read(&path).unwrap();
    let first = written();
    // Hits every 3 minutes, past a quarter window each time: used, and the file not rewritten.
    for _ in 0..4 {
        mock.advance(3 * MIN);
        assert_eq!(cache.get(&1), Some(1), "in use in this process");
    }
    assert_eq!(written(), first, "a use is not written to the file");
    // 12 minutes after its write, another process finds the file idle.
    assert_eq!(
        build().get(&1),
        None,
        "idle since its write, for another process"
    );
}

#[test]
fn a_zero_time_to_idle_is_refused() {
    let built = Cache::<u32, u64>::builder()
        .time_to_idle(Duration::ZERO)
        .build();
    assert!(matches!(built, Err(cacher::Error::Config(_))));
}

#[test]
fn hits_served_by_a_threads_index_record_the_use_that_every_thread_sees() {
    // Many hits per step, so that this thread's memory-tier index serves them (a lookup that
    // takes no lock); the use they record must keep the entry alive for another thread, and
    // an idle or aged entry must expire through the index as through the shared table.
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl(60 * MIN)
        .time_to_idle(10 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    cache.insert(&2, 2).unwrap();
    let elsewhere = |key| std::thread::scope(|scope| scope.spawn(|| cache.get(&key)).join());
    for step in 0..11 {
        mock.advance(5 * MIN);
        for _ in 0..50 {
            assert_eq!(cache.get(&1), Some(1), "step {step}");
        }
        assert_eq!(
            elsewhere(1).unwrap(),
            Some(1),
            "step {step}, another thread"
        );
    }
    assert_eq!(cache.get(&2), None, "55 min unused");
    mock.advance(5 * MIN);
    assert_eq!(cache.get(&1), None, "60 min old: the ttl, in use or not");
    assert_eq!(elsewhere(1).unwrap(), None);
    cache.insert(&3, 3).unwrap();
    for _ in 0..50 {
        assert_eq!(cache.get(&3), Some(3));
    }
    mock.advance(11 * MIN);
    assert_eq!(cache.get(&3), None, "idle 11 min, though indexed");
}
