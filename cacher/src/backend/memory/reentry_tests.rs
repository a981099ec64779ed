//! The memory tier used from its own callbacks: a key's `Eq` or a value's `Clone` that looks into
//! the same tier, a lookup from a thread-local's destructor, a clear cut short by a panic.

use super::MemoryBackend;
use super::tests::{at, hit_often};

/// A key whose `Eq` looks into [`REENTERED`]'s tier, as a key interned through a cache might.
#[derive(Clone, serde::Serialize)]
struct Reentrant(u64);

impl std::hash::Hash for Reentrant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state); // as Eq compares: by the number
    }
}

static REENTERED: std::sync::OnceLock<MemoryBackend<Reentrant, u64>> = std::sync::OnceLock::new();

thread_local! {
    static NESTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl PartialEq for Reentrant {
    fn eq(&self, other: &Self) -> bool {
        if let Some(memory) = REENTERED.get() {
            // Another lookup in the same tier: it would wait forever for a write lock this
            // thread holds (one shard here, so any lock held is the one it needs).
            let held = memory
                .tier
                .active()
                .iter()
                .any(|shard| shard.try_read().is_err());
            assert!(
                !held,
                "a lookup ran the key's Eq under a shard's write lock"
            );
            // And the lookup itself, once (its own Eq does not look again), through this
            // thread's index in use further up the stack.
            if !NESTED.replace(true) {
                let found = memory
                    .get_hashed(memory.hash(&Reentrant(2)), &Reentrant(2))
                    .ok();
                assert_eq!(found.map(|(value, _)| value), Some(20));
                NESTED.set(false);
            }
        }
        self.0 == other.0
    }
}

impl Eq for Reentrant {}

#[test]
fn a_key_whose_eq_uses_the_same_tier_never_runs_under_its_write_lock_on_a_lookup() {
    // Filled before its `Eq` looks into it: an insert runs the key's `Eq` under the write lock
    // when two keys' hashes share a tag (one seed in about 128), which is not what this tests.
    let filled = MemoryBackend::new().max_entries(10);
    filled.insert(Reentrant(2), 20, at(0));
    filled.insert(Reentrant(1), 10, at(0));
    assert!(REENTERED.set(filled).is_ok(), "one test uses it");
    let memory = REENTERED.get().unwrap();
    for _ in 0..16 {
        let found = memory
            .get_hashed(memory.hash(&Reentrant(1)), &Reentrant(1))
            .ok();
        assert_eq!(found.map(|(value, _)| value), Some(10));
    }
    // 2, looked up only while the index was in use further up the stack, never joined it.
    assert_eq!(
        memory.tier.index.as_ref().map(|index| index.indexed()),
        Some(1)
    );
}

#[test]
fn each_threads_index_starts_a_cache_line_of_its_own() {
    // An index hit writes its index's borrow flag: two threads' indexes on one cache line would
    // slow each other's hits down, which the indexes are there to prevent.
    let memory: MemoryBackend<String, u32> = MemoryBackend::new();
    memory.insert("a".to_owned(), 1, at(0));
    let index = memory.tier.index.as_ref().unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                assert_eq!(hit_often(&memory, "a"), Some(1));
                assert_eq!(index.address() % 128, 0);
            });
        }
    });
}

/// A value whose `Clone` panics while [`PANICKY`] is set on this thread.
#[derive(Debug, PartialEq)]
struct Panicky(u32);

thread_local! {
    static PANICKY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Clone for Panicky {
    fn clone(&self) -> Self {
        assert!(!PANICKY.get(), "clone refused");
        Panicky(self.0)
    }
}

#[test]
fn a_value_whose_clone_panics_leaves_the_index_and_the_shards_usable() {
    let memory: MemoryBackend<u64, Panicky> = MemoryBackend::new().max_entries(10);
    let get = |k: u64| memory.get_hashed(memory.hash(&k), &k).ok().map(|(v, _)| v);
    memory.insert(1, Panicky(1), at(0));
    memory.insert(2, Panicky(2), at(0));
    for _ in 0..8 {
        assert_eq!(get(1), Some(Panicky(1))); // 1 joins the index
    }
    PANICKY.set(true);
    for k in [1, 2] {
        // From the index (1) and from the shared table (2), under its read lock.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| get(k)));
        assert!(caught.is_err());
    }
    PANICKY.set(false);
    for _ in 0..8 {
        assert_eq!(get(1), Some(Panicky(1)));
        assert_eq!(get(2), Some(Panicky(2)));
    }
    assert_eq!(
        memory.tier.index.as_ref().map(|index| index.indexed()),
        Some(2)
    );
    memory.insert(1, Panicky(10), at(0));
    assert!(memory.remove(&2));
    assert_eq!(get(1), Some(Panicky(10)));
    assert_eq!(get(2), None);
}

static LATE: std::sync::OnceLock<MemoryBackend<u64, u64>> = std::sync::OnceLock::new();

/// Looks into [`LATE`]'s tier when this thread's thread-locals are torn down.
struct LookupOnExit;

impl Drop for LookupOnExit {
    fn drop(&mut self) {
        let memory = LATE.get().unwrap();
        for _ in 0..8 {
            assert_eq!(
                memory.get_hashed(memory.hash(&1), &1).ok().map(|(v, _)| v),
                Some(1)
            );
        }
    }
}

thread_local! {
    static ON_EXIT: LookupOnExit = const { LookupOnExit };
}

#[test]
fn a_lookup_from_a_thread_local_destructor_is_served() {
    let memory = LATE.get_or_init(MemoryBackend::new);
    memory.insert(1, 1, at(0));
    std::thread::spawn(|| {
        ON_EXIT.with(|_| ()); // its destructor runs after the index's own thread-local state's
        for _ in 0..8 {
            assert_eq!(
                memory.get_hashed(memory.hash(&1), &1).ok().map(|(v, _)| v),
                Some(1)
            );
        }
    })
    .join()
    .unwrap();
}

/// A value whose drop panics if it was made so.
#[derive(Clone, Debug, PartialEq)]
struct Bomb(bool);

impl Drop for Bomb {
    fn drop(&mut self) {
        assert!(!self.0 || std::thread::panicking(), "boom");
    }
}

#[test]
fn a_clear_cut_short_by_a_panicking_drop_leaves_no_removed_entry_servable() {
    let memory: MemoryBackend<u64, Bomb> = MemoryBackend::new().max_entries(60); // one shard
    for k in 0..50 {
        memory.insert(k, Bomb(false), at(0));
        for _ in 0..8 {
            assert_eq!(
                memory.get_hashed(memory.hash(&k), &k).ok().map(|(v, _)| v),
                Some(Bomb(false))
            );
        }
    }
    memory.insert(100, Bomb(true), at(0)); // never indexed: dropped by the clear itself
    let cleared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(memory.clear())));
    assert!(cleared.is_err());
    for k in 0..50 {
        let found = memory.get_hashed(memory.hash(&k), &k).ok().map(|(v, _)| v);
        assert_eq!(found, None, "key {k}: removed by the clear, yet served");
    }
}

