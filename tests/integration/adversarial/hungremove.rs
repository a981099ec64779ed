//! Found by the review of session 9: `refresh_async` while a `remove` of its key is stuck in a
//! slow tier for longer than the invalidations' bound (10 s).

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use super::midremove::{Gated, arm};

/// `claimable_async` waits for the removal without blocking the executor, but only for its bound
/// (10 s); then the core's blocking `Generations::claim` finds the removal still under way and
/// waits a second bound on the executor's thread: a current-thread runtime stands still 10 s.
///
/// On tokio's paused clock (it moves only when every task waits), so that nothing depends on how
/// fast the machine runs (timed in real time, the test failed once under load): another task of
/// the runtime, woken halfway through the refresh's bound, must find the refresh still waiting —
/// a refresh that blocked the executor's thread would hold that task until it ended, the paused
/// clock standing still meanwhile — and no wait on the runtime's thread may have waited out the
/// blocking bound (each says so in a warning), which a wait after the async one would.
#[test]
fn refresh_async_during_a_removal_hung_past_its_bound_does_not_block_the_executor() {
    let tier = Gated::default();
    let cache = super::memory_over(tier.clone());
    cache.insert(&1, 1).unwrap();
    let removal = arm(&tier.remove);
    let remover = cache.clone();
    let remove = std::thread::spawn(move || remover.remove(&1));
    removal
        .reached
        .recv_timeout(Duration::from_secs(10))
        .expect("the remove reached the tier");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let log = cacher_tests::Log::default();
    let _on_this_thread = log.on_this_thread();
    let (value, waiting_halfway) = runtime.block_on(async {
        let done = AtomicBool::new(false);
        let refresh = async {
            let value = cache
                .refresh_async(cache.get_or_compute_async(&1, || async { 2 }))
                .await;
            done.store(true, SeqCst);
            value
        };
        let halfway = async {
            // Half the refresh's 10 s bound, on the runtime's clock.
            tokio::time::sleep(Duration::from_secs(5)).await;
            !done.load(SeqCst)
        };
        tokio::join!(refresh, halfway)
    });
    let _ = removal.go.send(());
    remove.join().unwrap().unwrap();
    assert_eq!(value, 2);
    let logged = log.text();
    assert!(
        !logged.contains("waited 10s for a removal or insert in progress"),
        "the refresh waited out the blocking bound on the executor's thread: {logged}"
    );
    assert!(
        waiting_halfway,
        "the refresh ended before the runtime's other task could run halfway through its wait: \
         it blocked the executor while it waited for the removal"
    );
}
