//! The eviction order against a model: a list of keys, least recently used first.

use super::super::MemoryBackend;
use super::super::tests::at;

/// A bounded tier of one shard (under 64 entries) evicts exactly the least recently used key,
/// insert after insert, while hits, replacements and removals reorder or thin out the entries
/// its scans listed: a listed entry used since stays, one replaced or removed is passed over.
/// (At most one hit between two inserts: hits in one such gap are equally recent.)
#[test]
fn evictions_follow_the_least_recently_used_order_exactly() {
    const MAX: usize = 48;
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(MAX);
    let mut order: Vec<u64> = Vec::new(); // least recently used first
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap()
    };
    let (mut next, mut evictions, mut passed_over) = (0u64, 0, 0);
    for step in 0..20_000 {
        let key = match random(10) {
            // A replacement: the key's new entry is the most recent.
            0 if !order.is_empty() => order.remove(random(order.len())),
            // A removal, then nothing to hit until the next insert.
            1 if !order.is_empty() => {
                let key = order.remove(random(order.len()));
                assert!(memory.remove(&key));
                continue;
            }
            _ => {
                next += 1;
                next
            }
        };
        let full = order.len() == MAX && !order.contains(&key);
        let inserted = memory.insert(key, key * 10, at(0));
        if full {
            let expected = order.remove(0);
            let gone = inserted.displaced.as_ref().expect("evicted one").entry();
            let gone = gone.typed::<u64, u64>().unwrap().kv.0;
            assert_eq!(
                gone, expected,
                "step {step}: evicted {gone}, not {expected}"
            );
            evictions += 1;
        }
        order.push(key);
        assert_eq!(memory.len(), order.len());
        // One hit, of a key that is probably old: it moves to the end.
        if random(2) == 0 {
            let place = random(order.len().min(8));
            let hit = order.remove(place);
            passed_over += usize::from(place > 0);
            let found = memory.get_hashed(memory.hash(&hit), &hit).ok();
            assert_eq!(found.map(|(value, _)| value), Some(hit * 10));
            order.push(hit);
        }
    }
    assert!(evictions > 5_000 && passed_over > 1_000);
}

/// Threads inserting into, hitting and removing from a full tier of several shards at once: the
/// lists stay sound while entries move, leave and are used under them (every hit finds its own
/// value, nothing panics), and the tier keeps its bound exactly afterwards.
#[test]
fn threads_hitting_inserting_and_removing_at_once_keep_the_bound() {
    const MAX: usize = 1000;
    let memory: MemoryBackend<u64, u64> = MemoryBackend::new().max_entries(MAX);
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let memory = &memory;
            scope.spawn(move || {
                let base = thread * 1_000_000;
                for k in 0..20_000 {
                    memory.insert(base + k, base + k, at(0));
                    let old = base + k / 2;
                    if let Ok((value, _)) = memory.get_hashed(memory.hash(&old), &old) {
                        assert_eq!(value, old);
                    }
                    if k % 7 == 0 {
                        memory.remove(&(base + k / 3));
                    }
                }
            });
        }
    });
    assert!(memory.len() <= MAX);
    for key in 10_000_000..10_000_000 + 2 * MAX as u64 {
        memory.insert(key, key, at(0));
    }
    assert_eq!(memory.len(), MAX);
}
