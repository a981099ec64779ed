//! Attack 17: the stores that stand whatever was invalidated since they began
//! (`Generations::begin_store_now`, used by `insert` and `refresh`), and the memory tier's stores
//! skipped from user code run under a shard's lock (`write_shard_or_skip`). Each race is made
//! deterministic by hooks in the function, `ttl_fn`, a value's `Clone` or its `Serialize`, and
//! channels between the threads, never sleeps.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

type Hook = Box<dyn FnOnce() + Send>;
/// Where a hook waits to be taken and run, once.
type HookSlot = Arc<Mutex<Option<Hook>>>;

const WAIT: Duration = Duration::from_secs(10);

fn take(slot: &HookSlot) -> Option<Hook> {
    slot.lock().unwrap().take()
}

/// A forced refresh of key 1 on another thread whose function (computing `computed`) waits, once
/// it started, until the returned sender lets it go on. Returns when the function has started.
fn refresh_under_way(
    cache: &Cache<u32, u64>,
    computed: u64,
) -> (mpsc::Sender<()>, std::thread::JoinHandle<u64>) {
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let refresher = cache.clone();
    let handle = std::thread::spawn(move || {
        refresher.refresh(|| {
            refresher.get_or_compute(&1, || {
                started_tx.send(()).unwrap();
                go_rx.recv_timeout(WAIT).expect("let go");
                computed
            })
        })
    });
    started
        .recv_timeout(WAIT)
        .expect("the refresh's function started");
    (go, handle)
}

/// `remove`'s promise: "A computation of `key` under way will not store its value after this
/// returns". A plain `get_or_compute` keeps it; a forced `refresh` (which now stores through
/// `begin_store_now`) does not: the value its function computed from the data as it was before
/// the removal (the reason for the removal) is stored after `remove` returned, and served.
#[test]
fn a_refresh_under_way_does_not_store_its_value_after_remove_returned() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    cache.insert(&1, 0).unwrap();
    let (go, refresh) = refresh_under_way(&cache, 5);
    // The data behind key 1 changed: the user removes the key, and it returns.
    cache.remove(&1).unwrap();
    go.send(()).unwrap();
    assert_eq!(
        refresh.join().unwrap(),
        5,
        "the refresh's caller gets its value"
    );
    assert_eq!(
        cache.get(&1),
        None,
        "remove(1) returned while a refresh's function was running, yet the value that function \
         computed (from the data before the removal) was stored after it and is served"
    );
}

/// As above, for `clear`: "a value computed before a clear returned" is never served.
#[test]
fn a_refresh_under_way_does_not_store_its_value_after_clear_returned() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    cache.insert(&1, 0).unwrap();
    let (go, refresh) = refresh_under_way(&cache, 5);
    cache.clear().unwrap();
    go.send(()).unwrap();
    assert_eq!(refresh.join().unwrap(), 5);
    assert_eq!(
        cache.get(&1),
        None,
        "clear() returned while a refresh's function was running, yet its value was stored after \
         and is served"
    );
}

/// A value whose next serialisation (a persistent tier's write), once armed, runs a hook first.
#[derive(Clone, Deserialize)]
struct Paused {
    n: u64,
    #[serde(skip)]
    on_serialize: HookSlot,
}

impl Paused {
    fn new(n: u64) -> Self {
        Self {
            n,
            on_serialize: HookSlot::default(),
        }
    }
}

impl Serialize for Paused {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(hook) = take(&self.on_serialize) {
            hook();
        }
        let mut s = serializer.serialize_struct("Paused", 1)?;
        s.serialize_field("n", &self.n)?;
        s.end()
    }
}

/// A memory + file cache whose `ttl_fn`, at its call for the value `1` (in `insert`'s store,
/// after the insert took its generation and before it begins its store), runs the hook in the
/// returned slot.
fn cache_pausing_insert_of_1(dir: &std::path::Path) -> (Cache<u32, Paused>, HookSlot) {
    let hook = HookSlot::default();
    let calls = Arc::new(Mutex::new(0));
    let hook_in_ttl = Arc::clone(&hook);
    let cache: Cache<u32, Paused> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .ttl_fn(move |value: &Paused| {
            if value.n == 1 {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                if *calls == 1
                    && let Some(hook) = take(&hook_in_ttl)
                {
                    hook();
                }
            }
            None
        })
        .build()
        .unwrap();
    (cache, hook)
}