/// A value whose `Clone`, once armed, inserts key [`NEW`] into [`EVICTING`]'s tier: as a value
/// that primes the cache it lives in might.
#[derive(Debug)]
struct Priming(u64);

static EVICTING: std::sync::OnceLock<MemoryBackend<u64, Priming>> = std::sync::OnceLock::new();
static ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The key the armed `Clone` inserts (one of another shard than the hit's, found by the test).
static NEW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Clone for Priming {
    fn clone(&self) -> Self {
        if ARMED.swap(false, std::sync::atomic::Ordering::SeqCst)
            && let Some(memory) = EVICTING.get()
        {
            let key = NEW.load(std::sync::atomic::Ordering::SeqCst);
            memory.insert(key, Priming(0), at(0));
        }
        Priming(self.0)
    }
}

/// A full bounded tier whose entries are all in one shard; a hit there runs its value's `Clone`
/// under that shard's read lock, and the `Clone` inserts a key of another, empty shard. The
/// insert must evict from another shard — the only one with entries is the one this thread holds
/// for reading. Its write lock was waited for without a bound: the thread waited for itself.
#[test]
fn an_insert_from_a_values_clone_never_waits_for_the_shard_its_thread_holds() {
    let memory = MemoryBackend::new().max_entries(64);
    let shard_of = |key: &u64| memory.tier.shard_index(memory.hash(key));
    let full = shard_of(&0);
    for key in (0..).filter(|key| shard_of(key) == full).take(64) {
        memory.insert(key, Priming(key), at(0));
    }
    let new = (1..).find(|key| shard_of(key) != full).unwrap();
    NEW.store(new, std::sync::atomic::Ordering::SeqCst);
    assert!(EVICTING.set(memory).is_ok(), "one test uses it");
    let memory = EVICTING.get().unwrap();
    ARMED.store(true, std::sync::atomic::Ordering::SeqCst);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = memory.get_hashed(memory.hash(&0), &0).ok();
        let _ = done.send(found.map(|(value, _)| value.0));
    });
    let answer = finished.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(
        answer,
        Ok(Some(0)),
        "the hit's Clone inserted a key and waited for the lock its own thread held"
    );
}

/// A value whose `Clone` counts the entries of [`COUNTED`]'s tier, as a value reporting on the
/// cache it lives in might: the count it saw, once armed.
#[derive(Debug)]
struct Counting;

static COUNTED: std::sync::OnceLock<MemoryBackend<u64, Counting>> = std::sync::OnceLock::new();
static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

impl Clone for Counting {
    fn clone(&self) -> Self {
        if let Some(memory) = COUNTED.get() {
            SEEN.store(memory.len(), std::sync::atomic::Ordering::SeqCst);
        }
        Counting
    }
}

/// `len` from a value's `Clone`, run under its shard's read lock by a hit: a count, at once
/// (its own shard's read lock is taken again only if it comes at once), never a wait for itself.
#[test]
fn the_tier_is_counted_from_a_values_clone_without_waiting_for_its_own_lock() {
    let memory = MemoryBackend::new();
    for key in 0..100 {
        memory.insert(key, Counting, at(0));
    }
    assert!(COUNTED.set(memory).is_ok(), "one test uses it");
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let memory = COUNTED.get().unwrap();
        let found = memory.get_hashed(memory.hash(&7), &7).is_ok();
        let _ = done.send(found);
    });
    let answer = finished.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(
        answer,
        Ok(true),
        "the hit's Clone waited for its own shard's lock"
    );
    // No writer waits: the read lock of the hit's own shard comes again at once, and counts.
    assert_eq!(SEEN.load(std::sync::atomic::Ordering::SeqCst), 100);
}
