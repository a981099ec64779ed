//! Values whose `Drop` uses the tier they leave, or panics: dropped once the shard is unlocked,
//! and counted before.

use super::MemoryBackend;
use crate::entry::Stamp;

const AT: Stamp = Stamp {
    created_ms: 0,
    ttl_ms: None,
    touched_ms: 0,
};

static TIER: std::sync::OnceLock<MemoryBackend<u64, Reentrant>> = std::sync::OnceLock::new();

/// A value whose drop looks into [`TIER`], as a value flushing itself to a cache might.
#[derive(Clone)]
struct Reentrant;

impl Drop for Reentrant {
    fn drop(&mut self) {
        if let Some(memory) = TIER.get() {
            // A lookup now would wait forever for a write lock this thread holds.
            let held = memory
                .tier
                .active()
                .iter()
                .any(|shard| shard.try_read().is_err());
            assert!(!held, "a value was dropped under a shard's write lock");
        }
    }
}

#[test]
fn values_leaving_the_tier_are_dropped_with_no_shard_locked() {
    let memory = TIER.get_or_init(|| MemoryBackend::new().max_entries(2));
    memory.insert(1, Reentrant, AT);
    memory.insert(1, Reentrant, AT); // replaced
    memory.insert(2, Reentrant, AT);
    memory.insert(3, Reentrant, AT); // evicts
    assert!(memory.remove(&3));
    memory.clear();
    assert_eq!(memory.len(), 0);
}

/// A value whose drop panics.
#[derive(Clone)]
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        assert!(std::thread::panicking(), "boom");
    }
}

#[test]
fn a_removal_whose_drop_panics_still_counts_towards_max_entries() {
    let memory: MemoryBackend<u64, Bomb> = MemoryBackend::new().max_entries(2);
    memory.insert(1, Bomb, AT);
    let removed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| memory.remove(&1)));
    assert!(removed.is_err());
    for k in [2, 3] {
        memory.insert(k, Bomb, AT);
    }
    assert_eq!(memory.len(), 2, "room for 2 again");
    std::mem::forget(memory); // its values would panic
}

/// A value whose drop panics unless a panic is under way already.
#[derive(Clone)]
struct Loud;

impl Drop for Loud {
    fn drop(&mut self) {
        assert!(std::thread::panicking(), "boom");
    }
}

#[test]
fn a_clear_cut_short_by_a_panicking_drop_still_empties_every_shard() {
    let memory: MemoryBackend<u64, Loud> = MemoryBackend::new(); // 16 shards
    for k in 0..256 {
        memory.insert(k, Loud, AT);
    }
    let cleared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(memory.clear())));
    assert!(cleared.is_err());
    // The first shard's drop panicked: the other shards must not keep what the clear removed.
    assert_eq!(memory.len(), 0, "entries left after the clear");
    std::mem::forget(memory); // its values would panic
}
