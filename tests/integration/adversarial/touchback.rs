//! A use recorded (`time_to_idle`) by rewriting a shared tier's entry, against another process
//! that replaces that entry between the read the use is recorded from and its rewrite: the
//! rewrite must not put back the value the other process replaced (README, *Freshness*: "a use
//! never brings back a value that another process … replaced or removed since").
//!
//! The other process's write is made at the exact point by a tier that wraps a real file tier
//! and runs it right after its read returns (as a process scheduled there would).

use std::sync::Arc;
use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, MockClock, SeparateFileBackend};

use super::{Hooked, When};

const MIN: Duration = Duration::from_secs(60);

/// A cache of "another process" on `dir`: memory in front of its files, `time_to_idle`.
fn process(dir: &std::path::Path, clock: &Clock) -> Cache<u32, u64> {
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .time_to_idle(8 * MIN)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// This process's cache on `dir` (memory in front of the hooked file tier, or the file tier
/// alone), the other process's, and the clock they share.
fn this_and_another(
    dir: &std::path::Path,
    memory: bool,
) -> (Cache<u32, u64>, Hooked, Cache<u32, u64>, Arc<MockClock>) {
    let (clock, mock) = Clock::mock();
    let tier = Hooked::new(dir, When::AfterRead);
    let mut builder = Cache::builder();
    if memory {
        builder = builder.backend(MemoryBackend::new());
    }
    let this = builder
        .backend(tier.clone())
        .time_to_idle(8 * MIN)
        .clock(clock.clone())
        .build()
        .unwrap();
    (this, tier, process(dir, &clock), mock)
}

/// Key 1 is 1 in the shared file; a quarter of the idle window later a call of this process
/// records its use; the other process inserts 2 just after this one's read of the file.
fn race(memory: bool) -> Option<u64> {
    let dir = tempfile::tempdir().unwrap();
    let (this, tier, other, mock) = this_and_another(dir.path(), memory);
    this.insert(&1, 1).unwrap();
    mock.advance(3 * MIN);
    let writer = other.clone();
    let clock = Arc::clone(&mock);
    tier.arm(move || {
        clock.advance(Duration::from_millis(1));
        writer.insert(&1, 2).unwrap();
    });
    assert_eq!(
        this.get(&1),
        Some(1),
        "the value read before the other write"
    );
    // A use recorded from memory reads no file (none is rewritten): the other write lands
    // after the use instead, which is the latest it can.
    let unread = tier.hook.lock().unwrap().take();
    if let Some(hook) = unread {
        assert!(memory, "a hit in the file tier reads the file");
        hook();
    }
    // A third process, started now, reads the shared file.
    let (clock, _) = Clock::mock();
    let third = process(dir.path(), &clock);
    third.get(&1)
}

/// A hit in the file tier (no memory tier) whose use is due is copied back into the tier it was
/// read from (`Core::found`, `upto = tier + 1`) with no check that the file still holds that
/// write: the other process's 2, inserted between the read and the rewrite, is overwritten with
/// the 1 it replaced.
#[test]
fn a_use_recorded_from_a_tiers_hit_does_not_write_back_a_value_another_process_replaced() {
    assert_eq!(
        race(false),
        Some(2),
        "another process inserted 2 after this one read 1 from the shared file; this one's use, \
         recorded by rewriting the file, put the replaced 1 back over it"
    );
}

/// The same with a memory tier, whose entry's use is due: the file was read first to check that
/// it held the write the memory entry came from — and the other process wrote just after. (Now
/// the use is recorded in memory alone: the other write lands after it.)
#[test]
fn a_use_recorded_from_memory_does_not_write_back_a_value_another_process_replaced_after_the_check()
{
    assert_eq!(
        race(true),
        Some(2),
        "another process inserted 2 after this one checked that the file held its 1; this one's \
         use, recorded by rewriting the file, put the replaced 1 back over it"
    );
}