/// Two inserts of one key at once: after both returned, every tier must hold the same one of the
/// two values (either order is fine). `begin_store_now` lets the insert whose generation was
/// overtaken store anyway, with nothing ordering its writes against the other insert's: here
/// insert(1, 1) writes memory and file between insert(1, 2)'s memory write and its file write, so
/// memory keeps 1 and the file 2. This cache serves 1; another cache on the same directory (or
/// this one once memory lets key 1 go) serves 2, a value this process already saw replaced.
#[test]
fn two_inserts_of_one_key_at_once_leave_every_tier_with_the_same_value() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, hook) = cache_pausing_insert_of_1(dir.path());
    let (paused_tx, paused) = mpsc::channel::<()>();
    let (go, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let second = cache.clone();
    let (second_tx, second_done) = mpsc::channel::<std::thread::JoinHandle<()>>();
    let release = go.clone();
    // insert(1, 1) has its generation: insert(1, 2) runs on another thread, up to the file
    // write of its value (its memory write done), and is let go on while insert(1, 1) goes on:
    // whichever stores first, both must end in every tier in one order. (Held until insert(1, 1)
    // returned, insert(1, 2)'s store would stall beyond the bound an insert waits for a store
    // under way, 10 s: docs/RELIABILITY.md.)
    *hook.lock().unwrap() = Some(Box::new(move || {
        let value = Paused::new(2);
        *value.on_serialize.lock().unwrap() = Some(Box::new(move || {
            paused_tx.send(()).unwrap();
            go_rx.lock().unwrap().recv_timeout(WAIT).expect("let go");
        }));
        let handle = std::thread::spawn(move || second.insert(&1, value).unwrap());
        paused
            .recv_timeout(WAIT)
            .expect("insert(1, 2) reached its file write");
        release.send(()).unwrap();
        second_tx.send(handle).unwrap();
    }));
    cache.insert(&1, Paused::new(1)).unwrap();
    second_done.recv_timeout(WAIT).unwrap().join().unwrap();
    // Both inserts returned. What this cache serves, and what another cache on the same
    // directory (this process's next run) serves, must be the same value.
    let here = cache.get(&1).map(|v| v.n);
    let other: Cache<u32, Paused> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    let there = other.get(&1).map(|v| v.n);
    assert!(
        here.is_some() && here == there,
        "after insert(1, 1) and insert(1, 2) both returned, the memory tier serves {here:?} and \
         the file tier {there:?}: no order of the two inserts leaves that"
    );
}

/// A value whose next clone, once armed, runs a hook first (once).
#[derive(Serialize, Deserialize)]
struct Hooked {
    n: u64,
    #[serde(skip)]
    hook: HookSlot,
}

impl Clone for Hooked {
    fn clone(&self) -> Self {
        if let Some(hook) = take(&self.hook) {
            hook();
        }
        Self {
            n: self.n,
            hook: Arc::clone(&self.hook),
        }
    }
}

fn hooked(n: u64) -> Hooked {
    Hooked {
        n,
        hook: HookSlot::default(),
    }
}

/// An `insert` from a value's `Clone` (run under its shard's read lock by a hit in the shared
/// table) returns `Ok(())`, yet the memory tier skips the store (`write_shard_or_skip`: the lock
/// is held by this very thread) and keeps the value the insert replaced: it is served after
/// `insert` returned Ok. (locks.rs says `insert` "still waits" for the lock; it does not, and
/// nothing tells the caller its value was dropped.) One shard (a small bound), so that keys 1
/// and 2 share it; no thread index, so that the hit clones under the lock.
#[test]
fn an_insert_that_returned_ok_from_a_values_clone_is_not_lost() {
    let cache: Cache<u32, Hooked> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(8).thread_index(0))
        .build()
        .unwrap();
    cache.insert(&2, hooked(0)).unwrap();
    let first = hooked(1);
    let inserted = Arc::new(Mutex::new(None));
    let (writer, result) = (cache.clone(), Arc::clone(&inserted));
    cache.insert(&1, first.clone()).unwrap();
    *first.hook.lock().unwrap() = Some(Box::new(move || {
        *result.lock().unwrap() = Some(writer.insert(&2, hooked(7)));
    }));
    assert_eq!(cache.get(&1).map(|v| v.n), Some(1));
    let inserted = inserted.lock().unwrap().take().expect("the hook ran");
    if inserted.is_ok() {
        assert_eq!(
            cache.get(&2).map(|v| v.n),
            Some(7),
            "insert(2, 7) (from key 1's value's Clone) returned Ok, yet the value it replaced \
             is served"
        );
    }
}

