//! A short-lived lock in Redis, for single-flight across processes and machines.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{FlightGuard, FlightLock};
use crate::error::Result;
use crate::redis::{Connector, Eval, Lua, RedisOptions};

/// Takes the lock, or renews it when this token already holds it (so a retried command after a
/// lost reply does not lock its own sender out). 1 when held.
const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Deletes the lock only if this token still holds it: a holder whose lease ran out must not
/// delete the next holder's lock.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The scripts, sent by their hash ([`Eval`]).
static ACQUIRE_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[ACQUIRE]));
static RELEASE_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[RELEASE]));

/// Default [`RedisLock::lease`].
const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Default [`RedisLock::wait_timeout`].
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`RedisLock::poll_interval`].
const DEFAULT_POLL: Duration = Duration::from_millis(25);

/// A lock shared by every process using the same Redis server: `SET cacher:lock:<name> <token>
/// NX PX <lease>`, released by its holder with a compare-and-delete script.
///
/// Given to [`CacheBuilder::cross_process_lock`](crate::CacheBuilder::cross_process_lock), it
/// makes a cache miss single-flight across processes: the first process to miss a key takes the
/// key's lock and runs the function; the others wait (polling, at most
/// [`wait_timeout`](Self::wait_timeout)) and read the value it stored.
///
/// Every wait is bounded, and nothing here fails a call:
/// - the lock expires after its [`lease`](Self::lease), so a holder that crashed blocks the
///   others at most that long;
/// - a waiter whose `wait_timeout` passes stops waiting, and the cache runs the function;
/// - when Redis is unreachable, the cache runs the function without the lock (with a warning).
///
/// A holder that runs longer than its lease loses the lock to the next caller: the function may
/// then run twice, which single-flight only makes rare, never wrong. Set the lease above the
/// function's usual duration.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use cacher::{Cache, RedisBackend, RedisLock, RedisOptions};
///
/// # fn main() -> cacher::Result<()> {
/// let redis = RedisOptions::new("redis://127.0.0.1:6379/");
/// let cache: Cache<u64, u64> = Cache::builder()
///     .namespace("app::square")
///     .backend(RedisBackend::new(redis.clone())?)
///     // Across all processes, one of those missing a key at once computes it.
///     .cross_process_lock(RedisLock::new(redis)?.lease(Duration::from_secs(10)))
///     .build()?;
/// assert_eq!(cache.get_or_compute(&12, || 12 * 12), 144);
/// # Ok(())
/// # }
/// ```
pub struct RedisLock {
    conn: Connector,
    lease: Duration,
    wait_timeout: Duration,
    poll: Duration,
}

/// A held [`RedisLock`]; dropping it releases the lock (see [`release`](Self::release)).
#[must_use = "the lock is released when the guard is dropped"]
pub struct RedisLockGuard<'a> {
    lock: &'a RedisLock,
    key: String,
    token: String,
    released: bool,
}

impl RedisLock {
    /// A lock on the server of `options`; connects on first use.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the URL does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{RedisLock, RedisOptions};
    ///
    /// let lock = RedisLock::new(RedisOptions::new("redis://127.0.0.1:6379/"))
    ///     .unwrap()
    ///     .lease(Duration::from_secs(10))
    ///     .wait_timeout(Duration::from_secs(5));
    /// assert_eq!(lock.redis_key("app::f:user=1"), "cacher:lock:app::f:user=1");
    /// ```
    pub fn new(options: RedisOptions) -> Result<Self> {
        Ok(Self {
            conn: Connector::new(&options)?,
            lease: DEFAULT_LEASE,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            poll: DEFAULT_POLL,
        })
    }

    /// How long the lock lives unless released (`PX`): the most a crashed holder delays the
    /// others. Default 30 s; rounded up to whole milliseconds, at least 1.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long [`acquire`](Self::acquire) waits for another holder before giving up.
    /// Default 30 s.
    #[must_use]
    pub fn wait_timeout(mut self, wait_timeout: Duration) -> Self {
        self.wait_timeout = wait_timeout;
        self
    }

    /// How often a waiter tries again. Default 25 ms.
    #[must_use]
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The Redis key of the lock called `name`: `cacher:lock:<name>`.
    #[must_use]
    pub fn redis_key(&self, name: &str) -> String {
        format!("cacher:lock:{name}")
    }

    fn lease_ms(&self) -> u64 {
        crate::redis::px(crate::clock::ceil_ms(self.lease).max(1))
    }

