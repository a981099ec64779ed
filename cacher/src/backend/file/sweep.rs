//! Walking the cache directory for `clear` and for the `max_entries` listing, touching only this
//! cache's files.
//!
//! A file is this cache's when it is a regular file whose name could be an entry's (not a
//! temporary file; with the default names, ending in the formatter's extension) and whose header
//! — its first [`HEADER_LEN`] bytes, never more — records this cache's namespace (and, for the
//! listing, its version). A temporary file (`.cacher-tmp-…`) is a writer's; `clear` deletes one
//! once it is a minute old, when no writer can still be at work on it. Everything else — a
//! user's notes, another namespace's entries, symlinks, FIFOs — is left alone. The walk never
//! follows a symlink, goes at most [`MAX_DEPTH`] directories down, and resolves beneath the
//! cache directory's handle.

use std::io;
use std::time::{Duration, SystemTime};

use cap_std::fs::{Dir, DirEntry};

use super::header::{HEADER_LEN, Header, header_of};
use super::path::TEMP_PREFIX;
use super::write::{Content, is_older_than, read_head};
use crate::format::Formatter;

/// The deepest directory the walk enters, below the cache directory. A `filename_fn` path goes
/// no deeper (`path::check_relative`): an entry the walk cannot reach would outlive `clear`.
pub(super) const MAX_DEPTH: usize = 32;

/// Temporary files older than this are a crashed writer's leftovers, which `clear` deletes;
/// younger ones may belong to a writer still at work.
pub(super) const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Which entries are this cache's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Owner<'a> {
    /// The namespace their header must record.
    pub(super) namespace: &'a str,
    /// The version their header must record; `None`: any.
    pub(super) version: Option<Option<&'a str>>,
    /// The extension their name must end with (`.json`), when names are the default ones.
    pub(super) extension: Option<&'a str>,
}

impl Owner<'_> {
    /// Whether `name` in `dir` is an entry of this cache, from its name and its header.
    fn owns<F: Formatter>(&self, formatter: &F, dir: &Dir, name: &str) -> bool {
        let named = self.extension.is_none_or(|extension| {
            name.strip_suffix(extension)
                .is_some_and(|stem| stem.ends_with('.'))
        });
        if !named || name.starts_with(TEMP_PREFIX) {
            return false;
        }
        header_at(formatter, dir, name).is_some_and(|header| {
            header.namespace == self.namespace
                && self
                    .version
                    .is_none_or(|version| header.version.as_deref() == version)
        })
    }
}

/// The most bytes read to find a header (a namespace or version of nearly that length).
const MAX_HEADER_LEN: usize = 1 << 20;

/// The header of the file `name` of `dir`: read from its first [`HEADER_LEN`] bytes, or, when a
/// file that starts as an entry does (`{"cacher":`, or the layout's number) holds a longer
/// header (a namespace or version of kilobytes), from four times as many, up to
/// [`MAX_HEADER_LEN`]. Read from 4 KiB only, the entries of a namespace of 5 000 bytes were
/// never this cache's: `clear` left them, and they were served after it.
fn header_at<F: Formatter>(formatter: &F, dir: &Dir, name: &str) -> Option<Header> {
    let mut len = HEADER_LEN;
    loop {
        let Ok(Content::Bytes(head)) = read_head(dir, name, len) else {
            return None;
        };
        if let Some(header) = header_of(formatter, &head) {
            return Some(header);
        }
        let starts_as_entry = head.starts_with(br#"{"cacher":"#)
            || head.first() == Some(&(crate::entry::LAYOUT as u8));
        if head.len() < len || len >= MAX_HEADER_LEN || !starts_as_entry {
            return None;
        }
        len *= 4;
    }
}

/// What a walk does with each regular file, and with what fails.
pub(super) trait Visitor {
    /// A regular file `name` of `dir`, at `rel` below the cache directory; returns whether it
    /// was removed.
    fn file(&mut self, dir: &Dir, entry: &DirEntry, name: &str, rel: &str) -> bool;
    /// A file that could not be removed, or a directory that could not be opened or listed.
    fn failed(&mut self, rel: &str, error: io::Error);
}

/// Walks `dir` (at `prefix` below the cache directory). Returns whether a file was removed in
/// it or below; with `prune`, a subdirectory in which one was is removed when that left it
/// empty (the cache directory itself, and directories this walk removed nothing from, stay).
pub(super) fn walk(
    dir: &Dir,
    prefix: &str,
    depth: usize,
    prune: bool,
    visitor: &mut impl Visitor,
) -> bool {
    let entries = match dir.entries() {
        Ok(entries) => entries,
        Err(e) => {
            visitor.failed(prefix, e);
            return false;
        }
    };
    let mut removed = false;
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let (Ok(file_type), Ok(name)) = (entry.file_type(), entry.file_name().into_string()) else {
            continue; // Not a name this cache writes.
        };
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if file_type.is_file() {
            removed |= visitor.file(dir, &entry, &name, &rel);
        } else if file_type.is_dir() && depth < MAX_DEPTH {
            let below = match entry.open_dir() {
                Ok(sub) => walk(&sub, &rel, depth + 1, prune, visitor),
                Err(e) => {
                    visitor.failed(&rel, e);
                    false
                }
            };
            if below && prune {
                // Fails harmlessly when the directory still holds other files.
                let _ = dir.remove_dir(&name);
            }
            removed |= below;
        }
    }
    removed
}

