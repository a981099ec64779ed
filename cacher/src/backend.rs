//! Where entries live: the typed in-process [`MemoryBackend`], and persistent backends behind the
//! [`Backend`] trait ([`SeparateFileBackend`], and Redis with the `redis` feature).
//!
//! A [`Cache`](crate::Cache) holds at most one memory tier, always in front, then persistent
//! tiers in order. A hit in a later tier fills the earlier ones, keeping the entry's creation
//! time, so a TTL counts from when the value was computed, not from when it was copied.

mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::file::InvalidPath;
pub use self::file::{FilenameFn, SeparateFileBackend};
pub use self::memory::MemoryBackend;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisBackend;

use std::path::PathBuf;

use crate::entry::{Entry, EntryKey};
use crate::error::Result;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::future::BoxFuture;

/// A persistent, string-keyed store of entries: a tier behind the memory tier.
///
/// Implementations decode what they read with [`entry::decode`](crate::entry::decode), which
/// checks that the entry is the one asked for; an entry that fails the check is reported as
/// [`Error::Corrupt`](crate::Error::Corrupt) and the cache treats it as a miss and overwrites it.
///
/// The async methods default to the blocking ones, which suits local storage; a network backend
/// overrides them.
pub trait Backend<V>: Send + Sync + 'static {
    /// A short name for messages and stats ("file", "redis").
    fn name(&self) -> &'static str;

    /// Reads the entry for `key`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// I/O failures, and [`Error::Corrupt`](crate::Error::Corrupt) for an entry that is not
    /// the one asked for.
    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>>;

    /// Stores `entry` under `key`, replacing any previous one, atomically: a concurrent reader
    /// sees the old entry or the new one, never a mix.
    ///
    /// # Errors
    /// Encoding and I/O failures.
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()>;

    /// Removes the entry for `key`, if any.
    ///
    /// # Errors
    /// I/O failures other than "not found".
    fn remove(&self, key: &EntryKey<'_>) -> Result<()>;

    /// Removes every entry of `namespace`, and nothing else.
    ///
    /// # Errors
    /// I/O failures.
    fn clear(&self, namespace: &str) -> Result<()>;

    /// Told once, when the cache is built, how long after its creation an entry can still be
    /// served: the cache's ttl plus its `stale_if_error` grace, or `None` when entries never
    /// expire. A backend with its own expiry (Redis's `PX`) uses it to drop entries no read
    /// would accept; the default ignores it, since the cache checks freshness on every read.
    fn set_retention(&mut self, retention: Option<std::time::Duration>) {
        let _ = retention;
    }

    /// Where the entry for `key` is (or would be) stored, for backends that store files.
    fn path(&self, key: &EntryKey<'_>) -> Option<PathBuf> {
        let _ = key;
        None
    }

    /// Async [`get`](Backend::get).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn get_async<'a>(&'a self, key: &'a EntryKey<'a>) -> BoxFuture<'a, Result<Option<Entry<V>>>>
    where
        V: Send + 'a,
    {
        Box::pin(std::future::ready(self.get(key)))
    }

    /// Async [`insert`](Backend::insert).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn insert_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
        entry: &'a Entry<V>,
    ) -> BoxFuture<'a, Result<()>>
    where
        V: Send + Sync + 'a,
    {
        Box::pin(std::future::ready(self.insert(key, entry)))
    }
}
