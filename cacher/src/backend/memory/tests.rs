//! The memory tier's own rules: bounds, eviction order, removal.

use super::MemoryBackend;
use crate::entry::Stamp;

pub(super) fn at(created_ms: u64) -> Stamp {
    Stamp {
        created_ms,
        ttl_ms: None,
        touched_ms: created_ms,
    }
}

pub(super) fn get(memory: &MemoryBackend<String, u32>, key: &str) -> Option<u32> {
    memory
        .get_hashed(memory.hash(key), key)
        .ok()
        .map(|(value, _)| value)
}

#[test]
fn a_full_backend_evicts_the_least_recently_used() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(2);
    assert_eq!(memory.insert("a".to_owned(), 1, at(0)).evicted, 0);
    assert_eq!(memory.insert("b".to_owned(), 2, at(0)).evicted, 0);
    assert_eq!(get(&memory, "a"), Some(1)); // "a" is now the most recently used
    assert_eq!(memory.insert("c".to_owned(), 3, at(0)).evicted, 1); // evicts "b"
    assert_eq!(memory.insert("c".to_owned(), 4, at(0)).evicted, 0); // a replacement evicts none
    assert_eq!(get(&memory, "b"), None);
    assert_eq!(memory.len(), 2);
}

#[test]
fn max_entries_is_exact_across_shards() {
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(1000);
    for k in 0..1000 {
        memory.insert(k, k, at(0));
    }
    assert_eq!(memory.len(), 1000);
    for k in 1000..3000 {
        memory.insert(k, k, at(0));
        assert_eq!(memory.len(), 1000, "after {k}");
    }
    assert!(memory.remove(&2999));
    memory.insert(5000, 0, at(0));
    assert_eq!(memory.len(), 1000);
    memory.clear();
    memory.insert(1, 1, at(0));
    assert_eq!(memory.len(), 1);
}

#[test]
fn the_evicted_entry_is_the_least_recently_used_of_its_shard() {
    // Under 64 entries the backend is one shard: exact LRU.
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(3);
    for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
        memory.insert(k.to_owned(), v, at(0));
    }
    assert_eq!(get(&memory, "a"), Some(1));
    memory.insert("d".to_owned(), 4, at(0)); // evicts "b", the least recently used
    assert_eq!(get(&memory, "b"), None);
    assert_eq!(get(&memory, "c"), Some(3));
    memory.insert("e".to_owned(), 5, at(0)); // evicts "a": "c" was used after it
    assert_eq!(get(&memory, "a"), None);
    assert_eq!(memory.len(), 3);
}

#[test]
fn removed_and_cleared_entries_are_gone() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("a".to_owned(), 1, at(5));
    memory.insert("b".to_owned(), 2, at(6));
    assert_eq!(
        memory.get_hashed(memory.hash("b"), "b").ok(),
        Some((2, at(6)))
    );
    assert!(memory.remove("a"));
    assert!(!memory.remove("a"));
    memory.clear();
    assert_eq!(memory.len(), 0);
}

#[test]
fn max_entries_zero_holds_nothing_and_never_panics() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(0);
    assert_eq!(memory.tier.max_entries(), Some(0));
    memory.insert("a".to_owned(), 1, at(0));
    assert_eq!(get(&memory, "a"), None);
    assert_eq!(memory.len(), 0);
}

#[test]
fn threads_inserting_at_once_leave_exactly_max_entries() {
    for max in [1, 63, 64, 100, 1000] {
        let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(max);
        std::thread::scope(|scope| {
            for t in 0..8u64 {
                let memory = &memory;
                scope.spawn(move || {
                    for k in 0..2000 {
                        memory.insert(t * 10_000 + k, k, at(0));
                    }
                });
            }
        });
        assert_eq!(memory.len(), max, "max_entries({max})");
        // And the count it keeps agrees: the next insert evicts exactly one.
        memory.insert(u64::MAX, 0, at(0));
        assert_eq!(memory.len(), max, "max_entries({max}), one more");
    }
}

