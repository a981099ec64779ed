//! [`RateLimiter`]: a minimum interval between call starts, in one process, across the processes
//! of one machine (through a file), or, through Redis, across all of them.

mod file;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;

/// Keeps a minimum interval between the starts of underlying calls.
///
/// Only calls that run the function wait; hits never do. Callers reserve start times in order,
/// so N concurrent misses start at `t`, `t + interval`, `t + 2·interval`, … An async caller
/// dropped before its start came (a timeout, a `select!`, a cancelled task) gives its slot back
/// to the next caller. A limiter is cheap to clone and clones share their schedule: give one to
/// several caches that hit the same API.
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
    /// The local schedule: the start times not reserved yet, and those given back.
    queue: Mutex<Queue>,
    /// A schedule shared through Redis, asked after the local one.
    shared: Shared,
    /// A schedule shared by the processes of one machine through a file, asked after the local
    /// one.
    machine: Option<Arc<file::FileSchedule>>,
    /// The longest a caller waits for a slot of a shared schedule (the file's or Redis's).
    wait_timeout: Duration,
}

/// The local schedule of a limiter.
#[derive(Default)]
struct Queue {
    /// The earliest monotonic time the next call may start, past every slot reserved.
    next: Duration,
    /// Slots reserved by callers that gave up before theirs came (an async caller dropped while
    /// it waited: a timeout, a `select!`, a cancelled task), free for the next callers. Without
    /// them, every later caller queued behind starts nobody made.
    free: Vec<Duration>,
}

/// A slot reserved by an async caller, given back if the caller is dropped before it came.
#[cfg(feature = "tokio")]
struct Reserved<'a> {
    inner: &'a Inner,
    slot: Option<Duration>,
}

#[cfg(feature = "tokio")]
impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            RateLimiter::give_back(self.inner, slot);
        }
    }
}

/// Default [`RateLimiter::wait_timeout`]: enough for 300 callers queued on a 200 ms interval.
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

impl Inner {
    /// A copy with a local queue of its own (for the builder methods, called before the
    /// limiter is shared).
    fn copy(&self) -> Self {
        Self {
            min_interval: self.min_interval,
            clock: self.clock.clone(),
            queue: Mutex::default(),
            shared: self.shared.clone(),
            machine: self.machine.clone(),
            wait_timeout: self.wait_timeout,
        }
    }
}

/// The Redis schedule, when there is one (nothing without the `redis` feature).
#[cfg(feature = "redis")]
type Shared = Option<SharedSchedule>;
#[cfg(feature = "redis")]
#[derive(Clone)]
struct SharedSchedule {
    redis: Arc<self::redis::RedisRateLimit>,
}
#[cfg(not(feature = "redis"))]
#[derive(Clone)]
struct Shared;
#[cfg(feature = "redis")]
const NOT_SHARED: Shared = None;
#[cfg(not(feature = "redis"))]
const NOT_SHARED: Shared = Shared;

impl RateLimiter {
    /// A limiter allowing one call start per `min_interval`, on the system clock. The limiters
    /// shared through a file or Redis count the interval in whole milliseconds (microseconds for
    /// Redis), rounded up: never shorter than asked, and never zero (no limit) for a positive one.
    #[must_use]
    pub fn new(min_interval: Duration) -> Self {
        Self::build(min_interval, Clock::system(), NOT_SHARED)
    }

