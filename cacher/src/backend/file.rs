//! One file per entry under a cache directory, written atomically.

mod index;
mod path;
mod write;

pub use self::path::InvalidPath;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::index::DiskIndex;
use self::path::{TEMP_PREFIX, join_checked};
use self::write::{is_older_than, read_whole, remove_file, write_atomic};
use super::PersistentBackend;
use crate::entry::{self, Entry, EntryKey};
use crate::error::{Error, Result};
use crate::format::{Formatter, JsonFormatter};

/// Maps a key to a path relative to the cache directory, extension included.
type FilenameFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Temporary files older than this are a crashed writer's leftovers, which `clear` deletes;
/// younger ones may belong to a writer still at work.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Stores each entry in its own file under `cache_dir`.
///
/// - The file is `<key>.<extension>` by default, or whatever [`filename_fn`](Self::filename_fn)
///   returns — e.g. `|key| format!("{}/{}.json", &key[..4], key)` shards a hashed key into
///   subdirectories, so that no directory grows to millions of files.
/// - Writes are atomic: the entry goes to a temporary file in the same directory
///   (`.cacher-tmp-…`), which is then renamed over the target. A reader sees the old entry or the
///   new one, never a torn one, even if the writer is killed. With [`durable`](Self::durable)
///   the file and its directory are also fsynced, so an entry survives power loss.
/// - Every read checks the entry's recorded key, namespace, version and type: an empty,
///   truncated, garbage or foreign file is a miss, never a wrong value.
/// - No key and no `filename_fn` output reaches outside `cache_dir`: a path with `..`, an absolute
///   path, an empty name or a control character is refused with [`Error::InvalidPath`].
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
    dir: PathBuf,
    formatter: F,
    filename_fn: Option<FilenameFn>,
    durable: bool,
    index: Option<DiskIndex>,
}

impl SeparateFileBackend<JsonFormatter> {
    /// Entries under `cache_dir`, as JSON, named `<key>.json`.
    #[must_use]
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: cache_dir.into(),
            formatter: JsonFormatter,
            filename_fn: None,
            durable: false,
            index: None,
        }
    }
}

impl<F: Formatter> SeparateFileBackend<F> {
    /// Encodes entries with `formatter` (which also sets the default extension).
    #[must_use]
    pub fn formatter<G: Formatter>(self, formatter: G) -> SeparateFileBackend<G> {
        SeparateFileBackend {
            dir: self.dir,
            formatter,
            filename_fn: self.filename_fn,
            durable: self.durable,
            index: self.index,
        }
    }

    /// Maps each key to a relative path, extension included (the attribute's `filename_fn`).
    #[must_use]
    pub fn filename_fn(mut self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.filename_fn = Some(Arc::new(f));
        self
    }

    /// Fsyncs each entry and its directory before a write returns, so entries survive power loss
    /// (at the cost of a disk flush per write). Off by default: a crash of the process never
    /// tears an entry either way.
    #[must_use]
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Keeps at most `max_entries` files, deleting the least recently used beyond that.
    ///
    /// The directory is listed once, at the first write, and then tracked in memory: writes
    /// never list it again. Recency is this process's (file modification times at the first
    /// listing); files that other processes add later are not counted by this one.
    ///
    /// A cache refuses `max_entries(0)` when it is built, with [`Error::Config`].
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.index = Some(DiskIndex::new(max_entries));
        self
    }

    /// The cache directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for `key`: `cache_dir` joined with the `filename_fn` output, or `<key>.<ext>`;
    /// [`Error::InvalidPath`] when the relative path would leave the directory or is not a
    /// valid file name.
    fn file_of(&self, key: &str) -> Result<PathBuf> {
        let relative = match &self.filename_fn {
            Some(f) => f(key),
            None => {
                let extension = self.formatter.extension();
                let mut name = String::with_capacity(key.len() + 1 + extension.len());
                name.push_str(key);
                name.push('.');
                name.push_str(extension);
                name
            }
        };
        Ok(join_checked(&self.dir, &relative)?)
    }

    fn read(&self, key: &EntryKey<'_>) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let path = self.file_of(key.key)?;
        match read_whole(&path) {
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Deletes every entry file of `namespace` below `dir`, stale temp files, and directories
    /// left empty.
    fn clear_dir(&self, dir: &Path, namespace: &str) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for item in entries {
            let item = item.map_err(|e| Error::io(dir, e))?;
            let path = item.path();
            let file_type = item.file_type().map_err(|e| Error::io(&path, e))?;
            if file_type.is_dir() {
                self.clear_dir(&path, namespace)?;
                // Fails harmlessly when the directory still holds other files.
                let _ = fs::remove_dir(&path);
            } else if file_type.is_file() && self.is_ours(&path, &item.file_name(), namespace) {
                remove_file(&path)?;
                if let Some(index) = &self.index {
                    index.forget(&path);
                }
            }
        }
        Ok(())
    }

    fn is_ours(&self, path: &Path, name: &std::ffi::OsStr, namespace: &str) -> bool {
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) {
            return is_older_than(path, STALE_TEMP_AGE);
        }
        fs::read(path).is_ok_and(|bytes| {
            entry::namespace_of(&self.formatter, &bytes).as_deref() == Some(namespace)
        })
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
        match &self.index {
            Some(index) if index.max_entries() == 0 => Err(Error::Config(
                "the file backend's max_entries must be at least 1".into(),
            )),
            _ => Ok(()),
        }
    }

    fn get(&self, key: &EntryKey<'_>) -> Result<Option<Entry<V>>> {
        let Some((path, bytes)) = self.read(key)? else {
            return Ok(None);
        };
        let entry = entry::decode(&self.formatter, key, &bytes, &path.display())?;
        if let Some(index) = &self.index {
            index.touch(&path);
        }
        Ok(Some(entry))
    }

    fn insert(&self, key: &EntryKey<'_>, entry: &Entry<V>) -> Result<()> {
        let path = self.file_of(key.key)?;
        let bytes = entry::encode(&self.formatter, key, entry)?;
        write_atomic(&path, &bytes, self.durable)?;
        if let Some(index) = &self.index {
            index.record(&self.dir, &path);
        }
        Ok(())
    }

    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let path = self.file_of(key.key)?;
        remove_file(&path)?;
        if let Some(index) = &self.index {
            index.forget(&path);
        }
        Ok(())
    }

    fn clear(&self, namespace: &str) -> Result<()> {
        self.clear_dir(&self.dir, namespace)
    }

    fn path_of(&self, key: &EntryKey<'_>) -> Option<PathBuf> {
        self.file_of(key.key).ok()
    }
}

impl<F: Formatter> fmt::Debug for SeparateFileBackend<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeparateFileBackend")
            .field("dir", &self.dir)
            .field("formatter", &self.formatter)
            .field("filename_fn", &self.filename_fn.is_some())
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::SeparateFileBackend;
    use crate::backend::PersistentBackend;
    use crate::{Cache, Error};

    #[test]
    fn max_entries_zero_is_refused_when_attached_never_panics() {
        let mut zero = SeparateFileBackend::new("unused").max_entries(0);
        let err = PersistentBackend::<u32>::attach(&mut zero, None).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        let mut one = SeparateFileBackend::new("unused").max_entries(1);
        assert!(PersistentBackend::<u32>::attach(&mut one, None).is_ok());

        let built = Cache::<u32, u32>::builder()
            .backend(SeparateFileBackend::new("unused").max_entries(0))
            .build();
        assert!(matches!(built, Err(Error::Config(_))));
    }
}