/// Enough hits for any key to join the thread's index.
pub(super) fn hit_often(memory: &MemoryBackend<String, u32>, key: &str) -> Option<u32> {
    (0..8).map(|_| get(memory, key)).last().flatten()
}

pub(super) fn indexed(memory: &MemoryBackend<String, u32>) -> usize {
    memory
        .tier
        .index
        .as_ref()
        .map_or(0, |index| index.indexed())
}

#[test]
fn a_thread_never_serves_from_its_index_what_another_thread_replaced_or_removed() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("a".to_owned(), 1, at(0));
    memory.insert("b".to_owned(), 2, at(0));
    memory.insert("c".to_owned(), 3, at(0));
    for key in ["a", "b", "c"] {
        assert!(hit_often(&memory, key).is_some());
    }
    assert_eq!(
        indexed(&memory),
        3,
        "the hits are served by this thread's index"
    );
    std::thread::scope(|scope| {
        scope.spawn(|| {
            memory.insert("a".to_owned(), 10, at(1));
            assert!(memory.remove("b"));
        });
    });
    assert_eq!(get(&memory, "a"), Some(10));
    assert_eq!(get(&memory, "b"), None);
    assert_eq!(hit_often(&memory, "a"), Some(10));
    std::thread::scope(|scope| {
        scope.spawn(|| memory.clear());
    });
    assert_eq!(get(&memory, "a"), None);
    assert_eq!(get(&memory, "c"), None);
}

#[test]
fn an_evicted_entry_is_not_served_from_an_index() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(1);
    memory.insert("a".to_owned(), 1, at(0));
    assert_eq!(hit_often(&memory, "a"), Some(1));
    assert_eq!(indexed(&memory), 1);
    assert_eq!(memory.insert("b".to_owned(), 2, at(0)).evicted, 1);
    assert_eq!(get(&memory, "a"), None);
    assert_eq!(get(&memory, "b"), Some(2));
}

#[test]
fn hits_served_by_an_index_still_count_for_the_eviction_order() {
    // One shard (under 64 entries): exact LRU, whichever way the hit was served.
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(3);
    for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
        memory.insert(k.to_owned(), v, at(0));
    }
    assert_eq!(hit_often(&memory, "a"), Some(1));
    assert_eq!(indexed(&memory), 1);
    memory.insert("d".to_owned(), 4, at(0)); // evicts "b"
    assert_eq!(get(&memory, "a"), Some(1)); // from the index: must count as a use after "d"
    memory.insert("e".to_owned(), 5, at(0)); // evicts "c"
    memory.insert("f".to_owned(), 6, at(0)); // evicts "d", used before "a"
    assert_eq!(get(&memory, "d"), None);
    assert_eq!(get(&memory, "a"), Some(1));
}

#[test]
fn an_index_holds_at_most_its_capacity_and_can_be_turned_off() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().thread_index(4);
    for k in 0..20 {
        memory.insert(k.to_string(), k, at(0));
    }
    for k in 0..20 {
        assert_eq!(hit_often(&memory, &k.to_string()), Some(k));
        assert!(indexed(&memory) <= 4);
    }
    let off: MemoryBackend<String, u32> = MemoryBackend::new().thread_index(0);
    off.insert("a".to_owned(), 1, at(0));
    assert_eq!(hit_often(&off, "a"), Some(1));
    assert_eq!(indexed(&off), 0);
    // A bound set after the index keeps it.
    let bounded: MemoryBackend<String, u32> = MemoryBackend::new().thread_index(0).max_entries(5);
    bounded.insert("a".to_owned(), 1, at(0));
    assert_eq!(hit_often(&bounded, "a"), Some(1));
    assert_eq!(indexed(&bounded), 0);
}

