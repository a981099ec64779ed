//! The embedded store: every entry of many caches in one LMDB database in a directory, shared by
//! the threads and processes that open it.

mod env;
mod gate;
mod generations;
mod keys;
mod list;
mod opened;
mod table;
mod uses;
mod write;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use self::env::Store;
use self::generations::Moved;
#[cfg(any(test, feature = "tokio"))]
use self::keys::id_of;
#[cfg(test)]
use self::keys::{MAX_KEY, SHORT_KEY, hashed};
use self::keys::{ns_of, with_id};
use self::table::Bounds;
use super::{Generation, PersistentBackend, Put};
use crate::entry::{self, Entry, EntryKey};
use crate::error::{Error, Result};
use crate::format::{Formatter, PostcardFormatter};
#[cfg(feature = "tokio")]
use crate::future::{OwnedKey, blocking, blocking_write};

/// Entries in one embedded database (LMDB) in a directory: `backend = "store"` in the
/// attribute.
///
/// Beside [`SeparateFileBackend`](crate::SeparateFileBackend) (a file per entry, readable and
/// deletable by hand), the store keeps every entry in one memory-mapped file: a hit reads the
/// entry in place, without a system call (about half the time of `cached`'s `RedbCache`, with
/// every entry check made), and a store takes about as long as `RedbCache`'s, with the checks
/// that keep processes from undoing each other's invalidations (docs/BENCHMARKS.md).
///
/// - **Many processes, many threads.** Any number of processes and threads open one store at
///   once; readers never wait, writers take turns (LMDB's single writer), each waiting at most
///   [`write_timeout`](Self::write_timeout) for another process's write (one frozen mid-write).
///   Opening it twice in one process shares one handle, never "database already open".
/// - **Crash-safe.** A process killed at any moment (`kill -9`) leaves the last committed write
///   whole; a write is one transaction. Without [`durable`](Self::durable), a power loss may lose
///   the last writes (never tear one); with it, every write is synced before it returns.
/// - **Checked.** Each entry records its namespace, key, version and type, checked on every read
///   like every tier ([`entry::decode_current`]); a mismatch is a miss, overwritten.
/// - **Bounded.** [`max_entries`](Self::max_entries) and [`max_size`](Self::max_size) bound each
///   namespace (a cache); a write over a bound evicts the entry used least recently among the
///   namespace's eight oldest written, as far as the writing process saw: a hit does not write
///   (hits stay fast), it notes its read in the process's memory, which the process's next
///   eviction reads (reads by other processes count at their own evictions). Entries past their
///   end (the cache's ttl, or the entry's own from `ttl_fn`, with the grace windows) are dropped
///   first, and a few per write, oldest written first.
/// - **Growth.** The database file grows with its entries up to 1 TiB (the address space LMDB
///   reserves; no map size to choose); freed pages are reused, the file does not shrink.
/// - Entries are [`PostcardFormatter`] by default (compact and fast; a person reads the store
///   with the `cacher` tool, not a text editor); [`formatter`](Self::formatter) changes it.
///
/// The processes of one machine sharing a store also share its single-flight: a cache with this
/// tier takes a [`FileLock`](crate::lock::FileLock) in its directory, so that of the processes
/// missing one key at once, one runs the function.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, MemoryBackend, StoreBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<u64, String> = Cache::builder()
///     .namespace("app::name")
///     .backend(MemoryBackend::new().max_entries(1_000))
///     .backend(StoreBackend::new(dir.path()).max_entries(100_000).max_size(1 << 30))
///     .build()
///     .unwrap();
/// assert_eq!(cache.get_or_compute(&7, || "seven".to_owned()), "seven");
/// cache.remove(&7).unwrap();
/// assert_eq!(cache.get(&7), None);
/// ```
pub struct StoreBackend<F = PostcardFormatter> {
    dir: PathBuf,
    formatter: F,
    durable: bool,
    /// Whether opening makes the store (its directory, files and tables) where there is none;
    /// not for [`open_existing`](Self::open_existing).
    create: bool,
    bounds: Bounds,
    /// Opened at the build, or at the first call that can (a directory that cannot be made
    /// yet is a failing tier, not a failed build); shared with the copies of async calls.
    store: Arc<OnceLock<Store>>,
    /// Set when the directory was refused as another program's (its `data.mdb` not a store's):
    /// what every later call fails with, without looking there again — and no cross-process
    /// lock folder is made there ([`lock_dir`](PersistentBackend::lock_dir)).
    refused: Arc<OnceLock<String>>,
    /// Entries evicted for the bounds by this backend's writes (and its copies').
    evicted: Arc<AtomicU64>,
    /// How long a write waits for another process's write ([`write_timeout`](Self::write_timeout)).
    write_timeout: Duration,
}

