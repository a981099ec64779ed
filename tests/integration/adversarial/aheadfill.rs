//! The read-ahead of a blocking call (`cache/miss/ahead.rs`) is for a cache without a memory
//! tier, where the memory lookup answers `Absent`. A memory tier answers `Absent` too when its
//! entry has expired: a call of such a cache must still fill the memory tier from a fresh entry
//! of its first persistent tier (`Cache::get`'s promise), not serve it as a read-ahead hit that
//! copies it nowhere.

use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, SeparateFileBackend};

const MIN: Duration = Duration::from_secs(60);

/// This process's cache (a memory tier over the directory), and another process's (the
/// directory only), on one clock.
fn processes(
    dir: &std::path::Path,
) -> (
    Cache<u32, u64>,
    Cache<u32, u64>,
    std::sync::Arc<cacher::MockClock>,
) {
    let (clock, mock) = Clock::mock();
    let build = |memory: bool, clock: Clock| {
        let builder = match memory {
            true => Cache::builder().backend(MemoryBackend::new()),
            false => Cache::builder(),
        };
        builder
            .namespace("aheadfill")
            .backend(SeparateFileBackend::new(dir))
            .ttl(MIN)
            .clock(clock)
            .build()
            .unwrap()
    };
    let this = build(true, clock.clone());
    let other = build(false, clock);
    (this, other, mock)
}

/// This process's memory entry expired; another process stored a fresh value in the directory;
/// this process reads it there, then the other removes it from the directory: the value this
/// process read is in its memory tier (a hit there is copied into the tiers before it).
fn after_expiry(call: impl Fn(&Cache<u32, u64>) -> Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let (this, other, mock) = processes(dir.path());
    this.insert(&1, 1).unwrap();
    mock.advance(2 * MIN);
    other.insert(&1, 2).unwrap();
    assert_eq!(call(&this), Some(2), "the directory's fresh value");
    other.remove(&1).unwrap();
    assert_eq!(
        this.get(&1),
        Some(2),
        "the fresh value read from the directory was copied into the memory tier"
    );
}

#[test]
fn a_get_after_the_memory_entry_expired_fills_the_memory_tier() {
    after_expiry(|cache| cache.get(&1));
}

#[test]
fn a_get_or_compute_after_the_memory_entry_expired_fills_the_memory_tier() {
    after_expiry(|cache| Some(cache.get_or_compute(&1, || unreachable!("a hit in the directory"))));
}
