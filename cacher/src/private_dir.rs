//! Directories that cacher makes outside a file tier (the store's, the lock folder's parent,
//! the shared rate limit's): private to their user, `0o700`, as the file tier's are, so that
//! another user of the machine neither lists the keys nor plants files in them.

use std::io;
use std::path::Path;

/// `dir` and its missing parents, `0o700` on Unix (less the umask); an existing directory keeps
/// its mode (it is the user's).
pub(crate) fn create(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