impl StoreBackend<PostcardFormatter> {
    /// The store in `dir` (created at the first use, with its parents). Caches given one
    /// directory share one store, each with its own entries (its namespace). A directory that
    /// holds another program's database where the store's would be (`data.mdb`) is refused and
    /// left as it is: the tier fails — each call still returns the function's value — and does
    /// not look there again.
    ///
    /// ```
    /// use cacher::{Cache, StoreBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let users: Cache<u32, String> =
    ///     Cache::builder().namespace("app::users").backend(StoreBackend::new(dir.path())).build().unwrap();
    /// let posts: Cache<u32, String> =
    ///     Cache::builder().namespace("app::posts").backend(StoreBackend::new(dir.path())).build().unwrap();
    /// users.insert(&1, "ada".into()).unwrap();
    /// assert_eq!(posts.get(&1), None);
    /// ```
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            formatter: PostcardFormatter,
            durable: false,
            create: true,
            bounds: Bounds {
                max_entries: None,
                max_size: None,
                retention_ms: None,
            },
            store: Arc::default(),
            refused: Arc::default(),
            evicted: Arc::default(),
            write_timeout: Duration::from_secs(5),
        }
    }

    /// The store already in `dir`, opened now, for a tool that looks into it (the `cacher`
    /// command): where `dir` holds no store of cacher's, it is refused and nothing is made
    /// there — no directory, no lock file, no table — as [`new`](Self::new)'s first use would.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir` is missing or holds no store (no `data.mdb`, or an empty one),
    /// when its `data.mdb` is not an LMDB database with the store's tables (another program's),
    /// or when the store cannot be opened.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(cacher::StoreBackend::open_existing(dir.path()).is_err());
    /// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0); // nothing made
    /// ```
    pub fn open_existing(dir: impl Into<PathBuf>) -> Result<Self> {
        let backend = Self {
            create: false,
            ..Self::new(dir)
        };
        backend.store()?;
        Ok(backend)
    }
}

impl<F: Formatter> StoreBackend<F> {
    /// Encodes entries with `formatter` instead of postcard.
    ///
    /// ```
    /// use cacher::{StoreBackend, format::JsonFormatter};
    /// let store = StoreBackend::new("cache").formatter(JsonFormatter);
    /// # let _ = store;
    /// ```
    pub fn formatter<G: Formatter>(self, formatter: G) -> StoreBackend<G> {
        StoreBackend {
            dir: self.dir,
            formatter,
            durable: self.durable,
            create: self.create,
            bounds: self.bounds,
            store: self.store,
            refused: self.refused,
            evicted: self.evicted,
            write_timeout: self.write_timeout,
        }
    }

