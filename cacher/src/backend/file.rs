//! One file per entry under a cache directory, written atomically.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Backend;
use super::path::{TEMP_PREFIX, safe_relative_path};
use crate::entry::{self, Entry, EntryKey};
use crate::error::{Error, Result};
use crate::format::{Formatter, JsonFormatter};
use crate::policy::limit::DiskIndex;

/// Maps a key to a path relative to the cache directory, extension included.
pub type FilenameFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Temporary files older than this are a crashed writer's leftovers, which `clear` deletes;
/// younger ones may belong to a writer still at work.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Stores each entry in its own file under `cache_dir`: the seed's `SeparateFileBackend`.
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

    /// Maps each key to a relative path, extension included (the seed's `filename_fn`).
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
    /// # Panics
    /// If `max_entries` is 0.
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        assert!(max_entries > 0, "max_entries must be at least 1");
        self.index = Some(DiskIndex::new(max_entries));
        self
    }

    /// The cache directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for `key`: `cache_dir` joined with the `filename_fn` output, or `<key>.<ext>`.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] when the relative path would leave the directory or is not a
    /// valid file name.
    pub fn path_for(&self, key: &str) -> Result<PathBuf> {
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
        // Every lookup makes a path: the names keyers and usual `filename_fn`s return are
        // checked by a quick scan, and anything unusual by the full rules.
        if let Some(path) = join_plain(&self.dir, &relative) {
            return Ok(path);
        }
        Ok(self.dir.join(safe_relative_path(&relative)?))
    }

    fn read(&self, key: &EntryKey<'_>) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let path = self.path_for(key.key)?;
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

impl<F, V> Backend<V> for SeparateFileBackend<F>
where
    F: Formatter,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        "file"
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
        let path = self.path_for(key.key)?;
        let bytes = entry::encode(&self.formatter, key, entry)?;
        write_atomic(&path, &bytes, self.durable)?;
        if let Some(index) = &self.index {
            index.record(&self.dir, &path);
        }
        Ok(())
    }

    fn remove(&self, key: &EntryKey<'_>) -> Result<()> {
        let path = self.path_for(key.key)?;
        remove_file(&path)?;
        if let Some(index) = &self.index {
            index.forget(&path);
        }
        Ok(())
    }

    fn clear(&self, namespace: &str) -> Result<()> {
        self.clear_dir(&self.dir, namespace)
    }

    fn path(&self, key: &EntryKey<'_>) -> Option<PathBuf> {
        self.path_for(key.key).ok()
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

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so the
/// file is replaced whole or not at all.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = temp_path(dir);
    let mut file = match create_new(&temp) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            create_new(&temp)
        }
        other => other,
    }
    .map_err(|e| Error::io(&temp, e))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| if durable { file.sync_all() } else { Ok(()) });
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    if durable {
        // The rename is only durable once the directory itself is flushed.
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// The whole content of a file, as `fs::read` — without its `stat` for the size, a syscall that
/// costs about as much as the read itself: the first read asks for up to [`FIRST_READ`] bytes,
/// which holds most entries (the next read returns 0, the end), and only a larger file goes on
/// with `read_to_end`.
fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(FIRST_READ);
    (&mut file)
        .take(FIRST_READ as u64)
        .read_to_end(&mut bytes)?;
    if bytes.len() == FIRST_READ {
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// The bytes [`read_whole`] asks for first.
const FIRST_READ: usize = 8 * 1024;

/// `dir` joined with `relative` when `relative` is plainly a safe relative path: `/`-separated
/// components of at most 255 bytes made only of ASCII letters, digits and `-._%+,@()[]{}!'=_`, no
/// component `.` or `..`, none starting like a Windows device name (`con`, `prn`, `aux`, `nul`,
/// `com…`, `lpt…`), the last not starting with `.` (temporary files). `None` for anything else,
/// which [`safe_relative_path`] then judges: for every path accepted here it returns the same
/// components, so the result is the same path, with one allocation instead of several.
fn join_plain(dir: &Path, relative: &str) -> Option<PathBuf> {
    fn plain_component(part: &[u8]) -> bool {
        let device_like = part.len() >= 3
            && matches!(
                [
                    part[0].to_ascii_lowercase(),
                    part[1].to_ascii_lowercase(),
                    part[2].to_ascii_lowercase()
                ],
                [b'c', b'o', b'n']
                    | [b'p', b'r', b'n']
                    | [b'a', b'u', b'x']
                    | [b'n', b'u', b'l']
                    | [b'c', b'o', b'm']
                    | [b'l', b'p', b't']
            );
        !part.is_empty() && part.len() <= 255 && part != b"." && part != b".." && !device_like
    }
    let bytes = relative.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {}
            b'-' | b'.' | b'_' | b'%' | b'+' | b',' | b'@' | b'(' | b')' | b'[' | b']' | b'{'
            | b'}' | b'!' | b'\'' | b'=' => {}
            b'/' => {
                if !plain_component(&bytes[start..i]) {
                    return None;
                }
                start = i + 1;
            }
            _ => return None,
        }
    }
    let last = &bytes[start..];
    if !plain_component(last) || last[0] == b'.' {
        return None;
    }
    let mut path = PathBuf::with_capacity(dir.as_os_str().len() + relative.len() + 1);
    path.push(dir);
    for part in relative.split('/') {
        path.push(part);
    }
    Some(path)
}

