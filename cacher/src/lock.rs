//! Single-flight across processes: a [`FlightLock`] that processes share, so that among all the
//! processes (and machines) that miss one key at once, only one runs the function.
//!
//! Within a process, a [`Cache`](crate::Cache) always runs a missing key's function once. With
//! [`CacheBuilder::cross_process_lock`](crate::CacheBuilder::cross_process_lock), the caller that
//! leads in its process also takes the lock named after the namespace and key before computing;
//! the leaders of other processes wait for it (a bounded time), then find the value it stored.
//! [`RedisLock`](crate::RedisLock) (feature `redis`) is one; the trait lets others be written.
//!
//! Every failure degrades to computing without the lock: a lock that cannot be reached, or a
//! wait that runs out, costs a duplicate call, never a failed one.

#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisLock, RedisLockGuard};

use crate::error::Result;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::future::BoxFuture;

/// A held lock: released when dropped.
pub type FlightGuard<'a> = Box<dyn Send + 'a>;

/// A lock shared by processes, for single-flight across them.
pub trait FlightLock: Send + Sync + 'static {
    /// Takes the lock `name`, waiting a bounded time for another holder: `Ok(None)` when the wait
    /// ran out. The lock is released when the guard drops (and expires by itself if its holder
    /// dies).
    ///
    /// # Errors
    /// When the lock's service cannot be reached.
    fn lock(&self, name: &str) -> Result<Option<FlightGuard<'_>>>;

    /// Async [`lock`](FlightLock::lock): waits without blocking the executor.
    ///
    /// # Errors
    /// When the lock's service cannot be reached.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn lock_async<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<FlightGuard<'a>>>>;
}
