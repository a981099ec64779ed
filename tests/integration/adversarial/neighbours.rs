//! A forced refresh against invalidations of the other keys of its generation stripe (one of 256):
//! they must not cost it its store, while an `insert`, `remove` or `clear` of its own key during
//! it still wins. Each round runs the other key's invalidation inside the refresh's function, on
//! the refresh's own thread: no timing. Rounds over 4 096 other keys, so that some share key 1's
//! stripe (all miss it with a chance of about 1e-7).

use cacher::{Cache, SeparateFileBackend};

/// The other keys: at least one shares key 1's stripe.
const OTHERS: std::ops::Range<u32> = 2..4098;

/// A forced refresh of key 1, which held `old`, computing `new` after running `during`.
fn refreshed(cache: &Cache<u32, u64>, old: u64, new: u64, during: impl FnOnce()) -> u64 {
    cache.insert(&1, old).unwrap();
    cache.refresh(|| {
        cache.get_or_compute(&1, || {
            during();
            new
        })
    })
}

/// The refresh's store was refused because its stripe's generation had moved (store.rs
/// `begin_store`, generation.rs `begin_refresh`), for any key of the stripe: it returned its
/// value while memory and the file kept serving, fresh, the value it was asked to replace.
#[test]
fn a_refresh_is_not_lost_to_an_insert_of_another_key_of_its_stripe() {
    let dir = tempfile::tempdir().unwrap();
    let cache = super::memory_over(SeparateFileBackend::new(dir.path()));
    let file: Cache<u32, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    for other in OTHERS {
        let new = u64::from(other) * 2;
        let during = || cache.insert(&other, 0).unwrap();
        assert_eq!(refreshed(&cache, new - 1, new, during), new);
        assert_eq!(
            (cache.get(&1), file.get(&1)),
            (Some(new), Some(new)),
            "insert({other}) during a refresh of key 1: the refresh returned {new}, the cache \
             (memory, file) still serves the value it replaced"
        );
    }
}

/// As above, for a `remove` of the other key.
#[test]
fn a_refresh_is_not_lost_to_a_removal_of_another_key_of_its_stripe() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    for other in OTHERS {
        cache.insert(&other, 0).unwrap();
        let new = u64::from(other) * 2;
        let during = || cache.remove(&other).unwrap();
        assert_eq!(refreshed(&cache, new - 1, new, during), new);
        assert_eq!(
            cache.get(&1),
            Some(new),
            "remove({other}) during a refresh of key 1: the refresh returned {new}, the cache \
             still serves the value it replaced"
        );
    }
}

/// As above, for `refresh_async` and a tier behind memory.
#[cfg(feature = "tokio")]
#[test]
fn a_refresh_async_is_not_lost_to_an_insert_of_another_key_of_its_stripe() {
    let tier = super::cancel::Yielding::default();
    let cache = super::memory_over(tier.clone());
    let key = cache.key_of(&1).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for other in OTHERS {
        let new = u64::from(other) * 2;
        cache.insert(&1, new - 1).unwrap();
        let refresh = cache.refresh_async(cache.get_or_compute_async(&1, || async {
            cache.insert(&other, 0).unwrap();
            new
        }));
        assert_eq!(runtime.block_on(refresh), new);
        assert_eq!(
            (cache.get(&1), tier.value(&key)),
            (Some(new), Some(new)),
            "insert({other}) during a refresh_async of key 1: the refresh returned {new}, the \
             cache (memory, tier) still serves the value it replaced"
        );
    }
}

/// What the fix must keep: among the other keys' invalidations, an `insert`, `remove` or
/// `clear` of key 1 itself during the refresh stands, not the refresh's older value.
#[test]
fn an_invalidation_of_its_own_key_during_a_refresh_still_wins_beside_other_keys() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    for other in OTHERS {
        let inserted = || {
            cache.insert(&other, 0).unwrap();
            cache.insert(&1, 7).unwrap();
        };
        assert_eq!(refreshed(&cache, 1, 2, inserted), 2);
        assert_eq!(
            cache.get(&1),
            Some(7),
            "insert(1, 7) during the refresh, {other}"
        );
        cache.remove(&other).unwrap();
        let removed = || {
            cache.insert(&other, 0).unwrap();
            cache.remove(&1).unwrap();
        };
        assert_eq!(refreshed(&cache, 1, 2, removed), 2);
        assert_eq!(cache.get(&1), None, "remove(1) during the refresh, {other}");
    }
    let cleared = || cache.clear().unwrap();
    assert_eq!(refreshed(&cache, 1, 2, cleared), 2);
    assert_eq!(cache.get(&1), None, "clear() during the refresh");
}

/// Helper-102's loss (session 30): the stripe recorded only its last 4 moves, so more
/// invalidations of its other keys during a refresh than that (1 000 inserts of other keys
/// during a 50 ms refresh lost it 20 times in 20) refused it for an unknown key, and the cache
/// kept serving the value it was asked to replace. Every other key's insert and removal (some
/// 30 moves of key 1's stripe, all of them another key's) during one refresh, then the same with
/// key 1's own insert last among them, which still wins.
#[test]
fn a_refresh_is_not_lost_to_any_number_of_invalidations_of_other_keys_of_its_stripe() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    let churn = || {
        for other in OTHERS {
            cache.insert(&other, 0).unwrap();
            cache.remove(&other).unwrap();
        }
    };
    assert_eq!(refreshed(&cache, 1, 2, churn), 2);
    assert_eq!(
        cache.get(&1),
        Some(2),
        "the refresh returned 2 after {} other keys were inserted and removed during it; the \
         cache still serves the 1 it replaced",
        OTHERS.len()
    );
    let churned_then_inserted = || {
        churn();
        cache.insert(&1, 7).unwrap();
    };
    assert_eq!(refreshed(&cache, 3, 4, churned_then_inserted), 4);
    assert_eq!(
        cache.get(&1),
        Some(7),
        "insert(1, 7) after the churn stands"
    );
}

/// As above, for `refresh_async`.
#[cfg(feature = "tokio")]
#[test]
fn a_refresh_async_is_not_lost_to_any_number_of_invalidations_of_other_keys_of_its_stripe() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    let refresh = cache.refresh_async(cache.get_or_compute_async(&1, || async {
        for other in OTHERS {
            cache.insert(&other, 0).unwrap();
            cache.remove(&other).unwrap();
        }
        2
    }));
    assert_eq!(runtime.block_on(refresh), 2);
    assert_eq!(
        cache.get(&1),
        Some(2),
        "the refresh_async returned 2; the cache still serves the 1 it replaced"
    );
}
