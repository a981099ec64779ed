//! A value whose `Drop` panics (attack 16), as `remove` and `clear` already hold to: the panic
//! reaches the caller, and no tier is left serving a value that the others replaced.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, MemoryBackend, PersistentBackend, SeparateFileBackend};
use serde::{Deserialize, Serialize};

/// A value whose drop panics when `n` is 0 and its flag is set (not during another panic).
#[derive(Clone, Serialize, Deserialize)]
struct Bomb {
    n: u64,
    #[serde(skip)]
    armed: Arc<AtomicBool>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.n == 0 && self.armed.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!("the old value's drop failed");
        }
    }
}

#[test]
fn an_insert_whose_replaced_value_panics_on_drop_leaves_no_tier_with_the_older_value() {
    let dir = tempfile::tempdir().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let bomb = |n| Bomb {
        n,
        armed: Arc::clone(&armed),
    };
    let cache: Cache<u32, Bomb> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(1))
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert(&1, bomb(0)).unwrap();
    armed.store(true, Ordering::SeqCst);
    // The memory tier drops the replaced 0, whose drop panics: the caller sees the panic.
    let inserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.insert(&1, bomb(1)).unwrap();
    }));
    armed.store(false, Ordering::SeqCst);
    assert!(inserted.is_err(), "the drop's panic reached the caller");
    assert_eq!(cache.get(&1).map(|v| v.n), Some(1), "the memory tier has 1");
    // Key 2 takes the memory tier's one place: key 1 is read from the file tier now.
    cache.insert(&2, bomb(2)).unwrap();
    let after = cache.get(&1).map(|v| v.n);
    assert_ne!(
        after,
        Some(0),
        "1 was served, then the value it replaced: the insert's panic (in the memory tier, \
         first) cut it short before the file tier was written"
    );
}

type Hook = Box<dyn FnOnce() + Send>;

/// A value whose drop runs the hook its copies share, once.
#[derive(Clone, Serialize, Deserialize)]
struct Probe {
    n: u64,
    #[serde(skip)]
    on_drop: Arc<Mutex<Option<Hook>>>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        let hook = (self.on_drop.lock().unwrap_or_else(PoisonError::into_inner)).take();
        if let Some(hook) = hook {
            hook();
        }
    }
}

/// A tier of the user's whose write of 2 panics (the call unwinds mid-store); it holds nothing.
struct PanicsOnTwo;

impl PersistentBackend<Probe> for PanicsOnTwo {
    fn name(&self) -> &'static str {
        "panics-on-two"
    }
    fn get(&self, _: &EntryKey<'_>) -> cacher::Result<Option<Entry<Probe>>> {
        Ok(None)
    }
    fn insert(&self, _: &EntryKey<'_>, entry: &Entry<Probe>) -> cacher::Result<()> {
        assert_ne!(entry.value.n, 2, "the tier's write of 2 panicked");
        Ok(())
    }
    fn remove(&self, _: &EntryKey<'_>) -> cacher::Result<()> {
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        Ok(())
    }
}

#[test]
fn a_replaced_value_dropped_with_a_call_cut_short_finds_the_store_ended() {
    // A miss drops what its memory insert replaced once the store has ended (`Miss`'s drop
    // order: the core's store before what it displaced), since a value's `Drop` may use the
    // cache. Here the replaced value's `Drop` removes its key while the insert unwinds from a
    // tier's panic: a store still counted would hold that removal for its whole bound (10 s).
    let cache: Cache<u32, Probe> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(PanicsOnTwo)
        .build()
        .unwrap();
    let on_drop: Arc<Mutex<Option<Hook>>> = Arc::default();
    let probe = |n| Probe {
        n,
        on_drop: Arc::clone(&on_drop),
    };
    cache.insert(&1, probe(1)).unwrap(); // the memory tier's copy is the last to share the hook
    let waited = Arc::new(Mutex::new(None));
    let (remover, took) = (cache.clone(), Arc::clone(&waited));
    *on_drop.lock().unwrap() = Some(Box::new(move || {
        let start = Instant::now();
        let _ = remover.remove(&1); // not unwrapped: this runs while the insert unwinds
        *took.lock().unwrap_or_else(PoisonError::into_inner) = Some(start.elapsed());
    }));
    let inserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.insert(&1, probe(2)).unwrap();
    }));
    assert!(inserted.is_err(), "the tier's panic reached the caller");
    let waited = waited.lock().unwrap().take();
    let waited = waited.expect("the replaced 1 was dropped with the call");
    assert!(
        waited < Duration::from_secs(5),
        "the replaced value's drop ran while the insert's store was still counted: its removal \
         waited {waited:?} for it"
    );
    assert_eq!(cache.get(&1).map(|v| v.n), None, "the removal took 2 out");
}
