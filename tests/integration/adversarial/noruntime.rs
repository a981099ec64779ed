//! Async calls polled by another executor than tokio (`futures::executor::block_on`, `smol`):
//! a single call worked, but a waiter's bounded wait and a rate limiter's sleep were tokio
//! timers, which panic outside a runtime ("there is no reactor running") — two calls of one
//! key joined in one `block_on` lost the leader's value to a panic, and a rate-limited async
//! function panicked from its second call on (helper-112). Outside a runtime those waits block
//! the thread, as that executor's own do.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use cacher::{Cache, RateLimiter};

/// Wakes the thread that polls.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `a` and `b` on this thread, in turn, until both are ready — a minimal executor that
/// is not tokio, as `futures::join!` inside `futures::executor::block_on`.
fn join_here<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut got_a, mut got_b) = (None, None);
    loop {
        if got_a.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(&mut cx)
        {
            got_a = Some(out);
        }
        if got_b.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(&mut cx)
        {
            got_b = Some(out);
        }
        if let (Some(_), Some(_)) = (&got_a, &got_b) {
            return (got_a.unwrap(), got_b.unwrap());
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

/// Yields once, as a request's future would.
async fn yielded(value: u32) -> u32 {
    let mut once = false;
    std::future::poll_fn(|cx| {
        if once {
            return Poll::Ready(());
        }
        once = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    value
}

#[test]
fn two_calls_of_one_key_joined_outside_a_tokio_runtime_both_get_a_value() {
    let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    let runs = AtomicUsize::new(0);
    let call = || {
        cache.get_or_compute_async(&1, || {
            runs.fetch_add(1, SeqCst);
            yielded(10)
        })
    };
    assert_eq!(join_here(call(), call()), (10, 10));
    // The second is polled by the leader's own thread: it computes rather than block that
    // thread, whose leader it would wait for.
    assert!((1..=2).contains(&runs.load(SeqCst)));
    assert_eq!(cache.get(&1), Some(10));
}

#[test]
fn a_rate_limited_async_call_outside_a_tokio_runtime_waits_by_blocking() {
    let cache: Cache<u32, u32> = Cache::builder()
        .rate_limit(RateLimiter::new(Duration::from_millis(2)))
        .build()
        .unwrap();
    for key in 0..3 {
        let (value, ()) = join_here(cache.get_or_compute_async(&key, || yielded(key)), async {});
        assert_eq!(value, key);
    }
}
