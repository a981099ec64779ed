//! A lock file per key, for single-flight across the processes of one machine.

use std::collections::HashMap;
use std::fmt;
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use super::{FlightGuard, FlightLock};
use crate::error::{Error, Result};

/// The folder of lock files inside the directory a [`FileLock`] is given. Its files are empty,
/// so no backend ever takes one for an entry: the file backend's sweeps own only files whose
/// header names their namespace.
///
/// ```
/// use cacher::lock::{FileLock, FlightLock, LOCK_DIR};
///
/// let dir = tempfile::tempdir().unwrap();
/// let lock = FileLock::new(dir.path());
/// let held = lock.lock("app::f/1").unwrap();
/// assert!(held.is_some() && dir.path().join(LOCK_DIR).is_dir());
/// ```
pub const LOCK_DIR: &str = ".cacher-locks";

/// How many lock files there are at most: a key's lock is one of them, chosen by its name's
/// hash. Two keys sharing one only wait for each other (within the bound); the folder never
/// grows beyond this many empty files.
///
/// ```
/// assert_eq!(cacher::lock::LOCK_FILES, 4096);
/// ```
pub const LOCK_FILES: u64 = 4096;

/// Default [`FileLock::wait_timeout`], and the one a cache gives the lock it makes for a disk
/// tier is its own `wait_timeout`.
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest sleep between two tries while another process holds the lock.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// A lock shared by the processes of one machine: an exclusive lock (`flock`/`LockFileEx`,
/// through std's [`File::try_lock`]) on a file in the [`LOCK_DIR`] folder of a directory.
///
/// A cache whose tiers include a [`SeparateFileBackend`](crate::SeparateFileBackend) or a
/// [`StoreBackend`](crate::StoreBackend) takes one by default, in that tier's directory, with
/// the cache's [`wait_timeout`](crate::CacheBuilder::wait_timeout): processes that miss one key
/// at once run the function once, and the others read what it stored. An explicit
/// [`cross_process_lock`](crate::CacheBuilder::cross_process_lock) replaces it.
///
/// - Every wait is bounded: std's `File::lock` has no timeout, so the lock is tried, then tried
///   again after a sleep that doubles up to 20 ms, until [`wait_timeout`](Self::wait_timeout)
///   passes; the cache then runs the function itself.
/// - A holder that dies (even by `kill -9`) releases at once: the operating system drops the
///   locks of a closed file.
/// - The lock files are opened beneath the directory's handle (cap-std), never through a link
///   planted in it, and never deleted (deleting a lock file another process has open would let
///   two holders in).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::lock::{FileLock, FlightLock};
///
/// let dir = tempfile::tempdir().unwrap();
/// let lock = FileLock::new(dir.path()).wait_timeout(Duration::from_millis(50));
/// let held = lock.lock("app::f/7").unwrap();
/// assert!(held.is_some());
/// // Another holder would wait 50 ms, then go on without it (`Ok(None)`).
/// let other = FileLock::new(dir.path()).wait_timeout(Duration::from_millis(50));
/// assert!(other.lock("app::f/7").unwrap().is_none());
/// drop(held);
/// assert!(other.lock("app::f/7").unwrap().is_some());
/// ```
pub struct FileLock {
    path: PathBuf,
    wait_timeout: Duration,
    dir: RwLock<Option<Opened>>,
}

/// The lock folder, open, and the directory's canonical path: what [`HELD`] knows it by, so
/// that two spellings of one directory (`cache`, `./cache`, a symlink) are one.
type Opened = (Arc<Dir>, Arc<PathBuf>);