    /// Syncs every write to disk before it returns (an `fsync` per write: about as slow as the
    /// disk). Default `false`: a crashed process loses nothing, a power loss the last writes.
    ///
    /// ```
    /// let store = cacher::StoreBackend::new("cache").durable(true);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Keeps at most `max_entries` entries of each cache (namespace), evicting the least
    /// recently used first (as the type's **Bounded** says). `0` is refused by the cache's build.
    ///
    /// ```
    /// let store = cacher::StoreBackend::new("cache").max_entries(10_000);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.bounds.max_entries = Some(max_entries as u64);
        self
    }

    /// Keeps at most `bytes` of encoded entries of each cache (namespace), evicting the least
    /// recently used first (`max_size = "1GiB"` in the attribute). The database file is larger
    /// by its pages' slack and the tree's nodes (typically up to 2×). `0` is refused by the
    /// build.
    ///
    /// ```
    /// let store = cacher::StoreBackend::new("cache").max_size(1 << 30); // 1 GiB
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.bounds.max_size = Some(bytes);
        self
    }

    /// How long a write waits for another process's write to the store to end; default 5 s.
    /// Writers take turns (LMDB's one writer), each for a transaction's time — a process writing
    /// from several threads at once for about 10 ms, then it lets a waiting process in — so the
    /// wait is that of a process frozen mid-write (`SIGSTOP`, a debugger): past it, the write fails as
    /// a dead server's does — the call's value is still returned, the tier left alone for the
    /// rest of the call, the failure counted in `stats().errors`. `Duration::MAX` waits as long
    /// as it takes.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = cacher::StoreBackend::new("cache").write_timeout(Duration::from_secs(1));
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn write_timeout(mut self, bound: Duration) -> Self {
        self.write_timeout = bound;
        self
    }

    /// The store's directory.
    ///
    /// ```
    /// let store = cacher::StoreBackend::new("cache");
    /// assert_eq!(store.dir(), std::path::Path::new("cache"));
    /// ```
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl<F> StoreBackend<F> {
    #[inline]
    fn store(&self) -> Result<&Store> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        self.open()
    }

    /// [`store`](Self::store)'s first use: the store opened, or why not (remembered when the
    /// directory is another program's).
    #[cold]
    fn open(&self) -> Result<&Store> {
        if let Some(why) = self.refused.get() {
            return Err(Error::io(&self.dir, io::Error::other(why.clone())));
        }
        match env::open(&self.dir, self.create, self.write_timeout) {
            Ok(store) => Ok(self.store.get_or_init(|| store)),
            Err(e) => {
                let e = env::io_error(e);
                if env::is_foreign(&e) {
                    let _ = self.refused.set(e.to_string());
                }
                // The writers' gate not entered in time to make a new store's tables (a process
                // frozen making them): the service failing, as a timed-out write is, so that
                // the call leaves the tier alone rather than wait again at each use of it.
                if e.kind() == io::ErrorKind::TimedOut {
                    let place = format!("writer lock of {}", self.dir.display());
                    return Err(Error::backend("store", place, e));
                }
                Err(Error::io(&self.dir, e))
            }
        }
    }

    fn error(&self, error: heed::Error) -> Error {
        Error::io(
            &self.dir,
            env::disk_full_said(&self.dir, env::io_error(error)),
        )
    }

    /// A copy for a blocking task: the same directory, handle and settings.
    #[cfg(feature = "tokio")]
    fn share(&self) -> Self
    where
        F: Clone,
    {
        Self {
            dir: self.dir.clone(),
            formatter: self.formatter.clone(),
            durable: self.durable,
            create: self.create,
            bounds: self.bounds,
            store: Arc::clone(&self.store),
            refused: Arc::clone(&self.refused),
            evicted: Arc::clone(&self.evicted),
            write_timeout: self.write_timeout,
        }
    }
}

/// Where an entry is, for messages.
struct Location<'a>(&'a Path, &'a str);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (store), key {}", self.0.display(), self.1)
    }
}

