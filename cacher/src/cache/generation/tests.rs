//! Invalidations against stores, stepped on one thread (and one waiting on another).

use super::*;
use std::sync::atomic::AtomicBool;

#[test]
fn a_store_after_an_invalidation_is_refused_and_one_before_is_waited_for() {
    let generations = Generations::new();
    let seen = generations.current(7);
    generations.invalidate(7, Duration::ZERO);
    assert!(generations.begin_store(7, seen).is_none());
    let now = generations.current(7);
    let storing = generations
        .begin_store(7, now)
        .expect("nothing invalidated since");
    // The invalidation must not return before the store it waits for has ended: whenever
    // its thread starts, it sees the store ended once it returns (no timing assumed).
    let ended = AtomicBool::new(false);
    std::thread::scope(|s| {
        let invalidation = s.spawn(|| {
            generations.invalidate(7, Duration::from_secs(10));
            ended.load(SeqCst)
        });
        std::thread::sleep(Duration::from_millis(50));
        ended.store(true, SeqCst);
        drop(storing);
        assert!(
            invalidation.join().unwrap(),
            "invalidate returned during a store"
        );
    });
    assert!(generations.begin_store(7, now).is_none());
}

#[test]
fn no_store_begins_during_a_removal_nor_after_it_for_a_call_that_started_during_it() {
    let generations = Generations::new();
    for all in [false, true] {
        let removal = if all {
            generations.removal_all(Duration::ZERO)
        } else {
            generations.removal(7, Duration::ZERO)
        };
        let during = generations.current(7);
        assert!(generations.begin_store(7, during).is_none(), "during");
        drop(removal);
        assert!(generations.begin_store(7, during).is_none(), "after");
        let after = generations.current(7);
        assert!(generations.begin_store(7, after).is_some());
    }
}

#[test]
fn a_refresh_stores_past_other_keys_invalidations_not_its_own_nor_a_clear() {
    let generations = Generations::new();
    // One stripe: the same high byte.
    let (key, other, wait) = (7, 8, Duration::ZERO);
    let refresh = |watched: &Watched<'_>| generations.begin_refresh(watched, wait).is_some();
    let watched = generations.watch(key);
    generations.invalidate(other, wait);
    drop(generations.begin_insert(other, wait));
    assert!(refresh(&watched), "two moves of another key");
    assert!(!refresh(&watched), "its own store's end moved it since");
    let watched = generations.watch(key);
    drop(generations.removal(other, wait));
    drop(generations.removal(key, wait));
    assert!(!refresh(&watched), "a removal of the key");
    let watched = generations.watch(key);
    generations.invalidate_all(wait);
    assert!(!refresh(&watched), "a clear");
    // Helper-102's loss: more moves of other keys than the stripe once recorded (4) refused
    // the refresh, and left the value it was to replace.
    let watched = generations.watch(key);
    for _ in 0..1000 {
        drop(generations.removal(other, wait));
        drop(generations.begin_insert(other, wait));
    }
    assert!(refresh(&watched), "any number of moves of other keys");
    // A refresh's own invalidation before its watch began is not its to see.
    generations.invalidate(key, wait);
    let watched = generations.watch(key);
    assert!(refresh(&watched), "the refresh's own start");
}

#[test]
fn clear_invalidates_every_key() {
    let generations = Generations::new();
    let seen = [1u64, 1 << 60, u64::MAX].map(|h| (h, generations.current(h)));
    generations.invalidate_all(Duration::ZERO);
    for (hash, seen) in seen {
        assert!(generations.begin_store(hash, seen).is_none());
    }
}

/// A store handed over to the thread that makes its writes ends when it drops, whoever drops
/// it (a job that panicked, or was dropped unrun): it held its stripe's count of stores (and,
/// a refresh's or insert's, its claim) for good, and every later invalidation of the stripe
/// waited out its bound, every later store of it was refused.
#[cfg(feature = "tokio")]
#[test]
fn a_store_handed_over_ends_when_it_drops() {
    let generations = Generations::new();
    let watched = generations.watch(7);
    let seen = watched.generation();
    let refresh = generations.begin_refresh(&watched, Duration::ZERO);
    drop(refresh.expect("nothing invalidated").hand_over());
    let now = generations.current(7);
    assert_ne!(now, seen, "the refresh's end invalidated its stripe");
    assert!(
        generations.begin_store(7, now).is_some(),
        "the stripe is free again"
    );
    generations.invalidate(7, Duration::ZERO);
    assert_eq!(
        generations.went_on.load(SeqCst),
        0,
        "no store was waited for"
    );
}

#[test]
fn a_memory_only_store_is_admitted_only_as_a_counted_one_begins() {
    // `admits` (asked under the memory shard's lock, uncounted) answers as `begin_store` does.
    let generations = Generations::new();
    let seen = generations.current(7);
    assert!(generations.admits(7, seen));
    let removal = generations.removal(7, Duration::ZERO);
    let during = generations.current(7);
    assert!(!generations.admits(7, during), "during a removal");
    drop(removal);
    assert!(!generations.admits(7, seen) && !generations.admits(7, during));
    let now = generations.current(7);
    let clear = generations.removal_all(Duration::ZERO);
    assert!(!generations.admits(7, now), "during a clear");
    drop(clear);
    assert!(!generations.admits(7, now), "after a clear");
    let now = generations.current(7);
    generations.invalidate(7 ^ 1, Duration::ZERO); // another key of the stripe: refused too
    assert!(!generations.admits(7, now));
}
