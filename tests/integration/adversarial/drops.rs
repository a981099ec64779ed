//! A value whose `Drop` panics (attack 16), as `remove` and `clear` already hold to: the panic
//! reaches the caller, and no tier is left serving a value that the others replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use serde::{Deserialize, Serialize};

/// A value whose drop panics when `n` is 0 and its flag is set (not during another panic).
#[derive(Clone, Serialize, Deserialize)]
struct Bomb {
    n: u64,
    #[serde(skip)]
    armed: Arc<AtomicBool>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.n == 0 && self.armed.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!("the old value's drop failed");
        }
    }
}

#[test]
fn an_insert_whose_replaced_value_panics_on_drop_leaves_no_tier_with_the_older_value() {
    let dir = tempfile::tempdir().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let bomb = |n| Bomb {
        n,
        armed: Arc::clone(&armed),
    };
    let cache: Cache<u32, Bomb> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(1))
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert(&1, bomb(0)).unwrap();
    armed.store(true, Ordering::SeqCst);
    // The memory tier drops the replaced 0, whose drop panics: the caller sees the panic.
    let inserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.insert(&1, bomb(1)).unwrap();
    }));
    armed.store(false, Ordering::SeqCst);
    assert!(inserted.is_err(), "the drop's panic reached the caller");
    assert_eq!(cache.get(&1).map(|v| v.n), Some(1), "the memory tier has 1");
    // Key 2 takes the memory tier's one place: key 1 is read from the file tier now.
    cache.insert(&2, bomb(2)).unwrap();
    let after = cache.get(&1).map(|v| v.n);
    assert_ne!(
        after,
        Some(0),
        "1 was served, then the value it replaced: the insert's panic (in the memory tier, \
         first) cut it short before the file tier was written"
    );
}
