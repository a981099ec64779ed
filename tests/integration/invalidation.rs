//! Invalidation against computations under way: once `remove`, `insert` or `clear` returns, no
//! value computed (or read) before it is stored after it, served to a caller who came after it,
//! or handed out as a stale fallback — whether the computation is a leader's, an abandoned
//! leader's, or a waiter's that stopped waiting. And the waits around them stay bounded.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use cacher::entry::{Entry, EntryKey};
use cacher::lock::{FlightGuard, FlightLock};
use cacher::{Cache, Error, MemoryBackend, PersistentBackend, SeparateFileBackend};
use cacher_tests::{cache_with_a_stale_entry, gate};

#[derive(Clone, Default)]
struct Shared {
    map: Arc<Mutex<HashMap<String, Entry<u64>>>>,
    gets: Arc<AtomicUsize>,
    inserts: Arc<AtomicUsize>,
}

/// A tier over a shared map. `fail_get_at`: the n-th get (0-based) fails with Error::Backend.
/// `gate_first_insert`: the first insert signals `entered` and waits for `release`.
/// Tells the test a write has begun, then holds it until released.
type Gate = (Mutex<mpsc::Sender<()>>, Mutex<mpsc::Receiver<()>>);

struct Scripted {
    s: Shared,
    fail_get_at: Option<usize>,
    gate: Option<Gate>,
}

impl Scripted {
    fn plain(s: &Shared) -> Self {
        Self {
            s: s.clone(),
            fail_get_at: None,
            gate: None,
        }
    }
}

fn backend_err() -> Error {
    Error::Backend {
        backend: "scripted",
        context: "GET".into(),
        source: Box::new(std::io::Error::other("server went away")),
    }
}

impl PersistentBackend<u64> for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        let n = self.s.gets.fetch_add(1, Ordering::SeqCst);
        if self.fail_get_at == Some(n) {
            return Err(backend_err());
        }
        Ok(self.s.map.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        let n = self.s.inserts.fetch_add(1, Ordering::SeqCst);
        if let (0, Some((entered, release))) = (n, &self.gate) {
            entered.lock().unwrap().send(()).unwrap();
            release.lock().unwrap().recv().unwrap();
        }
        self.s
            .map
            .lock()
            .unwrap()
            .insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        self.s.map.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.s.map.lock().unwrap().clear();
        Ok(())
    }
}

/// A tier whose server fails on the leader's second look (after it joined) is reported, like a
/// failure on the first look: a tier left alone for the rest of the call is never left silently.
#[test]
fn a_tier_failing_after_the_first_look_is_reported() {
    let s = Shared::default();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(Scripted {
            s: s.clone(),
            fail_get_at: Some(1),
            gate: None,
        })
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute("k", || 7), 7);
    assert_eq!(
        s.inserts.load(Ordering::SeqCst),
        0,
        "the failed tier is not written"
    );
    assert_eq!(cache.stats().errors, 1, "the failure is reported");
}

/// An `insert` while the leader writes its value waits for that write, then writes its own: the
/// older value never lands after `insert` returned.
#[test]
fn an_insert_during_the_leaders_write_is_not_undone_by_it() {
    let s = Shared::default();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(Scripted {
            s: s.clone(),
            fail_get_at: None,
            gate: Some((Mutex::new(entered_tx), Mutex::new(release_rx))),
        })
        .build()
        .unwrap();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", || 1));
        entered_rx.recv().unwrap(); // the leader is writing 1 to the tier
        let inserter = sc.spawn(|| cache.insert("k", 5).unwrap());
        // The insert waits for the write under way (were it early, it would pass all the same).
        std::thread::sleep(Duration::from_millis(100));
        release_tx.send(()).unwrap();
        inserter.join().unwrap();
        assert_eq!(leader.join().unwrap(), 1);
    });
    let fresh: Cache<String, u64> = Cache::builder()
        .backend(Scripted::plain(&s))
        .build()
        .unwrap();
    assert_eq!(cache.get("k"), Some(5), "memory tier");
    assert_eq!(fresh.get("k"), Some(5), "persistent tier");
}

