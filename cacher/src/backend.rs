//! Where entries live: the typed in-process [`MemoryBackend`], and the backends that serialise
//! behind the [`PersistentBackend`] trait ([`SeparateFileBackend`], and
//! [`RedisBackend`] with the `redis` feature).
//!
//! Each backend of a [`Cache`](crate::Cache) is one of its tiers: at most one memory backend,
//! always in front, then persistent backends in order. A hit in a later tier fills the earlier
//! ones, keeping the entry's creation time, so a TTL counts from when the value was computed,
//! not from when it was copied.

mod file;
mod generation;
mod listing;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;

pub(crate) use self::file::version_dir;
pub use self::file::{InvalidPath, SeparateFileBackend};
pub use self::generation::Generation;
use self::generation::Put;
pub use self::listing::{Found, Listed, Listing, META_PREFIX_LEN};
pub use self::memory::MemoryBackend;
pub(crate) use self::memory::{Absence, Displaced, Inserted, Tier, hash_key};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisBackend;
pub use self::store::StoreBackend;

use std::path::PathBuf;
use std::time::Duration;

use crate::entry::{Entry, EntryKey};
use crate::error::Result;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::future::BoxFuture;

/// A backend that stores entries serialised, under string keys: a tier behind the memory
/// backend ([`SeparateFileBackend`], [`RedisBackend`], or your own).
///
/// Implementations encode with [`entry::encode`](crate::entry::encode) and decode what they read
/// with [`entry::decode_current`](crate::entry::decode_current), which checks that the entry is
/// the one asked for; an entry that fails the check is reported as
/// [`Error::Corrupt`](crate::Error::Corrupt) and the cache treats it as a miss and overwrites it,
/// while this key's entry computed by other code of the function (edited since) is a plain miss,
/// `Ok(None)`.
///
/// The async methods default to the blocking ones, which suits local storage; a network backend
/// overrides them.
///
/// # Examples
///
/// A backend keeping its entries in a map (a database table would do the same):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use cacher::entry::{self, Entry, EntryKey};
/// use cacher::format::JsonFormatter;
/// use cacher::{Cache, PersistentBackend};
/// use serde::{Serialize, de::DeserializeOwned};
///
/// /// Entries as JSON bytes, by namespace and key.
/// #[derive(Default)]
/// struct MapBackend {
///     entries: Mutex<HashMap<(String, String), Vec<u8>>>,
/// }
///
/// fn id(key: &EntryKey<'_>) -> (String, String) {
///     (key.namespace.to_owned(), key.key.to_owned())
/// }
///
/// impl<V> PersistentBackend<V> for MapBackend
/// where
///     V: Serialize + DeserializeOwned + Send + Sync + 'static,
/// {
///     fn name(&self) -> &'static str {
///         "map"
///     }
///
///     fn get(&self, key: &EntryKey<'_>) -> cacher::Result<Option<Entry<V>>> {
///         let entries = self.entries.lock().unwrap();
///         match entries.get(&id(key)) {
///             // Checks the entry's namespace, version, key and type.
///             Some(bytes) => entry::decode_current(&JsonFormatter, key, bytes, &key.key),
///             None => Ok(None),
///         }
///     }
///
///     fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> cacher::Result<()> {
///         let bytes = entry::encode(&JsonFormatter, key, entry)?;
///         self.entries.lock().unwrap().insert(id(key), bytes);
///         Ok(())
///     }
///
///     fn remove(&self, key: &EntryKey<'_>) -> cacher::Result<()> {
///         self.entries.lock().unwrap().remove(&id(key));
///         Ok(())
///     }
///
///     fn clear(&self, namespace: &str) -> cacher::Result<()> {
///         self.entries.lock().unwrap().retain(|(ns, _), _| ns != namespace);
///         Ok(())
///     }
/// }
///
/// let cache: Cache<u32, String> = Cache::builder()
///     .namespace("app::name")
///     .backend(MapBackend::default())
///     .build()
///     .unwrap();
/// assert_eq!(cache.get_or_compute(&7, || "seven".to_owned()), "seven");
/// assert_eq!(cache.get(&7).as_deref(), Some("seven")); // read back from the map
/// cache.clear().unwrap();
/// assert_eq!(cache.get(&7), None);
/// ```
pub trait PersistentBackend<V>: Send + Sync + 'static {
    /// A short name for messages and stats ("file", "redis").
    fn name(&self) -> &'static str;

    /// Reads the entry for `key`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// I/O failures, and [`Error::Corrupt`](crate::Error::Corrupt) for an entry that is not
    /// the one asked for (an entry of other code is `Ok(None)`).
    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>>;

    /// Stores `entry` under `key`, replacing any previous one, atomically: a concurrent reader
    /// sees the old entry or the new one, never a mix.
    ///
    /// # Errors
    /// Encoding and I/O failures.
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()>;

    /// Stores `entry` under `key` only if the tier holds no entry for `key`, in one step no
    /// other writer's can come between: how an entry found in a later tier is copied into this
    /// one (a fill) — and only if no invalidation of the key reached this tier since its
    /// generation was `since` ([`generation`](Self::generation), read when this tier missed,
    /// before the later tier was read). `Ok(true)` if stored; `Ok(false)` if the tier held an
    /// entry for the key, left as it is, was invalidated since, or takes no fills.
    ///
    /// The default takes none. A fill made as a plain [`insert`](Self::insert) could put back
    /// the value another process's insert just replaced (this one read the later tier before
    /// that insert, and writes after it), or its `remove` just took out. A tier that cannot
    /// check and write in one step keeps the default: the cache then reads the later tier on
    /// each call this one misses.
    ///
    /// # Errors
    /// Encoding and I/O failures.
    ///
    /// ```
    /// use cacher::entry::{Entry, EntryKey};
    /// use cacher::{PersistentBackend, SeparateFileBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (files, other) = (SeparateFileBackend::new(dir.path()), SeparateFileBackend::new(dir.path()));
    /// let key = EntryKey {
    ///     namespace: "app::f",
    ///     version: None,
    ///     key: "1",
    ///     args: Some("(v2)1"),
    ///     type_name: std::any::type_name::<u64>(),
    ///     code: None,
    /// };
    /// let (one, two) = (Entry::new(1u64, 1_000), Entry::new(2u64, 2_000));
    /// let seen = PersistentBackend::<u64>::generation(&files, &key).unwrap();
    /// assert!(files.fill(&key, &one, seen).unwrap());
    /// assert!(!files.fill(&key, &two, seen).unwrap(), "the tier holds the key: left as it is");
    /// let held = PersistentBackend::<u64>::get(&files, &key).unwrap();
    /// assert_eq!(held.map(|e| e.value), Some(1));
    /// // Another process removes the key after `seen` was read: a fill no longer puts it back.
    /// PersistentBackend::<u64>::remove(&other, &key).unwrap();
    /// assert!(!files.fill(&key, &two, seen).unwrap(), "removed since");
    /// ```
    fn fill(&self, key: &EntryKey<'_>, entry: &Entry<V>, since: Generation) -> Result<bool> {
        let _ = (key, entry, since);
        Ok(false)
    }

    /// The tier's [`Generation`] of `key`: what it has seen of the key's invalidations, by any
    /// process. The cache reads it before it computes a value of the key, and stores the value
    /// with [`insert_since`](Self::insert_since). A tier shared by processes that keeps one
    /// changes it on every [`insert`](Self::insert), [`remove`](Self::remove),
    /// [`clear`](Self::clear) and [`begin_refresh`](Self::begin_refresh) (the file, store and
    /// Redis tiers do). The default keeps none:
    /// [`Generation::NONE`].
    ///
    /// # Errors
    /// I/O failures: the value computed is then stored in no tier whose generation is not known
    /// (the older entry there is taken out, as when a write fails).
    ///
    /// ```
    /// use cacher::backend::Generation;
    /// use cacher::entry::{Entry, EntryKey};
    /// use cacher::{PersistentBackend, StoreBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (this, other) = (StoreBackend::new(dir.path()), StoreBackend::new(dir.path()));
    /// # let key = EntryKey { namespace: "app::f", version: None, key: "1", args: None,
    /// #     type_name: std::any::type_name::<u64>(), code: None };
    /// let seen: Generation = PersistentBackend::<u64>::generation(&this, &key).unwrap();
    /// // Another process removes the key while this one computes its value:
    /// PersistentBackend::<u64>::remove(&other, &key).unwrap();
    /// let stored = this.insert_since(&key, &Entry::new(1u64, 1_000), seen).unwrap();
    /// assert!(!stored, "computed before the removal: refused");
    /// assert!(PersistentBackend::<u64>::get(&this, &key).unwrap().is_none());
    /// ```
    fn generation(&self, key: &EntryKey<'_>) -> Result<Generation> {
        let _ = key;
        Ok(Generation::NONE)
    }

    /// A forced refresh's start ([`Cache::refresh`](crate::Cache::refresh)): moves the key's
    /// generation as [`remove`](Self::remove) does, leaving its entry. The refresh then reads
    /// the [`generation`](Self::generation) and stores its value with
    /// [`insert_since`](Self::insert_since), as any computation: a value of the key that a
    /// computation began before the refresh — in this process or another, a
    /// `stale_while_revalidate` refresh among them, or a refresh that began earlier — is then
    /// refused, rather than stored over the refreshed value, as after an `insert`.
    ///
    /// The default does nothing: a tier that keeps no generation has none to move (a backend of
    /// yours that keeps one implements this too, or an older computation of another process
    /// may overwrite a refresh's value in it).
    ///
    /// # Errors
    /// I/O failures: the refresh's value is then stored in no tier whose generation did not
    /// move (the older entry there is taken out, as when a write fails).
    ///
    /// ```
    /// use cacher::entry::{Entry, EntryKey};
    /// use cacher::{PersistentBackend, StoreBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (this, other) = (StoreBackend::new(dir.path()), StoreBackend::new(dir.path()));
    /// # let key = EntryKey { namespace: "app::f", version: None, key: "1", args: None,
    /// #     type_name: std::any::type_name::<u64>(), code: None };
    /// // Another process begins computing the key; this one refreshes it meanwhile.
    /// let before = PersistentBackend::<u64>::generation(&other, &key).unwrap();
    /// PersistentBackend::<u64>::begin_refresh(&this, &key).unwrap();
    /// let seen = PersistentBackend::<u64>::generation(&this, &key).unwrap();
    /// assert!(this.insert_since(&key, &Entry::new(2u64, 2_000), seen).unwrap());
    /// // The computation that began before the refresh stores nothing over it.
    /// assert!(!other.insert_since(&key, &Entry::new(1u64, 1_000), before).unwrap());
    /// let held = PersistentBackend::<u64>::get(&this, &key).unwrap();
    /// assert_eq!(held.map(|e| e.value), Some(2));
    /// ```
    fn begin_refresh(&self, key: &EntryKey<'_>) -> Result<()> {
        let _ = key;
        Ok(())
    }

    /// Stores a computed `entry` under `key` as [`insert`](Self::insert) does, only if no
    /// invalidation of the key reached the tier since its generation was `since` (read with
    /// [`generation`](Self::generation) before the value was computed), in one step no
    /// invalidation can come between. `Ok(true)` if stored; `Ok(false)` if refused, the tier left
    /// as the invalidation left it. Unlike an `insert`, it does not change the generation.
    ///
    /// The default stores with [`insert`](Self::insert) (a tier that keeps no generation).
    ///
    /// # Errors
    /// Encoding and I/O failures.
    fn insert_since(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        since: Generation,
    ) -> Result<bool> {
        let _ = since;
        self.insert(key, entry).map(|()| true)
    }

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

    /// Called once, when the cache this backend joins is built, with how long after its
    /// creation an entry can still be served: the cache's ttl plus its `stale_if_error` grace,
    /// or `None` when entries never expire. A backend with its own expiry (Redis's `PX`) uses it
    /// to drop entries no read would accept; the default accepts and ignores it, since the cache
    /// checks freshness on every read.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) refuses the configuration, and the cache's build
    /// returns it: the file backend refuses `max_entries(0)` here.
    fn attach(&mut self, retention: Option<Duration>) -> Result<()> {
        let _ = retention;
        Ok(())
    }

    /// Where the entry for `key` is (or would be) stored, for backends that store files.
    fn path_of(&self, key: &EntryKey<'_>) -> Option<PathBuf> {
        let _ = key;
        None
    }

    /// The backend as a [`Listing`], when its entries can be listed (the file and Redis
    /// backends): what [`Cache::entries`](crate::Cache::entries) goes through. `None` by default.
    fn listing(&self) -> Option<&dyn Listing> {
        None
    }

    /// The directory where the processes sharing this backend can keep lock files: a cache
    /// with no [`cross_process_lock`](crate::CacheBuilder::cross_process_lock) takes a
    /// [`FileLock`](crate::lock::FileLock) there, so that processes of one machine missing one
    /// key run the function once. `None` (the default) for a backend not on a local disk.
    ///
    /// ```
    /// use cacher::{PersistentBackend, StoreBackend};
    ///
    /// let store = StoreBackend::new("cache");
    /// let dir = PersistentBackend::<u32>::lock_dir(&store);
    /// assert_eq!(dir.as_deref(), Some(std::path::Path::new("cache")));
    /// ```
    fn lock_dir(&self) -> Option<PathBuf> {
        None
    }

    /// How many entries this backend has evicted since it was made to stay within its bounds
    /// (`max_entries`, `max_size`): a running total, which the cache reads after each write it
    /// makes and counts in [`CacheStats::evictions`](crate::CacheStats::evictions) (and, with
    /// the `metrics` feature, `cacher_evictions_total`). Entries dropped because they expired are
    /// not evictions. 0 (the default) for a backend without bounds.
    ///
    /// ```
    /// use cacher::{Cache, PersistentBackend, StoreBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = StoreBackend::new(dir.path()).max_entries(2);
    /// assert_eq!(PersistentBackend::<u32>::evictions(&store), 0);
    /// let cache: Cache<u32, u32> = Cache::builder().backend(store).build().unwrap();
    /// for n in 0..3 {
    ///     cache.get_or_compute(&n, || n);
    /// }
    /// assert_eq!(cache.stats().evictions, 1);
    /// ```
    fn evictions(&self) -> u64 {
        0
    }

    /// Async [`get`](PersistentBackend::get).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn get_async<'a>(&'a self, key: &'a EntryKey<'a>) -> BoxFuture<'a, Result<Option<Entry<V>>>>
    where
        V: Send + 'a,
    {
        Box::pin(std::future::ready(self.get(key)))
    }

    /// Async [`generation`](PersistentBackend::generation).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn generation_async<'a>(&'a self, key: &'a EntryKey<'a>) -> BoxFuture<'a, Result<Generation>> {
        Box::pin(std::future::ready(self.generation(key)))
    }

    /// Async [`begin_refresh`](PersistentBackend::begin_refresh).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    fn begin_refresh_async<'a>(&'a self, key: &'a EntryKey<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(std::future::ready(self.begin_refresh(key)))
    }

    /// Async [`insert`](PersistentBackend::insert). A cache's async calls do not write
    /// through it: they make a store's writes together on a blocking thread through
    /// [`insert`](PersistentBackend::insert), so that a store is never cut short between
    /// tiers by a dropped future, nor left waiting for its caller to be polled.
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
