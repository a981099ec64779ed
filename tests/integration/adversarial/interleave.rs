//! Async calls of one key interleaved at their await points, polled by hand in a chosen order
//! (the tiers yield before and after each read and write): a deterministic schedule of races
//! that threads hit by chance.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use cacher::{Cache, MemoryBackend};

use super::cancel::{YieldOnce, Yielding};

/// A call polled by hand.
struct Polled<'a, T>(Pin<Box<dyn Future<Output = T> + 'a>>, Option<T>);

impl<'a, T> Polled<'a, T> {
    fn new(future: impl Future<Output = T> + 'a) -> Self {
        Self(Box::pin(future), None)
    }

    /// Polls once; whether it is done.
    fn step(&mut self) -> bool {
        if self.1.is_none() {
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(out) = self.0.as_mut().poll(&mut cx) {
                self.1 = Some(out);
            }
        }
        self.1.is_some()
    }

    fn finish(mut self) -> T {
        while !self.step() {}
        self.1.take().unwrap()
    }
}

/// A cache whose memory tier is empty in front of a tier holding 1 for key 1 (a restarted
/// process, or an entry the memory tier evicted).
fn restarted() -> Cache<u32, u64> {
    let tier = Yielding::default();
    let before: Cache<u32, u64> = Cache::builder().backend(tier.clone()).build().unwrap();
    before.insert(&1, 1).unwrap();
    Cache::builder()
        .backend(MemoryBackend::new())
        .backend(tier)
        .build()
        .unwrap()
}

/// A forced refresh does not join the key's flight. A call that missed memory before the
/// refresh put 2 there read the tier's 1 before the refresh wrote it, and copied 1 into memory
/// after: the refresh returned 2, and the cache served the 1 it replaced, fresh, until its ttl
/// (store.rs `computed`: a refresh's store was not alone in its stripe as an insert's is, and a
/// call that started after the refresh's invalidation filled freely).
#[test]
fn a_call_racing_a_refresh_does_not_put_the_replaced_value_back_in_memory() {
    let cache = restarted();
    let mut refresh = Polled::new(
        cache.refresh_async(cache.get_or_compute_async(&1, || async {
            YieldOnce(false).await;
            2
        })),
    );
    let mut reader = Polled::new(cache.get_or_compute_async(&1, || async { 3 }));
    assert!(!refresh.step(), "the refresh computes");
    assert!(!reader.step(), "the reader missed memory, reads the tier");
    assert!(
        !refresh.step(),
        "the refresh put 2 in memory, writes the tier"
    );
    let read = reader.finish();
    assert!(read == 1 || read == 2, "the reader got {read}");
    assert_eq!(refresh.finish(), 2);
    assert_eq!(
        cache.get(&1),
        Some(2),
        "after the refresh returned 2, the cache serves the value it replaced"
    );
}