/// A leader whose flight was abandoned (a waiter gave up on it) and replaced is still reached by
/// invalidation: its older value does not overwrite a later insert.
#[test]
fn an_abandoned_leader_does_not_store_over_a_later_insert() {
    let cache: Cache<String, u64> = Cache::builder()
        .wait_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let (gate, held) = gate();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        // A waiter times out (abandons the flight) and its own function fails: nothing stored.
        assert_eq!(
            cache.try_get_or_compute("k", || Err::<u64, _>("down")),
            Err("down")
        );
        // A later miss replaces the abandoned flight in the table and completes.
        assert_eq!(
            cache.try_get_or_compute("k", || Err::<u64, _>("down")),
            Err("down")
        );
        // The user stores the new value: no flight of "k" is in the table any more.
        cache.insert("k", 5).unwrap();
        assert_eq!(cache.get("k"), Some(5));
        gate.release();
        assert_eq!(leader.join().unwrap(), 1);
    });
    assert_eq!(cache.get("k"), Some(5));
}

/// A waiter that stopped waiting and computes for itself is reached by a `remove` too, even after
/// its leader finished: its value, computed before the remove, is not stored after it.
#[test]
fn a_timed_out_waiter_does_not_store_after_a_remove() {
    let cache: Cache<String, u64> = Cache::builder()
        .wait_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let (leader_gate, leader_held) = gate();
    let (waiter_gate, waiter_held) = gate();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", move || leader_held.hold(1)));
        leader_gate.started();
        let waiter = sc.spawn(|| {
            // Computed before the remove below.
            cache.get_or_compute("k", move || waiter_held.hold(3))
        });
        waiter_gate.started(); // the waiter timed out and computes
        leader_gate.release();
        assert_eq!(leader.join().unwrap(), 1);
        cache.remove("k").unwrap();
        assert_eq!(cache.get("k"), None);
        waiter_gate.release();
        assert_eq!(waiter.join().unwrap(), 3);
    });
    assert_eq!(cache.get("k"), None);
}

/// A caller that starts after `remove` returned does not join the computation that started before
/// it: it runs the function itself.
#[test]
fn a_caller_after_a_remove_does_not_get_the_value_computed_before_it() {
    let cache: Cache<String, u64> = Cache::builder().build().unwrap();
    let (gate, held) = gate();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        cache.remove("k").unwrap();
        // Started after remove() returned.
        let later = sc.spawn(|| cache.get_or_compute("k", || 2));
        std::thread::sleep(Duration::from_millis(100));
        gate.release();
        assert_eq!(leader.join().unwrap(), 1);
        assert_eq!(later.join().unwrap(), 2);
    });
    assert_eq!(cache.get("k"), Some(2));
}

#[derive(Default)]
struct LocalLock {
    held: Arc<(Mutex<HashSet<String>>, Condvar)>,
}
struct Held {
    held: Arc<(Mutex<HashSet<String>>, Condvar)>,
    name: String,
}
impl Drop for Held {
    fn drop(&mut self) {
        let (names, released) = &*self.held;
        names.lock().unwrap().remove(&self.name);
        released.notify_all();
    }
}
impl FlightLock for LocalLock {
    fn lock(&self, name: &str) -> cacher::Result<Option<FlightGuard<'_>>> {
        let (names, released) = &*self.held;
        let (mut names, wait) = released
            .wait_timeout_while(names.lock().unwrap(), Duration::from_secs(2), |n| {
                n.contains(name)
            })
            .unwrap();
        if wait.timed_out() {
            return Ok(None);
        }
        names.insert(name.to_owned());
        Ok(Some(Box::new(Held {
            held: Arc::clone(&self.held),
            name: name.to_owned(),
        })))
    }
}

/// After a waiter gives up on a stuck leader that holds the cross-process lock, the next caller
/// leads a new flight without waiting for that lock: `wait_timeout` bounds it, not the lock.
#[test]
fn the_leader_after_an_abandoned_flight_does_not_wait_for_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .cross_process_lock(LocalLock::default())
        .wait_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let (gate, held) = gate();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        assert_eq!(
            cache.try_get_or_compute("k", || Err::<u64, _>("down")),
            Err("down")
        );
        let start = Instant::now();
        assert_eq!(cache.get_or_compute("k", || 2), 2);
        let next = start.elapsed();
        gate.release();
        leader.join().unwrap();
        assert!(
            next < Duration::from_secs(1),
            "waited {next:?} for the stuck leader's lock"
        );
    });
}

