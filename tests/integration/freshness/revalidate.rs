//! stale_while_revalidate: past the ttl, within the window, the stale value at once and one
//! refresh in the background; invalidations win over a refresh; a failed refresh keeps the entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, MockClock, SeparateFileBackend};
use cacher_tests::{Calls, gate};

use super::{MIN, eventually};

type Fetch = Result<String, String>;

fn swr_cache(clock: Clock) -> Cache<u32, String> {
    Cache::builder()
        .ttl(MIN)
        .stale_while_revalidate(10 * MIN)
        .clock(clock)
        .build()
        .unwrap()
}

/// A cache holding "old" for key 1, now past its ttl and within the window.
fn with_stale_entry() -> (Cache<u32, String>, Arc<MockClock>) {
    let (clock, mock) = Clock::mock();
    let cache = swr_cache(clock);
    cache.insert(&1, "old".to_owned()).unwrap();
    mock.advance(2 * MIN);
    (cache, mock)
}

#[test]
fn a_stale_entry_is_served_at_once_while_one_refresh_replaces_it() {
    let (cache, _mock) = with_stale_entry();
    let (gate, held) = gate();
    let held = Arc::new(std::sync::Mutex::new(Some(held)));
    let calls = Calls::default();
    let refresh = {
        let (calls, held) = (calls.clone(), Arc::clone(&held));
        move || -> Fetch {
            calls.hit();
            let held = held.lock().unwrap().take().expect("one refresh only");
            Ok(held.hold("new".to_owned()))
        }
    };
    // The refresh is held: every caller meanwhile gets the stale value, none starts another.
    assert_eq!(
        cache.try_get_or_refresh(&1, refresh.clone()),
        Ok("old".into())
    );
    gate.started();
    for _ in 0..5 {
        assert_eq!(
            cache.try_get_or_refresh(&1, refresh.clone()),
            Ok("old".into())
        );
    }
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.stats().stale_served, 6);
    gate.release();
    eventually("the refresh to land", || {
        cache.get(&1).as_deref() == Some("new")
    });
    assert_eq!(calls.count(), 1);
}

#[test]
fn concurrent_callers_start_one_refresh() {
    let (cache, _mock) = with_stale_entry();
    let calls = Arc::new(AtomicUsize::new(0));
    let (gate, held) = gate();
    let held = Arc::new(std::sync::Mutex::new(Some(held)));
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (cache, calls, held) = (cache.clone(), Arc::clone(&calls), Arc::clone(&held));
            s.spawn(move || {
                let got = cache.try_get_or_refresh(&1, move || -> Fetch {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let held = held.lock().unwrap().take();
                    Ok(held.map_or("second".into(), |h| h.hold("new".into())))
                });
                assert_eq!(got, Ok("old".into()));
            });
        }
    });
    gate.started();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    gate.release();
    eventually("the refresh to land", || {
        cache.get(&1).as_deref() == Some("new")
    });
}

#[test]
fn a_failed_refresh_keeps_the_stale_entry_and_backs_off() {
    let (cache, mock) = with_stale_entry();
    let calls = Calls::default();
    let failing = {
        let calls = calls.clone();
        move || -> Fetch {
            calls.hit();
            Err("down".into())
        }
    };
    assert_eq!(
        cache.try_get_or_refresh(&1, failing.clone()),
        Ok("old".into())
    );
    eventually("the refresh to fail", || cache.stats().errors == 1);
    assert_eq!(
        cache.stats().misses,
        0,
        "a failed refresh is an error, not a miss"
    );
    // Within the error backoff, no refresh is tried; the stale entry is still served.
    for _ in 0..5 {
        assert_eq!(
            cache.try_get_or_refresh(&1, failing.clone()),
            Ok("old".into())
        );
    }
    assert_eq!(calls.count(), 1);
    mock.advance(cacher::DEFAULT_ERROR_BACKOFF);
    // Past the backoff, the first call refreshes again: the failed refresh let its claim go
    // before its failure was counted (above), not after.
    assert_eq!(
        cache.try_get_or_refresh(&1, failing.clone()),
        Ok("old".into())
    );
    eventually("a second refresh", || calls.count() == 2);
    // The second failure backs off again: no third refresh.
    assert_eq!(cache.try_get_or_refresh(&1, failing), Ok("old".into()));
    assert_eq!(calls.count(), 2);
}

#[test]
fn past_the_window_the_caller_computes() {
    let (cache, mock) = with_stale_entry();
    mock.advance(10 * MIN);
    let got = cache.try_get_or_refresh(&1, || Ok::<_, String>("new".into()));
    assert_eq!(got, Ok("new".into()));
}

#[test]
fn get_or_compute_cannot_detach_its_function_and_computes_in_the_caller() {
    let (cache, _mock) = with_stale_entry();
    assert_eq!(cache.get_or_compute(&1, || "new".to_owned()), "new");
}

#[test]
fn a_remove_during_a_refresh_keeps_its_value_out() {
    let (cache, _mock) = with_stale_entry();
    let (gate, held) = gate();
    let got = cache.try_get_or_refresh(&1, move || -> Fetch { Ok(held.hold("new".into())) });
    assert_eq!(got, Ok("old".into()));
    gate.started();
    cache.remove(&1).unwrap();
    gate.release();
    // The refresh finishes without storing: the key stays absent.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(cache.get(&1), None);
}

#[test]
fn the_refresh_replaces_the_entry_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let build = || -> Cache<u32, String> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .ttl(MIN)
            .stale_while_revalidate(10 * MIN)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    build().insert(&1, "old".to_owned()).unwrap();
    mock.advance(2 * MIN);
    let cache = build(); // reads the stale entry from disk
    let got = cache.try_get_or_refresh(&1, || Ok::<_, String>("new".into()));
    assert_eq!(got, Ok("old".into()));
    eventually("the refresh on disk", || {
        build().get(&1).as_deref() == Some("new")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_refresh_is_a_task_on_the_callers_runtime() {
    let (cache, _mock) = with_stale_entry();
    let got = cache
        .try_get_or_refresh_async(&1, || async { Ok::<_, String>("new".to_owned()) })
        .await;
    assert_eq!(got, Ok("old".into()));
    for _ in 0..2000 {
        if cache.get(&1).as_deref() == Some("new") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the async refresh did not land");
}

#[test]
fn stale_while_revalidate_needs_a_ttl() {
    let built = Cache::<u32, String>::builder()
        .stale_while_revalidate(MIN)
        .build();
    assert!(matches!(built, Err(cacher::Error::Config(_))));
}
