//! Directories that cacher makes outside a file tier (the store's, the lock folder's parent,
//! the shared rate limit's): private to their user, `0o700`, as the file tier's are, so that
//! another user of the machine neither lists the keys nor plants files in them; and the test
//! of a file cacher writes in place, that it is its own ([`not_owned`]).

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

/// The file `name` in `folder` beneath `dir` (which must exist), for reading and writing:
/// the folder made if missing (`0o700`), the file too (`0o600`), both reached beneath `dir`'s
/// handle (cap-std), never through a link that leads out; opened without blocking (a FIFO
/// planted there opens at once) and refused unless it is cacher's own ([`not_owned`]). The files
/// cacher keeps beside a store or a shared rate limit.
pub(crate) fn open_file(dir: &Path, folder: &str, name: &str) -> io::Result<std::fs::File> {
    let root = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
    let mut builder = cap_std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    cap_std::fs::DirBuilderExt::mode(&mut builder, 0o700);
    root.create_dir_with(folder, &builder)?;
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
        cap_std::fs::OpenOptionsExt::custom_flags(&mut options, nonblocking_flags());
    }
    let file = root.open_dir(folder)?.open_with(name, &options)?.into_std();
    if let Some(why) = not_owned(&file.metadata()?) {
        let path = dir.join(folder).join(name);
        let why = format!("{}: {why}; cacher does not use it", path.display());
        return Err(io::Error::new(io::ErrorKind::InvalidData, why));
    }
    Ok(file)
}

/// Why a file cacher would write in place is not its own to write, if it is not: anything but a
/// regular file (a FIFO, a device, a directory), or one with another name (a hard link planted
/// in the cache's directory: writing it would write a file outside, as a symbolic link would —
/// those are refused by cap-std). A copy of a cache made with hard links (`cp -al`) is refused so
/// too, and so is its original: their files would be written through both.
pub(crate) fn not_owned(metadata: &std::fs::Metadata) -> Option<&'static str> {
    #[cfg(unix)]
    let names = std::os::unix::fs::MetadataExt::nlink(metadata);
    #[cfg(not(unix))]
    let names = 1;
    why_not_owned(metadata.is_file(), names)
}

/// [`not_owned`] of what a directory's handle says of a name in it (cap-std's metadata, read
/// without opening: a FIFO is never opened).
pub(crate) fn not_owned_beneath(metadata: &cap_std::fs::Metadata) -> Option<&'static str> {
    #[cfg(unix)]
    let names = cap_std::fs::MetadataExt::nlink(metadata);
    #[cfg(not(unix))]
    let names = 1;
    why_not_owned(metadata.is_file(), names)
}

fn why_not_owned(regular: bool, names: u64) -> Option<&'static str> {
    match (regular, names) {
        (false, _) => Some("not a regular file"),
        (true, 2..) => {
            Some("it has another name (a hard link), maybe outside the cache's directory")
        }
        (true, _) => None,
    }
}

/// The flags of an open that never blocks (`O_NONBLOCK`: a FIFO opens at once; `O_NOCTTY`: a
/// terminal never becomes the process's).
#[cfg(unix)]
pub(crate) fn nonblocking_flags() -> i32 {
    use rustix::fs::OFlags;
    // The flags' bits fit in an i32, which is what `open` takes.
    (OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32
}

/// Takes `file`'s lock (std's `File::try_lock`), trying again after a sleep that doubles up to
/// 20 ms until `deadline`: whether it was taken. Every wait cacher makes for another process's
/// lock file is bounded so (std's `File::lock` has no timeout).
pub(crate) fn lock_until(file: &std::fs::File, deadline: std::time::Instant) -> io::Result<bool> {
    use std::time::{Duration, Instant};
    let mut pause = Duration::from_micros(200);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
            Err(std::fs::TryLockError::WouldBlock) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
