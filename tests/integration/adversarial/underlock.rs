//! `remove` and `clear` called from a value's `Clone`, which a hit in the memory tier's shared
//! table runs under the shard's read lock: they must end (done, or refused with an error), never
//! wait forever for the lock their own thread holds. (`insert` from there already ends: its
//! memory write is skipped and reported, `adversarial::stores`.)

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, MemoryBackend};

use super::HookedValue as Hooked;

fn hooked(n: u64) -> Hooked {
    Hooked::new(n)
}

/// On a thread of its own (it may never end): a cache of one shard (a small bound) and no thread
/// index, so that keys 1 and 2 share a shard and a hit clones under its lock; key 1's value runs
/// `during` on the cache when the hit of key 1 clones it. What the hit got, what `during`
/// returned and what key 2 is after; `None` if the hit had not ended within 5 s.
fn hit_running(
    during: fn(&Cache<u32, Hooked>) -> cacher::Result<()>,
) -> Option<(Option<u64>, cacher::Result<()>, Option<u64>)> {
    let (done, ended) = mpsc::channel();
    std::thread::spawn(move || {
        let cache: Cache<u32, Hooked> = Cache::builder()
            .backend(MemoryBackend::new().max_entries(8).thread_index(0))
            .build()
            .unwrap();
        cache.insert(&2, hooked(2)).unwrap();
        let first = hooked(1);
        cache.insert(&1, first.clone()).unwrap();
        let (inner, result) = (cache.clone(), Arc::new(Mutex::new(None)));
        let returned = Arc::clone(&result);
        first.arm(move || {
            *returned.lock().unwrap() = Some(during(&inner));
        });
        let hit = cache.get(&1).map(|v| v.n);
        let result = result.lock().unwrap().take().expect("the hook ran");
        let _ = done.send((hit, result, cache.get(&2).map(|v| v.n)));
    });
    ended.recv_timeout(Duration::from_secs(5)).ok()
}

/// The removal took the memory tier's write lock with no bound (`remove_call` → the tier's
/// `take` → `write_shard`), held for reading by this very thread: it never came.
#[test]
fn a_remove_from_a_values_clone_under_its_shards_lock_does_not_hang() {
    let Some((hit, removed, after)) = hit_running(|cache| cache.remove(&2)) else {
        panic!(
            "remove(2) from key 1's value's Clone (run by a hit under their shard's read lock) \
             never returned: it waits for the write lock its own thread holds"
        );
    };
    assert_eq!(hit, Some(1), "the hit gets its value");
    if removed.is_ok() {
        assert_eq!(after, None, "remove(2) returned Ok, yet key 2 is served");
    }
}

/// As above, for `clear` (every shard's write lock).
#[test]
fn a_clear_from_a_values_clone_under_its_shards_lock_does_not_hang() {
    let Some((hit, cleared, after)) = hit_running(|cache| cache.clear()) else {
        panic!(
            "clear() from key 1's value's Clone (run by a hit under its shard's read lock) never \
             returned: it waits for the write lock its own thread holds"
        );
    };
    assert_eq!(hit, Some(1), "the hit gets its value");
    if cleared.is_ok() {
        assert_eq!(after, None, "clear() returned Ok, yet key 2 is served");
    }
}
