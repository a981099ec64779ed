use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;

/// Keeps a minimum interval between the starts of underlying calls (the seed's `RateLimiter`).
///
/// Only calls that run the function wait; hits never do. Callers reserve start times in order,
/// so N concurrent misses start at `t`, `t + interval`, `t + 2·interval`, … A limiter is cheap to
/// clone and clones share their schedule: give one to several caches that hit the same API.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::{Clock, RateLimiter};
///
/// let (clock, mock) = Clock::mock();
/// let limiter = RateLimiter::new(Duration::from_secs(1)).with_clock(clock);
/// limiter.acquire(); // first call starts at once
/// limiter.acquire(); // the mock clock "sleeps" one second
/// assert_eq!(mock.elapsed(), Duration::from_secs(1));
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    min_interval: Duration,
    clock: Clock,
    /// The earliest monotonic time the next call may start.
    next_start: Mutex<Duration>,
}

impl RateLimiter {
    /// A limiter allowing one call start per `min_interval`, on the system clock.
    #[must_use]
    pub fn new(min_interval: Duration) -> Self {
        Self::build(min_interval, Clock::system())
    }

    /// The same limiter on another clock (a mock one in tests). Call before sharing it.
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        Self::build(self.inner.min_interval, clock)
    }

    fn build(min_interval: Duration, clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                min_interval,
                clock,
                next_start: Mutex::new(Duration::ZERO),
            }),
        }
    }

    /// The minimum interval between call starts.
    #[must_use]
    pub fn min_interval(&self) -> Duration {
        self.inner.min_interval
    }

    /// Reserves the next start slot and returns it (a monotonic time on the limiter's clock).
    fn reserve(&self) -> Duration {
        let now = self.inner.clock.monotonic();
        let mut next = self
            .inner
            .next_start
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let start = (*next).max(now);
        *next = start + self.inner.min_interval;
        start
    }

    /// Blocks until this caller may start a call.
    pub fn acquire(&self) {
        self.inner.clock.sleep_until(self.reserve());
    }

    /// Waits, without blocking the executor, until this caller may start a call.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn acquire_async(&self) {
        self.inner.clock.sleep_until_async(self.reserve()).await;
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("min_interval", &self.inner.min_interval)
            .finish_non_exhaustive()
    }
}