/// Reads keys `0..N` (values `key * 1_000_000 + version`) until `done` and 10 000 reads: each
/// value its own key's, and no key's version ever older than one read before.
fn read_forward<const N: u64>(
    memory: &MemoryBackend<u64, u64>,
    done: &std::sync::atomic::AtomicBool,
) {
    let mut seen = [0u64; 64];
    let mut reads = 0u64;
    while !done.load(std::sync::atomic::Ordering::Relaxed) || reads < 10_000 {
        for k in 0..N {
            if let Ok((value, _)) = memory.get_hashed(memory.hash(&k), &k) {
                let (key, version) = (value / 1_000_000, value % 1_000_000);
                assert_eq!(key, k, "a value of another key");
                let before = seen[k as usize];
                assert!(version >= before, "key {k}: {version} after {before}");
                seen[k as usize] = version;
            }
            reads += 1;
        }
    }
}

#[test]
fn readers_never_go_back_to_an_older_value_while_writers_replace_and_remove() {
    // One writer per key, so each key's versions rise in the order they are written: a reader
    // that saw version v of a key must never see an older one afterwards (an index serving a
    // replaced entry would), and every value read must be its own key's.
    const KEYS: u64 = 8;
    const WRITES: u64 = 20_000;
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().thread_index(16);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| read_forward::<KEYS>(&memory, &done)))
            .collect();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let memory = &memory;
                scope.spawn(move || {
                    for version in 1..=WRITES {
                        for k in (w..KEYS).step_by(2) {
                            if version.is_multiple_of(97) {
                                memory.remove(&k);
                            } else {
                                memory.insert(k, k * 1_000_000 + version, at(0));
                            }
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
    });
    // And after the last writes, a lookup finds the last write, through whichever index this
    // thread now has (a finished reader's is handed to the next thread that uses the tier).
    for k in 0..KEYS {
        let expected = if WRITES.is_multiple_of(97) {
            None
        } else {
            Some(k * 1_000_000 + WRITES)
        };
        assert_eq!(
            memory.get_hashed(memory.hash(&k), &k).ok().map(|(v, _)| v),
            expected
        );
    }
}

#[test]
fn clear_gives_back_the_memory_of_the_tables() {
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(5000);
    for k in 0..4000 {
        memory.insert(k, k, at(0));
    }
    assert!(memory.capacity() >= 4000);
    memory.clear();
    assert_eq!(memory.capacity(), 0);
    // And it fills again, within its bound.
    for k in 0..6000 {
        memory.insert(k, k, at(0));
    }
    assert_eq!(memory.len(), 5000);
}

#[test]
fn an_absence_holds_until_an_insert_into_its_shard() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("present".to_owned(), 1, at(0));
    let absent = |key: &str| memory.get_hashed(memory.hash(key), key).err();
    let absence = absent("a").expect("no entry");
    assert!(memory.tier.still_absent(absence));
    // A removal, a clear, a lookup: nothing can put "a" there.
    memory.remove("present");
    memory.clear();
    assert_eq!(get(&memory, "b"), None);
    assert!(memory.tier.still_absent(absence));
    // An insert of the key itself is seen.
    memory.insert("a".to_owned(), 2, at(0));
    assert!(!memory.tier.still_absent(absence));
    assert!(absent("a").is_none());
    // As is any insert into the key's shard (one shard below 64 entries).
    let bounded: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(10);
    let absence = bounded
        .get_hashed(bounded.hash("x"), "x")
        .expect_err("empty");
    bounded.insert("y".to_owned(), 1, at(0));
    assert!(!bounded.tier.still_absent(absence));
}

#[test]
fn index_hits_during_an_eviction_never_let_the_backend_exceed_max_entries() {
    // An index hit writes its entry's recency without the shard's lock: an eviction that found
    // the oldest entry by its recency must still remove it if a hit moved it on meanwhile, or
    // the count drifts below the table and the bound no longer holds. Readers go round a hot set
    // in order, so the entry an eviction picks (the one hit longest ago) is the next they hit.
    const MAX: usize = 60; // one shard: every eviction takes the oldest it listed
    const HOT: u64 = 56;
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(MAX);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    for k in 0..HOT {
                        if memory.get_hashed(memory.hash(&k), &k).is_err() {
                            memory.insert(k, k, at(0));
                        }
                    }
                }
            });
        }
        for k in HOT..HOT + 100_000 {
            memory.insert(k, k, at(0));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(memory.len(), MAX);
    memory.insert(u64::MAX, 0, at(0));
    assert_eq!(memory.len(), MAX, "the count agrees with the table");
}

