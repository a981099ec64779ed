//! Attack 19: user code that runs while an `insert` holds its stripe alone
//! (`Generations::begin_insert`): the replaced value's `Drop`, which the memory tier runs
//! "unlocked: a value's `Drop` may use the tier", still runs under the insert's claim and its
//! count of a store under way.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend};

/// What the next drop of a value 0 runs (once).
type Hook = Box<dyn FnOnce() + Send>;
static ON_DROP: Mutex<Option<Hook>> = Mutex::new(None);

/// A value whose drop runs [`ON_DROP`] when it is 0.
#[derive(Clone, Debug, PartialEq)]
struct Handle(u64);

impl Drop for Handle {
    fn drop(&mut self) {
        if self.0 == 0 {
            let hook = ON_DROP.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
    }
}

/// The value an `insert` replaces is dropped by the memory tier outside its lock, so that its
/// `Drop` may use the cache (backend/memory.rs:408), as `remove` and `clear` drop theirs once
/// stores are let in again (cache.rs `remove_call`). But `insert` drops it while it still holds
/// the key's stripe (store.rs `computed`: the `Storing` of `begin_insert` lives until `finish`):
/// a `Drop` that removes another key of the stripe waits out `remove`'s bound for the insert's
/// own store, on its own thread: every such insert takes 10 s more.
#[test]
fn a_replaced_values_drop_that_removes_a_key_of_its_stripe_is_not_held_up_by_the_insert() {
    let cache: Cache<u32, Handle> = Cache::builder()
        .backend(MemoryBackend::new())
        .build()
        .unwrap();
    cache.insert(&1, Handle(0)).unwrap();
    let in_drop = cache.clone();
    let took = std::sync::Arc::new(Mutex::new(None));
    let report = std::sync::Arc::clone(&took);
    // Removals of 4 096 other keys: at least one shares key 1's generation stripe (one key in
    // 256; all miss it with a chance of about 1e-7).
    *ON_DROP.lock().unwrap() = Some(Box::new(move || {
        let start = Instant::now();
        for key in 2..4098 {
            in_drop.remove(&key).unwrap();
        }
        *report.lock().unwrap() = Some(start.elapsed());
    }));
    cache.insert(&1, Handle(1)).unwrap();
    let took = took.lock().unwrap().take().expect("the hook ran");
    assert_eq!(cache.get(&1), Some(Handle(1)));
    assert!(
        took < Duration::from_secs(5),
        "removes from the replaced value's Drop took {took:?}: one waited out its bound for the \
         insert of key 1 (same stripe) that dropped the value, on its own thread"
    );
}

/// A `ttl_fn` that panics costs the entry, not the function's value (store.rs `computed` catches
/// it). But a `refresh` asks `ttl_fn` again once the value is in hand, uncaught
/// (control.rs:353 `inner.discards`, inner.rs:130): the refreshing caller panics and loses the
/// value its function returned (and the entry it asked to replace stays).
#[test]
fn a_refresh_whose_ttl_fn_panics_still_returns_the_functions_value() {
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .ttl_fn(|value: &u64| {
            assert!(*value != 13, "ttl_fn cannot price 13");
            None
        })
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute(&1, || 1), 1);
    let refreshed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.refresh(|| cache.get_or_compute(&1, || 13))
    }));
    assert_eq!(
        refreshed.ok(),
        Some(13),
        "refresh returned its function's value (its ttl_fn's panic costs the entry only)"
    );
}

/// A value that the persistent tiers cannot take when it is 13 (a write that fails, as on a full
/// disk).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
struct Doc(u64);

impl serde::Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(serde::ser::Error::custom("no room for 13"));
        }
        serializer.serialize_u64(self.0)
    }
}