/// This cache's entries under `root` (of its namespace and version), oldest modification first,
/// as paths relative to it, with their sizes: what the `max_entries`/`max_size` index starts
/// from.
pub(super) fn list_entries<F: Formatter>(
    root: &Dir,
    formatter: &F,
    owner: Owner<'_>,
) -> Vec<(SystemTime, String, u64)> {
    struct List<'a, F> {
        formatter: &'a F,
        owner: Owner<'a>,
        found: Vec<(SystemTime, String, u64)>,
    }
    impl<F: Formatter> Visitor for List<'_, F> {
        fn file(&mut self, dir: &Dir, entry: &DirEntry, name: &str, rel: &str) -> bool {
            if self.owner.owns(self.formatter, dir, name) {
                let metadata = entry.metadata();
                let size = metadata.as_ref().map_or(0, cap_std::fs::Metadata::len);
                let modified = metadata.and_then(|m| m.modified());
                let modified = modified.map_or(SystemTime::UNIX_EPOCH, |t| t.into_std());
                self.found.push((modified, rel.to_owned(), size));
            }
            false
        }
        fn failed(&mut self, _rel: &str, _error: io::Error) {}
    }
    let mut list = List {
        formatter,
        owner,
        found: Vec::new(),
    };
    walk(root, "", 0, false, &mut list);
    list.found.sort();
    list.found
}

/// What `clear` did: the entries it removed (relative paths) and what it could not remove.
#[derive(Debug, Default)]
pub(super) struct Cleared {
    /// Removed entries and temporary files.
    pub(super) removed: Vec<String>,
    /// How many files or directories could not be removed or looked into.
    pub(super) failed: usize,
    /// The first of those, with its error.
    pub(super) first_failure: Option<(String, io::Error)>,
}

/// Removes every entry of `owner`'s namespace (any version) under `root`, stale temporary
/// files, and the directories that this left empty; goes on past failures and counts them.
pub(super) fn clear<F: Formatter>(root: &Dir, formatter: &F, owner: Owner<'_>) -> Cleared {
    struct Clear<'a, F> {
        formatter: &'a F,
        owner: Owner<'a>,
        done: Cleared,
    }
    impl<F: Formatter> Visitor for Clear<'_, F> {
        fn file(&mut self, dir: &Dir, entry: &DirEntry, name: &str, rel: &str) -> bool {
            let ours = if name.starts_with(TEMP_PREFIX) {
                let modified = entry.metadata().and_then(|m| m.modified());
                modified.is_ok_and(|t| is_older_than(t.into_std(), STALE_TEMP_AGE))
            } else {
                self.owner.owns(self.formatter, dir, name)
            };
            if !ours {
                return false;
            }
            match dir.remove_file(name) {
                Ok(()) => {
                    self.done.removed.push(rel.to_owned());
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => {
                    self.failed(rel, e);
                    false
                }
            }
        }
        fn failed(&mut self, rel: &str, error: io::Error) {
            self.done.failed += 1;
            self.done
                .first_failure
                .get_or_insert_with(|| (rel.to_owned(), error));
        }
    }
    let mut clear = Clear {
        formatter,
        owner: Owner {
            version: None,
            ..owner
        },
        done: Cleared::default(),
    };
    walk(root, "", 0, true, &mut clear);
    clear.done
}
