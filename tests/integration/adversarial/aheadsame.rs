//! A blocking call of a cache without a memory tier reads its first tier ahead of the miss
//! machine (`cache/miss/ahead.rs`); an async call does not. Both must come to the same value,
//! origin, counts and reads, in each state of the tier: a hit, nothing, an entry past its ttl
//! (with the function failing or not), a tier whose reads fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, CacheStats, Clock, MockClock, Origin, PersistentBackend, SeparateFileBackend};

const MIN: Duration = Duration::from_secs(60);

/// A file tier that counts its reads, and fails them while `failing`.
#[derive(Clone)]
struct Tier {
    file: Arc<SeparateFileBackend>,
    reads: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl PersistentBackend<u64> for Tier {
    fn name(&self) -> &'static str {
        "file"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(cacher::Error::Io {
                path: "failing".into(),
                source: std::io::Error::other("the disk is failing"),
            });
        }
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

/// The tier's state before the call.
#[derive(Clone, Copy, Debug)]
enum State {
    Hit,
    Nothing,
    PastTtl,
    Failing,
}

/// What a call came to: its value, origin, the counts, the tier's reads.
type Seen = (Result<u64, &'static str>, Origin, CacheStats, usize);

fn setup(state: State) -> (tempfile::TempDir, Cache<u32, u64>, Tier, Arc<MockClock>) {
    let dir = tempfile::tempdir().unwrap();
    let tier = Tier {
        file: Arc::new(SeparateFileBackend::new(dir.path())),
        reads: Arc::default(),
        failing: Arc::default(),
    };
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .namespace("aheadsame")
        .backend(tier.clone())
        .ttl(MIN)
        .stale_if_error(60 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    match state {
        State::Hit => cache.insert(&1, 10).unwrap(),
        State::Nothing => {}
        State::PastTtl => {
            cache.insert(&1, 10).unwrap();
            mock.advance(2 * MIN);
        }
        State::Failing => tier.failing.store(true, Ordering::SeqCst),
    }
    cache.reset_stats();
    tier.reads.store(0, Ordering::SeqCst);
    (dir, cache, tier, mock)
}

fn blocking(state: State, result: Result<u64, &'static str>) -> Seen {
    let (_dir, cache, tier, _) = setup(state);
    let lookup = cache.lookup(|| cache.try_get_or_compute(&1, || result));
    let reads = tier.reads.load(Ordering::SeqCst);
    (lookup.value, lookup.origin, cache.stats(), reads)
}

fn not_blocking(state: State, result: Result<u64, &'static str>) -> Seen {
    let (_dir, cache, tier, _) = setup(state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lookup = runtime
        .block_on(cache.lookup_async(cache.try_get_or_compute_async(&1, || async move { result })));
    let reads = tier.reads.load(Ordering::SeqCst);
    (lookup.value, lookup.origin, cache.stats(), reads)
}

#[test]
fn a_call_read_ahead_comes_to_what_the_miss_machine_alone_comes_to() {
    for state in [State::Hit, State::Nothing, State::PastTtl, State::Failing] {
        for result in [Ok(11), Err("down")] {
            assert_eq!(
                blocking(state, result),
                not_blocking(state, result),
                "{state:?}, the function returning {result:?}"
            );
        }
    }
}

/// A plain lookup reads ahead too: a hit once, a missing key once (a lookup computes nothing, so
/// it looks no further), and the hit counted as the tier's.
#[test]
fn a_lookup_read_ahead_reads_the_tier_once() {
    for (state, value) in [(State::Hit, Some(10)), (State::Nothing, None)] {
        let (_dir, cache, tier, _) = setup(state);
        assert_eq!(cache.get(&1), value, "{state:?}");
        assert_eq!(tier.reads.load(Ordering::SeqCst), 1, "{state:?}");
        let stats = cache.stats();
        assert_eq!(stats.hits, u64::from(value.is_some()), "{state:?}");
    }
}
