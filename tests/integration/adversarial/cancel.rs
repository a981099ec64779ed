//! Async calls dropped at every await point (a timeout, a cancelled task, a runtime shut down):
//! polled `n` times, then dropped, for every `n` until the call completes. Whatever the drop
//! point, no tier is left holding a value older than the one an earlier tier serves — once the
//! memory tier forgets the key (eviction, a restart, another process), the value a dropped
//! refresh replaced is never served again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use cacher::backend::BoxFuture;
use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, MemoryBackend, PersistentBackend};

/// Polls `future` at most `polls` times with a waker that does nothing, then drops it: its
/// output if it completed.
pub(crate) fn poll_then_drop<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

/// Pending once (waking itself), then ready: an await point a drop can land on.
pub(crate) struct YieldOnce(pub(crate) bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A tier over a map shared by its clones (the "disk" another process or a restart would see),
/// whose async reads and writes yield before and after they act, as the file and store tiers'
/// do. A cache's async calls write through the blocking `insert`, on a blocking thread; the
/// yielding `insert_async` is kept so that a driver that awaited it again, one tier after the
/// other, would give the drops here the points between writes that the tests look for. Its
/// writes take `slow`; a write of the value `refused` fails as a full disk does, and its removes
/// record the thread they ran on.
#[derive(Clone, Default)]
pub(crate) struct Yielding {
    map: Arc<Mutex<HashMap<String, Entry<u64>>>>,
    pub(crate) slow: Duration,
    refused: Option<u64>,
    removed_on: Arc<Mutex<Vec<std::thread::ThreadId>>>,
}

impl Yielding {
    /// The value the tier holds for the keyer's `key`, whatever its age.
    pub(crate) fn value(&self, key: &str) -> Option<u64> {
        self.map.lock().unwrap().get(key).map(|entry| entry.value)
    }
}

impl PersistentBackend<u64> for Yielding {
    fn name(&self) -> &'static str {
        "yielding"
    }
    fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(self.map.lock().unwrap().get(key.key).cloned())
    }
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<u64>) -> cacher::Result<()> {
        std::thread::sleep(self.slow);
        if self.refused == Some(entry.value) {
            return Err(cacher::Error::Io {
                path: "full".into(),
                source: std::io::Error::other("no space left on device"),
            });
        }
        let mut map = self.map.lock().unwrap();
        map.insert(key.key.to_owned(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
        self.removed_on
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        self.map.lock().unwrap().remove(key.key);
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        self.map.lock().unwrap().clear();
        Ok(())
    }
    fn get_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> BoxFuture<'a, cacher::Result<Option<Entry<u64>>>>
    where
        u64: Send + 'a,
    {
        Box::pin(async move {
            YieldOnce(false).await;
            let got = self.get(key);
            YieldOnce(false).await;
            got
        })
    }
    fn insert_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
        entry: &'a Entry<u64>,
    ) -> BoxFuture<'a, cacher::Result<()>>
    where
        u64: Send + Sync + 'a,
    {
        Box::pin(async move {
            YieldOnce(false).await;
            let wrote = self.insert(key, entry);
            YieldOnce(false).await;
            wrote
        })
    }
}

/// Memory in front of two yielding tiers, on a mock clock: ttl 1 min, stale values servable for
/// 10 min more (`stale_while_revalidate`).
fn tiers(a: &Yielding, b: &Yielding, clock: cacher::Clock) -> Cache<u32, u64> {
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(a.clone())
        .backend(b.clone())
        .ttl(Duration::from_secs(60))
        .stale_while_revalidate(Duration::from_secs(600))
        .clock(clock)
        .build()
        .unwrap()
}

/// Drops `call` (made on a fresh cache whose key 1 holds 1 in every tier, `aged` past its ttl or
/// not) after each number of polls, and checks that the tiers agree with what the memory tier
/// serves: once it serves the new value, no tier holds the old one behind it.
fn dropped_at_every_await(
    aged: bool,
    call: impl Fn(&Cache<u32, u64>) -> Pin<Box<dyn Future<Output = u64> + '_>>,
) {
    for polls in 0.. {
        let (a, b) = (Yielding::default(), Yielding::default());
        let (clock, mock) = cacher::Clock::mock();
        let cache = tiers(&a, &b, clock);
        cache.insert(&1, 1).unwrap();
        if aged {
            mock.advance(Duration::from_secs(90));
        }
        let done = poll_then_drop(call(&cache), polls);
        let key = cache.key_of(&1).unwrap();
        let (in_a, in_b) = (a.value(&key), b.value(&key));
        // What the memory tier holds now: a peek serves a fresh memory entry first.
        if cache.peek(&1) == Some(2) {
            assert!(
                in_a == Some(2) && in_b == Some(2),
                "dropped after {polls} polls: memory serves 2, the tiers hold {in_a:?} and \
                 {in_b:?}: once memory forgets the key, the replaced 1 is served again"
            );
        }
        if done.is_some() {
            assert_eq!((in_a, in_b), (Some(2), Some(2)), "a refresh that ended");
            return;
        }
    }
}

