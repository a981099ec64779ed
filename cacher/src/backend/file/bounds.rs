//! The file backend's options for what it keeps and how: `durable`, `max_entries`, `max_size`,
//! `max_entry_size`, `permissions`.

use super::SeparateFileBackend;
use super::index::DiskIndex;
#[cfg(unix)]
use super::root::Modes;
use crate::format::Formatter;

impl<F: Formatter> SeparateFileBackend<F> {
    /// Fsyncs each entry and its directory before a write returns, so entries survive power loss
    /// (at the cost of a disk flush per write). Off by default: a crash of the process never
    /// tears an entry either way.
    #[must_use]
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Keeps at most `max_entries` of this cache's entries, deleting the least recently used
    /// beyond that.
    ///
    /// The directory is listed once, at the first write, and then tracked in memory: writes
    /// never list it again. The listing counts only this cache's entries — its namespace and
    /// version, recognised by their header — so a user's files and other caches' entries in a
    /// shared directory are never counted nor deleted. Recency is this process's (file
    /// modification times at the first listing); entries that other processes add later are not
    /// counted by this one. Entries another process removes (its `remove` or `clear`, `cacher
    /// clear` or `prune`) count until this one finds them gone — a read of their key, or its
    /// eviction of them, which is not counted as one in the stats: this process's entries on
    /// disk never pass the bound, and may stay under it for a while after such a removal.
    ///
    /// A cache refuses `max_entries(0)` when it is built, with [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        let index = self.index.take().unwrap_or_else(DiskIndex::new);
        self.index = Some(index.with_max_entries(max_entries));
        self
    }

    /// Keeps at most `bytes` of this cache's entry files (their lengths; the file system rounds
    /// each up to its blocks), deleting the least recently used beyond that; the entry just
    /// written always stays. Tracked like [`max_entries`](Self::max_entries), with which it
    /// combines: the same index, the same recency, the same reach (this process's writes).
    /// `max_size = "1GiB"` in the attribute.
    ///
    /// A cache refuses `max_size(0)` when it is built, with [`Error::Config`](crate::Error::Config).
    ///
    /// ```
    /// let files = cacher::SeparateFileBackend::new("cache").max_size(512 << 20); // 512 MiB
    /// # let _ = files;
    /// ```
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        let index = self.index.take().unwrap_or_else(DiskIndex::new);
        self.index = Some(index.with_max_size(bytes));
        self
    }

    /// The largest entry file read or written, in bytes ([`Self::DEFAULT_MAX_ENTRY_SIZE`], 256 MiB,
    /// by default). A larger file at an entry's path is a miss, reported as
    /// [`Error::Corrupt`](crate::Error::Corrupt), and is never read (a sparse file of terabytes costs one `fstat`); a
    /// value whose entry would be larger is not stored ([`Error::Io`](crate::Error::Io), `FileTooLarge`), and is
    /// still returned to its caller.
    ///
    /// A cache refuses `max_entry_size(0)` when it is built, with [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub fn max_entry_size(mut self, bytes: u64) -> Self {
        self.max_entry_size = bytes;
        self
    }

    /// Creates entries with the Unix permission bits `mode` (`0o600` by default: only the user
    /// can read them), and directories with `mode` plus the search bit of each class that may
    /// read — `permissions(0o640)` shares the cache with the user's group: entries `0o640`,
    /// directories `0o750`. As for any file, the process's umask removes its bits from these.
    /// Existing directories, the cache directory among them, are left as they are.
    ///
    /// A cache refuses a mode with bits other than `0o777`, or without `0o600` (the cache must
    /// read and write its own entries), when it is built, with [`Error::Config`](crate::Error::Config).
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::fs::PermissionsExt as _;
    /// use cacher::{Cache, SeparateFileBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let cache: Cache<u32, u32> = Cache::builder()
    ///     .backend(SeparateFileBackend::new(dir.path()).permissions(0o640))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(&1, 1).unwrap();
    /// let mode = std::fs::metadata(cache.path_of(&1).unwrap()).unwrap().permissions().mode();
    /// assert_eq!(mode & 0o707, 0o600); // the group bits are the umask's to decide
    /// # }
    /// ```
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    #[must_use]
    pub fn permissions(mut self, mode: u32) -> Self {
        self.modes = Modes::shared(mode);
        self
    }
}