/// `insert(1, 13)` whose file write fails (reported: the memory tier took 13) in the same
/// millisecond as the write it replaces: a `time_to_idle` use of the memory entry reads the file,
/// finds an entry of the same creation time, takes it for "the write the memory entry came from"
/// (stale.rs `read_touched` compares `created_ms` only) and fills it back into memory, and the
/// hit itself returns it: after being served 13, the program is served 1 again, the value that
/// 13 replaced, for as long as the entry lives.
#[test]
fn a_use_recorded_after_an_insert_whose_file_write_failed_does_not_bring_back_the_older_value() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, Doc> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(cacher::SeparateFileBackend::new(dir.path()))
        .time_to_idle(Duration::from_secs(8 * 60))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, Doc(1)).unwrap();
    assert!(
        cache.insert(&1, Doc(13)).is_err(),
        "the file tier refused 13"
    );
    assert_eq!(cache.get(&1), Some(Doc(13)), "the memory tier took 13");
    // Past a quarter of the idle window: the next hit records its use.
    mock.advance(Duration::from_secs(3 * 60));
    let used = cache.get(&1);
    let after = cache.get(&1);
    assert!(
        used == Some(Doc(13)) && after == Some(Doc(13)),
        "after insert(1, 13) was served, a use of it served {used:?} then {after:?}: the file's \
         older entry of the same millisecond taken for the memory entry's write"
    );
}

/// A tier over a map whose writes of 13 fail as a server that went away does
/// (`Error::Backend`: `forget_on_failure` leaves its older entry, drive.rs:141).
struct Flaky(Mutex<std::collections::HashMap<String, cacher::entry::Entry<u64>>>);

impl cacher::PersistentBackend<u64> for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn get(
        &self,
        key: &cacher::entry::EntryKey<'_>,
    ) -> cacher::Result<Option<cacher::entry::Entry<u64>>> {
        Ok(self.0.lock().unwrap().get(key.key).cloned())
    }
    fn insert(
        &self,
        key: &cacher::entry::EntryKey<'_>,
        entry: &cacher::entry::Entry<u64>,
    ) -> cacher::Result<()> {
        assert!(entry.value != 99, "the tier's write of 99 panicked");
        if entry.value == 13 {
            return Err(cacher::Error::Backend {
                backend: "flaky",
                context: "SET".into(),
                source: Box::new(std::io::Error::other("server went away")),
            });
        }
        let mut map = self.0.lock().unwrap();
        map.insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &cacher::entry::EntryKey<'_>) -> cacher::Result<()> {
        self.0.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.0.lock().unwrap().clear();
        Ok(())
    }
}

/// The same over a tier whose service failed the write (`Error::Backend`, the older entry left
/// in it): a `time_to_idle` use of the memory entry 13 finds the tier's 1 of the same
/// millisecond, takes it for the write the memory entry came from (stale.rs `read_touched`
/// compares `created_ms` only) and fills it back into memory, and the hit returns it: after
/// being served 13, the program is served 1, the value 13 replaced, for as long as it lives.
#[test]
fn a_use_recorded_after_an_insert_whose_tier_write_failed_does_not_bring_back_the_older_value() {
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(Flaky(Mutex::default()))
        .time_to_idle(Duration::from_secs(8 * 60))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 1).unwrap();
    assert!(cache.insert(&1, 13).is_err(), "the tier refused 13");
    assert_eq!(cache.get(&1), Some(13), "the memory tier took 13");
    // Past a quarter of the idle window: the next hit records its use.
    mock.advance(Duration::from_secs(3 * 60));
    let used = cache.get(&1);
    let after = cache.get(&1);
    assert!(
        used == Some(13) && after == Some(13),
        "after insert(1, 13) was served, a use of it served {used:?} then {after:?}: the tier's \
         older entry of the same millisecond taken for the memory entry's write"
    );
}

/// An insert whose tier write panics lets its stripe go (the claim of `begin_insert` is released
/// on the way out): the key's later calls store, and a removal does not wait out its bound.
#[test]
fn an_insert_whose_tier_write_panics_leaves_no_claim_on_its_stripe() {
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(Flaky(Mutex::default()))
        .build()
        .unwrap();
    let inserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.insert(&1, 99)));
    assert!(
        !matches!(inserted, Ok(Ok(()))),
        "the tier's panic is not an Ok: {inserted:?}"
    );
    let start = Instant::now();
    cache.remove(&1).unwrap();
    cache.insert(&1, 2).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(cache.get_or_compute(&2, || 3), 3);
    assert_eq!(cache.get(&1), Some(2));
    cache.remove(&1).unwrap();
    assert_eq!(cache.get_or_compute(&1, || 5), 5);
    assert_eq!(
        cache.get(&1),
        Some(5),
        "the key's computed value is stored again"
    );
}
