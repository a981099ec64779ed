//! Left by the attacker of session 11: background refreshes whose function hangs (a server that
//! never answers) held the process's four refresh threads, and every other key's and cache's
//! background refresh waited behind them for good — their entries served stale until the
//! window ended.

use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use cacher::{Cache, Clock, MockClock};

const MIN: Duration = Duration::from_secs(60);
/// How long a refresh may take to start: far longer than it takes, far shorter than never.
const BOUND: Duration = Duration::from_secs(10);
/// `REFRESHES_PER_CACHE` in `cache/refresh.rs`.
const PER_CACHE: u32 = 16;

/// A cache holding `"old"` for keys `0..keys`, all past the ttl and within the window.
fn stale(keys: u32) -> (Cache<u32, String>, Arc<MockClock>) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .ttl(MIN)
        .stale_while_revalidate(10 * MIN)
        .clock(clock)
        .build()
        .unwrap();
    for key in 0..keys {
        cache.insert(&key, "old".to_owned()).unwrap();
    }
    mock.advance(2 * MIN);
    (cache, mock)
}

/// Starts the refresh of `key`, whose function says it started and hangs until the sender kept in
/// `hung` is dropped (the end of the test).
fn hang(cache: &Cache<u32, String>, key: u32, hung: &mut Vec<Sender<()>>, started: &Sender<u32>) {
    let (hold, held) = channel::<()>();
    hung.push(hold);
    let started = started.clone();
    let served = cache.get_or_refresh(&key, move || {
        started.send(key).unwrap();
        let _ = held.recv();
        "never".to_owned()
    });
    assert_eq!(served, "old");
}

/// Refreshes `key` and waits for its function to run.
fn refreshed(cache: &Cache<u32, String>, key: u32) {
    let (ran, runs) = channel();
    let served = cache.get_or_refresh(&key, move || {
        ran.send(()).unwrap();
        "new".to_owned()
    });
    assert_eq!(served, "old");
    runs.recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("key {key}'s refresh never ran behind the hung ones"));
}

/// Hangs the refreshes of `keys` of `cache`, each started once this returns.
fn hang_all(cache: &Cache<u32, String>, keys: std::ops::Range<u32>) -> Vec<Sender<()>> {
    let (started, starts) = channel();
    let mut hung = Vec::new();
    for key in keys {
        hang(cache, key, &mut hung, &started);
        assert_eq!(
            starts.recv_timeout(BOUND),
            Ok(key),
            "key {key}'s refresh never started behind the hung ones"
        );
    }
    hung
}

#[test]
fn refreshes_that_hang_do_not_hold_up_other_keys_or_caches() {
    let (cache, _mock) = stale(6);
    // Five refreshes hang (more than the four threads there were)...
    let hung = hang_all(&cache, 0..5);
    // ...another key of the cache and another cache still refresh.
    refreshed(&cache, 5);
    let (other, _other_mock) = stale(1);
    refreshed(&other, 0);
    drop(hung);
}

/// Says when it is dropped.
struct Says(Sender<()>);

impl Drop for Says {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn a_cache_whose_refreshes_hang_holds_a_bounded_number_of_threads() {
    let (cache, _mock) = stale(PER_CACHE + 1);
    let hung = hang_all(&cache, 0..PER_CACHE);
    // The cache's bound reached: its next stale key is served without a refresh (its function
    // dropped unrun, before the call returns) and takes no thread; a later call claims one.
    let (dropped, drops) = channel::<()>();
    let says = Says(dropped);
    let served = cache.get_or_refresh(&PER_CACHE, move || {
        let _says = &says;
        "not run".to_owned()
    });
    assert_eq!(served, "old");
    assert_eq!(
        drops.try_recv(),
        Ok(()),
        "the function was kept, not dropped unrun"
    );
    drop(hung);
}
