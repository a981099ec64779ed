//! Attack 18: calls that overlap an `insert` (it invalidates the key's stripe when it begins, and
//! its own store bumps nothing), `stale_if_error`'s fallback once the stripe's generation moved
//! (`failed` then asks the memory tier only), and a value's panicking `Drop` resumed out of a
//! thread index's admission. Each race is ordered by hooks in `ttl_fn` or a value's
//! `Deserialize`, and channels, never sleeps.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use serde::{Deserialize, Serialize};

use super::bomb::{ARMED, Bomb};

const WAIT: Duration = Duration::from_secs(10);

/// A one-way handshake a hook takes part in: `reached` says the hook is there, `go` lets it on.
struct Gate {
    reached: Mutex<mpsc::Sender<()>>,
    go: Mutex<mpsc::Receiver<()>>,
}

/// The hook's side (a [`Gate`]) and the test's (wait for the hook, let it go).
fn gate() -> (Arc<Gate>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (reached_tx, reached) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        reached: Mutex::new(reached_tx),
        go: Mutex::new(go_rx),
    });
    (gate, reached, go)
}

impl Gate {
    fn pass(&self) {
        self.reached.lock().unwrap().send(()).unwrap();
        self.go.lock().unwrap().recv_timeout(WAIT).expect("let go");
    }
}

/// A `ttl_fn` that stops, once each, at the values (as `number` reads them) that have a gate.
fn gated_ttl<V: 'static>(
    gates: Vec<(u64, Arc<Gate>)>,
    number: fn(&V) -> u64,
) -> impl Fn(&V) -> Option<Duration> + Send + Sync + 'static {
    let gates = Mutex::new(gates);
    move |value: &V| {
        let gate = {
            let mut gates = gates.lock().unwrap();
            let at = gates.iter().position(|(v, _)| *v == number(value));
            at.map(|at| gates.remove(at).1)
        };
        if let Some(gate) = gate {
            gate.pass();
        }
        None
    }
}

/// A computation that began after `insert` invalidated its key, and whose function returned
/// while the insert had not yet stored (let alone returned), stores its value over the inserted
/// one after `insert` returned: the program is served 5, a value computed before it inserted 7,
/// for as long as the entry lives. `insert`'s doc: "a computation of `key` already under way will
/// not store its (older) value over this one". The insert takes its generation after its
/// invalidation (cache.rs:254) and its own store moves nothing (store.rs `computed`, plain
/// `begin_store`), so the computation, which took the same generation, stores after it.
#[test]
fn a_value_computed_before_insert_returned_is_not_stored_over_it() {
    let (at_insert, insert_reached, insert_go) = gate();
    let (at_store, compute_reached, compute_go) = gate();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .ttl_fn(gated_ttl(vec![(7, at_insert), (5, at_store)], |v: &u64| *v))
        .build()
        .unwrap();
    let inserter = cache.clone();
    let insert = std::thread::spawn(move || inserter.insert(&1, 7));
    // insert(1, 7) invalidated key 1 and has its value in hand, not yet stored.
    insert_reached
        .recv_timeout(WAIT)
        .expect("insert reached ttl_fn");
    let computer = cache.clone();
    let compute = std::thread::spawn(move || computer.get_or_compute(&1, || 5));
    // The function ran and returned 5; its store waits.
    compute_reached
        .recv_timeout(WAIT)
        .expect("the function returned");
    insert_go.send(()).unwrap();
    insert.join().unwrap().unwrap();
    // insert(1, 7) returned. Now the computation's store, of a value computed before it.
    compute_go.send(()).unwrap();
    assert_eq!(compute.join().unwrap(), 5, "its caller gets its value");
    assert_eq!(
        cache.get(&1),
        Some(7),
        "after insert(1, 7) returned, key 1 serves a value computed before (5)"
    );
}