impl FileLock {
    /// Lock files in the [`LOCK_DIR`] folder of `dir`, which is created, with its parents, at
    /// the first lock.
    ///
    /// ```
    /// use cacher::{Cache, SeparateFileBackend, lock::FileLock};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// // What a file tier takes by default, given explicitly (here: a shorter wait).
    /// let cache: Cache<u32, u32> = Cache::builder()
    ///     .backend(SeparateFileBackend::new(dir.path()))
    ///     .cross_process_lock(FileLock::new(dir.path()).wait_timeout(std::time::Duration::from_secs(5)))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(cache.get_or_compute(&2, || 4), 4);
    /// ```
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            path: dir.into(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            dir: RwLock::new(None),
        }
    }

    /// How long a caller waits for another holder before going on without the lock. Default:
    /// 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = cacher::lock::FileLock::new("cache").wait_timeout(Duration::from_secs(5));
    /// # let _ = lock;
    /// ```
    #[must_use]
    pub fn wait_timeout(mut self, bound: Duration) -> Self {
        self.wait_timeout = bound;
        self
    }

    /// The folder of lock files, opened once.
    fn locks(&self) -> io::Result<Opened> {
        if let Some(opened) = &*self.dir.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(opened.clone());
        }
        crate::private_dir::create(&self.path)?;
        let root = Dir::open_ambient_dir(&self.path, ambient_authority())?;
        let mut builder = cap_std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        cap_std::fs::DirBuilderExt::mode(&mut builder, 0o700);
        root.create_dir_with(LOCK_DIR, &builder)?;
        let dir = Arc::new(root.open_dir(LOCK_DIR)?);
        let path = Arc::new(self.path.canonicalize()?);
        let opened = (dir, path);
        *self.dir.write().unwrap_or_else(PoisonError::into_inner) = Some(opened.clone());
        Ok(opened)
    }

    /// The lock file of `name`, open; the directory opened anew once if it was removed or
    /// replaced since it was opened.
    fn file(&self, name: &str) -> io::Result<(File, Arc<PathBuf>)> {
        self.open_file(name).or_else(|_| {
            *self.dir.write().unwrap_or_else(PoisonError::into_inner) = None;
            self.open_file(name)
        })
    }

    fn open_file(&self, name: &str) -> io::Result<(File, Arc<PathBuf>)> {
        let stripe = stripe(name);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let (dir, path) = self.locks()?;
        let file = dir.open_with(format!("{stripe:03x}.lock"), &options)?;
        Ok((file.into_std(), path))
    }

    /// Tries until the bound: the file, locked, or `None`. `None` at once when another key of
    /// this process holds the same lock file: it may be the caller's own caller (a cached
    /// function calling another whose key shares the file), which would otherwise wait the whole
    /// bound for itself.
    fn acquire(&self, name: &str) -> io::Result<Option<Held>> {
        let (file, path) = self.file(name)?;
        let slot = (path, stripe(name));
        let deadline = Instant::now().checked_add(self.wait_timeout);
        let mut pause = Duration::from_micros(500);
        loop {
            if HELD
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&slot)
                .is_some_and(|key| key != name)
            {
                return Ok(None);
            }
            match file.try_lock() {
                Ok(()) => {
                    HELD.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(slot.clone(), name.to_owned());
                    return Ok(Some(Held { _file: file, slot }));
                }
                Err(TryLockError::Error(e)) => return Err(e),
                Err(TryLockError::WouldBlock) => {}
            }
            let now = Instant::now();
            let left = deadline.map_or(pause, |deadline| deadline.saturating_duration_since(now));
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }

    /// The directory the lock files are under.
    ///
    /// ```
    /// let lock = cacher::lock::FileLock::new("cache");
    /// assert_eq!(lock.dir(), std::path::Path::new("cache"));
    /// ```
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.path
    }
}

/// The lock file (of a directory) that holds `name`'s lock.
fn stripe(name: &str) -> u64 {
    let hash = blake3::hash(name.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes")) % LOCK_FILES
}

/// The lock files this process holds, by directory and number, with the key each holds.
static HELD: LazyLock<Mutex<HashMap<Slot, String>>> = LazyLock::new(Default::default);

/// A lock file: its directory's canonical path and its number.
type Slot = (Arc<PathBuf>, u64);

/// A held lock file: unlocked (the file closed) and forgotten by [`HELD`] when dropped.
struct Held {
    _file: File,
    slot: Slot,
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.slot);
    }
}

impl FlightLock for FileLock {
    fn lock(&self, name: &str) -> Result<Option<FlightGuard<'_>>> {
        match self.acquire(name) {
            Ok(Some(held)) => Ok(Some(Box::new(held))),
            Ok(None) => Ok(None),
            Err(e) => Err(Error::io(self.path.join(LOCK_DIR), e)),
        }
    }

    #[cfg(feature = "tokio")]
    fn lock_async<'a>(
        &'a self,
        name: &'a str,
    ) -> super::BoxFuture<'a, Result<Option<FlightGuard<'a>>>> {
        Box::pin(async move {
            if !crate::future::in_runtime() {
                return self.lock(name);
            }
            let lock = Self {
                path: self.path.clone(),
                wait_timeout: self.wait_timeout,
                // The open folder if there is one; else the blocking task opens it.
                dir: RwLock::new(
                    self.dir
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                ),
            };
            let name = name.to_owned();
            // The wait sleeps: off the executor's threads (run here if a runtime shutting down
            // drops it unrun, as every blocking step of an async call).
            match crate::future::blocking(move || lock.acquire(&name)).await {
                Ok(Some(held)) => Ok(Some(Box::new(held) as FlightGuard<'a>)),
                Ok(None) => Ok(None),
                Err(e) => Err(Error::io(self.path.join(LOCK_DIR), e)),
            }
        })
    }
}

impl fmt::Debug for FileLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileLock")
            .field("dir", &self.path)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{FileLock, stripe};
    use crate::lock::FlightLock;

    #[test]
    fn a_key_sharing_a_lock_file_with_one_this_process_holds_does_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let lock = FileLock::new(dir.path()).wait_timeout(Duration::from_secs(30));
        let other = (0..)
            .map(|i| format!("k{i}"))
            .find(|name| stripe(name) == stripe("a"))
            .unwrap();
        let held = lock.lock("a").unwrap();
        assert!(held.is_some());
        let start = Instant::now();
        // Perhaps held by its own caller: go on without it, at once.
        assert!(lock.lock(&other).unwrap().is_none());
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(held);
        assert!(lock.lock(&other).unwrap().is_some());
    }

    #[test]
    fn two_spellings_of_one_directory_know_each_others_held_locks() {
        let dir = tempfile::tempdir().unwrap();
        let plain = FileLock::new(dir.path()).wait_timeout(Duration::from_secs(30));
        let dotted = FileLock::new(dir.path().join(".")).wait_timeout(Duration::from_secs(30));
        let other = (0..)
            .map(|i| format!("k{i}"))
            .find(|name| stripe(name) == stripe("a"))
            .unwrap();
        let held = plain.lock("a").unwrap();
        assert!(held.is_some());
        let start = Instant::now();
        assert!(dotted.lock(&other).unwrap().is_none());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "waited for its own process"
        );
    }
}
