//! One file per entry under a cache directory, written atomically, read and deleted only beneath
//! it.

#[cfg(feature = "tokio")]
mod blocking;
mod bounds;
mod generations;
mod header;
mod index;
mod list;
mod path;
mod root;
mod store;
mod sweep;
mod write;

pub use self::path::InvalidPath;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::generations::Moved;
use self::index::DiskIndex;
use self::path::check_relative;
pub(crate) use self::path::version_dir;
use self::root::{Modes, Root};
use self::store::Times;
use self::sweep::Owner;
use self::write::{Content, read_entry, remove_file};
use super::{Generation, PersistentBackend, Put};
use crate::entry::{self, Entry, EntryKey};
use crate::error::{Error, Result};
use crate::format::{Formatter, JsonFormatter};

/// Maps a key to a path relative to the cache directory, extension included.
type FilenameFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Stores each entry in its own file under `cache_dir`.
///
/// - The file is `<key>.<extension>` by default, or whatever [`filename_fn`](Self::filename_fn)
///   returns — e.g. `|key| format!("{}/{}.json", &key[..4], key)` shards a hashed key into
///   subdirectories, so that no directory grows to millions of files. The entries of a cache
///   with a [`version`](crate::CacheBuilder::version) live in a directory of that version,
///   `v=<version>/` (`v#<hash>/` when the version is not a short plain name), so two versions
///   sharing a directory — a rolling deploy — keep their entries side by side.
/// - Writes are atomic: the entry goes to a temporary file in the same directory
///   (`.cacher-tmp-…`), which is then renamed over the target. A reader sees the old entry or the
///   new one, never a torn one, even if the writer is killed. With [`durable`](Self::durable)
///   the file and its directory are also fsynced, so an entry survives power loss.
/// - Every read checks the entry's recorded key, namespace, version and type: an empty,
///   truncated, garbage or foreign file is a miss, never a wrong value. Only a regular file of at
///   most [`max_entry_size`](Self::max_entry_size) bytes is read, and opening it never blocks:
///   a FIFO, a device, a directory or an oversized file at an entry's path is a miss, reported.
/// - Nothing is read, written or deleted outside `cache_dir`. A key or `filename_fn` output that
///   would leave it, or that is not a valid name on Linux, macOS and Windows alike (`..`, an
///   absolute path, `\`, `:`, `a.`, a trailing space, a control or bidirectional control
///   character, a device name like `con`, …), or that is more than 31 directories deep (deeper
///   than `clear` looks), is refused with [`Error::InvalidPath`]. And every
///   path is resolved beneath the directory's open handle (the `cap-std` crate; `openat2` with
///   `RESOLVE_BENEATH` on Linux): a symlink planted inside that leads out makes the operation
///   fail, it never reaches the file it points to.
/// - [`clear`](PersistentBackend::clear) and [`max_entries`](Self::max_entries) touch only this
///   cache's files in a directory they may share: regular files whose first 4 KiB (more, up to
///   1 MiB, for a file that starts as an entry whose namespace or version is that long) hold an
///   entry header of the cache's namespace (named `*.<extension>` when names are the default),
///   and temporary files. A user's files, other namespaces' entries and directories this cache
///   did not empty stay. A header is all they read of a file.
/// - On Unix, entries are created `0o600` and directories `0o700`, private to the user; see
///   [`permissions`](Self::permissions) to share them.
/// - Directories are created on the first write, so a cache whose directory is missing or
///   unwritable still works — as a miss, reported in a warning and in the stats.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, HashKeyer, SeparateFileBackend};
/// use cacher::format::JsonFormatter;
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<String, u64> = Cache::builder()
///     .keyer(HashKeyer)
///     .backend(
///         SeparateFileBackend::new(dir.path())
///             .formatter(JsonFormatter)
///             // First four characters of the hashed key as a subdirectory.
///             .filename_fn(|key| format!("{}/{}.json", &key[..4], key)),
///     )
///     .build()
///     .unwrap();
/// assert_eq!(cache.get_or_compute("answer", || 42), 42);
/// let path = cache.path_of("answer").unwrap();
/// assert!(path.starts_with(dir.path()) && path.exists());
/// ```
pub struct SeparateFileBackend<F = JsonFormatter> {
    /// Shared with the copies that async calls hand to blocking threads.
    root: Arc<Root>,
    formatter: F,
    filename_fn: Option<FilenameFn>,
    durable: bool,
    modes: Modes,
    max_entry_size: u64,
    index: Option<DiskIndex>,
    /// The directory of the version seen first (a cache has one), with that version.
    version_dir: OnceLock<(String, String)>,
}