/// Key 1's values in the file tier: a `u64` whose deserialisation runs the hook in
/// [`ON_READ`]`[HOOK]` once, if set. One hook per test (they run at once): [`Read`], [`Idle`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(from = "u64", into = "u64")]
struct Gated<const HOOK: usize>(u64);

/// The values of the `get` test.
type Read = Gated<0>;
/// The values of the `time_to_idle` test.
type Idle = Gated<1>;

static ON_READ: [Mutex<Option<Arc<Gate>>>; 2] = [Mutex::new(None), Mutex::new(None)];

impl<const HOOK: usize> From<u64> for Gated<HOOK> {
    fn from(n: u64) -> Self {
        let gate = ON_READ[HOOK].lock().unwrap().take();
        if let Some(gate) = gate {
            gate.pass();
        }
        Self(n)
    }
}

impl<const HOOK: usize> From<Gated<HOOK>> for u64 {
    fn from(value: Gated<HOOK>) -> Self {
        value.0
    }
}

/// Runs `insert(1, 7)` (which stops at the gate whose test side is `insert`) and `get(1)` on two
/// threads so that the get reads key 1's file entry after the insert began, stops while decoding
/// it ([`ON_READ`]), and goes on with it only after the insert returned (both tiers hold 7).
fn get_across_insert<const HOOK: usize>(
    cache: &Cache<u32, Gated<HOOK>>,
    insert: (mpsc::Receiver<()>, mpsc::Sender<()>),
) {
    let (insert_reached, insert_go) = insert;
    let inserter = cache.clone();
    let inserted = std::thread::spawn(move || inserter.insert(&1, Gated::<HOOK>(7)));
    insert_reached
        .recv_timeout(WAIT)
        .expect("insert reached ttl_fn");
    let (at_read, read_reached, read_go) = gate();
    *ON_READ[HOOK].lock().unwrap() = Some(at_read);
    let reader = cache.clone();
    let get = std::thread::spawn(move || reader.get(&1));
    read_reached
        .recv_timeout(WAIT)
        .expect("the get read the file");
    insert_go.send(()).unwrap();
    inserted.join().unwrap().unwrap();
    read_go.send(()).unwrap();
    let _ = get.join().unwrap();
}

/// A `get` that began after `insert` invalidated its key reads the file tier's older value (3),
/// and copies it into the memory tier after the insert wrote 7 to both and returned: the memory
/// tier then serves 3, the value the insert replaced, to every later call of this process (and
/// the file 7: the tiers disagree). The fill's `begin_store` compares the generation the get
/// took after the insert's invalidation, which the insert's own store did not move.
#[test]
fn a_get_during_insert_does_not_copy_the_replaced_value_into_memory_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // Another process's write: the file holds 3; this cache's memory tier has nothing.
    let other: Cache<u32, Read> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    other.insert(&1, Gated::<0>(3)).unwrap();
    let (at_insert, insert_reached, insert_go) = gate();
    let cache: Cache<u32, Read> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .ttl_fn(gated_ttl(vec![(7, at_insert)], |v: &Read| v.0))
        .build()
        .unwrap();
    // The get reads the file's 3 and goes on after insert(1, 7) returned.
    get_across_insert(&cache, (insert_reached, insert_go));
    assert_eq!(
        cache.get(&1),
        Some(Gated::<0>(7)),
        "after insert(1, 7) returned, key 1 serves the value it replaced"
    );
}