/// A memory + JSON file cache of `f64` on `dir`.
fn json_cache(dir: &std::path::Path) -> Cache<u32, f64> {
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir).formatter(cacher::format::JsonFormatter))
        .build()
        .unwrap()
}

/// A forced refresh whose value a tier refuses to write (JSON refuses NaN, as a full disk refuses
/// any value): the refresh returns its value, the memory tier holds it, and the file tier keeps
/// the entry the refresh was asked to replace. The next process on the directory (or this one
/// once memory lets the key go) is served that replaced value, fresh. A failed write should cost
/// the tier its entry, never leave the older one standing. (`insert` returns the error, but a
/// refresh returns `Ok`, and nothing says the old value is still on disk.)
#[test]
fn a_refresh_whose_value_a_tier_refuses_does_not_leave_the_replaced_value_there() {
    let dir = tempfile::tempdir().unwrap();
    let cache = json_cache(dir.path());
    assert_eq!(cache.get_or_compute(&1, || 1.0), 1.0);
    let refreshed = cache.refresh(|| cache.get_or_compute(&1, || f64::NAN));
    assert!(refreshed.is_nan(), "the refresh's caller gets its value");
    assert!(cache.stats().errors >= 1, "the refused write is counted");
    let next_process = json_cache(dir.path());
    assert_eq!(
        next_process.get(&1),
        None,
        "the refresh replaced 1.0 (this process serves NaN), yet the file tier still serves 1.0"
    );
}

/// `insert` of a value whose own ttl runs out between `insert`'s two looks at it: `ttl_fn` is
/// called once to decide whether the value is discarded (removing the older entry, as the docs
/// say of a zero ttl) and again when it is stored. A value that expires at a given instant (a
/// token with its `expires_at`: `ttl_fn` = the time left) has a ttl above zero at the first call
/// and zero at the second: the insert invalidates, stores nothing and removes nothing, returns
/// `Ok`, and the token it replaced is served after it. The hook in `ttl_fn` moves the wall clock
/// the token's ttl is read from, as time passing between the two calls would.
#[test]
fn an_insert_whose_value_expires_during_it_does_not_leave_the_replaced_value() {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    // Tokens are their expiry instants, in milliseconds of this wall clock.
    let now = Arc::new(AtomicU64::new(0));
    let wall = Arc::clone(&now);
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl_fn(move |expires_at: &u64| {
            let left = expires_at.saturating_sub(wall.load(SeqCst));
            if *expires_at == 100 {
                // The new token's last millisecond passes just after this look.
                wall.store(100, SeqCst);
            }
            Some(Duration::from_millis(left))
        })
        .build()
        .unwrap();
    // The old token, valid for a long time still.
    cache.insert(&1, 500_000).unwrap();
    assert_eq!(cache.get(&1), Some(500_000));
    now.store(99, SeqCst);
    cache.insert(&1, 100).unwrap();
    assert_ne!(
        cache.get(&1),
        Some(500_000),
        "insert(1, 100) returned Ok, yet the token it replaced is served"
    );
}

/// `insert`'s promise: "A computation of `key` already under way will not store its (older)
/// value over this one". A plain `get_or_compute` keeps it; a forced `refresh` whose function
/// was running when `insert` was called does not: its value, computed from the data before the
/// insert, replaces the inserted one after `insert` returned.
#[test]
fn a_refresh_under_way_does_not_store_its_older_value_over_an_insert() {
    let cache: Cache<u32, u64> = Cache::builder().build().unwrap();
    cache.insert(&1, 0).unwrap();
    let (go, refresh) = refresh_under_way(&cache, 5);
    cache.insert(&1, 7).unwrap();
    go.send(()).unwrap();
    assert_eq!(
        refresh.join().unwrap(),
        5,
        "the refresh's caller gets its value"
    );
    assert_eq!(
        cache.get(&1),
        Some(7),
        "insert(1, 7) returned while a refresh's function was running, yet the value that \
         function computed was stored over it"
    );
}