impl SeparateFileBackend<JsonFormatter> {
    /// Entries under `cache_dir`, as JSON, named `<key>.json`. Nothing is opened or created
    /// until the first lookup.
    #[must_use]
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            root: Arc::new(Root::new(cache_dir.into())),
            formatter: JsonFormatter,
            filename_fn: None,
            durable: false,
            modes: Modes::PRIVATE,
            max_entry_size: Self::DEFAULT_MAX_ENTRY_SIZE,
            index: None,
            version_dir: OnceLock::new(),
        }
    }
}

impl<F: Formatter> SeparateFileBackend<F> {
    /// The default [`max_entry_size`](Self::max_entry_size): 256 MiB.
    pub const DEFAULT_MAX_ENTRY_SIZE: u64 = 256 * 1024 * 1024;

    /// Encodes entries with `formatter` (which also sets the default extension).
    #[must_use]
    pub fn formatter<G: Formatter>(self, formatter: G) -> SeparateFileBackend<G> {
        SeparateFileBackend {
            root: self.root,
            formatter,
            filename_fn: self.filename_fn,
            durable: self.durable,
            modes: self.modes,
            max_entry_size: self.max_entry_size,
            index: self.index,
            version_dir: self.version_dir,
        }
    }

    /// Maps each key to a relative path, extension included (the attribute's `filename_fn`).
    /// Components are separated by `/`; see the type's documentation for the names refused.
    /// A panic in `f` refuses the key's path as a bad name is refused: the call still returns
    /// the function's value, and the failure is logged and counted.
    #[must_use]
    pub fn filename_fn(mut self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.filename_fn = Some(Arc::new(f));
        self
    }

    /// The cache directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The path of `key`'s entry relative to the cache directory: the version's directory, if
    /// any, then the `filename_fn` output or `<key>.<ext>`, refused with [`Error::InvalidPath`]
    /// when it would leave the directory or is not a portable name.
    fn relative(&self, key: &EntryKey<'_>) -> Result<String> {
        let version = key.version.map(|v| self.version_dir(v));
        let prefix = version.as_ref().map_or(0, |dir| dir.len() + 1);
        let mut rel = match &self.filename_fn {
            Some(f) => {
                let name = path::output_of(&**f, key.key)?;
                check_relative(&name)?;
                name
            }
            None => {
                let extension = self.formatter.extension();
                let mut rel = String::with_capacity(prefix + key.key.len() + 1 + extension.len());
                if let Some(dir) = &version {
                    rel.push_str(dir);
                    rel.push('/');
                }
                rel.push_str(key.key);
                rel.push('.');
                rel.push_str(extension);
                check_relative(&rel[prefix..])?;
                return Ok(rel);
            }
        };
        if let Some(dir) = version {
            rel.insert(0, '/');
            rel.insert_str(0, &dir);
        }
        Ok(rel)
    }

