//! How a cache without a memory tier reads its first tier: once per hit, with the answer the
//! miss path decides from (none, past its ttl) handed to it rather than read again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, Clock, MockClock, Origin, PersistentBackend, SeparateFileBackend};
use cacher_tests::Calls;

const MIN: Duration = Duration::from_secs(60);

/// A file tier that counts its reads.
#[derive(Clone)]
struct Counted {
    file: Arc<SeparateFileBackend>,
    reads: Arc<AtomicUsize>,
}

impl Counted {
    fn reads(&self) -> usize {
        self.reads.swap(0, Ordering::SeqCst)
    }
}

impl PersistentBackend<u64> for Counted {
    fn name(&self) -> &'static str {
        "file"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        PersistentBackend::<u64>::get(&*self.file, key)
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        self.file.insert(key, entry)
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        PersistentBackend::<u64>::remove(&*self.file, key)
    }
    fn clear(&self, namespace: &str) -> cacher::Result<()> {
        PersistentBackend::<u64>::clear(&*self.file, namespace)
    }
}

/// A cache whose only tier is `Counted` (no memory tier), a ttl of a minute and an hour of
/// `stale_if_error`, on a mock clock.
fn file_only(dir: &std::path::Path) -> (Cache<u32, u64>, Counted, Arc<MockClock>) {
    let tier = Counted {
        file: Arc::new(SeparateFileBackend::new(dir)),
        reads: Arc::default(),
    };
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .namespace("reads")
        .backend(tier.clone())
        .ttl(MIN)
        .stale_if_error(60 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    (cache, tier, mock)
}

#[test]
fn a_hit_reads_the_tier_once_and_counts_as_its_hit() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, tier, _) = file_only(dir.path());
    cache.insert(&1, 10).unwrap();
    tier.reads();
    let lookup = cache.lookup(|| cache.get_or_compute(&1, || unreachable!("a hit")));
    assert_eq!((lookup.value, lookup.origin), (10, Origin::Hit));
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(tier.reads(), 2, "one read per call");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 0));
}

#[test]
fn a_miss_reads_the_tier_no_more_than_the_miss_path_asks() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, tier, _) = file_only(dir.path());
    let calls = Calls::default();
    let lookup = cache.lookup(|| {
        cache.get_or_compute(&1, || {
            calls.hit();
            7
        })
    });
    assert_eq!((lookup.value, lookup.origin), (7, Origin::Computed));
    // Before the function runs: the first look, and the look again as the key's leader (another
    // caller may have stored it meanwhile). Not a third: the first look's answer is not read twice.
    assert_eq!(tier.reads(), 2);
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.get(&2), None);
    assert_eq!(
        tier.reads(),
        1,
        "a plain lookup of a missing key looks once"
    );
}

#[test]
fn an_entry_past_its_ttl_read_first_is_decided_by_the_miss_path() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, tier, mock) = file_only(dir.path());
    cache.insert(&1, 10).unwrap();
    mock.advance(2 * MIN);
    tier.reads();
    // Past its ttl: not a hit; kept as the fallback of the failing function.
    let lookup = cache.lookup(|| cache.try_get_or_compute(&1, || Err::<u64, _>("down")));
    assert_eq!((lookup.value, lookup.origin), (Ok(10), Origin::Stale));
    assert_eq!(cache.stats().stale_served, 1);
    // And recomputed when the function answers (after the backoff).
    mock.advance(cacher::DEFAULT_ERROR_BACKOFF);
    assert_eq!(cache.try_get_or_compute(&1, || Ok::<_, &str>(11)), Ok(11));
    assert_eq!(cache.get(&1), Some(11));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 2));
}
