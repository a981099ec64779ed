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
    /// A schedule shared through Redis, asked after the local one.
    shared: Shared,
}

/// The Redis schedule, when there is one (nothing without the `redis` feature).
#[cfg(feature = "redis")]
type Shared = Option<Arc<super::shared_rate_limit::RedisRateLimit>>;
#[cfg(not(feature = "redis"))]
#[derive(Clone)]
struct Shared;
#[cfg(feature = "redis")]
const NOT_SHARED: Shared = None;
#[cfg(not(feature = "redis"))]
const NOT_SHARED: Shared = Shared;

impl RateLimiter {
    /// A limiter allowing one call start per `min_interval`, on the system clock.
    #[must_use]
    pub fn new(min_interval: Duration) -> Self {
        Self::build(min_interval, Clock::system(), NOT_SHARED)
    }

    /// The same limiter on another clock (a mock one in tests). Call before sharing it.
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        Self::build(self.inner.min_interval, clock, self.inner.shared.clone())
    }

    fn build(min_interval: Duration, clock: Clock, shared: Shared) -> Self {
        Self {
            inner: Arc::new(Inner {
                min_interval,
                clock,
                next_start: Mutex::new(Duration::ZERO),
                shared,
            }),
        }
    }

    /// A limiter shared by every process using the Redis server at `url` with the same `name`:
    /// together they start at most one call per `min_interval`. Falls back to this process's
    /// own schedule, with a warning, while Redis is unreachable. See
    /// [`RedisRateLimit`](crate::RedisRateLimit) for how, and for its options.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when `url` does not parse (nothing is connected
    /// yet).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(url: &str, name: &str, min_interval: Duration) -> crate::Result<Self> {
        let shared = super::shared_rate_limit::RedisRateLimit::new(url, name)?;
        Ok(Self::new(min_interval).with_redis(shared))
    }

    /// The same limiter, also sharing its schedule through Redis (see
    /// [`redis`](Self::redis)). Call before sharing it.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[must_use]
    pub fn with_redis(self, shared: super::shared_rate_limit::RedisRateLimit) -> Self {
        let clock = self.inner.clock.clone();
        Self::build(self.inner.min_interval, clock, Some(Arc::new(shared)))
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
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.inner.shared {
            shared.acquire(self.inner.min_interval);
        }
    }

    /// Waits, without blocking the executor, until this caller may start a call.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn acquire_async(&self) {
        self.inner.clock.sleep_until_async(self.reserve()).await;
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.inner.shared {
            shared.acquire_async(self.inner.min_interval).await;
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RateLimiter");
        debug.field("min_interval", &self.inner.min_interval);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.inner.shared {
            debug.field("redis_key", &shared.redis_key());
        }
        debug.finish_non_exhaustive()
    }
}