    fn version_dir(&self, version: &str) -> std::borrow::Cow<'_, str> {
        let (seen, dir) = self
            .version_dir
            .get_or_init(|| (version.to_owned(), version_dir(version)));
        if seen == version {
            dir.as_str().into()
        } else {
            version_dir(version).into()
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn owner<'a>(&self, key: &EntryKey<'a>) -> Owner<'a> {
        Owner {
            namespace: key.namespace,
            version: Some(key.version),
            extension: match self.filename_fn {
                Some(_) => None,
                None => Some(self.formatter.extension()),
            },
        }
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let content = self.root.open(None).and_then(|root| {
            root.map_or(Ok(Content::Missing), |root| {
                read_entry(&root, rel, self.max_entry_size)
            })
        });
        match content {
            Ok(Content::Bytes(bytes)) => Ok(Some(bytes)),
            Ok(Content::Missing) => Ok(None),
            Ok(Content::Refused(why)) => {
                Err(Error::corrupt(self.path(rel).display().to_string(), why))
            }
            Err(e) => Err(Error::io(self.path(rel), e)),
        }
    }

    /// Whether no file is at `rel` now.
    fn gone(&self, rel: &str) -> bool {
        match self.root.open(None) {
            Ok(Some(root)) => root
                .symlink_metadata(rel)
                .is_err_and(|e| e.kind() == io::ErrorKind::NotFound),
            Ok(root) => root.is_none(),
            Err(_) => false,
        }
    }

    fn check_config(&self) -> Result<()> {
        let refuse = |what: &str| Err(Error::Config(format!("the file backend's {what}")));
        if self
            .index
            .as_ref()
            .is_some_and(|index| index.max_entries() == Some(0))
        {
            return refuse("max_entries must be at least 1");
        }
        if self
            .index
            .as_ref()
            .is_some_and(|index| index.max_size() == Some(0))
        {
            return refuse("max_size must be at least 1 byte");
        }
        if self.max_entry_size == 0 {
            return refuse("max_entry_size must be at least 1");
        }
        if self.modes.file & !0o777 != 0 || self.modes.file & 0o600 != 0o600 {
            return refuse("permissions must be within 0o777 and include 0o600");
        }
        Ok(())
    }
}

