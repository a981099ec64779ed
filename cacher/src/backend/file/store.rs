//! The file backend's writes: an entry's file put in as an `insert`, a fill or a computed value
//! says ([`Put`]), the invalidations that move the key's generation first, and the evictions the
//! bounds ask for after a write.

use std::io;
use std::sync::Arc;

use cap_std::fs::Dir;

use super::generations::{self, Moved};
use super::index::Written;
use super::write::write_atomic;
use super::{SeparateFileBackend, sweep};
use crate::backend::{Generation, Put};
use crate::entry::{Entry, EntryKey};
use crate::error::{Error, Result};
use crate::format::Formatter;

/// An entry's times as its write's evictions read them: the cache's clock at the write (the
/// entry's `created_ms`; a fill's is older, and the index keeps the latest it saw), and when
/// the cache stops accepting the entry.
#[derive(Clone, Copy)]
pub(super) struct Times {
    now_ms: u64,
    expires_ms: Option<u64>,
}

impl Times {
    pub(super) fn of<V>(entry: &Entry<V>) -> Self {
        Self {
            now_ms: entry.created_ms,
            expires_ms: entry.expires_ms,
        }
    }
}

impl<F: Formatter> SeparateFileBackend<F> {
    /// Writes `bytes` to `rel` (only if no file is there, unless `replace`; with `since`, only
    /// while the key's generation is unmoved), creating the directories on the way: in `root`,
    /// the directory an invalidation just moved the key's generation in, or else (none given, or
    /// it was removed meanwhile) through [`with_root`](Self::with_root). The root, if it wrote.
    fn write(
        &self,
        rel: &str,
        bytes: &[u8],
        (replace, since): (bool, Option<Generation>),
        root: Option<&Arc<Dir>>,
    ) -> io::Result<Option<Arc<Dir>>> {
        let write_in = |root: &Arc<Dir>| -> io::Result<Option<Arc<Dir>>> {
            // The generation compared in the directory the file goes into, held while it does.
            let gate = || match since {
                Some(seen) => generations::hold_if_unmoved(root, (rel, seen), self.modes)
                    .map(|held| held.map(Some)),
                None => Ok(Some(None)),
            };
            let placed = write_atomic(root, rel, bytes, (self.durable, replace), self.modes, gate)?;
            Ok(placed.then(|| Arc::clone(root)))
        };
        match root {
            Some(root) => write_in(root).or_else(|e: io::Error| match e.kind() {
                io::ErrorKind::NotFound => self.with_root(write_in),
                _ => Err(e),
            }),
            None => self.with_root(write_in),
        }
    }

    fn evict(&self, root: &Dir, rel: &str, written: (Written, u64), key: &EntryKey<'_>) {
        let Some(index) = &self.index else { return };
        let owner = self.owner(key);
        let list = || sweep::list_entries(root, &self.formatter, owner);
        let evicted = index.record(rel, written, list);
        // Counted when removed: one already gone (another process removed it) was not evicted;
        // one that cannot go is the next clear's to report; one that had expired cost nothing.
        let removed = evicted
            .iter()
            .filter(|(rel, _)| root.remove_file(rel).is_ok());
        index.count_evicted(removed.filter(|(_, expired)| !expired).count());
    }

    /// Writes an encoded entry at `key`'s path as `put` says, then evicts what the bounds ask:
    /// whether it wrote.
    pub(super) fn store_encoded(
        &self,
        key: &EntryKey<'_>,
        (bytes, times): (&[u8], Times),
        put: Put,
    ) -> Result<bool> {
        let rel = self.relative(key)?;
        if bytes.len() as u64 > self.max_entry_size {
            let message = format!(
                "an entry of {} bytes is over max_entry_size ({} bytes)",
                bytes.len(),
                self.max_entry_size
            );
            let error = io::Error::new(io::ErrorKind::FileTooLarge, message);
            return Err(Error::io(self.path(&rel), error));
        }
        let written = match put {
            // In the directory whose generation the invalidation moved: one look at the path.
            Put::Insert => {
                let write = |root: Option<&Arc<Dir>>| self.write(&rel, bytes, (true, None), root);
                self.invalidate(&Moved::Key(&rel), write)
            }
            // A computed value replaces the key's file; a fill is linked in only where none is.
            Put::Since(seen) => self.write(&rel, bytes, (true, Some(seen)), None),
            Put::Fill(seen) => self.write(&rel, bytes, (false, Some(seen)), None),
        }
        .map_err(|e| Error::io(self.path(&rel), e))?;
        let Some(root) = written else {
            return Ok(false);
        };
        let written = Written {
            size: bytes.len() as u64,
            expires_ms: times.expires_ms,
        };
        self.evict(&root, &rel, (written, times.now_ms), key);
        Ok(true)
    }

    /// Runs `f` with the current cache directory, made if missing; once more, the directory
    /// opened anew, when it was removed meanwhile.
    pub(super) fn with_root<T>(&self, f: impl Fn(&Arc<Dir>) -> io::Result<T>) -> io::Result<T> {
        let attempt = || {
            f(&self
                .root
                .current(Some(self.modes))?
                .ok_or(io::ErrorKind::NotFound)?)
        };
        attempt().or_else(|e| {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
            self.root.forget();
            attempt()
        })
    }

    /// Records an invalidation of `moved`, then makes its `change` in the directory the record
    /// was made in (`None`: a directory not made yet, which holds no generation to move) — also
    /// when the record failed, whose error is then returned ([`generations::bump`]).
    pub(super) fn invalidate<T>(
        &self,
        moved: &Moved<'_>,
        change: impl FnOnce(Option<&Arc<Dir>>) -> io::Result<T>,
    ) -> io::Result<T> {
        match self.root.current(None)? {
            Some(root) => generations::bump(&root, moved, self.modes, || change(Some(&root)))?,
            None => change(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cap_std::ambient_authority;
    use cap_std::fs::Dir;

    use crate::backend::file::SeparateFileBackend;

    #[test]
    fn a_write_into_a_directory_removed_since_its_invalidation_lands_in_the_one_at_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cache");
        std::fs::create_dir(&path).unwrap();
        let backend = SeparateFileBackend::new(&path);
        // The directory an invalidation moved the key's generation in, removed before the write.
        let moved_in = Arc::new(Dir::open_ambient_dir(&path, ambient_authority()).unwrap());
        std::fs::remove_dir_all(&path).unwrap();
        let written = backend.write("k.json", b"{}", (true, None), Some(&moved_in));
        assert!(written.unwrap().is_some(), "written");
        assert_eq!(std::fs::read(path.join("k.json")).unwrap(), b"{}");
    }
}
