//! Single-flight across processes: a [`FlightLock`] that processes share, so that among all the
//! processes (and machines) that miss one key at once, only one runs the function.
//!
//! Within a process, a [`Cache`](crate::Cache) always runs a missing key's function once. With
//! [`CacheBuilder::cross_process_lock`](crate::CacheBuilder::cross_process_lock), the caller that
//! leads in its process also takes the lock named after the namespace and key before computing;
//! the leaders of other processes wait for it (a bounded time), then find the value it stored.
//! [`FileLock`] (a lock file per key, for the processes of one machine; the default of a cache
//! with a file or store tier) and [`RedisLock`] (feature `redis`, across machines) are two; the
//! trait lets others be written.
//!
//! Every failure degrades to computing without the lock: a lock that cannot be reached, or a
//! wait that runs out, costs a duplicate call, never a failed one.

mod file;
#[cfg(feature = "redis")]
mod redis;

pub use self::file::{FileLock, LOCK_DIR, LOCK_FILES};

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisLock, RedisLockGuard};

use crate::error::Result;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::future::BoxFuture;

/// A held lock: released when dropped.
pub type FlightGuard<'a> = Box<dyn Send + 'a>;

/// A lock shared by processes, for single-flight across them: what
/// [`CacheBuilder::cross_process_lock`](crate::CacheBuilder::cross_process_lock) takes.
///
/// # Examples
///
/// A lock of this process only (a lock file, or a database's advisory lock, would be shared by
/// several), with a bounded wait:
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::{Arc, Condvar, Mutex};
/// use std::time::Duration;
///
/// use cacher::lock::{FlightGuard, FlightLock};
/// use cacher::{Cache, SeparateFileBackend};
///
/// /// The names held, and a condition variable to wait for one to be released.
/// #[derive(Default)]
/// struct LocalLock {
///     held: Arc<(Mutex<HashSet<String>>, Condvar)>,
/// }
///
/// /// Releases its name when dropped.
/// struct Held {
///     held: Arc<(Mutex<HashSet<String>>, Condvar)>,
///     name: String,
/// }
///
/// impl Drop for Held {
///     fn drop(&mut self) {
///         let (names, released) = &*self.held;
///         names.lock().unwrap().remove(&self.name);
///         released.notify_all();
///     }
/// }
///
/// impl FlightLock for LocalLock {
///     fn lock(&self, name: &str) -> cacher::Result<Option<FlightGuard<'_>>> {
///         let (names, released) = &*self.held;
///         // Every wait is bounded: at most one second for another holder.
///         let (mut names, wait) = released
///             .wait_timeout_while(names.lock().unwrap(), Duration::from_secs(1), |names| {
///                 names.contains(name)
///             })
///             .unwrap();
///         if wait.timed_out() {
///             return Ok(None);
///         }
///         names.insert(name.to_owned());
///         let held = Held { held: Arc::clone(&self.held), name: name.to_owned() };
///         Ok(Some(Box::new(held)))
///     }
/// }
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<u64, u64> = Cache::builder()
///     .backend(SeparateFileBackend::new(dir.path()))
///     .cross_process_lock(LocalLock::default())
///     .build()
///     .unwrap();
/// assert_eq!(cache.get_or_compute(&12, || 12 * 12), 144);
/// ```
pub trait FlightLock: Send + Sync + 'static {
    /// Takes the lock `name`, waiting a bounded time for another holder: `Ok(None)` when the wait
    /// ran out. The lock is released when the guard drops (and expires by itself if its holder
    /// dies).
    ///
    /// # Errors
    /// When the lock's service cannot be reached.
    fn lock(&self, name: &str) -> Result<Option<FlightGuard<'_>>>;

    /// Async [`lock`](FlightLock::lock). The default calls `lock`, whose wait then blocks the
    /// executor's thread: a lock that may wait long overrides it to wait without blocking
    /// ([`RedisLock`] does).
    ///
    /// # Errors
    /// When the lock's service cannot be reached.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn lock_async<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<FlightGuard<'a>>>> {
        Box::pin(std::future::ready(self.lock(name)))
    }
}
