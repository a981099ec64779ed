//! A key's `Clone` and `Eq` that call the cache: a miss runs them under its flight stripe's
//! lock (to box the leader's key, to find a flight of the key), and a call of the cache from
//! there waited for that very lock for good (helper-112) — the thread, and every later miss of
//! a key of the stripe. Such a call joins no flight: it computes, and everyone returns.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use cacher::Cache;

/// A key whose next `Clone` or `Eq`, once armed, asks its cache for the same key.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Calling(u32);

impl std::hash::Hash for Calling {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

static CACHE: OnceLock<Cache<Calling, u32>> = OnceLock::new();
static ON_CLONE: AtomicBool = AtomicBool::new(false);
static ON_EQ: AtomicBool = AtomicBool::new(false);

fn cache() -> &'static Cache<Calling, u32> {
    CACHE.get_or_init(|| {
        Cache::builder()
            .wait_timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    })
}

impl Clone for Calling {
    fn clone(&self) -> Self {
        if ON_CLONE.swap(false, SeqCst) {
            assert_eq!(cache().get_or_compute(&Calling(self.0), || 7), 7);
        }
        Calling(self.0)
    }
}

impl PartialEq for Calling {
    fn eq(&self, other: &Self) -> bool {
        if ON_EQ.swap(false, SeqCst) {
            assert_eq!(cache().get_or_compute(&Calling(self.0), || 8), 8);
        }
        self.0 == other.0
    }
}

impl Eq for Calling {}

/// `run` on a thread of its own: its answer, or `None` after 10 s.
fn within_10s<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, ended) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(run());
    });
    ended.recv_timeout(Duration::from_secs(10)).ok()
}

/// One test, in order: both hooks are the cache's, one static.
#[test]
fn a_keys_clone_or_eq_that_calls_the_cache_under_the_flights_lock_does_not_hang() {
    // The leader's key boxed for its flight: its `Clone` asks for the key itself.
    ON_CLONE.store(true, SeqCst);
    let led = within_10s(|| cache().get_or_compute(&Calling(1), || 10));
    assert!(
        led.is_some(),
        "a miss whose key's Clone asks for the same key never returned"
    );
    assert!(!ON_CLONE.load(SeqCst), "the Clone hook ran");
    let other = within_10s(|| cache().get_or_compute(&Calling(33), || 33));
    assert_eq!(other, Some(33), "a later miss of a key of the stripe");

    // A waiter finding the leader's flight: its key's `Eq` asks for the key.
    let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (leading, releasing) = (Arc::clone(&started), Arc::clone(&release));
    let leader = std::thread::spawn(move || {
        cache().get_or_compute(&Calling(2), || {
            leading.wait();
            releasing.wait();
            20
        })
    });
    started.wait();
    ON_EQ.store(true, SeqCst);
    let (done, ended) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(cache().get_or_compute(&Calling(2), || 21));
    });
    // The waiter's Eq ran (its hook's call returned), or it hangs there.
    let ran = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !ON_EQ.load(SeqCst)
    });
    assert!(ran, "the Eq hook never ran");
    release.wait();
    let waited = ended.recv_timeout(Duration::from_secs(10));
    assert!(
        waited.is_ok(),
        "a waiter whose key's Eq asks for the same key never returned"
    );
    assert_eq!(leader.join().unwrap(), 20);
}

/// A key whose next `Eq`, once armed, lets a leader go and removes the key.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Removing(u32);

static STORED: OnceLock<(tempfile::TempDir, Cache<Removing, u32>)> = OnceLock::new();

/// Whether the file tier of [`stored`] holds an entry: the leader's store is past its writes.
fn written() -> bool {
    let dir = STORED.get().unwrap().0.path();
    let mut found = false;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            match path.is_dir() {
                true if !path.ends_with(".cacher-locks") => dirs.push(path),
                true => {}
                false => found |= path.extension().is_some_and(|e| e == "json"),
            }
        }
    }
    found
}
/// What the next `Eq` of a [`Removing`] key runs.
type Hook = Box<dyn FnOnce() + Send>;

static ON_EQ_REMOVE: OnceLock<std::sync::Mutex<Option<Hook>>> = OnceLock::new();

fn stored() -> &'static Cache<Removing, u32> {
    &STORED
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::builder()
                .backend(cacher::MemoryBackend::new())
                .backend(cacher::SeparateFileBackend::new(dir.path()))
                .build()
                .unwrap();
            (dir, cache)
        })
        .1
}

impl std::hash::Hash for Removing {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Clone for Removing {
    fn clone(&self) -> Self {
        Removing(self.0)
    }
}

impl PartialEq for Removing {
    fn eq(&self, other: &Self) -> bool {
        let hook = ON_EQ_REMOVE
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .take();
        if let Some(hook) = hook {
            hook();
        }
        self.0 == other.0
    }
}

impl Eq for Removing {}

/// A waiter's key `Eq` (run under the flight's stripe lock) lets the leader finish and removes
/// the key: the removal waits for the leader's store, which ended only once the leader handed
/// its value over — through that stripe lock. Both waited the removal's bound, 10 s
/// (helper-115); the store ends first now.
#[test]
fn a_removal_from_a_waiters_eq_does_not_wait_out_its_bound_for_the_leader() {
    let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (leading, releasing) = (Arc::clone(&started), Arc::clone(&release));
    let leader = std::thread::spawn(move || {
        stored().get_or_compute(&Removing(1), || {
            leading.wait();
            releasing.wait();
            10
        })
    });
    started.wait();
    let (done, removed) = mpsc::channel();
    *ON_EQ_REMOVE.get_or_init(Default::default).lock().unwrap() = Some(Box::new(move || {
        release.wait();
        // The leader's store is under way (its file written), its end behind this lock.
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while !written() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        let began = std::time::Instant::now();
        let result = stored().remove(&Removing(1));
        let _ = done.send((result, began.elapsed()));
    }));
    let waiter = std::thread::spawn(|| stored().get_or_compute(&Removing(1), || 11));
    let (result, took) = removed.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(took < Duration::from_secs(5), "the removal took {took:?}");
    assert_eq!(leader.join().unwrap(), 10);
    assert!([10, 11].contains(&waiter.join().unwrap()));
}
