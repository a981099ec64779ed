//! A forced refresh whose value a shared tier refuses — its key moved there since the refresh
//! began: a later refresh, another process's, a refresh future dropped whose move landed late,
//! or more moves of other keys than the tier tells apart (helper-110, all three) — left the
//! entry it was asked to replace in that tier, served to every other process (and to this one
//! once memory forgot it) after the refresh returned its new value. The tier now takes that
//! entry out; an entry written since the refresh began (an insert's) stays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::backend::Generation;
use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, Clock, MockClock, PersistentBackend};

/// A shared tier in memory that refuses every computed value's write, as one whose generation
/// of the key moved meanwhile does.
#[derive(Clone, Default)]
struct Refusing(Arc<Mutex<HashMap<String, Entry<u64>>>>);

impl Refusing {
    fn held(&self) -> Vec<u64> {
        let entries = self.0.lock().unwrap();
        entries.values().map(|entry| entry.value).collect()
    }
}

impl PersistentBackend<u64> for Refusing {
    fn name(&self) -> &'static str {
        "refusing"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(self.0.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn generation(&self, _: &EntryKey<'_>) -> cacher::Result<Generation> {
        Ok(Generation::new(1))
    }
    fn insert_since(
        &self,
        _: &EntryKey<'_>,
        _: &Entry<u64>,
        _: Generation,
    ) -> cacher::Result<bool> {
        Ok(false)
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        self.0.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.0.lock().unwrap().clear();
        Ok(())
    }
}

fn cache(tier: &Refusing) -> (Cache<u32, u64>, Arc<MockClock>) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .namespace("refused")
        .backend(cacher::MemoryBackend::new())
        .backend(tier.clone())
        .clock(clock)
        .build()
        .unwrap();
    (cache, mock)
}

#[test]
fn a_refresh_refused_by_a_shared_tier_takes_the_entry_it_replaces_out_of_it() {
    let tier = Refusing::default();
    let (cache, mock) = cache(&tier);
    cache.insert(&1, 1).unwrap();
    assert_eq!(tier.held(), [1]);
    mock.advance(Duration::from_secs(1));
    let refreshed = cache.refresh(|| cache.get_or_compute(&1, || 2));
    assert_eq!(refreshed, 2);
    assert!(
        tier.held().is_empty(),
        "the refresh returned 2, and the shared tier still holds the 1 it replaced: {:?}",
        tier.held()
    );
}

#[test]
fn an_insert_during_a_refused_refresh_stays_in_the_shared_tier() {
    let tier = Refusing::default();
    let (cache, mock) = cache(&tier);
    cache.insert(&1, 1).unwrap();
    let refreshed = cache.refresh(|| {
        cache.get_or_compute(&1, || {
            mock.advance(Duration::from_secs(1));
            cache.insert(&1, 7).unwrap();
            2
        })
    });
    assert_eq!(refreshed, 2);
    assert_eq!(tier.held(), [7], "the insert made during the refresh");
    assert_eq!(cache.get(&1), Some(7));
}

/// The async driver writes through the same step.
#[cfg(feature = "tokio")]
#[test]
fn a_refresh_async_refused_by_a_shared_tier_takes_the_entry_it_replaces_out_of_it() {
    let tier = Refusing::default();
    let (cache, mock) = cache(&tier);
    cache.insert(&1, 1).unwrap();
    mock.advance(Duration::from_secs(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refresh = cache.refresh_async(cache.get_or_compute_async(&1, || async { 2 }));
    assert_eq!(runtime.block_on(refresh), 2);
    assert!(tier.held().is_empty(), "{:?}", tier.held());
}