/// A key whose `Eq`, for key 1, runs the hook in [`EQ_HOOK`] (once).
#[derive(Clone, Debug, Serialize)]
struct Interned(u32);

impl std::hash::Hash for Interned {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

static EQ_HOOK: Mutex<Option<Hook>> = Mutex::new(None);

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        if self.0 == 1 {
            let hook = EQ_HOOK.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
        self.0 == other.0
    }
}

impl Eq for Interned {}

/// A lookup from a key's `Eq` (run under the shard's read lock) of a key another thread is
/// computing: the shard's lock is not free at once (that thread's store queued on it), so the
/// lookup misses (as locks.rs intends) and joins that thread's flight, whose leader waits for the
/// write lock this thread holds. Both wait for `wait_timeout` (60 s by default; forever with
/// `wait_timeout(Duration::MAX)`, which the docs offer), and with them every caller of the
/// shard. The try-lock of the lookup (attack 16's fix) does not reach the flight's wait.
#[test]
fn a_lookup_from_a_keys_eq_does_not_wait_for_a_flight_whose_store_waits_for_its_lock() {
    let cache: Cache<Interned, u64> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(8).thread_index(0)) // one shard
        .build()
        .unwrap();
    cache.insert(&Interned(1), 10).unwrap();
    cache.insert(&Interned(3), 30).unwrap();
    // Another thread computes key 2 (the leader of its flight), until let go.
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let leader = cache.clone();
    std::thread::spawn(move || {
        leader.get_or_compute(&Interned(2), || {
            started_tx.send(()).unwrap();
            go_rx.recv_timeout(WAIT).unwrap();
            20
        })
    });
    started.recv_timeout(WAIT).unwrap();
    let inner = cache.clone();
    *EQ_HOOK.lock().unwrap() = Some(Box::new(move || {
        // Under key 1's shard's read lock: the leader finishes computing and queues for the
        // write lock to store its value (seen here as the shard no longer readable at once).
        go.send(()).unwrap();
        let start = std::time::Instant::now();
        while inner.peek(&Interned(3)).is_some() && start.elapsed() < WAIT {
            std::thread::yield_now();
        }
        // The look this Eq makes into the cache: key 2's value, computed here or by the leader.
        let value = inner.get_or_compute(&Interned(2), || 22);
        assert!(matches!(value, 20 | 22), "{value}");
    }));
    let (done, finished) = mpsc::channel();
    let reader = cache.clone();
    std::thread::spawn(move || {
        let _ = done.send(reader.get(&Interned(1)));
    });
    let found = finished.recv_timeout(WAIT).expect(
        "get(1) never ended: its Eq's get_or_compute(2) waits for key 2's flight, whose leader \
         waits for the shard's write lock that get(1) holds (a deadlock until wait_timeout)",
    );
    assert_eq!(found, Some(10));
}

