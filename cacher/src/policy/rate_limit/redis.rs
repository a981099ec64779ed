//! The Redis side of [`RateLimiter::redis`](crate::RateLimiter::redis): a schedule kept in
//! Redis, shared by every process on every machine using the same key.

use std::fmt;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::redis::{Connector, Eval, Lua, RedisOptions};

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

/// [`GRANT`], sent by its hash ([`Eval`]).
static GRANT_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[GRANT]));

/// The Redis schedule of a shared [`RateLimiter`](crate::RateLimiter) (see
/// [`RateLimiter::redis`](crate::RateLimiter::redis) for how it works): every limiter using the
/// same server and name keeps one minimum interval between call starts together.
pub(crate) struct RedisRateLimit {
    conn: Connector,
    key: String,
    /// When this process last started a call (granted by Redis or not): the fallback's schedule.
    last_start: Mutex<Option<Instant>>,
}

impl RedisRateLimit {
    /// The schedule called `name` on the server of `options`; connects on first use.
    pub(super) fn new(options: &RedisOptions, name: &str) -> Result<Self> {
        Ok(Self {
            conn: Connector::new(options)?,
            key: format!("cacher:rate:{name}"),
            last_start: Mutex::new(None),
        })
    }

    /// The key holding the schedule: `cacher:rate:<name>`.
    pub(super) fn redis_key(&self) -> &str {
        &self.key
    }

    fn grant_eval(&self, interval: Duration) -> Eval<'static> {
        let micros = crate::clock::ceil_micros(interval).max(1);
        Eval::new(&GRANT_LUA, &[self.key.as_bytes()]).arg(micros)
    }

    /// One request for a start: `Ok(None)` granted, `Ok(Some(wait))` ask again after `wait`.
    fn ask(&self, eval: &Eval<'_>) -> Result<Option<Duration>> {
        let wait: u64 = self
            .conn
            .eval(eval)
            .map_err(|e| self.conn.error(&format!("rate limit {}", self.key), e))?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    #[cfg(feature = "tokio")]
    async fn ask_async(&self, eval: &Eval<'_>) -> Result<Option<Duration>> {
        let wait: u64 = self
            .conn
            .eval_async(eval)
            .await
            .map_err(|e| self.conn.error(&format!("rate limit {}", self.key), e))?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    /// Blocks until Redis grants a start (or `wait_timeout` passes, or Redis fails).
    pub(super) fn acquire(&self, interval: Duration, wait_timeout: Duration) {
        let eval = self.grant_eval(interval);
        let mut grant = Grant::new(self, interval, wait_timeout);
        let mut next = Next::Ask;
        loop {
            next = match next {
                Next::Ask => grant.answered(self.ask(&eval)),
                Next::Sleep(wait) => {
                    std::thread::sleep(wait);
                    grant.slept()
                }
                Next::Start => return,
            };
        }
    }

    /// Async [`acquire`](Self::acquire).
    #[cfg(feature = "tokio")]
    pub(super) async fn acquire_async(&self, interval: Duration, wait_timeout: Duration) {
        let eval = self.grant_eval(interval);
        let mut grant = Grant::new(self, interval, wait_timeout);
        let mut next = Next::Ask;
        loop {
            next = match next {
                Next::Ask => grant.answered(self.ask_async(&eval).await),
                Next::Sleep(wait) => {
                    crate::future::sleep(wait).await;
                    grant.slept()
                }
                Next::Start => return,
            };
        }
    }

    /// Records a start granted by Redis (or forced by `wait_timeout`).
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

    fn warn_timeout(&self, wait_timeout: Duration) {
        tracing::warn!(
            key = %self.key,
            "waited {wait_timeout:?} for a slot of the shared rate limiter; starting anyway"
        );
    }

    fn warn_unavailable(&self, error: &crate::Error) {
        tracing::warn!(
            key = %self.key,
            "shared rate limiter unavailable, spacing this process's calls only: {error}"
        );
    }
}

/// What an acquisition does next: its decisions are made once, in [`Grant`], for the blocking
/// and the async driver alike.
enum Next {
    /// Ask Redis for a start.
    Ask,
    /// Sleep, then tell [`Grant::slept`].
    Sleep(Duration),
    /// Start the call.
    Start,
}

/// One acquisition of a start: asks Redis until it grants one or `wait_timeout` passes; while
/// Redis is unreachable, spaces this process's starts instead.
struct Grant<'a> {
    limit: &'a RedisRateLimit,
    interval: Duration,
    wait_timeout: Duration,
    deadline: Instant,
    /// Redis failed: the process's own schedule decides.
    local: bool,
}

impl<'a> Grant<'a> {
    fn new(limit: &'a RedisRateLimit, interval: Duration, wait_timeout: Duration) -> Self {
        Self {
            limit,
            interval,
            wait_timeout,
            deadline: crate::clock::deadline_after(wait_timeout),
            local: false,
        }
    }

    /// Redis's answer to a request for a start.
    fn answered(&mut self, answer: Result<Option<Duration>>) -> Next {
        match answer {
            Ok(None) => self.start(),
            Ok(Some(wait)) => {
                let left = self.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.limit.warn_timeout(self.wait_timeout);
                    return self.start();
                }
                Next::Sleep(wait.min(left))
            }
            Err(error) => {
                self.limit.warn_unavailable(&error);
                self.local = true;
                self.local_grant()
            }
        }
    }

    /// A sleep it asked for is over.
    fn slept(&mut self) -> Next {
        if self.local {
            self.local_grant()
        } else {
            Next::Ask
        }
    }

    fn start(&self) -> Next {
        self.limit.started();
        Next::Start
    }

    fn local_grant(&self) -> Next {
        match self.limit.local_grant(self.interval) {
            Ok(()) => Next::Start,
            Err(wait) => Next::Sleep(wait),
        }
    }
}

impl fmt::Debug for RedisRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimit")
            .field("address", &self.conn.address())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}