/// A `refresh_async` dropped between its memory write and a later tier's write left the
/// replaced value in that tier (drive.rs `run_async`: the writes are awaited one after the
/// other, and a drop between them skips the rest, while memory already serves the new value).
#[test]
fn a_refresh_dropped_at_any_await_point_leaves_no_tier_with_the_replaced_value() {
    dropped_at_every_await(false, |cache| {
        Box::pin(cache.refresh_async(cache.get_or_compute_async(&1, || async { 2 })))
    });
}

/// The same for a plain miss over an entry past its ttl: the stale 1 left in a tier behind the
/// computed 2 is served by the next process within `stale_while_revalidate`.
#[test]
fn a_miss_dropped_at_any_await_point_leaves_no_tier_with_the_older_value() {
    dropped_at_every_await(true, |cache| {
        Box::pin(cache.get_or_compute_async(&1, || async { 2 }))
    });
}

/// On a runtime, a dropped refresh's unmade writes are made on a blocking thread after the drop
/// (slowly here): a `remove` right after the drop waits for them, then removes what they wrote,
/// so no tier holds a value after it.
#[test]
fn the_writes_a_dropped_refresh_left_come_before_a_remove_after_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    for polls in 0..12 {
        let a = Yielding::default();
        let b = Yielding {
            slow: Duration::from_millis(30),
            ..Yielding::default()
        };
        let (clock, _mock) = cacher::Clock::mock();
        let cache = tiers(&a, &b, clock);
        cache.insert(&1, 1).unwrap();
        let refresh = cache.refresh_async(cache.get_or_compute_async(&1, || async { 2 }));
        poll_then_drop(refresh, polls);
        cache.remove(&1).unwrap();
        let key = cache.key_of(&1).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            (cache.get(&1), a.value(&key), b.value(&key)),
            (None, None, None),
            "dropped after {polls} polls, then removed"
        );
    }
}

/// A write a tier refuses (a full disk) removes the key's older entry from it
/// (`forget_on_failure`): in an async call that removal is tier I/O like the others, made on a
/// blocking thread. It ran on the executor's thread (drive.rs `run_async`: the blocking
/// `PersistentBackend::remove` called inline).
#[test]
fn an_async_calls_removal_after_a_refused_write_runs_off_the_executor() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = Yielding {
        refused: Some(2),
        ..Yielding::default()
    };
    let cache: Cache<u32, u64> = Cache::builder().backend(a.clone()).build().unwrap();
    cache.insert(&1, 1).unwrap();
    let executor = std::thread::current().id();
    let refreshed =
        runtime.block_on(cache.refresh_async(cache.get_or_compute_async(&1, || async { 2 })));
    assert_eq!(refreshed, 2);
    let removed_on = a.removed_on.lock().unwrap().clone();
    assert_eq!(
        removed_on.len(),
        1,
        "the refused write removed the older entry"
    );
    assert_ne!(
        removed_on[0], executor,
        "the removal ran on the executor's thread"
    );
    assert_eq!(cache.get(&1), None, "the replaced 1 is not served");
}

/// A tier whose async write panics (a backend of the user's): the panic unwinds through the
/// async driver, whose hold on the call hands the writes left to be made after it.
#[derive(Clone, Default)]
struct Panicking;

impl PersistentBackend<u64> for Panicking {
    fn name(&self) -> &'static str {
        "panicking"
    }
    fn get(&self, _: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(None)
    }
    fn insert(&self, _: &EntryKey<'_>, _: &Entry<u64>) -> cacher::Result<()> {
        panic!("the tier's write panicked")
    }
    fn remove(&self, _: &EntryKey<'_>) -> cacher::Result<()> {
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        Ok(())
    }
}

/// Without a runtime the writes left are made where the call is dropped: there, while the
/// tier's panic unwinds, the same tier panics again. Caught in the drop (one escaping it would
/// abort the process): the caller gets the first panic, the next tier still gets the value.
#[test]
fn a_tier_that_panics_in_an_async_write_costs_the_call_not_the_process() {
    let after = Yielding::default();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(MemoryBackend::new())
        .backend(Panicking)
        .backend(after.clone())
        .build()
        .unwrap();
    let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_then_drop(cache.get_or_compute_async(&1, || async { 2 }), 100)
    }));
    assert!(call.is_err(), "the tier's panic reaches the caller");
    let key = cache.key_of(&1).unwrap();
    assert_eq!(after.value(&key), Some(2), "the tier after the panic");
    assert_eq!(cache.get(&1), Some(2));
}
