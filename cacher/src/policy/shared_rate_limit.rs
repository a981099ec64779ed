//! A rate limit kept in Redis, shared by every process on every machine using the same key.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::backend::redis::Connector;
use crate::error::Result;

/// Grants a call start when the key's next free slot has come, on Redis's clock (`TIME`), so
/// that machines whose clocks differ still agree. Returns 0 for "start now" (the next slot is
/// then `now + interval`), else the microseconds to wait before asking again.
///
/// The slot is granted when the caller is ready to start, not reserved ahead: grants are at
/// least `interval` apart in Redis's time, and a caller starts as soon as the reply arrives.
/// A next slot more than one interval ahead cannot come from this script with this interval
/// (Redis's clock went back, or the key was written otherwise): it is ignored.
const GRANT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if next_free - now > interval then next_free = 0 end
if now >= next_free then
  redis.call('SET', KEYS[1], string.format('%.0f', now + interval),
             'PX', math.floor(interval / 1000) + 1000)
  return 0
end
return next_free - now
";

/// Default [`RedisRateLimit::max_wait`].
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// The Redis side of a shared [`RateLimiter`](crate::RateLimiter): every limiter using the same
/// server and name — in any process, on any machine — keeps one minimum interval between call
/// starts together.
///
/// Made by [`RateLimiter::redis`](crate::RateLimiter::redis), or given to
/// [`RateLimiter::with_redis`](crate::RateLimiter::with_redis) after setting its options.
///
/// # How it works
///
/// Redis holds the next free start time under `cacher:rate:<name>`, read and moved by one Lua
/// script on Redis's clock (`TIME`). A caller asks for a start; when the slot has come, the
/// script grants it and moves the slot one interval on, else it answers how long to wait, and
/// the caller sleeps that long and asks again. So grants are at least one interval apart on
/// Redis's clock, whatever the callers' clocks say. Within a process, callers first take their
/// turn on the limiter's local schedule, so they queue in order instead of racing for Redis.
///
/// Every limiter sharing a name must use the same interval.
///
/// # Failures
///
/// Nothing here blocks forever or fails a call:
/// - when Redis is unreachable, the limiter falls back to this process's own spacing (its calls
///   still start at least one interval apart, counted from their actual starts) and logs a
///   warning; after [`reconnect_backoff`](Self::reconnect_backoff) it tries Redis again;
/// - a caller that has waited [`max_wait`](Self::max_wait) for a slot starts anyway, with a
///   warning (default 60 s: enough for 300 callers queued on a 200 ms interval).
///
/// A mock [`Clock`](crate::Clock) drives the limiter's local queue only: the Redis schedule and
/// the fallback run on real time.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use cacher::{Cache, RateLimiter, RedisRateLimit};
///
/// # fn main() -> cacher::Result<()> {
/// // One call per 200 ms to api.example.com, across all workers.
/// let limiter = RateLimiter::new(Duration::from_millis(200)).with_redis(
///     RedisRateLimit::new("redis://127.0.0.1:6379/", "api.example.com")?
///         .max_wait(Duration::from_secs(10)),
/// );
/// let cache: Cache<u64, String> = Cache::builder().rate_limiter(limiter).build()?;
/// # let _ = cache;
/// # Ok(())
/// # }
/// ```
pub struct RedisRateLimit {
    conn: Connector,
    key: String,
    max_wait: Duration,
    /// When this process last started a call (granted by Redis or not): the fallback's schedule.
    last_start: Mutex<Option<Instant>>,
}

impl RedisRateLimit {
    /// The schedule called `name` on the server at `url`; connects on first use.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when `url` does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::RedisRateLimit;
    ///
    /// let shared = RedisRateLimit::new("redis://127.0.0.1:6379/", "api.example.com").unwrap();
    /// assert_eq!(shared.redis_key(), "cacher:rate:api.example.com");
    /// ```
    pub fn new(url: &str, name: &str) -> Result<Self> {
        Ok(Self {
            conn: Connector::new(url)?,
            key: format!("cacher:rate:{name}"),
            max_wait: DEFAULT_MAX_WAIT,
            last_start: Mutex::new(None),
        })
    }

