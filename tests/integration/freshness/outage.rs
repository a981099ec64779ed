//! Outages: after a failure served stale, the failing function is left alone for the backoff.

use std::time::Duration;

use cacher::{Cache, Clock, MockClock};
use cacher_tests::Calls;
use std::sync::Arc;

use super::MIN;

fn stale_cache(backoff: Option<Duration>) -> (Cache<u32, u64>, Arc<MockClock>) {
    let (clock, mock) = Clock::mock();
    let mut builder = Cache::builder()
        .ttl(MIN)
        .stale_if_error(60 * MIN)
        .clock(clock);
    if let Some(backoff) = backoff {
        builder = builder.error_backoff(backoff);
    }
    let cache = builder.build().unwrap();
    cache.insert(&1, 1).unwrap();
    mock.advance(2 * MIN);
    (cache, mock)
}

#[test]
fn five_calls_during_an_outage_call_the_failing_function_once_per_backoff() {
    let (cache, mock) = stale_cache(None);
    let calls = Calls::default();
    let failing = || {
        calls.hit();
        Err::<u64, _>("down")
    };
    for _ in 0..5 {
        assert_eq!(cache.try_get_or_compute(&1, failing), Ok(1));
    }
    assert_eq!(calls.count(), 1, "one call, then the backoff");
    assert_eq!(cache.stats().stale_served, 5);
    mock.advance(cacher::DEFAULT_ERROR_BACKOFF - Duration::from_millis(1));
    assert_eq!(cache.try_get_or_compute(&1, failing), Ok(1));
    assert_eq!(calls.count(), 1);
    mock.advance(Duration::from_millis(1));
    assert_eq!(cache.try_get_or_compute(&1, failing), Ok(1));
    assert_eq!(calls.count(), 2, "tried again once the backoff is over");
}

#[test]
fn a_success_ends_the_outage() {
    let (cache, mock) = stale_cache(Some(Duration::from_secs(10)));
    assert_eq!(
        cache.try_get_or_compute(&1, || Err::<u64, _>("down")),
        Ok(1)
    );
    mock.advance(Duration::from_secs(10));
    assert_eq!(cache.try_get_or_compute(&1, || Ok::<_, &str>(2)), Ok(2));
    mock.advance(2 * MIN);
    // A new outage starts its own backoff: the first failure calls.
    let calls = Calls::default();
    let failing = || {
        calls.hit();
        Err::<u64, _>("down")
    };
    assert_eq!(cache.try_get_or_compute(&1, failing), Ok(2));
    assert_eq!(calls.count(), 1);
}

#[test]
fn a_zero_backoff_calls_on_every_call() {
    let (cache, _mock) = stale_cache(Some(Duration::ZERO));
    let calls = Calls::default();
    for _ in 0..3 {
        let got = cache.try_get_or_compute(&1, || {
            calls.hit();
            Err::<u64, _>("down")
        });
        assert_eq!(got, Ok(1));
    }
    assert_eq!(calls.count(), 3);
}

#[test]
fn past_the_grace_the_error_comes_through_even_in_backoff() {
    let (cache, mock) = stale_cache(None);
    assert_eq!(
        cache.try_get_or_compute(&1, || Err::<u64, _>("down")),
        Ok(1)
    );
    mock.advance(60 * MIN);
    assert_eq!(
        cache.try_get_or_compute(&1, || Err::<u64, _>("down")),
        Err("down")
    );
}

#[test]
fn a_waiter_of_a_failing_leader_serves_the_stale_entry_without_calling() {
    let cache = cacher_tests::cache_with_a_stale_entry();
    let (gate, held) = cacher_tests::gate();
    let calls = Calls::default();
    std::thread::scope(|s| {
        let leader =
            s.spawn(|| cache.try_get_or_compute("k", move || held.hold(Err("the API is down"))));
        gate.started();
        let waiter = s.spawn(|| {
            cache.try_get_or_compute("k", || {
                calls.hit();
                Ok::<u64, &str>(2)
            })
        });
        // Let the waiter reach the flight (were it late, it would find the backoff all the same).
        std::thread::sleep(Duration::from_millis(100));
        gate.release();
        assert_eq!(leader.join().unwrap(), Ok(1));
        assert_eq!(waiter.join().unwrap(), Ok(1), "the stale entry, in backoff");
    });
    assert_eq!(calls.count(), 0);
}