    /// The same limiter on another clock (a mock one in tests). Call before sharing it.
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        let mut inner = self.inner.copy();
        inner.clock = clock;
        Self {
            inner: Arc::new(inner),
        }
    }

    fn build(min_interval: Duration, clock: Clock, shared: Shared) -> Self {
        Self {
            inner: Arc::new(Inner {
                min_interval,
                clock,
                queue: Mutex::default(),
                shared,
                machine: None,
                wait_timeout: DEFAULT_WAIT_TIMEOUT,
            }),
        }
    }

    /// A limiter shared by every process of this machine that makes one with the same `dir`
    /// and `name`: together they start at most one call per `min_interval`. Every limiter
    /// sharing a name must use the same interval. No server needed: the next free start time
    /// is kept in a small file in `dir`'s `.cacher-locks` folder (beside the cross-process
    /// lock files of a file or store tier there), read and moved under an exclusive lock on it.
    ///
    /// The schedule is in wall-clock milliseconds on the limiter's [`Clock`], which the
    /// processes of one machine share. Nothing blocks forever or fails a call: a caller waits
    /// at most 5 s for another process reading the schedule; a caller whose slot is further than
    /// [`wait_timeout`](Self::wait_timeout) away (60 s by default: slots taken by callers that
    /// are gone, or by a limiter of this name with a longer interval) starts when that has
    /// passed, with a warning, and the schedule goes on from its start (so a damaged schedule
    /// whose slot is years away costs one caller its wait, not every caller after it); and
    /// when the file cannot be used (a read-only directory), the limiter keeps this process's
    /// own spacing, with a warning.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Clock, RateLimiter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (clock, mock) = Clock::mock();
    /// // Two limiters of one name, as two processes would make them.
    /// let a = RateLimiter::file(dir.path(), "api.example.com", Duration::from_secs(1))
    ///     .with_clock(clock.clone());
    /// let b = RateLimiter::file(dir.path(), "api.example.com", Duration::from_secs(1))
    ///     .with_clock(clock);
    /// a.acquire(); // at once
    /// b.acquire(); // one second later: the file said so
    /// assert_eq!(mock.elapsed(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn file(dir: impl Into<std::path::PathBuf>, name: &str, min_interval: Duration) -> Self {
        let mut limiter = Self::build(min_interval, Clock::system(), NOT_SHARED);
        if let Some(inner) = Arc::get_mut(&mut limiter.inner) {
            inner.machine = Some(Arc::new(file::FileSchedule::new(dir.into(), name)));
        }
        limiter
    }

    /// The same limiter with `self`'s machine schedule, if any.
    /// How long to wait for the machine schedule's slot (zero without one, or when it fails;
    /// at most the wait timeout).
    fn machine_wait(inner: &Inner) -> Duration {
        let Some(schedule) = &inner.machine else {
            return Duration::ZERO;
        };
        match schedule.reserve(inner.clock.now_ms(), inner.min_interval, inner.wait_timeout) {
            Ok(Some(wait)) if wait >= inner.wait_timeout => {
                tracing::warn!(schedule = %schedule.path().display(), wait_timeout = ?inner.wait_timeout, "the shared rate schedule's next slot is at or past the wait timeout; starting when that has passed");
                inner.wait_timeout
            }
            Ok(Some(wait)) => wait,
            Ok(None) => {
                tracing::warn!(schedule = %schedule.path().display(), "the shared rate schedule stayed locked; starting anyway");
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(schedule = %schedule.path().display(), error = %e, "the shared rate schedule cannot be used; spacing this process's calls only");
                Duration::ZERO
            }
        }
    }

    /// A limiter shared by every process using the Redis server of `options` with the same
    /// `name`: together, in any process on any machine, they start at most one call per
    /// `min_interval`. Every limiter sharing a name must use the same interval.
    ///
    /// # How it works
    ///
    /// Redis holds the next free start time under `cacher:rate:<name>`, read and moved by one
    /// Lua script on Redis's clock (`TIME`). A caller asks for a start; when the slot has come,
    /// the script grants it and moves the slot one interval on, else it answers how long to
    /// wait, and the caller sleeps that long and asks again. So grants are at least one interval
    /// apart on Redis's clock, whatever the callers' clocks say. Within a process, callers first
    /// take their turn on the limiter's local schedule, so they queue in order instead of racing
    /// for Redis.
    ///
    /// # Failures
    ///
    /// Nothing here blocks forever or fails a call:
    /// - when Redis is unreachable, the limiter falls back to this process's own spacing (its
    ///   calls still start at least one interval apart, counted from their actual starts) and
    ///   logs a warning; after the options'
    ///   [`reconnect_backoff`](crate::RedisOptions::reconnect_backoff) it tries Redis again;
    /// - a caller that has waited [`wait_timeout`](Self::wait_timeout) for a slot starts anyway,
    ///   with a warning.
    ///
    /// A mock [`Clock`] drives the limiter's local queue only: the Redis schedule and the
    /// fallback run on real time.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the URL does not parse (nothing is connected
    /// yet).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use cacher::{Cache, RateLimiter, RedisOptions};
    ///
    /// # fn main() -> cacher::Result<()> {
    /// // One call per 200 ms to api.example.com, across all workers.
    /// let redis = RedisOptions::new("redis://127.0.0.1:6379/");
    /// let limiter = RateLimiter::redis(redis, "api.example.com", Duration::from_millis(200))?
    ///     .wait_timeout(Duration::from_secs(10));
    /// let cache: Cache<u64, String> = Cache::builder().rate_limit(limiter).build()?;
    /// # let _ = cache;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(
        options: crate::RedisOptions,
        name: &str,
        min_interval: Duration,
    ) -> crate::Result<Self> {
        let shared = SharedSchedule {
            redis: Arc::new(self::redis::RedisRateLimit::new(&options, name)?),
        };
        Ok(Self::build(min_interval, Clock::system(), Some(shared)))
    }

    /// For a limiter shared with other processes ([`file`](Self::file),
    /// [`redis`](Self::redis)): the longest a caller waits for a slot of the shared schedule
    /// before starting anyway (with a warning). Default 60 s: enough for 300 callers queued on a
    /// 200 ms interval. A limiter of one process's own has no such bound (its callers queue in
    /// order) and ignores it. Call before sharing the limiter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Clock, RateLimiter};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (clock, mock) = Clock::mock();
    /// // A limiter of this name with a one-hour interval took the schedule's next slot…
    /// let hourly = RateLimiter::file(dir.path(), "api", Duration::from_secs(3600))
    ///     .with_clock(clock.clone());
    /// hourly.acquire();
    /// // …which a caller of another waits for 10 s at most.
    /// let limiter = RateLimiter::file(dir.path(), "api", Duration::from_secs(1))
    ///     .with_clock(clock)
    ///     .wait_timeout(Duration::from_secs(10));
    /// limiter.acquire();
    /// assert_eq!(mock.elapsed(), Duration::from_secs(10));
    /// ```
    #[must_use]
    pub fn wait_timeout(self, wait_timeout: Duration) -> Self {
        let mut inner = self.inner.copy();
        inner.wait_timeout = wait_timeout;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The minimum interval between call starts.
    #[must_use]
    pub fn min_interval(&self) -> Duration {
        self.inner.min_interval
    }

    /// Reserves the next start slot and returns it (a monotonic time on the limiter's clock):
    /// the earliest slot given back that has not passed, else the next one.
    fn reserve(&self) -> Duration {
        let now = self.inner.clock.monotonic();
        let mut queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.free.retain(|slot| *slot >= now);
        let earliest = (queue.free.iter().enumerate()).min_by_key(|(_, slot)| **slot);
        if let Some((at, _)) = earliest {
            return queue.free.swap_remove(at);
        }
        let start = queue.next.max(now);
        queue.next = start.saturating_add(self.inner.min_interval);
        start
    }

    /// Gives back `slot`, reserved by a caller that gave up before it came: the next caller
    /// takes it (one interval from its neighbours, as it was). Slots given back at the queue's
    /// end shorten the queue instead: the next new slot is one interval after the last slot
    /// still held, so that callers who all gave up leave no wait behind them (before, a caller
    /// after them waited for the first of their slots still to come, whatever had run).
    #[cfg(feature = "tokio")]
    fn give_back(inner: &Inner, slot: Duration) {
        if slot < inner.clock.monotonic() {
            return;
        }
        let mut queue = inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.free.push(slot);
        let last =
            |queue: &Queue, slot: &Duration| slot.saturating_add(inner.min_interval) == queue.next;
        while let Some(at) = queue.free.iter().position(|slot| last(&queue, slot)) {
            queue.next = queue.free.swap_remove(at);
        }
    }

    /// Blocks until this caller may start a call.
    pub fn acquire(&self) {
        self.inner.clock.sleep_until(self.reserve());
        if self.inner.machine.is_some() {
            self.inner.clock.sleep(Self::machine_wait(&self.inner));
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.inner.shared {
            (shared.redis).acquire(self.inner.min_interval, self.inner.wait_timeout);
        }
    }

    /// Waits, without blocking the executor, until this caller may start a call.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn acquire_async(&self) {
        // Dropped before its slot came, the caller gives it back.
        let mut reserved = Reserved {
            inner: &self.inner,
            slot: Some(self.reserve()),
        };
        if let Some(slot) = reserved.slot {
            self.inner.clock.sleep_until_async(slot).await;
        }
        reserved.slot = None;
        if self.inner.machine.is_some() {
            // The file's I/O on a blocking thread.
            let inner = Arc::clone(&self.inner);
            let wait = crate::future::blocking(move || Self::machine_wait(&inner)).await;
            self.inner.clock.sleep_async(wait).await;
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.inner.shared {
            (shared.redis)
                .acquire_async(self.inner.min_interval, self.inner.wait_timeout)
                .await;
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RateLimiter");
        debug.field("min_interval", &self.inner.min_interval);
        let mut shared = false;
        if let Some(schedule) = &self.inner.machine {
            debug.field("schedule", &schedule.path());
            shared = true;
        }
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.inner.shared {
            debug.field("redis_key", &redis.redis.redis_key());
            shared = true;
        }
        if shared {
            debug.field("wait_timeout", &self.inner.wait_timeout);
        }
        debug.finish_non_exhaustive()
    }
}

#[cfg(all(test, feature = "tokio"))]
mod tests {
    use std::time::Duration;

    use super::RateLimiter;
    use crate::Clock;

    const SECOND: Duration = Duration::from_secs(1);

    /// Five callers reserve the next five slots, then all give up (in any order): the next
    /// caller starts at once, one interval after the call that ran, not at the first of the
    /// abandoned slots still to come (attack, session 30: it waited until 2 s at 1.1 s).
    #[test]
    fn callers_that_all_gave_up_leave_no_wait_behind_them() {
        for order in [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [3, 1, 5, 2, 4]] {
            let (clock, mock) = Clock::mock();
            let limiter = RateLimiter::new(SECOND).with_clock(clock);
            let start = limiter.reserve();
            let slots: Vec<Duration> = (0..5).map(|_| limiter.reserve()).collect();
            assert_eq!(slots[0], start + SECOND);
            for n in order {
                RateLimiter::give_back(&limiter.inner, slots[n - 1]);
            }
            mock.advance(SECOND + SECOND / 10);
            assert_eq!(limiter.reserve(), start + SECOND + SECOND / 10, "{order:?}");
        }
    }

    /// A slot given back before one still held is taken by the next caller, and the queue goes
    /// on after the held one: no two starts closer than the interval.
    #[test]
    fn a_slot_given_back_before_a_held_one_is_taken_and_the_queue_goes_on_after_it() {
        let (clock, _mock) = Clock::mock();
        let limiter = RateLimiter::new(SECOND).with_clock(clock);
        let start = limiter.reserve();
        let (first, held) = (limiter.reserve(), limiter.reserve());
        RateLimiter::give_back(&limiter.inner, first);
        assert_eq!(limiter.reserve(), first);
        assert_eq!(limiter.reserve(), held + SECOND);
        assert_eq!((first, held), (start + SECOND, start + 2 * SECOND));
    }
}
