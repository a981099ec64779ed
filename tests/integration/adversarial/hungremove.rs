//! Found by the review of session 9: `refresh_async` while a `remove` of its key is stuck in a
//! slow tier for longer than the invalidations' bound (10 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::midremove::{Gated, arm};

/// `claimable_async` waits for the removal without blocking the executor, but only for its bound
/// (10 s); then the core's blocking `Generations::claim` finds the removal still under way and
/// waits a second bound on the executor's thread: a current-thread runtime stands still 10 s.
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
        .build()
        .unwrap();
    let (value, longest) = runtime.block_on(async {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refresh = async {
            let value = cache
                .refresh_async(cache.get_or_compute_async(&1, || async { 2 }))
                .await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            value
        };
        let ticks = async {
            // Another task of the runtime: the longest it stood still while the refresh ran.
            let (mut last, mut longest) = (Instant::now(), Duration::ZERO);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                longest = longest.max(last.elapsed());
                last = Instant::now();
            }
            longest
        };
        tokio::join!(refresh, ticks)
    });
    let _ = removal.go.send(());
    remove.join().unwrap().unwrap();
    assert_eq!(value, 2);
    assert!(
        longest < Duration::from_secs(5),
        "the runtime's other task stood still {longest:?} while the refresh waited for the \
         removal"
    );
}
