//! The options of the two issues together: per-call control on a function that refreshes in the
//! background, a key expression with `stale_while_revalidate`, `peek` under `time_to_idle`, float
//! keys with `ttl_fn`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cacher::{Clock, MockClock, Origin, cached};
use serde::Serialize;

use super::{MIN, eventually};

fn mock() -> &'static (Clock, Arc<MockClock>) {
    static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
    MOCK.get_or_init(Clock::mock)
}

fn swr_clock() -> Clock {
    mock().0.clone()
}

static SWR_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl = "1m", stale_while_revalidate = "10m", clock = swr_clock)]
fn swr(id: u32) -> String {
    let n = SWR_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{id}#{n}")
}

#[test]
fn refresh_bypass_and_lookup_steer_a_function_that_refreshes_in_the_background() {
    let first = swr(1);
    let cache = swr_cache();
    assert_eq!(cache.lookup(|| swr(1)).origin, Origin::Hit);
    let refreshed = cache.refresh(|| swr(1));
    assert_ne!(refreshed, first, "computed now");
    assert_eq!(cache.peek(&(1,)), Some(refreshed.clone()), "and stored");
    let bypassed = cache.bypass(|| swr(1));
    assert_ne!(bypassed, refreshed);
    assert_eq!(
        cache.peek(&(1,)),
        Some(refreshed.clone()),
        "bypass stores nothing"
    );
    mock().1.advance(2 * MIN);
    let stale = cache.lookup(|| swr(1));
    assert_eq!(
        (stale.value, stale.origin),
        (refreshed.clone(), Origin::Stale)
    );
    eventually("the background refresh", || {
        cache.peek(&(1,)).is_some_and(|v| v != refreshed)
    });
}

#[derive(Clone, Serialize)]
struct Doc {
    id: u32,
    body: String,
}

/// A clock of its own: `swr`'s test, run beside this one, moves its clock.
fn doc_clock() -> Clock {
    static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
    MOCK.get_or_init(Clock::mock).0.clone()
}

static DOC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(key = doc.id, ttl = "1m", stale_while_revalidate = "10m", clock = doc_clock)]
fn doc_len(doc: Doc) -> usize {
    DOC_RUNS.fetch_add(1, Ordering::SeqCst);
    doc.body.len()
}

#[test]
fn a_key_expression_over_an_owned_argument_refreshes_in_the_background() {
    let doc = |id, body: &str| Doc {
        id,
        body: body.to_owned(),
    };
    assert_eq!(doc_len(doc(1, "abc")), 3);
    assert_eq!(doc_len(doc(1, "abcdef")), 3, "keyed by the id alone");
    assert_eq!(doc_len(doc(2, "abcdef")), 6);
}

fn idle_clock() -> Clock {
    static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
    MOCK.get_or_init(Clock::mock).0.clone()
}

fn float_ttl(value: &f64) -> Option<Duration> {
    Some(Duration::from_secs(value.abs() as u64))
}

static FLOAT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(ttl_fn = float_ttl, clock = idle_clock)]
fn scaled(x: f64) -> f64 {
    FLOAT_RUNS.fetch_add(1, Ordering::SeqCst);
    x * 60.0
}

#[test]
fn float_keys_take_their_value_s_own_ttl() {
    assert_eq!(scaled(1.0), 60.0);
    assert_eq!(scaled(-0.0), -0.0);
    assert_eq!(
        scaled(0.0).to_bits(),
        0.0f64.to_bits(),
        "two zeros, two keys"
    );
    assert!(scaled(f64::NAN).is_nan());
    assert_eq!(FLOAT_RUNS.load(Ordering::SeqCst), 4);
}

/// A peek is not a use: an entry only peeked at idles out, one read by a call stays.
#[test]
fn a_peek_records_no_use_under_time_to_idle() {
    let (clock, mock) = Clock::mock();
    let cache: cacher::Cache<u32, u32> = cacher::Cache::builder()
        .time_to_idle(MIN)
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 10).unwrap();
    cache.insert(&2, 20).unwrap();
    mock.advance(MIN / 2);
    assert_eq!(cache.peek(&1), Some(10));
    assert_eq!(cache.get_or_compute(&2, || 0), 20);
    mock.advance(MIN * 3 / 4);
    assert_eq!(cache.peek(&1), None, "idle since it was stored");
    assert_eq!(cache.peek(&2), Some(20), "used half a window ago");
    assert_eq!(cache.stats().hits, 1, "the call's hit only");
}

fn keyed_pair() -> &'static (Clock, Arc<MockClock>) {
    static MOCK: OnceLock<(Clock, Arc<MockClock>)> = OnceLock::new();
    MOCK.get_or_init(Clock::mock)
}

fn keyed_clock() -> Clock {
    keyed_pair().0.clone()
}

static KEYED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(
    key = doc.id,
    backend = "file",
    cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/freshness/keyed_refresh"),
    ttl = "1m",
    stale_while_revalidate = "10m",
    clock = keyed_clock
)]
fn keyed_refresh(doc: Doc) -> String {
    let n = KEYED_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{}#{n}", doc.id)
}

/// The background refresh of a function keyed by an expression stores under the key the
/// expression's value names, so that the entry on disk is the one replaced (an `Encoded` key
/// made again from its text would name another entry, and the stale one would stay).
#[test]
fn a_background_refresh_of_a_key_expression_replaces_its_entry_on_disk() {
    let cache = keyed_refresh_cache();
    cache.clear().unwrap();
    let doc = || Doc {
        id: 1,
        body: String::new(),
    };
    let first = keyed_refresh(doc());
    keyed_pair().1.advance(2 * MIN);
    assert_eq!(keyed_refresh(doc()), first, "stale, at once");
    eventually("the refreshed entry on disk", || {
        cache.peek(&1u32).is_some_and(|v| v != first)
    });
}

/// A value whose own ttl is zero is stored nowhere; after `insert` or `refresh` of one, the key's
/// older value is not served either: it is what the new value replaced.
#[test]
fn a_value_with_a_zero_ttl_replaces_the_older_entry_when_primed_or_refreshed() {
    let cache: cacher::Cache<u32, u32> = cacher::Cache::builder()
        .ttl(MIN)
        .ttl_fn(|v: &u32| (*v == 0).then_some(Duration::ZERO))
        .build()
        .unwrap();
    cache.insert(&1, 5).unwrap();
    cache.insert(&1, 0).unwrap();
    assert_eq!(cache.get(&1), None, "not the value the insert replaced");
    assert_eq!(cache.get_or_compute(&2, || 5), 5);
    assert_eq!(cache.refresh(|| cache.get_or_compute(&2, || 0)), 0);
    assert_eq!(cache.get_or_compute(&2, || 7), 7, "computed anew");
}

/// `refresh_async` of a value whose own ttl is zero replaces the older entry as `refresh` does,
/// in the memory tier and on disk (removed on a blocking thread, not the executor's).
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_async_of_a_zero_ttl_value_removes_the_older_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = || -> cacher::Cache<u32, u32> {
        cacher::Cache::builder()
            .ttl(MIN)
            .ttl_fn(|v: &u32| (*v == 0).then_some(Duration::ZERO))
            .backend(cacher::MemoryBackend::new())
            .backend(cacher::SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let first = cache();
    assert_eq!(first.get_or_compute_async(&2, || async { 5 }).await, 5);
    let refreshed = first
        .refresh_async(first.get_or_compute_async(&2, || async { 0 }))
        .await;
    assert_eq!(refreshed, 0);
    assert_eq!(first.get(&2), None, "not the value the refresh replaced");
    assert_eq!(cache().get(&2), None, "nor on disk, for another process");
}
