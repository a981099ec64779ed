//! A ttl from the value: stored with the entry, read back by another cache, the fixed ttl as
//! the default.

use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, SeparateFileBackend};
use cacher_tests::Calls;

use super::MIN;

/// A token that says how long it is valid, as an OAuth response does.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Token {
    secret: String,
    expires_in: Option<u64>,
}

fn expires(token: &Token) -> Option<Duration> {
    token.expires_in.map(Duration::from_secs)
}

fn token(expires_in: Option<u64>) -> Token {
    Token {
        secret: "s".into(),
        expires_in,
    }
}

#[test]
fn each_entry_lives_for_its_own_ttl_and_others_for_the_fixed_one() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, Token> = Cache::builder()
        .ttl(10 * MIN)
        .ttl_fn(expires)
        .clock(clock)
        .build()
        .unwrap();
    cache.get_or_compute(&1, || token(Some(60)));
    cache.get_or_compute(&2, || token(None));
    cache.get_or_compute(&3, || token(Some(3600)));
    mock.advance(MIN);
    assert_eq!(cache.get(&1), None, "its own 60 s are over");
    assert!(cache.get(&2).is_some(), "the fixed 10 min apply");
    mock.advance(10 * MIN);
    assert_eq!(cache.get(&2), None);
    assert!(
        cache.get(&3).is_some(),
        "its own hour, longer than the fixed ttl"
    );
}

#[test]
fn the_entry_ttl_is_stored_on_disk_and_honoured_by_another_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let build = |with_fn: bool| -> Cache<u32, Token> {
        let builder = Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .ttl(10 * MIN)
            .clock(clock.clone());
        match with_fn {
            true => builder.ttl_fn(expires).build().unwrap(),
            false => builder.build().unwrap(),
        }
    };
    build(true).get_or_compute(&1, || token(Some(60)));
    let reader = build(false); // no ttl_fn: the stored ttl still applies
    mock.advance(Duration::from_secs(59));
    assert!(reader.get(&1).is_some());
    mock.advance(Duration::from_secs(1));
    assert_eq!(reader.get(&1), None, "60 s from the entry, not 10 min");
}

#[test]
fn a_value_with_a_zero_ttl_is_returned_and_not_stored() {
    let cache: Cache<u32, Token> = Cache::builder().ttl_fn(expires).build().unwrap();
    let calls = Calls::default();
    for _ in 0..2 {
        let got = cache.get_or_compute(&1, || {
            calls.hit();
            token(Some(0))
        });
        assert_eq!(got, token(Some(0)));
    }
    assert_eq!(calls.count(), 2);
    assert_eq!(cache.stats().stores, 0);
}

#[test]
fn without_a_fixed_ttl_values_that_say_nothing_never_expire() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, Token> = Cache::builder()
        .ttl_fn(expires)
        .clock(clock)
        .build()
        .unwrap();
    cache.get_or_compute(&1, || token(None));
    cache.get_or_compute(&2, || token(Some(60)));
    mock.advance(365 * 24 * 60 * MIN);
    assert!(cache.get(&1).is_some());
    assert_eq!(cache.get(&2), None);
}

/// A value's own ttl under a millisecond is one millisecond, as the fixed ttl is: truncated to
/// zero, it was "stored nowhere" and the function ran on every call; and 1.5 ms was 1 ms.
#[test]
fn a_ttl_of_its_own_that_is_not_whole_milliseconds_is_rounded_up() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, Duration> = Cache::builder()
        .ttl_fn(|ttl: &Duration| Some(*ttl))
        .clock(clock)
        .build()
        .unwrap();
    let calls = Calls::default();
    for _ in 0..2 {
        cache.get_or_compute(&1, || {
            calls.hit();
            Duration::from_micros(500)
        });
    }
    assert_eq!(calls.count(), 1, "500 µs is stored for a millisecond");
    cache.insert(&2, Duration::from_micros(1_500)).unwrap();
    mock.advance(Duration::from_millis(1));
    assert!(cache.get(&2).is_some(), "1.5 ms is 2 ms, not 1");
    mock.advance(Duration::from_millis(1));
    assert_eq!(cache.get(&2), None);
    let refreshed = || cache.get_or_compute(&3, || Duration::from_micros(500));
    cache.refresh(refreshed);
    assert!(
        cache.get(&3).is_some(),
        "a refresh stores it as a computation does"
    );
}

/// An entry's own ttl, written by a process with a `ttl_fn`, is honoured by a cache with no ttl
/// at all that reads it — in its memory tier too, once the file's hit filled it.
#[test]
fn an_untimed_cache_honours_the_ttl_an_entry_records_after_filling_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let writer: Cache<u32, Token> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .ttl_fn(expires)
        .clock(clock.clone())
        .build()
        .unwrap();
    writer.insert(&1, token(Some(60))).unwrap();
    let reader: Cache<u32, Token> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .clock(clock)
        .build()
        .unwrap();
    assert!(reader.get(&1).is_some(), "fresh: read from the file");
    mock.advance(MIN);
    assert_eq!(reader.get(&1), None, "its own 60 s are over");
    let calls = Calls::default();
    reader.get_or_compute(&1, || {
        calls.hit();
        token(Some(60))
    });
    assert_eq!(calls.count(), 1, "recomputed, not served from memory");
}