/// A value cleared from the tier but still held by this thread's index is dropped at the
/// thread's next admission, and its `Drop`'s panic is resumed there (`release`,
/// thread_index.rs): out of a `get_or_compute` of another key, after `clear` returned `Ok`. The
/// program loses that call's result (a `#[cached]` function's hit panics) for a value it never
/// asked for, and the key's value, which the cache had, is not served.
#[test]
fn a_cleared_values_panicking_drop_does_not_cost_another_keys_hit_its_result() {
    let cache: Cache<u64, Bomb> = Cache::builder().build().unwrap();
    cache.insert(&1, Bomb { clones: 0 }).unwrap();
    // Hit often: key 1 joins this thread's index.
    for _ in 0..64 {
        assert!(cache.get(&1).is_some());
    }
    ARMED.store(true, Ordering::SeqCst);
    cache.clear().unwrap();
    cache.insert(&3, Bomb { clones: 5 }).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..64 {
            let value = cache.get_or_compute(&3, || unreachable!("key 3 is cached"));
            assert_eq!(value.clones, 7);
        }
    }));
    ARMED.store(false, Ordering::SeqCst);
    // And the index, after the panic out of it, still serves key 3.
    let after = (0..64).all(|_| cache.get(&3).is_some_and(|v| v.clones == 7));
    assert!(
        caught.is_ok() && after,
        "get_or_compute(3), a hit, panicked with key 1's value's Drop, after clear returned Ok \
         (key 3 still served after: {after})"
    );
}

/// `time_to_idle`'s use of an entry that began after `insert` invalidated the key: it read the
/// file's 3 before the insert wrote 7, and rewrote 3 (the same write as its memory entry) into
/// the file and memory after the insert returned; the value the insert replaced was served
/// again, here and in the next process. (Since session 9 a use is recorded in memory only and
/// reads no file: the hit serves 3 while the insert is under way, and 7 is served after.)
#[test]
fn a_use_recorded_during_insert_does_not_bring_the_replaced_value_back() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = cacher::Clock::mock();
    let (at_insert, insert_reached, insert_go) = gate();
    let cache: Cache<u32, Idle> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .time_to_idle(Duration::from_secs(60))
        .clock(clock.clone())
        .ttl_fn(gated_ttl(vec![(7, at_insert)], |v: &Idle| v.0))
        .build()
        .unwrap();
    cache.insert(&1, Gated::<1>(3)).unwrap();
    // A quarter of the idle window later, the next hit records its use.
    mock.advance(Duration::from_secs(20));
    // insert(1, 7) stops in its store; the hit of 3 records its use meanwhile.
    let inserter = cache.clone();
    let inserted = std::thread::spawn(move || inserter.insert(&1, Gated::<1>(7)));
    insert_reached
        .recv_timeout(WAIT)
        .expect("insert reached ttl_fn");
    let (at_read, _read_reached, _read_go) = gate();
    *ON_READ[1].lock().unwrap() = Some(at_read);
    assert_eq!(
        cache.get(&1),
        Some(Gated::<1>(3)),
        "the insert is under way"
    );
    assert!(
        ON_READ[1].lock().unwrap().take().is_some(),
        "a use is recorded without reading the file"
    );
    insert_go.send(()).unwrap();
    inserted.join().unwrap().unwrap();
    let next: Cache<u32, Idle> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .time_to_idle(Duration::from_secs(60))
        .clock(clock)
        .build()
        .unwrap();
    let (here, there) = (cache.get(&1), next.get(&1));
    assert!(
        here == Some(Gated::<1>(7)) && there == Some(Gated::<1>(7)),
        "after insert(1, 7) returned, this process serves {here:?} and the next {there:?}"
    );
}

type Hook = Box<dyn FnOnce() + Send>;

/// Key 1's values for the plain-lookup test: a `u64` whose deserialisation runs the hook in
/// [`ON_LOOKUP_READ`] once, if set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(from = "u64", into = "u64")]
struct Looked(u64);

static ON_LOOKUP_READ: Mutex<Option<Hook>> = Mutex::new(None);

impl From<u64> for Looked {
    fn from(n: u64) -> Self {
        let hook = ON_LOOKUP_READ.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        Self(n)
    }
}

impl From<Looked> for u64 {
    fn from(value: Looked) -> Self {
        value.0
    }
}