impl<F, V> PersistentBackend<V> for SeparateFileBackend<F>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        "file"
    }

    fn attach(&mut self, _retention: Option<Duration>) -> Result<()> {
        self.check_config()
    }

    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>> {
        let rel = self.relative(key)?;
        let Some(bytes) = self.read(&rel)? else {
            if let Some(index) = &self.index {
                index.forget_gone(&rel, || self.gone(&rel));
            }
            return Ok(None);
        };
        let location = Location(self.root.path(), &rel);
        let Some(entry) = entry::decode_current(&self.formatter, key, &bytes, &location)? else {
            return Ok(None);
        };
        if let Some(index) = &self.index {
            index.touch(&rel);
        }
        Ok(Some(entry))
    }

    /// Moves the key's generation, then renames the entry's file in.
    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()> {
        let bytes = entry::encode(&self.formatter, key, entry)?;
        self.store_encoded(key, (&bytes, Times::of(entry)), Put::Insert)
            .map(drop)
    }

    /// Links the entry's file in only if the key has none (`link` fails on an existing name,
    /// where a rename would replace it) and was not invalidated since `since`, holding the
    /// lock of its generations file.
    fn fill(&self, key: &EntryKey<'_>, entry: &Entry<V>, since: Generation) -> Result<bool> {
        let bytes = entry::encode(&self.formatter, key, entry)?;
        self.store_encoded(key, (&bytes, Times::of(entry)), Put::Fill(since))
    }

    /// Read from the directory's generations files (`.cacher-locks/generations-XX`), which it
    /// makes if missing.
    fn generation(&self, key: &EntryKey<'_>) -> Result<Generation> {
        let rel = self.relative(key)?;
        self.with_root(|root| generations::read(root, &rel, self.modes))
            .map_err(|e| Error::io(self.path(&rel), e))
    }

    /// Renames the entry's file in only while the key's generation is `since`, holding the lock
    /// of its generations file.
    fn insert_since(
        &self,
        key: &EntryKey<'_>,
        entry: &Entry<V>,
        since: Generation,
    ) -> Result<bool> {
        let bytes = entry::encode(&self.formatter, key, entry)?;
        self.store_encoded(key, (&bytes, Times::of(entry)), Put::Since(since))
    }

    /// Moves the key's generation in its generations file, leaving its entry.
    fn begin_refresh(&self, key: &EntryKey<'_>) -> Result<()> {
        let rel = self.relative(key)?;
        let moved = self.invalidate(&Moved::Key(&rel), |_| Ok(()));
        moved.map_err(|e| Error::io(self.path(&rel), e))
    }

    /// Moves the key's generation, then removes its file.
    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let rel = self.relative(key)?;
        // In the directory whose generation the invalidation moved: one look at the path.
        let moved = self.invalidate(&Moved::Key(&rel), |root| match root {
            Some(root) => remove_file(root, &rel),
            None => Ok(()),
        });
        moved.map_err(|e| Error::io(self.path(&rel), e))?;
        if let Some(index) = &self.index {
            index.forget(&rel);
        }
        Ok(())
    }

    /// Removes this namespace's entries (of every version) and stale temporary files, going on
    /// past any it cannot remove; then reports those: [`Error::Io`] at the first, whose message
    /// says how many there were.
    fn clear(&self, namespace: &str) -> Result<()> {
        let root = match self.root.current(None) {
            Ok(Some(root)) => root,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::io(self.root.path(), e)),
        };
        // Cleared even if a generation could not be moved: the move's failure is reported after.
        let moved = generations::bump(&root, &Moved::All, self.modes, || ());
        let owner = Owner {
            namespace,
            version: None,
            extension: self
                .filename_fn
                .is_none()
                .then(|| self.formatter.extension()),
        };
        let cleared = sweep::clear(&root, &self.formatter, owner);
        if let Some(index) = &self.index {
            cleared.removed.iter().for_each(|rel| index.forget(rel));
        }
        match cleared.first_failure {
            None => moved.map_err(|e| Error::io(self.root.path(), e)),
            Some((rel, first)) => {
                let message = format!(
                    "{} of this cache's files could not be deleted; the first: {first}",
                    cleared.failed
                );
                Err(Error::io(
                    self.path(&rel),
                    io::Error::new(first.kind(), message),
                ))
            }
        }
    }

    fn listing(&self) -> Option<&dyn super::Listing> {
        Some(self)
    }

    fn path_of(&self, key: &EntryKey<'_>) -> Option<PathBuf> {
        self.relative(key).ok().map(|rel| self.path(&rel))
    }

    fn lock_dir(&self) -> Option<PathBuf> {
        Some(self.root.path().to_owned())
    }

    fn evictions(&self) -> u64 {
        self.index.as_ref().map_or(0, DiskIndex::evicted)
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
        Box::pin(blocking::get(self.share(), key))
    }

    /// Reads (and makes, if missing) the generations file on a blocking thread.
    #[cfg(feature = "tokio")]
    fn generation_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<Generation>> {
        Box::pin(blocking::generation::<F, V>(self.share(), key))
    }

    /// Moves the generation on a blocking thread.
    #[cfg(feature = "tokio")]
    fn begin_refresh_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
    ) -> super::BoxFuture<'a, Result<()>> {
        Box::pin(blocking::begin_refresh::<F, V>(self.share(), key))
    }

    /// Encodes on the caller's thread, writes (and fsyncs, when durable) on a blocking one.
    #[cfg(feature = "tokio")]
    fn insert_async<'a>(
        &'a self,
        key: &'a EntryKey<'a>,
        entry: &'a Entry<V>,
    ) -> super::BoxFuture<'a, Result<()>>
    where
        V: Send + Sync + 'a,
    {
        Box::pin(blocking::insert(self, key, entry))
    }
}

/// Where an entry is, for messages: written only when one is.
struct Location<'a>(&'a Path, &'a str);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.join(self.1).display())
    }
}

impl<F: Formatter> fmt::Debug for SeparateFileBackend<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeparateFileBackend")
            .field("dir", &self.root.path())
            .field("formatter", &self.formatter)
            .field("filename_fn", &self.filename_fn.is_some())
            .field("durable", &self.durable)
            .field("max_entry_size", &self.max_entry_size)
            .finish_non_exhaustive()
    }
}