fn create_new(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// A name no other writer, in this process or another, is using at the same moment.
fn temp_path(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(temp_name(std::process::id(), n, nanos))
}

/// `.cacher-tmp-<pid>-<n>-<nanos as 8 hex digits>`, written without the formatting machinery
/// (`format!` cost as much as the rest of a write's user-space work).
fn temp_name(pid: u32, n: u64, nanos: u32) -> String {
    fn push_decimal(out: &mut String, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.extend(digits[i..].iter().map(|&d| char::from(d)));
    }
    let mut name = String::with_capacity(TEMP_PREFIX.len() + 40);
    name.push_str(TEMP_PREFIX);
    push_decimal(&mut name, u64::from(pid));
    name.push('-');
    push_decimal(&mut name, n);
    name.push('-');
    for shift in (0..8).rev() {
        name.push(char::from(
            b"0123456789abcdef"[(nanos >> (shift * 4)) as usize & 0xf],
        ));
    }
    name
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

fn is_older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed >= age)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::{FIRST_READ, TEMP_PREFIX, join_plain, read_whole, temp_name};

    #[test]
    fn temp_names_read_as_before() {
        for (pid, n, nanos) in [(0, 0, 0), (1, 7, 0xab), (4_294_967_295, u64::MAX, u32::MAX)] {
            assert_eq!(
                temp_name(pid, n, nanos),
                format!("{TEMP_PREFIX}{pid}-{n}-{nanos:08x}")
            );
        }
    }
    use crate::backend::path::safe_relative_path;

    #[test]
    fn read_whole_reads_like_fs_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for len in [
            0,
            1,
            300,
            FIRST_READ - 1,
            FIRST_READ,
            FIRST_READ + 1,
            3 * FIRST_READ + 7,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read_whole(&path).unwrap(), bytes, "{len} bytes");
        }
        let missing = read_whole(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn plain_paths_join_like_the_full_check() {
        let dir = Path::new("/cache/dir");
        for rel in [
            "a.json",
            "ab/cd/0123abcd.json",
            "user_id=1_n=2.bin",
            "%2Fposts_1.json",
        ] {
            assert_eq!(
                join_plain(dir, rel),
                Some(dir.join(safe_relative_path(rel).unwrap())),
                "{rel}"
            );
        }
        for rel in [
            "",
            "/a",
            "a//b",
            "a/",
            "../a",
            "a/./b",
            "con.json",
            "x/.cacher-tmp-1",
            "a:b",
        ] {
            assert_eq!(join_plain(dir, rel), None, "{rel:?}");
        }
    }

    proptest! {
        /// The quick scan only ever accepts what the full rules accept, as the same path.
        #[test]
        fn join_plain_agrees_with_safe_relative_path(
            rel in "[a-zA-Z0-9./\\:%_=\\-]{0,12}|(con|nul|com1|lpt|\\.cacher-tmp-)[a-z./]{0,6}"
        ) {
            let dir = Path::new("base");
            if let Some(joined) = join_plain(dir, &rel) {
                let checked = safe_relative_path(&rel);
                prop_assert!(checked.is_ok(), "{:?} accepted, but {:?}", rel, checked);
                prop_assert_eq!(joined, dir.join(checked.unwrap()));
            }
        }
    }
}
