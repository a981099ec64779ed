//! What must not abort the process (attack 16), each run in a child process since the failure is
//! an abort: a cache used from a thread-local's destructor on a thread that another library's
//! per-thread state (made with the `thread_local` crate, as `tracing-subscriber`'s registry is)
//! has used; a clear whose values panic when dropped.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use cacher::Cache;

use super::bomb::{ARMED as BOMBS_ARMED, Bomb};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::test_name;

static CACHE: OnceLock<Cache<u64, u64>> = OnceLock::new();
/// What the destructor's lookup got (0: nothing yet).
static SERVED: AtomicU64 = AtomicU64::new(0);

struct OnExit;

impl Drop for OnExit {
    fn drop(&mut self) {
        if let Some(cache) = CACHE.get() {
            SERVED.store(cache.get(&1).unwrap_or(u64::MAX), Ordering::SeqCst);
        }
    }
}

thread_local! {
    static ON_EXIT: OnExit = const { OnExit };
}

/// The child side of
/// [`a_cache_used_from_a_thread_local_destructor_after_a_tracing_span_does_not_abort`]: a no-op
/// unless started by it.
#[test]
fn child_of_thread_exit() {
    if std::env::var_os("CACHER_TEST_THREAD_EXIT").is_none() {
        return;
    }
    let cache = CACHE.get_or_init(|| Cache::builder().build().unwrap());
    cache.insert(&1, 1).unwrap();
    std::thread::spawn(|| {
        // Registered first, so torn down last: after every thread-local made below.
        ON_EXIT.with(|_| ());
        // An application's logging: a span entered under a tracing-subscriber registry, which
        // keeps its span stack in a `thread_local::ThreadLocal` (the crate's per-thread id, and
        // its guard, registered now: torn down before `ON_EXIT`).
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            let span = tracing::info_span!("request");
            let _entered = span.enter();
        });
    })
    .join()
    .unwrap();
    println!("RESULT served={}", SERVED.load(Ordering::SeqCst));
}

#[test]
fn a_cache_used_from_a_thread_local_destructor_after_a_tracing_span_does_not_abort() {
    let child = spawn_self(
        &test_name!(child_of_thread_exit),
        &[("CACHER_TEST_THREAD_EXIT", "1".to_owned())],
    );
    // Fails with the child's "fatal runtime error: thread local panicked on drop" (an abort)
    // if the lookup made the thread's index after the thread's `thread_local` id was freed.
    let results = child_results(child);
    assert!(
        results.iter().any(|(k, v)| k == "served" && v == "1"),
        "{results:?}"
    );
}

/// Set once the values below are to panic when dropped.
static ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A value whose drop panics once armed, whether or not a panic is under way (as an `unwrap` or
/// an `assert!` in a `Drop` does).
#[derive(Clone)]
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if ARMED.load(Ordering::SeqCst) {
            panic!("a value's drop failed");
        }
    }
}

/// The child side of [`a_clear_whose_values_panic_on_drop_panics_but_does_not_abort`].
#[test]
fn child_of_clear_panics() {
    if std::env::var_os("CACHER_TEST_CLEAR_PANICS").is_none() {
        return;
    }
    let cache: Cache<u64, PanicsOnDrop> = Cache::builder().build().unwrap();
    for key in 0..256 {
        cache.insert(&key, PanicsOnDrop).unwrap();
    }
    ARMED.store(true, Ordering::SeqCst);
    let cleared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.clear()));
    ARMED.store(false, Ordering::SeqCst);
    println!("RESULT caught={}", cleared.is_err());
    std::mem::forget(cache);
}

#[test]
fn a_clear_whose_values_panic_on_drop_panics_but_does_not_abort() {
    let child = spawn_self(
        &test_name!(child_of_clear_panics),
        &[("CACHER_TEST_CLEAR_PANICS", "1".to_owned())],
    );
    // Fails with the child's abort ("panic in a destructor during cleanup"): `clear` drops
    // every shard's table in one `Vec`, so the second shard's panicking value is dropped while
    // the first one's panic unwinds. (A panic the caller can catch, as `remove` gives, is fine.)
    let results = child_results(child);
    assert!(
        results.iter().any(|(k, v)| k == "caught" && v == "true"),
        "{results:?}"
    );
}

/// The child side of [`values_cleared_but_held_by_a_threads_index_do_not_abort_when_dropped`].
#[test]
fn child_of_index_drop_panics() {
    if std::env::var_os("CACHER_TEST_INDEX_DROP_PANICS").is_none() {
        return;
    }
    let cache: Cache<u64, Bomb> = Cache::builder().build().unwrap();
    cache.insert(&1, Bomb { clones: 0 }).unwrap();
    cache.insert(&2, Bomb { clones: 0 }).unwrap();
    let (to_thread, commands) = std::sync::mpsc::channel::<()>();
    let (to_main, replies) = std::sync::mpsc::channel::<()>();
    let user = cache.clone();
    let thread = std::thread::spawn(move || {
        // Hit often: keys 1 and 2 join this thread's index (which then shares their entries).
        for _ in 0..64 {
            assert!(user.get(&1).is_some() && user.get(&2).is_some());
        }
        to_main.send(()).unwrap();
        commands.recv().unwrap();
        // After the clear: hits of key 3 in the shared table; at the next admission the index
        // lets go of the cleared entries it still held, both at once.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for _ in 0..64 {
                assert!(user.get(&3).is_some());
            }
        }));
        BOMBS_ARMED.store(false, Ordering::SeqCst);
        println!("RESULT caught={}", caught.is_err());
        std::mem::forget(user);
    });
    replies.recv().unwrap();
    BOMBS_ARMED.store(true, Ordering::SeqCst);
    // The clear drops nothing of keys 1 and 2: the thread's index still holds their entries.
    let cleared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.clear()));
    println!("RESULT clear_panicked={}", cleared.is_err());
    cache.insert(&3, Bomb { clones: 5 }).unwrap();
    to_thread.send(()).unwrap();
    thread.join().unwrap();
    std::mem::forget(cache);
}

/// Attack 17 on the careful drop of cleared values (`Taken`): values a thread's index still
/// holds after a `clear` are not dropped by the clear but at that thread's next admission, all
/// in one `Vec`: two that panic when dropped abort the process there (a `get` of another key,
/// on another thread, after the clear returned), as the clear did before attack 16's fix.
#[test]
fn values_cleared_but_held_by_a_threads_index_do_not_abort_when_dropped() {
    let child = spawn_self(
        &test_name!(child_of_index_drop_panics),
        &[("CACHER_TEST_INDEX_DROP_PANICS", "1".to_owned())],
    );
    let results = child_results(child);
    assert!(
        results.iter().any(|(k, _)| k == "caught"),
        "the child aborted (\"panic in a destructor during cleanup\"): {results:?}"
    );
}
