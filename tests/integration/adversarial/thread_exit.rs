//! A cache used from a thread-local's destructor on a thread that another library's per-thread
//! state (made with the `thread_local` crate, as `tracing-subscriber`'s registry is) has used:
//! the process must go on, not abort. Run in a child process, since the failure is an abort.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use cacher::Cache;
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
