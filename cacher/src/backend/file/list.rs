//! [`Listing`] for the file backend: a walk of its whole directory (every namespace, every
//! version), reading at most [`META_PREFIX_LEN`] bytes of each file.

use std::io;
use std::ops::ControlFlow;
use std::time::UNIX_EPOCH;

use cap_std::fs::{Dir, DirEntry};

use super::SeparateFileBackend;
use super::generations::{self, Moved};
use super::path::TEMP_PREFIX;
use super::root::Modes;
use super::sweep::{STALE_TEMP_AGE, Visitor, walk};
use super::write::{Content, is_older_than, read_head, remove_file};
use crate::backend::listing::{
    Found, Listed, Listing, META_PREFIX_LEN, classify_file, header_goes_on,
};
use crate::error::{Error, Result};
use crate::format::Formatter;

struct Lister<'a> {
    visit: &'a mut dyn FnMut(Listed) -> ControlFlow<()>,
    /// The largest entry read whole, when its header goes on past the first read.
    max_entry_size: u64,
    stopped: bool,
    /// The first directory that could not be listed, when it is the cache directory itself.
    failed_root: Option<io::Error>,
}

impl Lister<'_> {
    fn emit(&mut self, listed: Listed) {
        if (self.visit)(listed).is_break() {
            self.stopped = true;
        }
    }
}

impl Visitor for Lister<'_> {
    fn file(&mut self, dir: &Dir, entry: &DirEntry, name: &str, rel: &str) -> bool {
        if self.stopped {
            return false;
        }
        let metadata = entry.metadata();
        let size = metadata.as_ref().map_or(0, |m| m.len());
        let modified = metadata
            .and_then(|m| m.modified())
            .ok()
            .map(|t| t.into_std());
        let modified_ms = modified
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let found = if name.starts_with(TEMP_PREFIX) {
            Found::Temporary {
                orphaned: modified.is_some_and(|t| is_older_than(t, STALE_TEMP_AGE)),
            }
        } else {
            let Some(found) = found_at(dir, name, (size, self.max_entry_size)) else {
                return false; // removed since the directory was read
            };
            found
        };
        self.emit(Listed {
            location: rel.to_owned(),
            size,
            modified_ms,
            expires_in_ms: None,
            found,
        });
        false
    }

    fn failed(&mut self, rel: &str, error: io::Error) {
        if rel.is_empty() {
            self.failed_root = Some(error);
        } else if !self.stopped {
            self.emit(Listed {
                location: rel.to_owned(),
                size: 0,
                modified_ms: None,
                expires_in_ms: None,
                found: Found::Unreadable {
                    reason: format!("directory: {error}"),
                },
            });
        }
    }
}

/// What the file `name` of `dir` is, `None` when it is gone. One that cannot be read is a
/// problem only when its name is an entry's (`.json`, `.bin`, `.postcard`): in a shared
/// directory, another user's private files are not cacher's business. One whose first
/// [`META_PREFIX_LEN`] bytes hold no whole header is read again whole, when its `size` is at most
/// `max` (what a read of an entry accepts): an entry of a key longer than that is an entry.
fn found_at(dir: &Dir, name: &str, (size, max): (u64, u64)) -> Option<Found> {
    let extension = name.rsplit_once('.').map(|(_, ext)| ext);
    let unreadable = |reason| match extension {
        Some("json" | "bin" | "postcard") => Found::Unreadable { reason },
        _ => Found::Other,
    };
    Some(match read_head(dir, name, META_PREFIX_LEN) {
        Ok(Content::Bytes(head)) => {
            let found = classify_file(&head, extension);
            if !header_goes_on(&found, head.len(), size) || size > max {
                return Some(found);
            }
            match read_head(dir, name, usize::try_from(max).unwrap_or(usize::MAX)) {
                Ok(Content::Bytes(whole)) => classify_file(&whole, extension),
                Ok(Content::Missing) => return None,
                _ => found,
            }
        }
        Ok(Content::Missing) => return None,
        Ok(Content::Refused(reason)) => unreadable(reason),
        Err(e) => unreadable(e.to_string()),
    })
}