#[test]
fn an_index_set_after_the_bound_holds_no_more_than_the_bound() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(2).thread_index(100);
    for k in 0..10 {
        memory.insert(k.to_string(), k, at(0));
        assert_eq!(hit_often(&memory, &k.to_string()), Some(k));
        assert!(indexed(&memory) <= 2, "{} indexed", indexed(&memory));
    }
}

#[test]
fn the_last_bound_given_is_the_one_an_index_holds_to() {
    // A first, smaller bound does not stay with the index once a larger one replaces it.
    let memory: MemoryBackend<String, u32> = MemoryBackend::new().max_entries(2).max_entries(100);
    for k in 0..10 {
        memory.insert(k.to_string(), k, at(0));
        assert_eq!(hit_often(&memory, &k.to_string()), Some(k));
    }
    assert_eq!(indexed(&memory), 10);
}

#[test]
fn a_repeated_hit_is_served_by_the_threads_index_while_its_shard_is_locked() {
    // What the index is for: a hit it has takes no lock. A writer holds the key's shard; the
    // thread that hit the key often still gets its value (through the shared table it would
    // wait for the writer, and the answer would not come before the lock is released).
    use std::sync::mpsc;
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("a".to_owned(), 1, at(0));
    let memory = &memory;
    let (ready_tx, ready) = mpsc::channel();
    let (go_tx, go) = mpsc::channel();
    let (got_tx, got) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            assert_eq!(hit_often(memory, "a"), Some(1));
            ready_tx.send(()).unwrap();
            go.recv().unwrap();
            got_tx.send(get(memory, "a")).unwrap();
        });
        ready.recv().unwrap();
        let locked = memory.tier.shard(memory.hash("a")).write().unwrap();
        go_tx.send(()).unwrap();
        let answer = got.recv_timeout(std::time::Duration::from_secs(10));
        drop(locked);
        assert_eq!(answer, Ok(Some(1)), "served without the shard's lock");
    });
}

#[test]
fn a_thread_lets_go_of_the_values_a_clear_took_out_at_its_next_admission() {
    use std::sync::Arc;
    let memory: MemoryBackend<u64, Arc<u64>> = MemoryBackend::new();
    let hits = |k: u64| {
        for _ in 0..8 {
            assert!(memory.get_hashed(memory.hash(&k), &k).is_ok());
        }
    };
    let value = Arc::new(1);
    memory.insert(1, Arc::clone(&value), at(0));
    hits(1);
    assert_eq!(memory.tier.index.as_ref().unwrap().indexed(), 1);
    memory.clear();
    assert_eq!(
        Arc::strong_count(&value),
        2,
        "this thread's index still points to it"
    );
    // The thread goes on with other keys: its next admission lets go of what the clear took.
    memory.insert(2, Arc::new(2), at(0));
    hits(2);
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "the cleared value is still held"
    );
    assert_eq!(memory.tier.index.as_ref().unwrap().indexed(), 1);
}

#[test]
fn an_insert_refused_by_its_condition_stores_nothing_and_asks_under_the_lock() {
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("a".to_owned(), 1, at(0));
    // Asked under the key's shard's write lock: a lookup of the key cannot take it meanwhile.
    let locked = || memory.tier.shard(memory.hash("a")).lock.try_read().is_err();
    let refused = memory.insert_if((memory.hash("a"), "a".to_owned()), 2, at(0), &|| !locked());
    assert!(refused.skipped && refused.displaced.is_none());
    assert_eq!(get(&memory, "a"), Some(1));
    assert!(
        !memory
            .insert_if((memory.hash("a"), "a".to_owned()), 3, at(0), &locked)
            .skipped
    );
    assert_eq!(get(&memory, "a"), Some(3));
}
