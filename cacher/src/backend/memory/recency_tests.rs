//! The eviction order of a hit whose key's `Eq` is slow: the hit counts as a use when it reads
//! its entry, not when it started (an insert another thread made meanwhile is older).

use std::sync::atomic::{AtomicU8, Ordering};

use super::MemoryBackend;
use super::tests::at;

/// The pause of [`Slow`]'s `Eq`: 0 none, 1 the next `Eq` pauses, 2 paused, 3 go on.
static PAUSE: AtomicU8 = AtomicU8::new(0);

/// A key whose `Eq` can be made to wait ([`PAUSE`]), as a long key's comparison takes time.
#[derive(Clone, serde::Serialize)]
struct Slow(u64);

impl std::hash::Hash for Slow {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state); // as Eq compares: by the number
    }
}

impl PartialEq for Slow {
    fn eq(&self, other: &Self) -> bool {
        if PAUSE
            .compare_exchange(1, 2, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            while PAUSE.load(Ordering::Acquire) != 3 {
                std::thread::yield_now();
            }
        }
        self.0 == other.0
    }
}

impl Eq for Slow {}

fn get(memory: &MemoryBackend<Slow, u32>, key: u64) -> Option<u32> {
    let key = Slow(key);
    let found = memory.get_hashed(memory.hash(&key), &key).ok();
    found.map(|(value, _)| value)
}

#[test]
fn a_hit_from_the_index_whose_eq_outlasts_an_insert_counts_as_used_after_it() {
    // One shard (under 64 entries): exact LRU.
    let memory: MemoryBackend<Slow, u32> = MemoryBackend::new().max_entries(2);
    memory.insert(Slow(1), 1, at(0));
    memory.insert(Slow(2), 2, at(0));
    for _ in 0..8 {
        assert_eq!(get(&memory, 1), Some(1)); // 1 joins this thread's index; 2 is the oldest
    }
    assert_eq!(memory.tier.index.as_ref().map(|i| i.indexed()), Some(1));
    PAUSE.store(1, Ordering::Release);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while PAUSE.load(Ordering::Acquire) != 2 {
                std::thread::yield_now();
            }
            // While 1's lookup compares keys: 3 comes in, 2 goes.
            assert_eq!(memory.insert(Slow(3), 3, at(0)).evicted, 1);
            PAUSE.store(3, Ordering::Release);
        });
        // Served by the index, once its `Eq` returns: after 3 came in.
        assert_eq!(get(&memory, 1), Some(1));
    });
    PAUSE.store(0, Ordering::Release);
    assert_eq!(get(&memory, 2), None);
    // 4 comes in: 3 goes, as 1 was used after 3 was inserted.
    assert_eq!(memory.insert(Slow(4), 4, at(0)).evicted, 1);
    assert_eq!(get(&memory, 1), Some(1), "1, used after 3, was evicted");
    assert_eq!(get(&memory, 3), None);
}
