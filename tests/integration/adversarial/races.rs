//! Races between a hit and a write of the same key (attack 16): a call that read the memory tier
//! just before a `remove`, `insert` or `clear` on another thread, and carried on after it
//! returned, must not put the value it read back into the tiers. Each race is made deterministic
//! by a value whose `Clone` (the hit's copy of the value, made from the thread's index with no
//! lock held) runs the other thread's write to its end before the hit goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, Clock, MemoryBackend, SeparateFileBackend};

use super::HookedValue as Hooked;

const MIN: Duration = Duration::from_secs(60);

type Hook = Box<dyn FnOnce() + Send>;
/// Where a hook waits to be taken and run, once.
type HookSlot = Arc<Mutex<Option<Hook>>>;

/// Runs `write` on another thread to its end (at most 10 s: a hit that held its shard's lock
/// while cloning would block it).
fn on_another_thread(write: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        write();
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the write on the other thread finished while the hit was cloning");
}

/// A memory + file cache with `time_to_idle`, holding `hooked` for key 1, hit often enough that
/// this thread's index has it; the clock is then moved so that the next hit records a use.
fn idle_cache_hit_often(dir: &std::path::Path, hooked: &Hooked) -> (Cache<u32, Hooked>, Clock) {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, Hooked> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .time_to_idle(8 * MIN)
        .clock(clock.clone())
        .build()
        .unwrap();
    cache.insert(&1, hooked.clone()).unwrap();
    for _ in 0..16 {
        assert_eq!(cache.get(&1).map(|v| v.n), Some(1));
    }
    // Past a quarter of the idle window: the next hit records its use in every tier.
    mock.advance(3 * MIN);
    (cache, clock)
}

#[test]
fn a_hit_recording_its_use_does_not_put_back_a_value_removed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let hooked = Hooked::new(1);
    let (cache, _clock) = idle_cache_hit_often(dir.path(), &hooked);
    let remover = cache.clone();
    hooked.arm(move || on_another_thread(move || remover.remove(&1).unwrap()));
    // This hit overlaps the removal: either answer is fine for it.
    let _ = cache.get(&1);
    // The removal returned before this call began: the removed value is gone for good.
    assert_eq!(
        cache.get(&1).map(|v| v.n),
        None,
        "the removed value is served again after remove returned (memory tier)"
    );
    let file = cache.path_of(&1).unwrap();
    assert!(
        !file.exists(),
        "the removed value was written back to the file tier after remove returned"
    );
}

#[test]
fn a_hit_recording_its_use_does_not_overwrite_a_value_inserted_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let hooked = Hooked::new(1);
    let (cache, _clock) = idle_cache_hit_often(dir.path(), &hooked);
    let writer = cache.clone();
    hooked.arm(move || on_another_thread(move || writer.insert(&1, Hooked::new(2)).unwrap()));
    let _ = cache.get(&1);
    assert_eq!(
        cache.get(&1).map(|v| v.n),
        Some(2),
        "insert(1, 2) returned, yet the value it replaced is served"
    );
}

#[test]
fn a_hit_recording_its_use_does_not_put_back_a_value_cleared_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let hooked = Hooked::new(1);
    let (cache, _clock) = idle_cache_hit_often(dir.path(), &hooked);
    let clearer = cache.clone();
    hooked.arm(move || on_another_thread(move || clearer.clear().unwrap()));
    let _ = cache.get(&1);
    assert_eq!(
        cache.get(&1).map(|v| v.n),
        None,
        "the cleared value is served again after clear returned"
    );
}

/// A memory cache whose `insert(_, 1)` runs the hook it gives back (once armed) after the insert
/// took its generation and before it stores: in the call of `ttl_fn` for the value 1 (made once,
/// where the value is stored). Also gives the count of those calls.
fn cache_with_a_hook_in_insert() -> (Cache<u32, u64>, HookSlot, Arc<AtomicUsize>) {
    let hook: HookSlot = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let (hook_in_ttl, calls_in_ttl) = (Arc::clone(&hook), Arc::clone(&calls));
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl_fn(move |value| {
            if *value == 1 && calls_in_ttl.fetch_add(1, Ordering::SeqCst) == 0 {
                let armed = hook_in_ttl.lock().unwrap().take();
                if let Some(hook) = armed {
                    hook();
                }
            }
            None
        })
        .build()
        .unwrap();
    (cache, hook, calls)
}

#[test]
fn an_insert_that_returned_ok_is_not_undone_by_a_refresh_that_failed_meanwhile() {
    let (cache, hook, calls) = cache_with_a_hook_in_insert();
    cache.insert(&1, 0).unwrap();
    let refresher = cache.clone();
    *hook.lock().unwrap() = Some(Box::new(move || {
        on_another_thread(move || {
            // A forced refresh whose function fails: it stores nothing, and changes nothing.
            let failed = refresher.refresh(|| {
                refresher.try_get_or_compute(&1, || Err::<u64, &str>("the service is down"))
            });
            assert!(failed.is_err());
        });
    }));
    cache.insert(&1, 1).expect("the memory tier never fails");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the hook ran");
    assert_eq!(
        cache.get(&1),
        Some(1),
        "insert(1, 1) returned Ok, yet the value it replaced is served: a refresh that failed \
         meanwhile made the insert store nothing"
    );
}

