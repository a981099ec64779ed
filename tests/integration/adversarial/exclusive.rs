//! The stores that hold their key's stripe alone while they write (a forced `refresh`'s,
//! `Generations::begin_refresh`), against a `remove` or `clear` on another thread: once the
//! invalidation returns, no value computed before it lands after it, whichever of the two
//! threads a store under way in the stripe lets go first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, PersistentBackend};

const WAIT: Duration = Duration::from_secs(10);

/// A tier over a shared map whose write of `1` holds until [`release`](Self::release) (a store
/// under way in the key's stripe, as long as the test likes), and whose write of `2` takes a
/// little while (so that an invalidation running beside it clears the tier first).
///
/// With `hang_all`, every write hangs until released, however long an invalidation waits for
/// it (a disk that stops answering).
#[derive(Clone, Default)]
struct Held {
    map: Arc<Mutex<HashMap<String, Entry<u64>>>>,
    started: Arc<AtomicBool>,
    released: Arc<AtomicBool>,
    hang_all: bool,
}

impl Held {
    fn value(&self, key: &str) -> Option<u64> {
        self.map.lock().unwrap().get(key).map(|entry| entry.value)
    }

    /// Returns once the write of `1` has begun.
    fn wait_started(&self) {
        let start = Instant::now();
        while !self.started.load(SeqCst) {
            assert!(start.elapsed() < WAIT, "the write of 1 never began");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn release(&self) {
        self.released.store(true, SeqCst);
    }
}

impl PersistentBackend<u64> for Held {
    fn name(&self) -> &'static str {
        "held"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(self.map.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        match entry.value {
            _ if self.hang_all => {
                self.started.store(true, SeqCst);
                let start = Instant::now();
                while !self.released.load(SeqCst) {
                    assert!(start.elapsed() < 6 * WAIT, "never released");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            1 => {
                self.started.store(true, SeqCst);
                let start = Instant::now();
                while !self.released.load(SeqCst) && start.elapsed() < WAIT {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            2 => std::thread::sleep(Duration::from_millis(30)),
            _ => {}
        }
        let mut map = self.map.lock().unwrap();
        map.insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        self.map.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.map.lock().unwrap().clear();
        Ok(())
    }
}

/// One round: a forced refresh of key 1 (computing 2) whose store waits for a store of the
/// stripe under way (a `get_or_compute` of key 1 writing 1), an invalidation (`invalidate`: a
/// `remove` or a `clear`) that begins meanwhile and waits for the same store; then the store
/// under way ends and lets both go. What the cache and its tier hold for key 1 afterwards.
fn round(invalidate: fn(&Cache<u32, u64>)) -> (Option<u64>, Option<u64>) {
    let tier = Held::default();
    let cache = super::memory_over(tier.clone());
    let key = cache.key_of(&1).unwrap();
    let (computing, computing_rx) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let refresher = cache.clone();
    let refresh = std::thread::spawn(move || {
        refresher.refresh(|| {
            refresher.get_or_compute(&1, || {
                computing.send(()).unwrap();
                go_rx.recv_timeout(WAIT).expect("let go");
                2
            })
        })
    });
    // The refresh noted its generation and computes: a call of the key starts its own store.
    computing_rx
        .recv_timeout(WAIT)
        .expect("the refresh computes");
    let caller = cache.clone();
    let stored = std::thread::spawn(move || caller.get_or_compute(&1, || 1));
    tier.wait_started();
    // The refresh's value, its generation unchanged: its store waits for the one under way.
    go.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let remover = cache.clone();
    let invalidation = std::thread::spawn(move || invalidate(&remover));
    std::thread::sleep(Duration::from_millis(20));
    // Both wait for the store under way; it ends.
    tier.release();
    invalidation.join().unwrap();
    assert_eq!(
        refresh.join().unwrap(),
        2,
        "the refresh's caller gets its value"
    );
    assert_eq!(stored.join().unwrap(), 1);
    (cache.get(&1), tier.value(&key))
}

/// The refresh checked its generation, then waited for the stripe's stores under way before
/// counting its own; the `remove` bumped the generation after that check and waited for the
/// same stores, and when the last one ended it saw none under way (the refresh's not counted
/// yet) and cleared the tiers while the refresh wrote: the refresh's 2, computed before the
/// remove began, landed in the tier after `remove` returned, and was served.
#[test]
fn a_refresh_waiting_to_store_does_not_store_after_a_remove_that_waited_beside_it() {
    for attempt in 0..16 {
        let after = round(|cache| cache.remove(&1).unwrap());
        assert_eq!(
            after,
            (None, None),
            "attempt {attempt}: remove(1) returned, yet the refresh's value computed before it \
             is found after it (cache, tier)"
        );
    }
}

/// As above, for `clear`.
#[test]
fn a_refresh_waiting_to_store_does_not_store_after_a_clear_that_waited_beside_it() {
    for attempt in 0..16 {
        let after = round(|cache| cache.clear().unwrap());
        assert_eq!(
            after,
            (None, None),
            "attempt {attempt}: clear() returned, yet the refresh's value computed before it is \
             found after it (cache, tier)"
        );
    }
}

/// A cache with memory in front of a tier whose writes hang ([`Held`]'s `hang_all`), and a
/// blocking call of key 1 computing `value` on another thread, its write begun (and hanging).
fn hung_write(value: u64) -> (Held, Cache<u32, u64>, std::thread::JoinHandle<u64>) {
    let tier = Held {
        hang_all: true,
        ..Held::default()
    };
    let cache = super::memory_over(tier.clone());
    let caller = cache.clone();
    let call = std::thread::spawn(move || caller.get_or_compute(&1, || value));
    tier.wait_started();
    (tier, cache, call)
}

/// A blocking call whose tier write hangs past the bound (10 s) that `remove` waits for stores
/// under way: the remove goes on, clears memory and the tier, returns; the write, when it ends,
/// put the removed value in the tier, served again by the next lookup (the blocking driver's
/// writes, made step by step by the core, did not check that an invalidation went on).
#[test]
fn a_tier_write_that_hangs_past_a_removes_wait_does_not_land_after_it() {
    let (tier, cache, call) = hung_write(2);
    let key = cache.key_of(&1).unwrap();
    cache.remove(&1).unwrap();
    tier.release();
    assert_eq!(call.join().unwrap(), 2, "the caller gets its value");
    let value = tier.value(&key);
    assert_eq!(
        (cache.get(&1), value),
        (None, None),
        "remove returned, then the hung write put the removed value back"
    );
}

/// `refresh_async` while a store of its key's stripe is under way (another thread's call whose
/// tier write hangs): the refresh must wait for it — its value must not land before the older
/// one — but not on the executor's thread. Its first poll waited there, blocking, for the store
/// (`plan`'s invalidation; then the store's own `begin_refresh`), up to the 10 s bound: every
/// other task of a current-thread runtime stood still meanwhile.
#[test]
fn refresh_async_waits_for_a_store_under_way_without_blocking_the_executor() {
    let start = Instant::now();
    let (tier, cache, call) = hung_write(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refreshed = runtime.block_on(async {
        let refresh = cache.refresh_async(cache.get_or_compute_async(&1, || async { 2 }));
        let ticks = async {
            // Another task of the runtime: it runs while the refresh waits, then lets the
            // store under way go.
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let stood_still = start.elapsed();
            tier.release();
            stood_still
        };
        tokio::join!(refresh, ticks)
    });
    assert_eq!(call.join().unwrap(), 1);
    let (value, ticked_after) = refreshed;
    assert_eq!(value, 2, "the refresh returns its value");
    assert!(
        ticked_after < Duration::from_secs(5),
        "the runtime's other task stood still {ticked_after:?} while the refresh waited"
    );
    assert_eq!(
        cache.get(&1),
        Some(2),
        "the refresh's value stands, after the older one"
    );
}
