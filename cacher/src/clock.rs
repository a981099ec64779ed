//! Time, injectable: the system clock in production, a [`MockClock`] in tests.
//!
//! TTL checks read wall-clock time (entries on disk are shared between processes, so their
//! creation time must mean the same thing to all of them); the rate limiter reads a monotonic
//! clock. A mock clock drives both, and its sleeps advance time instead of waiting, so a test of
//! a one-day TTL or a one-second rate limit runs in microseconds.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The source of time for a [`Cache`](crate::Cache) and a [`RateLimiter`](crate::RateLimiter).
///
/// `Clock::default()` is the system clock. Use [`Clock::mock`] in tests.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::Clock;
///
/// let (clock, mock) = Clock::mock();
/// let before = clock.now_ms();
/// mock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now_ms() - before, 90_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    mock: Option<Arc<MockClock>>,
}

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that only moves when told to, and the handle that moves it.
    #[must_use]
    pub fn mock() -> (Self, Arc<MockClock>) {
        let mock = Arc::new(MockClock::new());
        (
            Self {
                mock: Some(Arc::clone(&mock)),
            },
            mock,
        )
    }

    /// Wall-clock time as milliseconds since the Unix epoch (what entries record).
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        match &self.mock {
            Some(mock) => mock.wall_ms(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, saturating_ms),
        }
    }

    /// Monotonic time since an arbitrary fixed point (what the rate limiter measures).
    #[must_use]
    pub fn monotonic(&self) -> Duration {
        match &self.mock {
            Some(mock) => mock.elapsed(),
            None => process_start().elapsed(),
        }
    }

    /// Blocks the thread for `duration`; a mock clock advances instead.
    pub fn sleep(&self, duration: Duration) {
        match &self.mock {
            Some(mock) => mock.advance(duration),
            None => std::thread::sleep(duration),
        }
    }

    /// Waits for `duration` without blocking a tokio runtime's executor (outside a runtime, by
    /// blocking the thread); a mock clock advances instead.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn sleep_async(&self, duration: Duration) {
        match &self.mock {
            Some(mock) => mock.advance(duration),
            None => crate::future::sleep(duration).await,
        }
    }

    /// Blocks until the monotonic time reaches `deadline`; a mock clock jumps there instead, so
    /// concurrent sleepers on a mock clock wake in deadline order without overshooting.
    pub(crate) fn sleep_until(&self, deadline: Duration) {
        match &self.mock {
            Some(mock) => mock.advance_to(deadline),
            None => {
                let now = self.monotonic();
                if deadline > now {
                    std::thread::sleep(deadline - now);
                }
            }
        }
    }

    /// Async [`sleep_until`](Self::sleep_until).
    #[cfg(feature = "tokio")]
    pub(crate) async fn sleep_until_async(&self, deadline: Duration) {
        match &self.mock {
            Some(mock) => mock.advance_to(deadline),
            None => {
                let now = self.monotonic();
                if deadline > now {
                    crate::future::sleep(deadline - now).await;
                }
            }
        }
    }

    /// True for a clock made by [`Clock::mock`].
    #[must_use]
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_mock() {
            "Clock::Mock"
        } else {
            "Clock::System"
        })
    }
}

fn process_start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// `Instant::now() + wait` for a wait that may be as long as it takes (`Duration::MAX`): past a
/// century it ends a century from now, where `+` would overflow and panic.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    Instant::now() + wait.min(CENTURY)
}

fn saturating_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration the user gave (a ttl, an idle time, a grace window, a value's own ttl, a rate
/// limit's interval, an error backoff, a retention) in whole milliseconds, for the policies and
/// backends that count in them: rounded **up**, so that a positive duration is never zero —
/// zero means "expired at once", "stored nowhere" or "off" to them, the opposite of what a
/// short duration asks — and no interval is made shorter than asked (1.5 ms is 2 ms); past
/// `u64::MAX` ms (`Duration::MAX`: "forever") it saturates instead of wrapping. The one rule:
/// every such conversion goes through here.
pub(crate) fn ceil_ms(d: Duration) -> u64 {
    ceil_in(d, 1_000_000)
}

/// [`ceil_ms`] in microseconds (the Redis rate limiter's unit).
#[cfg(feature = "redis")]
pub(crate) fn ceil_micros(d: Duration) -> u64 {
    ceil_in(d, 1_000)
}

fn ceil_in(d: Duration, unit_nanos: u128) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(unit_nanos)).unwrap_or(u64::MAX)
}

/// The handle of a mock clock: time moves only through [`advance`](MockClock::advance), or when
/// code sleeps on the clock (the sleep advances it by the slept duration and returns at once).
#[derive(Debug)]
pub struct MockClock {
    // Wall time starts at the real "now" so that entries written under a mock clock carry
    // plausible timestamps; the offset is what tests move.
    start_wall_ms: u64,
    offset: Mutex<Duration>,
}

impl MockClock {
    fn new() -> Self {
        Self {
            start_wall_ms: Clock::system().now_ms(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }

    fn advance_to(&self, elapsed: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = (*offset).max(elapsed);
    }

    /// How far the clock has moved since it was made.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wall_ms(&self) -> u64 {
        self.start_wall_ms
            .saturating_add(saturating_ms(self.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::ceil_ms;

    #[test]
    fn a_duration_in_milliseconds_is_rounded_up_and_saturates() {
        assert_eq!(ceil_ms(Duration::ZERO), 0);
        assert_eq!(ceil_ms(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_ms(Duration::from_micros(500)), 1);
        assert_eq!(ceil_ms(Duration::from_millis(1)), 1);
        assert_eq!(ceil_ms(Duration::from_micros(1_500)), 2);
        assert_eq!(ceil_ms(Duration::MAX), u64::MAX);
        #[cfg(feature = "redis")]
        assert_eq!(super::ceil_micros(Duration::from_nanos(1_500)), 2);
    }
}
