//! `insert` and `clear` from a key's `Clone` that the cache runs while its own thread stores
//! the key's computed value (the memory tier's insert, a tier's write): they waited out the
//! store's bound (10 s) for a store that could not end before they returned, then returned
//! `Ok` — and the older value landed after them, in memory, while the file tier held nothing
//! (helper-112). Each such call is refused at once, and the tiers agree afterwards.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cacher::{Cache, MemoryBackend, SeparateFileBackend};

type Hook = Box<dyn FnOnce() + Send>;

/// The hook a key's `Clone` runs when the countdown reaches it, and what it returned.
static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static COUNTDOWN: AtomicUsize = AtomicUsize::new(0);
static RETURNED: Mutex<Option<(cacher::Result<()>, Duration)>> = Mutex::new(None);
/// The tests of this file, one at a time: the hook is one static.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Hooked(u32);

impl Clone for Hooked {
    fn clone(&self) -> Self {
        if COUNTDOWN.fetch_sub(1, SeqCst) == 1 {
            let hook = HOOK.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
        Hooked(self.0)
    }
}

/// What the hook's call returned and took; what the memory and the file tier hold after.
type Ran = (cacher::Result<()>, Duration, Option<u32>, Option<u32>);

fn build(dir: &std::path::Path) -> Cache<Hooked, u32> {
    Cache::builder()
        .namespace("adversarial::ownstore")
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

/// A miss of key 1 (computing 10) whose key's `clone`-th clone runs `during` on the cache:
/// whether `during` ran, what it returned, how long it took; what the memory tier and the file
/// tier (read by a cache of its own) hold after.
fn miss_running(
    (clone, blocking): (usize, bool),
    during: fn(&Cache<Hooked, u32>) -> cacher::Result<()>,
) -> Option<Ran> {
    let dir = tempfile::tempdir().unwrap();
    let cache = build(dir.path());
    let inner = cache.clone();
    *HOOK.lock().unwrap() = Some(Box::new(move || {
        let started = Instant::now();
        let result = during(&inner);
        *RETURNED.lock().unwrap() = Some((result, started.elapsed()));
    }));
    COUNTDOWN.store(clone, SeqCst);
    // An insert or a refresh before the computation may be what the call returns.
    let got = match blocking {
        true => cache.get_or_compute(&Hooked(1), || 10),
        false => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(cache.get_or_compute_async(&Hooked(1), || async { 10 })),
    };
    assert!([10, 999, 55].contains(&got), "{got}");
    COUNTDOWN.store(0, SeqCst);
    HOOK.lock().unwrap().take();
    let (result, took) = RETURNED.lock().unwrap().take()?;
    let memory = cache.get(&Hooked(1));
    let file = build(dir.path()).get(&Hooked(1));
    Some((result, took, memory, file))
}

/// Every clone of the key a miss makes, in turn: the one made while the store is under way
/// refuses the call at once; one made before or after it does what it was asked. Either way
/// the memory and the file tier agree, and hold what the call's result says.
#[test]
fn an_insert_or_clear_from_a_keys_clone_during_its_own_store_is_refused_at_once() {
    every_clone(true);
}

/// As [`an_insert_or_clear_from_a_keys_clone_during_its_own_store_is_refused_at_once`], for an
/// async call (its memory insert on the executor's thread, its writes on a blocking one).
#[test]
fn an_async_calls_own_store_refuses_them_as_well() {
    every_clone(false);
}

fn every_clone(blocking: bool) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut refused = 0;
    for clone in 1..=8 {
        let inserted = miss_running((clone, blocking), |cache| cache.insert(&Hooked(1), 999));
        let Some((result, took, memory, file)) = inserted else {
            continue;
        };
        assert!(
            took < Duration::from_secs(2),
            "insert at clone {clone} took {took:?}"
        );
        match result {
            Ok(()) => assert_eq!((memory, file), (Some(999), Some(999)), "clone {clone}"),
            Err(e) => {
                refused += 1;
                assert!(e.to_string().contains("refused"), "{e}");
                assert_eq!(
                    memory, file,
                    "insert refused at clone {clone}: the tiers agree"
                );
            }
        }
        let cleared = miss_running((clone, blocking), Cache::clear);
        let Some((result, took, memory, file)) = cleared else {
            continue;
        };
        assert!(
            took < Duration::from_secs(2),
            "clear at clone {clone} took {took:?}"
        );
        match result {
            // The value was computed before the clear: in no tier after it.
            Ok(()) => assert_eq!((memory, file), (None, None), "clone {clone}"),
            Err(_) => assert_eq!(
                memory, file,
                "clear refused at clone {clone}: the tiers agree"
            ),
        }
    }
    assert!(refused > 0, "no clone of the key was made during its store");
}

/// Other keys from there — some of them of the store's own stripe (256 stripes, 600 keys) — are
/// inserted, none refused, none waiting for the store (helper-115: a key of the stripe was
/// refused, 1 call in 256); a forced refresh of the store's own key runs the function and
/// stores nothing (it waited 10 s for the store, which then landed over its value).
#[test]
fn other_keys_from_a_keys_clone_during_its_store_are_stored_and_its_own_refresh_bypasses() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let others = |cache: &Cache<Hooked, u32>| {
        for key in 100..700 {
            cache.insert(&Hooked(key), key)?;
        }
        Ok(())
    };
    let mut during_store = 0;
    for clone in 1..=8 {
        let Some((result, took, memory, file)) = miss_running((clone, true), others) else {
            continue;
        };
        assert!(
            took < Duration::from_secs(2),
            "600 inserts at clone {clone} took {took:?}"
        );
        result.unwrap_or_else(|e| panic!("an insert of another key at clone {clone}: {e}"));
        assert_eq!(memory, file, "clone {clone}");
        during_store += 1;
    }
    assert!(during_store > 0);
    let refreshed = |cache: &Cache<Hooked, u32>| {
        assert_eq!(
            cache.refresh(|| cache.get_or_compute(&Hooked(1), || 55)),
            55
        );
        Ok(())
    };
    for clone in 1..=8 {
        let Some((result, took, memory, file)) = miss_running((clone, true), refreshed) else {
            continue;
        };
        assert!(
            took < Duration::from_secs(2),
            "refresh at clone {clone} took {took:?}"
        );
        assert!(result.is_ok());
        assert_eq!(memory, file, "refresh at clone {clone}: the tiers agree");
    }
}