/// A memory tier before a file tier in `dir` (whose lock file per key the cache takes), waits
/// bounded at 10 s.
fn memory_and_files(dir: &std::path::Path) -> Cache<String, u64> {
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .wait_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A function that removes its own key and asks for it again (attack, session 16), over a file
/// tier (whose lock file per key the cache takes by default): the inner call leads a new flight,
/// the outer one predating the removal, and computes at once. Before, it took the key's lock
/// file, which its own caller held: it waited its whole `wait_timeout` (60 s by default) for
/// itself.
#[test]
fn a_function_that_removes_its_own_key_and_asks_for_it_does_not_wait_for_its_own_lock() {
    let dir = tempfile::tempdir().unwrap();
    let cache = memory_and_files(dir.path());
    let start = Instant::now();
    let value = cache.get_or_compute("k", || {
        cache.remove("k").unwrap();
        cache.get_or_compute("k", || 1) + 1
    });
    assert_eq!(value, 2);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "waited {took:?} for itself");
}

/// A caller after a `remove` while the key's older computation still runs (holding the key's
/// lock file): it computes at once, not after the older one, whose value predates the removal
/// and is not stored. Before, it waited for that lock — as long as the older computation took,
/// up to its `wait_timeout` — then computed all the same.
#[test]
fn a_caller_after_a_remove_does_not_wait_for_the_lock_of_the_computation_it_predates() {
    let dir = tempfile::tempdir().unwrap();
    let cache = memory_and_files(dir.path());
    let (gate, held) = gate();
    std::thread::scope(|sc| {
        let older = sc.spawn(|| cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        cache.remove("k").unwrap();
        let start = Instant::now();
        assert_eq!(cache.get_or_compute("k", || 2), 2);
        let next = start.elapsed();
        gate.release();
        assert_eq!(older.join().unwrap(), 1);
        assert!(
            next < Duration::from_secs(5),
            "waited {next:?} for the older computation's lock"
        );
    });
    assert_eq!(cache.get("k"), Some(2));
}

/// `wait_timeout(Duration::MAX)` means "as long as the leader takes", not an overflow.
#[test]
fn a_wait_timeout_of_duration_max_waits_for_the_leader() {
    let cache: Cache<String, u64> = Cache::builder()
        .wait_timeout(Duration::MAX)
        .build()
        .unwrap();
    let (gate, held) = gate();
    std::thread::scope(|sc| {
        let leader = sc.spawn(|| cache.get_or_compute("k", move || held.hold(1)));
        gate.started();
        let waiter = sc.spawn(|| cache.get_or_compute("k", || 2));
        std::thread::sleep(Duration::from_millis(100));
        gate.release();
        assert_eq!(leader.join().unwrap(), 1);
        assert_eq!(waiter.join().unwrap(), 1);
    });
}

/// A stale fallback (`stale_if_error`) removed while the function ran is not served: the caller
/// gets the function's error.
#[test]
fn a_removed_entry_is_not_served_as_a_stale_fallback() {
    let cache = cache_with_a_stale_entry();
    let result = cache.try_get_or_compute("k", || {
        cache.remove("k").unwrap();
        Err("the API is down")
    });
    assert_eq!(result, Err("the API is down"));
}

/// The cache a [`RemovingKeyer`] removes `"k"` from, once, when it next makes a key.
static REMOVE_WHILE_KEYING: Mutex<Option<Cache<String, u64>>> = Mutex::new(None);

/// A keyer that runs [`REMOVE_WHILE_KEYING`]'s removal: user code a call runs after its memory
/// lookup, while it makes its persistent key.
#[derive(Debug)]
struct RemovingKeyer;

impl cacher::key::Keyer for RemovingKeyer {
    fn key(&self, _namespace: &str, _version: Option<&str>, canonical: &str) -> String {
        let armed = REMOVE_WHILE_KEYING.lock().unwrap().take();
        if let Some(cache) = armed {
            cache.remove("k").unwrap();
        }
        canonical.to_owned()
    }
}

/// A stale fallback removed after the call's memory lookup, while the call made its persistent
/// key (the keyer is user code), is not served either: the call's generation is noted before
/// the key is made. (Found by the review of the miss machine's rewrite, which noted it after.)
#[test]
fn a_stale_fallback_removed_while_the_key_is_made_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .keyer(RemovingKeyer)
        .ttl(Duration::from_secs(1))
        .stale_if_error(Duration::from_secs(3600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert("k", 1).unwrap();
    mock.advance(Duration::from_secs(2));
    *REMOVE_WHILE_KEYING.lock().unwrap() = Some(cache.clone());
    let result = cache.try_get_or_compute("k", || Err("the API is down"));
    assert_eq!(
        result,
        Err("the API is down"),
        "the removed value was served"
    );
}

/// A tier whose `remove` and `clear` tell the test they began, then wait for its go.
struct GatedRemoval {
    s: Shared,
    gate: Gate,
}

impl GatedRemoval {
    fn hold(&self) {
        self.gate.0.lock().unwrap().send(()).unwrap();
        self.gate.1.lock().unwrap().recv().unwrap();
    }
}

impl PersistentBackend<u64> for GatedRemoval {
    fn name(&self) -> &'static str {
        "gated"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(self.s.map.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        let mut map = self.s.map.lock().unwrap();
        map.insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        self.hold();
        self.s.map.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.hold();
        self.s.map.lock().unwrap().clear();
        Ok(())
    }
}

/// A caller that comes while `removal` is removing "k" from the persistent tier (and gets the
/// old value: the removal has not returned) must not put it back in the memory tier: once the
/// removal returns, a caller runs the function anew.
fn a_caller_during(removal: impl Fn(&Cache<String, u64>) + Sync) {
    let (entered_tx, entered) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let cache: Cache<String, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(GatedRemoval {
            s: Shared::default(),
            gate: (Mutex::new(entered_tx), Mutex::new(go_rx)),
        })
        .build()
        .unwrap();
    cache.insert("k", 1).unwrap();
    std::thread::scope(|sc| {
        let remover = sc.spawn(|| removal(&cache));
        entered.recv().unwrap(); // the persistent tier is being cleared of "k"
        let during = cache.get_or_compute("k", || 2);
        assert!(during == 1 || during == 2, "{during}");
        go.send(()).unwrap();
        remover.join().unwrap();
    });
    assert_eq!(
        cache.get_or_compute("k", || 3),
        3,
        "the removed value came back"
    );
}

#[test]
fn a_caller_during_a_remove_does_not_put_the_removed_value_back() {
    a_caller_during(|cache| cache.remove("k").unwrap());
}

#[test]
fn a_caller_during_a_clear_does_not_put_the_cleared_value_back() {
    a_caller_during(|cache| cache.clear().unwrap());
}

thread_local! {
    /// Makes the next [`Fragile`] dropped on this thread panic.
    static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A value whose `Drop` panics once armed (on this thread: tests run side by side).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Fragile(u64);

impl Drop for Fragile {
    fn drop(&mut self) {
        if ARMED.replace(false) {
            panic!("a value's Drop panicked");
        }
    }
}

/// A removal whose memory tier drops a value that panics still clears the file tier: the
/// removed value does not come back from it.
fn a_panicking_drop_in(removal: impl Fn(&Cache<u64, Fragile>)) {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u64, Fragile> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert(&1, Fragile(1)).unwrap();
    ARMED.set(true);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| removal(&cache)));
    let disarmed = ARMED.replace(false);
    assert!(
        outcome.is_err() && !disarmed,
        "the memory tier dropped the value in the removal"
    );
    assert_eq!(
        cache.get(&1),
        None,
        "the removed value came back from the file tier"
    );
}

#[test]
fn a_remove_whose_value_panics_when_dropped_still_removes_it_from_every_tier() {
    a_panicking_drop_in(|cache| cache.remove(&1).unwrap());
}

#[test]
fn a_clear_whose_value_panics_when_dropped_still_clears_every_tier() {
    a_panicking_drop_in(|cache| cache.clear().unwrap());
}