/// The memory tier's skipped stores reach further than reentry: "user code under a shard's lock"
/// is counted per thread, not per tier, so an `insert` into another cache `b` from a value's
/// `Clone` in cache `a` only tries `b`'s shard lock, and skips its store whenever another thread
/// merely reads that shard (no reentry, no deadlock possible): `insert` returns `Ok` and `b`
/// keeps serving the value it replaced.
#[test]
fn an_insert_into_another_cache_from_a_values_clone_is_not_lost_to_a_reader() {
    let a: Cache<u32, Hooked> = Cache::builder()
        .backend(MemoryBackend::new().thread_index(0))
        .build()
        .unwrap();
    let b: Cache<u32, Hooked> = Cache::builder()
        .backend(MemoryBackend::new().max_entries(8).thread_index(0)) // one shard
        .build()
        .unwrap();
    b.insert(&2, hooked(0)).unwrap();
    // A reader of b on another thread, inside its value's Clone (under b's shard's read lock)
    // until let go.
    let reading = hooked(5);
    b.insert(&5, reading.clone()).unwrap();
    let (inside_tx, inside) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    *reading.hook.lock().unwrap() = Some(Box::new(move || {
        inside_tx.send(()).unwrap();
        go_rx.recv_timeout(WAIT).unwrap();
    }));
    let reader = b.clone();
    let reader = std::thread::spawn(move || reader.get(&5).map(|v| v.n));
    inside.recv_timeout(WAIT).unwrap();
    // This thread: a hit in a, whose value's Clone inserts into b.
    let first = hooked(1);
    a.insert(&1, first.clone()).unwrap();
    let inserted = Arc::new(Mutex::new(None));
    let (writer, result) = (b.clone(), Arc::clone(&inserted));
    *first.hook.lock().unwrap() = Some(Box::new(move || {
        *result.lock().unwrap() = Some(writer.insert(&2, hooked(7)));
    }));
    // The reader is let go a little later, from a thread of its own: b's insert waits for its
    // shard meanwhile (or, let go first, finds it free); either way it must store.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        go.send(()).unwrap();
    });
    assert_eq!(a.get(&1).map(|v| v.n), Some(1));
    release.join().unwrap();
    assert_eq!(reader.join().unwrap(), Some(5));
    let inserted = inserted.lock().unwrap().take().expect("the hook ran");
    assert!(inserted.is_ok(), "{inserted:?}");
    assert_eq!(
        b.get(&2).map(|v| v.n),
        Some(7),
        "b.insert(2, 7) (from a value's Clone in cache a) returned Ok while another thread read \
         b, yet b serves the value it replaced"
    );
}

/// `wait_timeout` is documented as how long a caller waits for another caller computing the same
/// key; it also bounds how long `remove` waits for a store under way (`store_wait`). With
/// `wait_timeout(Duration::ZERO)` (callers never wait for each other) `remove` does not wait for
/// a store at all: a value computed before `remove` was called, whose file write was under way,
/// lands on disk after `remove` returned, and is served.
#[test]
fn remove_waits_for_a_store_under_way_whatever_the_wait_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, Paused> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .wait_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let remover = cache.clone();
    let value = Paused::new(5);
    let (handle_tx, handle) = mpsc::channel();
    // In the file write of the computed value (memory already written): remove(1) starts on
    // another thread, and the write goes on. (Waiting here for remove to return would make each
    // wait for the other: remove waits, at most 10 s, for a store under way.)
    *value.on_serialize.lock().unwrap() = Some(Box::new(move || {
        let (started, starting) = mpsc::channel();
        handle_tx
            .send(std::thread::spawn(move || {
                started.send(()).unwrap();
                remover.remove(&1).unwrap();
            }))
            .unwrap();
        starting.recv_timeout(WAIT).expect("remove(1) started");
    }));
    assert_eq!(cache.get_or_compute(&1, || value).n, 5);
    handle.recv_timeout(WAIT).unwrap().join().unwrap();
    // remove(1) returned: what the computation stored before it is gone.
    assert_eq!(
        cache.get(&1).map(|v| v.n),
        None,
        "remove(1) returned, yet a value computed before it was written after it and is served"
    );
}

/// `stale_if_error`'s fallback is dropped when any key of its generation stripe (one of 256) is
/// written while the function runs: `failed` compares the stripe's generation, which every
/// insert of another key bumps. During an outage, a program whose other requests insert keys
/// (here 4096 of them, so that one surely shares key 1's stripe) gets the error, not the entry
/// it was promised, though key 1 was never written: an unrelated write costs the program's
/// result, not just a cache entry.
#[test]
fn a_stale_fallback_is_not_lost_to_inserts_of_other_keys() {
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .ttl(Duration::from_secs(60))
        .stale_if_error(Duration::from_secs(3600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 10).unwrap();
    mock.advance(Duration::from_secs(120));
    let result = cache.try_get_or_compute(&1, || {
        // Other requests meanwhile: writes of other keys.
        for key in 100..4196 {
            cache.insert(&key, 0).unwrap();
        }
        Err::<u64, _>("the service is down")
    });
    assert_eq!(
        result,
        Ok(10),
        "key 1's stale entry (never written since) is not served when the function fails: \
         inserts of other keys sharing its generation stripe discarded the fallback"
    );
}
