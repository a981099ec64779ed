//! `stale_if_error`'s fallback against invalidations of the key's generation stripe: a call keeps
//! an entry past its ttl, its function fails, and meanwhile keys of its stripe (1 in 256) were
//! inserted, removed or refreshed. The fallback is then served only as what the tiers hold for
//! the key now — never the value kept, which may have been removed or replaced since.

use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, Origin, SeparateFileBackend};

/// A cache over `dir`, with a memory tier of `memory` entries if any, on a mock clock: ttl 1 min,
/// stale values served for an hour when the function fails.
fn cache(dir: &std::path::Path, memory: Option<usize>, clock: Clock) -> Cache<u32, u64> {
    let mut builder = Cache::builder();
    if let Some(entries) = memory {
        builder = builder.backend(MemoryBackend::new().max_entries(entries));
    }
    builder
        .backend(SeparateFileBackend::new(dir))
        .ttl(Duration::from_secs(60))
        .stale_if_error(Duration::from_secs(3600))
        .clock(clock)
        .build()
        .unwrap()
}

/// Key 1 holds 10, two minutes old; `during` runs in its failing function.
fn fails_after(
    memory: Option<usize>,
    during: impl Fn(&Cache<u32, u64>),
) -> Result<u64, &'static str> {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let cache = cache(dir.path(), memory, clock);
    cache.insert(&1, 10).unwrap();
    mock.advance(Duration::from_secs(120));
    cache.try_get_or_compute(&1, || {
        during(&cache);
        Err("the service is down")
    })
}

/// Inserts of 4 096 other keys: at least one shares key 1's stripe (all miss it with a chance of
/// about 1e-7).
fn other_keys(cache: &Cache<u32, u64>) {
    for key in 100..4196 {
        cache.insert(&key, 0).unwrap();
    }
}

/// With no memory tier, or one too small to keep key 1, the fallback was read from the file
/// (or looked up again in memory, where it no longer was) and dropped: the caller got the
/// function's error while the file still held the stale 10 (store.rs `failed`: a fallback is
/// served only while the stripe's generation is unchanged, or from memory).
#[test]
fn a_stale_fallback_outside_memory_is_not_lost_to_inserts_of_other_keys() {
    for memory in [None, Some(100)] {
        assert_eq!(
            fails_after(memory, other_keys),
            Ok(10),
            "memory tier {memory:?}: the stale entry is lost to other keys' inserts"
        );
    }
}

/// The look again reads the tiers as they are: a removal of the key is not undone, a value
/// inserted for it meanwhile is the one served.
#[test]
fn a_fallback_looked_for_again_is_what_the_tiers_hold_now() {
    for memory in [None, Some(100)] {
        let removed = fails_after(memory, |cache| {
            cache.remove(&1).unwrap();
            other_keys(cache);
        });
        assert_eq!(
            removed,
            Err("the service is down"),
            "memory {memory:?}: removed"
        );
        let replaced = fails_after(memory, |cache| {
            cache.insert(&1, 20).unwrap();
            other_keys(cache);
        });
        assert_eq!(replaced, Ok(20), "memory {memory:?}: replaced");
    }
}

/// The look again finds a fresh entry (key 1 inserted meanwhile): the call's value is a fresh
/// entry of a tier, a hit, not a stale value (read_fallback reported any entry it served as
/// `Origin::Stale`, counted it in `stale_served`, and logged it as a stale value served).
#[test]
fn a_fallback_looked_for_again_that_is_fresh_is_reported_as_a_hit_not_a_stale_value() {
    for memory in [None, Some(100)] {
        let dir = tempfile::tempdir().unwrap();
        let (clock, mock) = Clock::mock();
        let cache = cache(dir.path(), memory, clock);
        cache.insert(&1, 10).unwrap();
        mock.advance(Duration::from_secs(120));
        let call = cache.lookup(|| {
            cache.try_get_or_compute(&1, || {
                cache.insert(&1, 20).unwrap();
                Err("the service is down")
            })
        });
        assert_eq!(
            (call.value, call.origin, cache.stats().stale_served),
            (Ok(20), Origin::Hit, 0),
            "memory {memory:?}: the entry inserted meanwhile is fresh"
        );
    }
}

/// The same through the async driver.
#[cfg(feature = "tokio")]
#[tokio::test]
async fn an_async_calls_stale_fallback_outside_memory_is_not_lost_to_inserts_of_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let cache = cache(dir.path(), None, clock);
    cache.insert(&1, 10).unwrap();
    mock.advance(Duration::from_secs(120));
    let result = cache
        .try_get_or_compute_async(&1, || async {
            other_keys(&cache);
            Err("the service is down")
        })
        .await;
    assert_eq!(result, Ok(10));
}

