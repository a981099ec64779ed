//! Memory-only stores, which ask their generation under the shard's write lock instead of
//! counting themselves, against `remove`, `clear` and `insert` on other threads, under load: no
//! value older than an invalidation that returned is served after it (review of session 9).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

#[test]
fn a_memory_only_store_never_lands_after_an_invalidation_returned() {
    let cache: cacher::Cache<u32, u64> = cacher::Cache::builder().build().unwrap();
    let source = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (cache, source, stop) = (cache.clone(), Arc::clone(&source), Arc::clone(&stop));
        workers.push(std::thread::spawn(move || {
            while !stop.load(SeqCst) {
                for k in 0..4u32 {
                    let _ = cache.get_or_compute(&k, || {
                        let v = source.load(SeqCst);
                        std::thread::yield_now();
                        v
                    });
                }
            }
        }));
    }
    let start = Instant::now();
    let mut round = 0u64;
    while start.elapsed() < Duration::from_secs(8) {
        round += 1;
        let v = source.fetch_add(1, SeqCst) + 1;
        match round % 3 {
            0 => cache.remove(&0).unwrap(),
            1 => cache.clear().unwrap(),
            _ => cache.insert(&0, v).unwrap(),
        }
        if let Some(got) = cache.get(&0) {
            assert!(
                got >= v,
                "round {round}: after the invalidation of {v} returned, memory serves {got}"
            );
        }
        if round % 3 == 1 {
            for k in 1..4u32 {
                if let Some(got) = cache.get(&k) {
                    assert!(got >= v, "clear round {round}: key {k} serves {got} < {v}");
                }
            }
        }
    }
    stop.store(true, SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    eprintln!("rounds: {round}");
}
