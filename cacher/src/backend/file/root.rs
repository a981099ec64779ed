//! The cache directory as an open handle: every path of an entry resolves beneath it, and a
//! symlink planted inside that leads out is refused by the kernel (`openat2` with
//! `RESOLVE_BENEATH` on Linux; cap-std's checked walk elsewhere), never followed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// The modes entries and directories are created with (on Unix, less the umask's bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(super) struct Modes {
    pub(super) file: u32,
    pub(super) dir: u32,
}

impl Modes {
    /// Private to the user: `0o600` entries in `0o700` directories.
    pub(super) const PRIVATE: Self = Self {
        file: 0o600,
        dir: 0o700,
    };

    /// Entries of `mode`; directories of `mode` with the search bit of each class that may read.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(super) fn shared(mode: u32) -> Self {
        Self {
            file: mode,
            dir: mode | ((mode & 0o444) >> 2),
        }
    }

    /// A `cap_std` builder for directories of these modes, with their parents.
    pub(super) fn dir_builder(self) -> cap_std::fs::DirBuilder {
        let mut builder = cap_std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        cap_std::fs::DirBuilderExt::mode(&mut builder, self.dir);
        builder
    }

    fn create_ambient(self, path: &Path) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, self.dir);
        builder.create(path)
    }
}

/// The cache directory, opened at its first use and kept open: one `open` per process, not per
/// lookup. It may not exist yet (a read is then a miss; the first write creates it), and it may
/// be removed while the process runs, and made again by another process: what writes or
/// invalidates asks for the [`current`](Self::current) directory, which opens it anew when the
/// one kept is no longer the directory at the path. A read keeps the one it has (a removed
/// directory holds no entry: a miss, whose generation read and write then open the new one).
pub(super) struct Root {
    path: PathBuf,
    dir: RwLock<Option<Arc<Dir>>>,
}

impl Root {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            dir: RwLock::new(None),
        }
    }

    /// The directory's path, as configured.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The open directory; `Ok(None)` when it does not exist and `create` is `None`, else
    /// created with `create`'s modes, its missing parents too.
    pub(super) fn open(&self, create: Option<Modes>) -> io::Result<Option<Arc<Dir>>> {
        if let Some(dir) = &*self.dir.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(Some(Arc::clone(dir)));
        }
        let dir = match (
            Dir::open_ambient_dir(&self.path, ambient_authority()),
            create,
        ) {
            (Ok(dir), _) => dir,
            (Err(e), Some(modes)) if e.kind() == io::ErrorKind::NotFound => {
                modes.create_ambient(&self.path)?;
                Dir::open_ambient_dir(&self.path, ambient_authority())?
            }
            (Err(e), None) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            (Err(e), _) => return Err(e),
        };
        let dir = Arc::new(dir);
        *self.dir.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&dir));
        Ok(Some(dir))
    }

    /// As [`open`](Self::open), but first forgets the directory kept when it is no longer the
    /// one at the path (removed, made again, replaced): one `stat` and one `fstat`. An
    /// invalidation made in a removed directory would return while the directory made again
    /// kept the entries it invalidates, served after it; a write would be lost there.
    pub(super) fn current(&self, create: Option<Modes>) -> io::Result<Option<Arc<Dir>>> {
        let kept = self
            .dir
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(dir) = kept
            && !is_at(&dir, &self.path)
        {
            self.forget();
        }
        self.open(create)
    }

    /// The directory was removed or replaced: open it anew next time.
    pub(super) fn forget(&self) {
        *self.dir.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Whether `dir` is the directory at `path` now: `false` when none is there or it is another;
/// `true` when the path cannot be looked at otherwise (a parent no longer searchable: the
/// directory kept still works). Elsewhere than on Unix (no inode to compare), `true`.
fn is_at(dir: &Dir, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let now = match std::fs::metadata(path) {
            Ok(now) => now,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                );
            }
        };
        dir.dir_metadata().is_ok_and(|kept| {
            cap_std::fs::MetadataExt::dev(&kept) == now.dev()
                && cap_std::fs::MetadataExt::ino(&kept) == now.ino()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, path);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Modes;

    #[test]
    fn shared_directories_can_be_searched_by_whoever_may_read() {
        assert_eq!(
            Modes::shared(0o640),
            Modes {
                file: 0o640,
                dir: 0o750
            }
        );
        assert_eq!(
            Modes::shared(0o644),
            Modes {
                file: 0o644,
                dir: 0o755
            }
        );
        assert_eq!(Modes::shared(0o600), Modes::PRIVATE);
        assert_eq!(
            Modes::shared(0o660),
            Modes {
                file: 0o660,
                dir: 0o770
            }
        );
    }
}
