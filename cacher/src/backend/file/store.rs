//! The file backend's writes: an entry's file put in as an `insert`, a fill or a computed value
//! says ([`Put`]), the invalidations that move the key's generation first, and the evictions the
//! bounds ask for after a write.

use std::io;
use std::sync::Arc;

use cap_std::fs::Dir;

use super::generations::{self, Moved};
use super::write::write_atomic;
use super::{SeparateFileBackend, sweep};
use crate::backend::{Generation, Put};
use crate::entry::EntryKey;
use crate::error::{Error, Result};
use crate::format::Formatter;

impl<F: Formatter> SeparateFileBackend<F> {
    /// Writes `bytes` to `rel` (only if no file is there, unless `replace`; with `since`, only
    /// while the key's generation is unmoved), creating the directories on the way, through
    /// [`with_root`](Self::with_root). The root, if it wrote.
    fn write(
        &self,
        rel: &str,
        bytes: &[u8],
        (replace, since): (bool, Option<Generation>),
    ) -> io::Result<Option<Arc<Dir>>> {
        self.with_root(|root| {
            // The generation compared in the directory the file goes into, held while it does.
            let gate = || match since {
                Some(seen) => generations::hold_if_unmoved(root, (rel, seen), self.modes)
                    .map(|held| held.map(Some)),
                None => Ok(Some(None)),
            };
            let placed = write_atomic(root, rel, bytes, (self.durable, replace), self.modes, gate)?;
            Ok(placed.then(|| Arc::clone(root)))
        })
    }

    fn evict(&self, root: &Dir, rel: &str, size: u64, key: &EntryKey<'_>) {
        let Some(index) = &self.index else { return };
        let owner = self.owner(key);
        let list = || sweep::list_entries(root, &self.formatter, owner);
        let evicted = index.record(rel, size, list);
        // Counted when removed: one already gone (another process removed it) was not evicted;
        // one that cannot go is the next clear's to report.
        let removed = evicted.iter().filter(|rel| root.remove_file(rel).is_ok());
        index.count_evicted(removed.count());
    }

    /// Writes an encoded entry at `key`'s path as `put` says, then evicts what the bounds ask:
    /// whether it wrote.
    pub(super) fn store_encoded(&self, key: &EntryKey<'_>, bytes: &[u8], put: Put) -> Result<bool> {
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
            Put::Insert => {
                let write = || self.write(&rel, bytes, (true, None));
                self.invalidate(&Moved::Key(&rel), write)
            }
            // A computed value replaces the key's file; a fill is linked in only where none is.
            Put::Since(seen) => self.write(&rel, bytes, (true, Some(seen))),
            Put::Fill(seen) => self.write(&rel, bytes, (false, Some(seen))),
        }
        .map_err(|e| Error::io(self.path(&rel), e))?;
        let Some(root) = written else {
            return Ok(false);
        };
        self.evict(&root, &rel, bytes.len() as u64, key);
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

    /// Records an invalidation of `moved`, then makes its `change` — also when the record
    /// failed, whose error is then returned ([`generations::bump`]); a directory not made yet
    /// holds no generation to move.
    pub(super) fn invalidate<T>(
        &self,
        moved: &Moved<'_>,
        change: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        match self.root.current(None)? {
            Some(root) => generations::bump(&root, moved, self.modes, change)?,
            None => change(),
        }
    }
}