    /// The longest a caller waits for a slot before starting anyway. Default 60 s.
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Bound on opening a connection (the TCP connect, then each reply of the handshake).
    /// Default 1 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.conn.connect_timeout = timeout;
        self
    }

    /// Bound on each command's reply. Default 500 ms.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.conn.response_timeout = timeout;
        self
    }

    /// After a failed connection attempt, calls use the local schedule without trying Redis for
    /// this long. Default 1 s.
    #[must_use]
    pub fn reconnect_backoff(mut self, backoff: Duration) -> Self {
        self.conn.reconnect_backoff = backoff;
        self
    }

    /// The key holding the schedule: `cacher:rate:<name>`.
    #[must_use]
    pub fn redis_key(&self) -> &str {
        &self.key
    }

    fn grant_cmd(&self, interval: Duration) -> redis::Cmd {
        let micros = u64::try_from(interval.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(GRANT).arg(1).arg(&self.key).arg(micros);
        cmd
    }

    /// One request for a start: `Ok(None)` granted, `Ok(Some(wait))` ask again after `wait`.
    fn ask(&self, cmd: &redis::Cmd) -> Result<Option<Duration>> {
        let wait: u64 = self
            .conn
            .query(cmd)
            .map_err(|e| self.conn.error(&format!("rate limit {}", self.key), &e))?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    #[cfg(feature = "tokio")]
    async fn ask_async(&self, cmd: &redis::Cmd) -> Result<Option<Duration>> {
        let wait: u64 = self
            .conn
            .query_async(cmd)
            .await
            .map_err(|e| self.conn.error(&format!("rate limit {}", self.key), &e))?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    /// Blocks until Redis grants a start (or the wait bound passes, or Redis fails).
    pub(crate) fn acquire(&self, interval: Duration) {
        let cmd = self.grant_cmd(interval);
        let deadline = Instant::now() + self.max_wait;
        loop {
            match self.ask(&cmd) {
                Ok(None) => return self.started(),
                Ok(Some(wait)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        self.warn_timeout();
                        return self.started();
                    }
                    std::thread::sleep(wait.min(left));
                }
                Err(error) => {
                    self.warn_unavailable(&error);
                    while let Err(wait) = self.local_grant(interval) {
                        std::thread::sleep(wait);
                    }
                    return;
                }
            }
        }
    }

    /// Async [`acquire`](Self::acquire).
    #[cfg(feature = "tokio")]
    pub(crate) async fn acquire_async(&self, interval: Duration) {
        let cmd = self.grant_cmd(interval);
        let deadline = Instant::now() + self.max_wait;
        loop {
            match self.ask_async(&cmd).await {
                Ok(None) => return self.started(),
                Ok(Some(wait)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        self.warn_timeout();
                        return self.started();
                    }
                    tokio::time::sleep(wait.min(left)).await;
                }
                Err(error) => {
                    self.warn_unavailable(&error);
                    while let Err(wait) = self.local_grant(interval) {
                        tokio::time::sleep(wait).await;
                    }
                    return;
                }
            }
        }
    }

    /// Records a start granted by Redis (or forced by `max_wait`).
    fn started(&self) {
        *self.last_start.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// The fallback while Redis is unreachable: a start at least `interval` after this process's
    /// previous one (granted here, or by Redis), or how long to wait before asking again.
    ///
    /// The limiter's local schedule has already spaced the callers' turns, but a caller's turn
    /// and its start are separated by the failed Redis command, whose duration varies: this
    /// spaces the starts themselves.
    fn local_grant(&self, interval: Duration) -> Result<(), Duration> {
        let mut last = self.last_start.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *last {
            Some(previous) if now < previous + interval => Err(previous + interval - now),
            _ => {
                *last = Some(now);
                Ok(())
            }
        }
    }

    fn warn_timeout(&self) {
        tracing::warn!(
            key = %self.key,
            "waited {:?} for a slot of the shared rate limiter; starting anyway",
            self.max_wait
        );
    }

    fn warn_unavailable(&self, error: &crate::Error) {
        tracing::warn!(
            key = %self.key,
            "shared rate limiter unavailable, spacing this process's calls only: {error}"
        );
    }
}

impl fmt::Debug for RedisRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimit")
            .field("address", &self.conn.address())
            .field("key", &self.key)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}
