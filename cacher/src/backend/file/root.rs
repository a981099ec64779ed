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
/// be removed while the process runs: a write that finds it gone opens it anew
/// ([`forget`](Self::forget)).
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

    /// The directory was removed or replaced: open it anew next time.
    pub(super) fn forget(&self) {
        *self.dir.write().unwrap_or_else(PoisonError::into_inner) = None;
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