impl<F, V> PersistentBackend<V> for StoreBackend<F>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        "store"
    }

    fn attach(&mut self, retention: Option<Duration>) -> Result<()> {
        let refuse = |why: &str| Err(Error::Config(why.into()));
        if self.bounds.max_entries == Some(0) {
            return refuse("max_entries must be at least 1");
        }
        if self.bounds.max_size == Some(0) {
            return refuse("max_size must be at least 1 byte");
        }
        self.bounds.retention_ms = retention.map(crate::clock::ceil_ms);
        // Opened now if it can be; else each call tries again, and meanwhile the tier fails
        // (the function's value is still returned), as a file tier whose directory cannot be
        // made.
        let _ = self.store();
        Ok(())
    }

    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>> {
        let store = self.store()?;
        let txn = store.env.read_txn().map_err(|e| self.error(e))?;
        let Some(value) =
            with_id(key, |id| store.entries.get(&txn, id)).map_err(|e| self.error(e))?
        else {
            return Ok(None);
        };
        // Decoded in place, from the map, inside the read transaction.
        // The read noted for this process's evictions: least recently used first.
        let (stamp, bytes) = value.split_at_checked(8).unwrap_or_default();
        let stamp = stamp.try_into().map_or(0, u64::from_be_bytes);
        store.uses.read(stamp, txn.id() as u64);
        let location = Location(&self.dir, key.key);
        // An entry of the function's older code is a plain miss, overwritten.
        entry::decode_current(&self.formatter, key, bytes, &location)
    }

    /// Writes the entry and moves the key's generation, in one write transaction.
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()> {
        self.put(key, entry, Put::Insert).map(drop)
    }

    /// Writes the entry only if the key has none and was not invalidated since `since`, in the
    /// write transaction that looks.
    fn fill(&self, key: &EntryKey<'_>, entry: &Entry<V>, since: Generation) -> Result<bool> {
        self.put(key, entry, Put::Fill(since))
    }

    fn generation(&self, key: &EntryKey<'_>) -> Result<Generation> {
        let store = self.store()?;
        let txn = store.env.read_txn().map_err(|e| self.error(e))?;
        let namespace = ns_of(key.namespace);
        with_id(key, |id| generations::read(store, &txn, (&namespace, id)))
            .map_err(|e| self.error(e))
    }

    /// Writes the entry only if the key's generation is still `since`, in the write transaction
    /// that compares.
    fn insert_since(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        since: Generation,
    ) -> Result<bool> {
        self.put(key, entry, Put::Since(since))
    }

    /// Moves the key's generation in a write transaction, leaving its entry.
    fn begin_refresh(&self, key: &EntryKey<'_>) -> Result<()> {
        let namespace = ns_of(key.namespace);
        with_id(key, |id| {
            self.invalidate(&namespace, &Moved::Key(id), |_, _| Ok(()))
        })
    }

    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let namespace = ns_of(key.namespace);
        with_id(key, |id| {
            self.invalidate(&namespace, &Moved::Key(id), |store, txn| {
                table::remove(store, txn, (&namespace, id))
            })
        })
    }

    fn clear(&self, namespace: &str) -> Result<()> {
        let namespace = ns_of(namespace);
        self.invalidate(&namespace, &Moved::All, |store, txn| {
            table::clear(store, txn, &namespace)
        })
    }

    fn listing(&self) -> Option<&dyn super::Listing> {
        Some(self)
    }

    fn lock_dir(&self) -> Option<PathBuf> {
        // Another program's directory gets no lock folder of ours.
        (self.refused.get().is_none()).then(|| self.dir.clone())
    }

    fn evictions(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Reads and decodes on a blocking thread (tokio's `spawn_blocking`).
    #[cfg(feature = "tokio")]
    fn get_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<Option<Entry<V>>>>
    where
        V: Send + 'a,
    {
        let (store, key) = (self.share(), OwnedKey::of(key));
        Box::pin(blocking(move || {
            PersistentBackend::<V>::get(&store, &key.borrow())
        }))
    }

    /// Reads on a blocking thread (tokio's `spawn_blocking`).
    #[cfg(feature = "tokio")]
    fn generation_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<Generation>> {
        let (store, key) = (self.share(), OwnedKey::of(key));
        Box::pin(blocking(move || {
            PersistentBackend::<V>::generation(&store, &key.borrow())
        }))
    }

    /// Moves the generation on a blocking thread (tokio's `spawn_blocking`).
    #[cfg(feature = "tokio")]
    fn begin_refresh_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<()>> {
        let (store, key) = (self.share(), OwnedKey::of(key));
        Box::pin(blocking(move || {
            PersistentBackend::<V>::begin_refresh(&store, &key.borrow())
        }))
    }

    /// Encodes on the caller's thread, writes (and syncs, when durable) on a blocking one.
    #[cfg(feature = "tokio")]
    fn insert_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
        entry: &'a Entry<V>,
    ) -> super::BoxFuture<'a, Result<()>>
    where
        V: Send + Sync + 'a,
    {
        Box::pin(async move {
            let bytes = entry::encode(&self.formatter, key, entry)?;
            let namespace = ns_of(key.namespace).into_owned();
            let (store, id) = (self.share(), id_of(key));
            let times = table::Times::of(entry);
            blocking_write(move || {
                store
                    .write((&namespace, &id), &bytes, times, Put::Insert)
                    .map(drop)
            })
            .await
        })
    }
}

impl<F: Formatter> fmt::Debug for StoreBackend<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBackend")
            .field("dir", &self.dir)
            .field("durable", &self.durable)
            .field("max_entries", &self.bounds.max_entries)
            .field("max_size", &self.bounds.max_size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