/// The cache a [`HashRemoves`] key removes itself from, and after how many more hashes.
static REMOVE_AT_HASH: std::sync::Mutex<Option<(Cache<HashRemoves, u64>, u32)>> =
    std::sync::Mutex::new(None);

/// A key whose `Hash` is user code that, once armed, removes the key when it has been hashed a
/// given number of times more.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct HashRemoves(u32);

impl std::hash::Hash for HashRemoves {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let armed = {
            let mut slot = REMOVE_AT_HASH.lock().unwrap();
            match slot.as_mut() {
                Some((_, 0)) => slot.take().map(|(cache, _)| cache),
                Some((_, left)) => {
                    *left -= 1;
                    None
                }
                None => None,
            }
        };
        if let Some(cache) = armed {
            cache.remove(self).unwrap();
        }
        self.0.hash(state);
    }
}

/// A stale fallback removed after the call's memory lookup and before its generation is noted
/// (the key's `Hash` is user code: a call observed by `Cache::lookup` runs it again for its
/// flight, where a plain call hashes the key once, before its lookup), then the function fails:
/// the removed value was served. Each of the key's hashes in the call is tried as the removal's
/// point: whatever it is, once `remove` returned, the caller gets the function's error.
#[test]
fn a_stale_fallback_removed_after_the_memory_lookup_is_not_served() {
    for (at, observed) in (0..4).flat_map(|at| [(at, false), (at, true)]) {
        let (clock, mock) = Clock::mock();
        let cache: Cache<HashRemoves, u64> = Cache::builder()
            .ttl(Duration::from_secs(60))
            .stale_if_error(Duration::from_secs(3600))
            .clock(clock)
            .build()
            .unwrap();
        cache.insert(&HashRemoves(1), 10).unwrap();
        mock.advance(Duration::from_secs(120));
        *REMOVE_AT_HASH.lock().unwrap() = Some((cache.clone(), at));
        let call = || cache.try_get_or_compute(&HashRemoves(1), || Err("the service is down"));
        let result = match observed {
            true => cache.lookup(call).value,
            false => call(),
        };
        let removed = REMOVE_AT_HASH.lock().unwrap().take().is_none();
        assert!(
            !removed || result == Err("the service is down"),
            "removed at the key's hash {at} (observed: {observed}), yet the removed value was \
             served: {result:?}"
        );
    }
}

/// A function that fails slowly (a request timing out against a server that hangs: what an
/// outage looks like) after its call kept a fallback near the end of the `stale_if_error`
/// window (attack, session 16). The fallback is served only if it is still within the window
/// when the function fails: read from a file tier (no memory tier, one too small to keep the
/// key, or a process whose memory is empty) at 1 h 59 min of age, under a grace of an hour past
/// a 1 min ttl, and the function failing after 5 minutes, it is 2 h 4 min old — the caller gets
/// the error. Before, it was served: the window judged at the call's first look, not when the
/// fallback was served, so an entry past its grace by as long as the function ran.
#[test]
fn a_fallback_that_outlived_its_window_while_the_function_ran_is_not_served() {
    for memory in [None, Some(1)] {
        let dir = tempfile::tempdir().unwrap();
        let (clock, mock) = Clock::mock();
        let cache = cache(dir.path(), memory, clock);
        cache.insert(&1, 10).unwrap();
        if memory.is_some() {
            // Evicted from memory: the fallback is read from the file.
            cache.insert(&2, 20).unwrap();
        }
        mock.advance(Duration::from_secs(59 + 3600));
        let late = cache.try_get_or_compute(&1, || {
            mock.advance(Duration::from_secs(5 * 60));
            Err("the request timed out")
        });
        assert_eq!(late, Err("the request timed out"), "memory {memory:?}");
        assert_eq!(cache.stats().stale_served, 0, "memory {memory:?}");
        // Within the window when the function fails, it is still served.
        cache.insert(&3, 30).unwrap();
        if memory.is_some() {
            cache.insert(&2, 20).unwrap();
        }
        mock.advance(Duration::from_secs(60 + 30 * 60));
        let served = cache.try_get_or_compute(&3, || {
            mock.advance(Duration::from_secs(5 * 60));
            Err("the request timed out")
        });
        assert_eq!(served, Ok(30), "memory {memory:?}");
    }
}