    fn acquire_eval(&self, key: &str, token: &str) -> Eval<'static> {
        Eval::new(&ACQUIRE_LUA, &[key.as_bytes()])
            .arg(token)
            .arg(self.lease_ms())
    }

    fn guard(&self, key: String, token: String) -> RedisLockGuard<'_> {
        RedisLockGuard {
            lock: self,
            key,
            token,
            released: false,
        }
    }

    /// One attempt: the guard when the lock was free, `None` when another holds it.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when Redis cannot be reached.
    pub fn try_acquire(&self, name: &str) -> Result<Option<RedisLockGuard<'_>>> {
        let key = self.redis_key(name);
        let token = new_token();
        let held: i64 = self
            .conn
            .eval(&self.acquire_eval(&key, &token))
            .map_err(|e| self.conn.error(&format!("lock {key}"), e))?;
        Ok((held == 1).then(|| self.guard(key, token)))
    }

    /// Takes the lock, waiting at most [`wait_timeout`](Self::wait_timeout) for another holder; `None`
    /// when the wait ran out.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when Redis cannot be reached.
    pub fn acquire(&self, name: &str) -> Result<Option<RedisLockGuard<'_>>> {
        let deadline = crate::clock::deadline_after(self.wait_timeout);
        loop {
            if let Some(guard) = self.try_acquire(name)? {
                return Ok(Some(guard));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(self.poll.min(left));
        }
    }

    /// Async [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when Redis cannot be reached.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn try_acquire_async(&self, name: &str) -> Result<Option<RedisLockGuard<'_>>> {
        let key = self.redis_key(name);
        let token = new_token();
        let held: i64 = self
            .conn
            .eval_async(&self.acquire_eval(&key, &token))
            .await
            .map_err(|e| self.conn.error(&format!("lock {key}"), e))?;
        Ok((held == 1).then(|| self.guard(key, token)))
    }

    /// Async [`acquire`](Self::acquire): waits on tokio's timer.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when Redis cannot be reached.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn acquire_async(&self, name: &str) -> Result<Option<RedisLockGuard<'_>>> {
        let deadline = crate::clock::deadline_after(self.wait_timeout);
        loop {
            if let Some(guard) = self.try_acquire_async(name).await? {
                return Ok(Some(guard));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            crate::future::sleep(self.poll.min(left)).await;
        }
    }

    fn release_eval(key: &str, token: &str) -> Eval<'static> {
        Eval::new(&RELEASE_LUA, &[key.as_bytes()]).arg(token)
    }
}

impl RedisLockGuard<'_> {
    /// The lock's Redis key.
    #[must_use]
    pub fn redis_key(&self) -> &str {
        &self.key
    }

    /// Releases the lock now: `true` when this guard still held it, `false` when its lease had
    /// run out (and another caller may hold it since — that caller's lock is left alone).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when Redis cannot be reached; the lock then
    /// expires after its lease.
    pub fn release(mut self) -> Result<bool> {
        self.released = true;
        self.release_now()
    }

    fn release_now(&self) -> Result<bool> {
        let conn = &self.lock.conn;
        let deleted: i64 = conn
            .eval(&RedisLock::release_eval(&self.key, &self.token))
            .map_err(|e| conn.error(&format!("unlock {}", self.key), e))?;
        Ok(deleted == 1)
    }

    /// Async [`release`](Self::release); a failure is logged (the lock expires after its lease).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn release_async(mut self) -> bool {
        self.released = true;
        let conn = &self.lock.conn;
        match conn
            .eval_async::<i64>(&RedisLock::release_eval(&self.key, &self.token))
            .await
        {
            Ok(deleted) => deleted == 1,
            Err(e) => {
                tracing::warn!(lock = %self.key, "releasing the Redis lock failed: {e}");
                false
            }
        }
    }
}

impl Drop for RedisLockGuard<'_> {
    /// Releases the lock with a blocking command (bounded by the response timeout). In async
    /// code prefer [`release_async`](Self::release_async).
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Err(e) = self.release_now() {
            tracing::warn!(lock = %self.key, "releasing the Redis lock failed: {e}");
        }
    }
}

impl fmt::Debug for RedisLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLock")
            .field("address", &self.conn.address())
            .field("lease", &self.lease)
            .field("wait_timeout", &self.wait_timeout)
            .field("poll_interval", &self.poll)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLockGuard")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A token no other holder, in any process on any machine, uses: the process id, the time, a
/// counter and 64 bits of the process's random hashing seed.
fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{seed:016x}-{nanos:x}-{n:x}", std::process::id())
}

impl FlightLock for RedisLock {
    fn lock(&self, name: &str) -> Result<Option<FlightGuard<'_>>> {
        Ok(self
            .acquire(name)?
            .map(|guard| Box::new(guard) as FlightGuard<'_>))
    }

    #[cfg(feature = "tokio")]
    fn lock_async<'a>(
        &'a self,
        name: &'a str,
    ) -> crate::future::BoxFuture<'a, Result<Option<FlightGuard<'a>>>> {
        Box::pin(async move {
            Ok(self
                .acquire_async(name)
                .await?
                .map(|guard| Box::new(guard) as FlightGuard<'a>))
        })
    }
}