/// A value that runs a hook when the cache drops it (once): here, the removed value, which a
/// memory tier drops inside `remove`, while the removal is still under way.
#[derive(Clone)]
struct DropHook {
    n: u64,
    on_drop: Option<HookSlot>,
}

impl Drop for DropHook {
    fn drop(&mut self) {
        let hook = self.on_drop.as_ref().and_then(|h| h.lock().unwrap().take());
        if let Some(hook) = hook {
            hook();
        }
    }
}

#[test]
fn an_insert_during_the_removal_of_another_key_is_not_lost() {
    const KEYS: u32 = 4096;
    let cache: Cache<u32, DropHook> = Cache::builder().build().unwrap();
    let plain = |n| DropHook { n, on_drop: None };
    for key in 0..KEYS {
        cache.insert(&key, plain(0)).unwrap();
    }
    let on_drop: HookSlot = Arc::default();
    let other = DropHook {
        n: 7,
        on_drop: Some(Arc::clone(&on_drop)),
    };
    cache.insert(&u32::MAX, other.clone()).unwrap();
    drop(other); // the tier's copy is the only one whose drop finds the hook, once armed
    let writer = cache.clone();
    *on_drop.lock().unwrap() = Some(Box::new(move || {
        // While `remove(&u32::MAX)` drops its value: inserts of other keys, each returning Ok.
        on_another_thread(move || {
            for key in 0..KEYS {
                writer.insert(&key, plain(u64::from(key) + 1)).unwrap();
            }
        });
    }));
    cache.remove(&u32::MAX).unwrap();
    assert!(on_drop.lock().unwrap().is_none(), "the hook ran");
    let lost: Vec<u32> = (0..KEYS)
        .filter(|key| cache.get(key).map(|v| v.n) != Some(u64::from(*key) + 1))
        .collect();
    assert!(
        lost.is_empty(),
        "insert(k, k + 1) returned Ok for every k, yet {} keys still serve the value it replaced \
         (they share a generation stripe with the key being removed meanwhile): {:?}",
        lost.len(),
        &lost[..lost.len().min(8)]
    );
}

/// Two caches on one directory, as two processes have: `time_to_idle`, memory in front of files.
fn two_processes(
    dir: &std::path::Path,
) -> (Cache<u32, u64>, Cache<u32, u64>, Arc<cacher::MockClock>) {
    let (clock, mock) = Clock::mock();
    let build = || -> Cache<u32, u64> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir))
            .time_to_idle(8 * MIN)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    (build(), build(), mock)
}

#[test]
fn a_use_recorded_by_one_process_does_not_write_back_a_value_another_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, mock) = two_processes(dir.path());
    a.insert(&1, 1).unwrap();
    assert_eq!(a.get(&1), Some(1));
    // The other process replaces the value in the shared directory, a millisecond later. (Two
    // writes of one key in the same millisecond have the same creation time, by which the use
    // recorded below tells its own write from another: not covered, see docs/RELIABILITY.md.)
    mock.advance(Duration::from_millis(1));
    b.insert(&1, 2).unwrap();
    // Past a quarter of the idle window, a hit in the first process records its use.
    mock.advance(3 * MIN);
    assert_eq!(
        a.get(&1),
        Some(1),
        "its own memory tier: not invalidated across processes"
    );
    let (third, _, _) = two_processes(dir.path());
    assert_eq!(
        third.get(&1),
        Some(2),
        "a third process reads the value the second one replaced: the first process's use of \
         its own memory entry rewrote the shared file with it"
    );
}

#[test]
fn a_use_recorded_by_one_process_does_not_write_back_a_value_another_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, mock) = two_processes(dir.path());
    a.insert(&1, 1).unwrap();
    assert_eq!(b.get(&1), Some(1));
    b.remove(&1).unwrap();
    mock.advance(3 * MIN);
    assert_eq!(
        a.get(&1),
        Some(1),
        "its own memory tier: not invalidated across processes"
    );
    assert_eq!(
        b.get(&1),
        None,
        "the process that removed key 1 reads it back: another process's use of its own memory \
         entry rewrote the shared file with it"
    );
}

#[test]
fn an_insert_is_not_lost_to_inserts_of_other_keys_meanwhile() {
    // The other thread inserts other keys, one of which (of 4096) shares the stripe of u32::MAX.
    let (cache, hook, calls) = cache_with_a_hook_in_insert();
    cache.insert(&u32::MAX, 0).unwrap();
    let writer = cache.clone();
    *hook.lock().unwrap() = Some(Box::new(move || {
        on_another_thread(move || {
            for key in 0..4096 {
                writer.insert(&key, 7).unwrap();
            }
        });
    }));
    cache.insert(&u32::MAX, 1).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the hook ran");
    assert_eq!(
        cache.get(&u32::MAX),
        Some(1),
        "insert(MAX, 1) returned Ok, yet the value it replaced is served: an insert of another \
         key of its generation stripe made it store nothing"
    );
}
