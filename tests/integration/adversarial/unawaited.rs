//! Work an async call hands to tokio's blocking threads that its caller does not await to the
//! end: the writes of a call dropped meanwhile (their failures must still be counted), and work
//! a runtime shutting down drops unrun while its caller goes on (it must still be done, not end
//! the call in a panic with tokio's message).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, PersistentBackend, SeparateFileBackend};

use super::cancel::{Yielding, poll_then_drop};

const WAIT: Duration = Duration::from_secs(10);

/// A tier whose writes wait for the test to open its gate, then are refused (a full disk) or,
/// `accepts`, made; `started` says a write has begun.
#[derive(Clone, Default)]
struct Full {
    started: Arc<AtomicBool>,
    open: Arc<AtomicBool>,
    accepts: bool,
}

impl PersistentBackend<u64> for Full {
    fn name(&self) -> &'static str {
        "full"
    }
    fn get(&self, _: &EntryKey<'_>) -> cacher::Result<Option<Entry<u64>>> {
        Ok(None)
    }
    fn insert(&self, _: &EntryKey<'_>, _: &Entry<u64>) -> cacher::Result<()> {
        self.started.store(true, SeqCst);
        let start = Instant::now();
        while !self.open.load(SeqCst) {
            assert!(start.elapsed() < WAIT, "the gate never opened");
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.accepts {
            return Ok(());
        }
        Err(cacher::Error::Io {
            path: "full".into(),
            source: std::io::Error::other("no space left on device"),
        })
    }
    fn remove(&self, _: &EntryKey<'_>) -> cacher::Result<()> {
        Ok(())
    }
    fn clear(&self, _: &str) -> cacher::Result<()> {
        Ok(())
    }
}

/// A call dropped while its writes run on a blocking thread: the writes go on, and the one the
/// tier refused was logged and counted nowhere (drive.rs `write_all`: how each went was handed
/// back to the future that awaited them, dropped).
#[test]
fn the_refused_writes_of_a_dropped_async_call_are_counted_in_errors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let tier = Full::default();
    let cache = super::memory_over(tier.clone());
    dropped_while_writing(&cache, &tier);
    assert_eq!(
        cache.stats().errors,
        1,
        "the refused write of a dropped call is counted"
    );
    // An awaited call counts its refused write once.
    let awaited = runtime.block_on(cache.get_or_compute_async(&2, || async { 3 }));
    assert_eq!((awaited, cache.stats().errors), (3, 2));
}

/// As above, the writes made: the store of a call dropped meanwhile was not counted in
/// `stats().stores` (the job handed the count back to the call's core, dropped), while the
/// same call awaited counts one.
#[test]
fn the_store_of_a_dropped_async_call_is_counted_in_stores() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let tier = Full {
        accepts: true,
        ..Full::default()
    };
    let cache = super::memory_over(tier.clone());
    dropped_while_writing(&cache, &tier);
    let stats = cache.stats();
    assert_eq!(
        (stats.stores, stats.errors),
        (1, 0),
        "the store of a dropped call is counted once"
    );
    let awaited = runtime.block_on(cache.get_or_compute_async(&2, || async { 3 }));
    assert_eq!((awaited, cache.stats().stores), (3, 2));
}

/// `get_or_compute_async(1, || 2)` of `cache` polled until its write to `tier` has begun on a
/// blocking thread, then dropped; the gate opened, and `remove(1)` returned (the store is under
/// way until its writes end: `remove` waits for them).
fn dropped_while_writing(cache: &Cache<u32, u64>, tier: &Full) {
    let mut call = Box::pin(cache.get_or_compute_async(&1, || async { 2 }));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending(), "the write hangs");
    let start = Instant::now();
    while !tier.started.load(SeqCst) {
        assert!(start.elapsed() < WAIT, "the write never began");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(call);
    tier.open.store(true, SeqCst);
    cache.remove(&1).unwrap();
}

/// `get_or_compute_async(key, || value)` of `cache` on a runtime shut down, its handle entered:
/// what the call returned — `None` if it panicked, or had not ended after 100 polls.
fn on_a_shut_down_runtime(cache: &Cache<u32, u64>, key: u32, value: u64) -> Option<u64> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    runtime.shutdown_background();
    let _entered = handle.enter();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_then_drop(
            cache.get_or_compute_async(&key, || async move { value }),
            100,
        )
    }))
    .ok()
    .flatten()
}

/// A runtime shut down, its handle still entered (a future polled by another executor, or
/// `Handle::block_on` on a thread the runtime's owner outlives): tokio drops blocking work at
/// once, cancelled. The file tier's read, handed to it, ended the call in a panic with tokio's
/// message (future.rs `blocking`: a cancelled `JoinError` taken for a panic).
#[test]
fn a_read_a_shut_down_runtime_drops_unrun_is_made_by_its_caller() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert(&1, 7).unwrap();
    let call = on_a_shut_down_runtime(&cache, 1, 0);
    assert_eq!(call, Some(7), "the read is made, and its entry served");
}

/// The same for the lock a miss takes in a file tier's directory (lock/file.rs `lock_async`):
/// its wait, handed to tokio's blocking threads, was dropped unrun, and the call ended in a panic
/// with tokio's message.
#[test]
fn a_lock_a_shut_down_runtime_drops_unrun_is_taken_by_its_caller() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, u64> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    let call = on_a_shut_down_runtime(&cache, 2, 3);
    assert_eq!(call, Some(3), "the lock is taken, the function runs");
}

/// The same for a store's writes (drive.rs `write_all`): they were made where tokio dropped
/// them, and the call that waited for them panicked all the same, losing its value.
#[test]
fn writes_a_shut_down_runtime_drops_unrun_give_the_call_its_value() {
    let tier = Yielding::default();
    let cache = super::memory_over(tier.clone());
    let call = on_a_shut_down_runtime(&cache, 1, 2);
    assert_eq!(call, Some(2), "the call gets its value");
    let key = cache.key_of(&1).unwrap();
    assert_eq!(
        (cache.get(&1), tier.value(&key)),
        (Some(2), Some(2)),
        "every tier is written"
    );
}