/// A plain `get` runs the miss path with a "function" that fails (there is no value), and
/// `failed`'s new fallback (store.rs `failed`: the stripe's generation moved, so the memory
/// tier is asked for an entry past its ttl) serves whatever goal the call has: when other keys
/// of key 1's stripe are written during the `get` (here while it reads the file tier), `get`
/// returns key 1's expired value, which it documents it never does ("the fresh cached value"),
/// counts a stale serve, and starts key 1's error backoff though no function failed: the next
/// `get_or_compute` is served the expired value instead of running its function.
#[test]
fn a_get_never_serves_an_expired_value_nor_starts_a_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, Looked> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .ttl(Duration::from_secs(60))
        .stale_if_error(Duration::from_secs(3600))
        .error_backoff(Duration::from_secs(600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, Looked(10)).unwrap();
    mock.advance(Duration::from_secs(120));
    // Other requests, while the get reads the file: writes of other keys (enough that some
    // share key 1's stripe).
    let writer = cache.clone();
    *ON_LOOKUP_READ.lock().unwrap() = Some(Box::new(move || {
        for key in 100..4196 {
            writer.insert(&key, Looked(0)).unwrap();
        }
    }));
    let got = cache.get(&1);
    let stale_served = cache.stats().stale_served;
    let computed = cache.get_or_compute(&1, || Looked(11));
    assert!(
        got.is_none() && stale_served == 0 && computed == Looked(11),
        "get(1) of an expired entry returned {got:?} (stale served: {stale_served}), and the \
         next get_or_compute got {computed:?} without running its function (11)"
    );
}

/// A `ttl_fn` that panics on the function's value: `computed` (store.rs) asks it with no guard,
/// so `get_or_compute` panics with the function's value in hand, where a `Serialize` that
/// panics costs only the write (`formats::a_serialize_that_panics_costs_a_write_never_the_value`).
/// The program loses its result to a panic in cache policy code, not a cache entry.
#[test]
fn a_ttl_fn_that_panics_costs_the_entry_never_the_functions_value() {
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .ttl_fn(|value: &u64| {
            assert!(*value != 5, "no ttl for 5");
            None
        })
        .build()
        .unwrap();
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_or_compute(&1, || 5)
    }));
    assert!(
        matches!(got, Ok(5)),
        "get_or_compute panicked in ttl_fn with the function's value (5) in hand"
    );
}

/// A background refresh (`stale_while_revalidate`) whose function fails after writes of other
/// keys of its stripe (its generation is the one the stale value was read under): `failed`'s
/// new fallback serves it the memory tier's stale entry, so the runner (refresh.rs:235) sees
/// `Ok`, and `refresh_failed` is never called. `stats()` then counts a stale serve for nobody
/// and no error for the failure (the function's failures go unseen in the counters).
#[test]
fn a_failed_background_refresh_is_counted_as_an_error_not_a_stale_serve() {
    let (clock, mock) = cacher::Clock::mock();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .ttl(Duration::from_secs(60))
        .stale_while_revalidate(Duration::from_secs(600))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, 10).unwrap();
    mock.advance(Duration::from_secs(120));
    let writer = cache.clone();
    let served = cache.try_get_or_refresh(&1, move || {
        for key in 100..4196 {
            writer.insert(&key, 0).unwrap();
        }
        Err::<u64, &str>("the service is down")
    });
    assert_eq!(served, Ok(10), "the stale value, served at once");
    // The background refresh ends one way or the other: an error counted, or a second stale
    // serve.
    let start = std::time::Instant::now();
    let stats = loop {
        let stats = cache.stats();
        if stats.errors >= 1 || stats.stale_served >= 2 || start.elapsed() > WAIT {
            break stats;
        }
        std::thread::yield_now();
    };
    assert!(
        stats.errors == 1 && stats.stale_served == 1,
        "after a failed background refresh: errors {} (1 expected), stale served {} (1: the \
         caller's)",
        stats.errors,
        stats.stale_served
    );
}