/// Moves the generation of the entry at `location` in each directory on its way that may be
/// the cache directory it is an entry of, whose generations files are in its own lock folder: a
/// walk's root holds many caches (`demo/greet/x.json` is `x.json` of the cache at `demo/greet`),
/// and a `filename_fn` may put entries in subdirectories. A directory in which no generation was
/// read has no generations file and moves nothing; one that is not the entry's cache directory
/// only refuses a store of another key of the stripe. The first failure, after all are tried.
fn move_generations(root: &Dir, location: &str, modes: Modes) -> io::Result<()> {
    let mut failed = None;
    let mut bump = |dir: &Dir, rel: &str| {
        if let Err(e) = generations::bump(dir, &Moved::Key(rel), modes, || ()) {
            failed.get_or_insert(e);
        }
    };
    bump(root, location);
    for (at, _) in location.match_indices('/') {
        // A directory that cannot be opened (gone, or leading out) holds no generation to move.
        if let Ok(dir) = root.open_dir(&location[..at]) {
            bump(&dir, &location[at + 1..]);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Moves the generations of every key (as `clear` does) in each directory on the way of each of
/// `locations` that may be the cache directory of its entry (see [`move_generations`]), each
/// directory once. The first failure, after all are tried.
fn move_all_generations(root: &Dir, locations: &[&str], modes: Modes) -> io::Result<()> {
    let mut dirs: Vec<&str> = vec![""];
    for location in locations {
        dirs.extend(location.match_indices('/').map(|(at, _)| &location[..at]));
    }
    dirs.sort_unstable();
    dirs.dedup();
    let mut failed = None;
    for rel in dirs {
        let bumped = match rel {
            "" => generations::bump(root, &Moved::All, modes, || ()),
            _ => match root.open_dir(rel) {
                Ok(dir) => generations::bump(&dir, &Moved::All, modes, || ()),
                // Gone, or leading out: no generation to move there.
                Err(_) => continue,
            },
        };
        if let Err(e) = bumped {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

impl<F: Formatter> SeparateFileBackend<F> {
    /// [`Listing::remove_at`] of `location` (a listed path, checked) in `root`, the directory
    /// opened: the key's generation moved first, then its file removed.
    fn remove_in(&self, root: &Dir, location: &str) -> Result<()> {
        let moved = move_generations(root, location, self.modes);
        remove_file(root, location).map_err(|e| Error::io(self.dir().join(location), e))?;
        moved.map_err(|e| Error::io(self.dir().join(location), e))
    }
}

/// Refuses a `location` that is not a relative path of plain components (none empty, `.` or
/// `..`; no NUL; on Windows no `\\` or `:`). Any name the walk lists passes — an older release's,
/// one another platform refuses, a planted one — and is then opened beneath the directory's
/// handle, whatever the directory holds.
fn listed_path(location: &str) -> Result<()> {
    let outside = location.starts_with('/')
        || location.contains('\0')
        || (cfg!(windows) && location.contains(['\\', ':']))
        || location
            .split('/')
            .any(|part| matches!(part, "" | "." | ".."));
    if outside {
        return Err(Error::Config(format!(
            "{location:?} is not a location beneath the cache directory"
        )));
    }
    Ok(())
}

impl<F: Formatter> Listing for SeparateFileBackend<F> {
    fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> Result<()> {
        let root = match self.root.open(None) {
            Ok(Some(root)) => root,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::io(self.dir(), e)),
        };
        let mut lister = Lister {
            visit,
            max_entry_size: self.max_entry_size,
            stopped: false,
            failed_root: None,
        };
        walk(&root, "", 0, false, &mut lister);
        match lister.failed_root {
            Some(e) => Err(Error::io(self.dir(), e)),
            None => Ok(()),
        }
    }

    fn read_at(&self, location: &str) -> Result<Option<Vec<u8>>> {
        listed_path(location)?;
        self.read(location)
    }

    /// Moves the key's generation first, as `remove` does (`move_generations`): a value
    /// computed before `cacher clear` (or `prune`) took the entry out does not land after it.
    fn remove_at(&self, location: &str) -> Result<()> {
        listed_path(location)?;
        let Some(root) = self.root.open(None).map_err(|e| Error::io(self.dir(), e))? else {
            return Ok(());
        };
        self.remove_in(&root, location)
    }

    /// An entry is removed only if what is at its location now is what was listed there, read
    /// again just before (`found_at`): a file of another namespace (or a fresh value) renamed
    /// over the listed one while `cacher clear` asked stays. Anything else as `remove_at`.
    fn remove_listed(&self, listed: &Listed) -> Result<bool> {
        let Found::Entry(_) = &listed.found else {
            return self.remove_at(&listed.location).map(|()| true);
        };
        listed_path(&listed.location)?;
        let Some(root) = self.root.open(None).map_err(|e| Error::io(self.dir(), e))? else {
            return Ok(false);
        };
        let there = match root.symlink_metadata(&listed.location) {
            Ok(metadata) => found_at(
                &root,
                &listed.location,
                (metadata.len(), self.max_entry_size),
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            // A way there that now leads out of the directory, or cannot be read: not removed,
            // and said so.
            Err(e) => return Err(Error::io(self.dir().join(&listed.location), e)),
        };
        if there.as_ref() != Some(&listed.found) {
            return Ok(false);
        }
        // In the directory just read: no second open between the look and the removal.
        self.remove_in(&root, &listed.location).map(|()| true)
    }

    /// Moves every key's generation in the directories on the way of `locations`, each of which
    /// may be the namespace's cache directory.
    fn invalidate_namespace(&self, _namespace: &str, locations: &[&str]) -> Result<()> {
        locations
            .iter()
            .try_for_each(|location| listed_path(location))?;
        let Some(root) = self
            .root
            .current(None)
            .map_err(|e| Error::io(self.dir(), e))?
        else {
            return Ok(());
        };
        move_all_generations(&root, locations, self.modes).map_err(|e| Error::io(self.dir(), e))
    }
}

#[cfg(test)]
mod tests {
    use crate::SeparateFileBackend;
    use crate::backend::listing::Listing;

    /// `remove_at` and `read_at` take any listed name, and nothing that leads out: `..`, an
    /// absolute path, empty or `.` components, a NUL, a symlinked directory leading out.
    #[test]
    fn locations_stay_beneath_the_directory_whatever_their_names() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, outside) = (tmp.path().join("cache"), tmp.path().join("outside"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("x.json"), b"mine").unwrap();
        let backend = SeparateFileBackend::new(&dir);
        for location in [
            "../outside/x.json",
            "/etc/passwd",
            "",
            "a//b",
            "./x",
            "a\0b",
        ] {
            assert!(backend.remove_at(location).is_err(), "{location:?}");
            assert!(backend.read_at(location).is_err(), "{location:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
            assert!(backend.remove_at("link/x.json").is_err());
        }
        assert!(outside.join("x.json").exists());
        for name in ["a?b.json", "x:y", "trailing.", "con.json", "e\u{1b}.json"] {
            std::fs::write(dir.join(name), b"x").unwrap();
            assert_eq!(backend.read_at(name).unwrap().as_deref(), Some(&b"x"[..]));
            backend.remove_at(name).unwrap();
            assert!(!dir.join(name).exists(), "{name:?}");
        }
    }
}
