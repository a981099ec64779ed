//! Reading and writing entry files beneath the cache directory's handle: a file is written
//! whole or not at all, and only a regular file, up to a size cap, is ever read.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cap_std::fs::{Dir, OpenOptions};

use super::path::TEMP_PREFIX;
use super::root::Modes;
#[cfg(unix)]
use crate::private_dir::nonblocking_flags;

/// What reading an entry's file found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Content {
    /// Its bytes (all of them, or the first ones, as asked).
    Bytes(Vec<u8>),
    /// No file.
    Missing,
    /// Something that is not read: not a regular file, or over the size cap.
    Refused(String),
}

/// Opens `rel` beneath `dir` for reading and reads it whole when it is a regular file of at most
/// `max` bytes, and otherwise refuses it without reading it.
///
/// The open never blocks (`O_NONBLOCK`: a FIFO opens at once; `O_NOCTTY`: a terminal never
/// becomes ours), resolves beneath `dir` (a symlink leading out, to `/dev/zero` or anywhere else,
/// fails), and the opened handle's own metadata decides: a FIFO, socket, device or directory is
/// refused, and so is a file over `max` bytes (a sparse 8 GiB file is not read). Then it reads
/// the size `fstat` gave, in one `read`: open, fstat, read, close — one syscall fewer than
/// `fs::read`, which reads again to find the end.
pub(super) fn read_entry(dir: &Dir, rel: &str, max: u64) -> io::Result<Content> {
    read_regular(dir, rel, max, false)
}

/// The first `len` bytes of `rel` beneath `dir`, when it is a regular file; opened as
/// [`read_entry`] opens.
pub(super) fn read_head(dir: &Dir, rel: &str, len: usize) -> io::Result<Content> {
    read_regular(dir, rel, len as u64, true)
}

fn read_regular(dir: &Dir, rel: &str, max: u64, truncate: bool) -> io::Result<Content> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::custom_flags(&mut options, nonblocking_flags());
    let file = match dir.open_with(rel, &options) {
        Ok(file) => file.into_std(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Content::Missing),
        Err(e) => return Err(e),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Ok(Content::Refused(format!(
            "not a regular file ({})",
            kind_of(&metadata.file_type())
        )));
    }
    if metadata.len() > max && !truncate {
        return Ok(Content::Refused(format!(
            "entry of {} bytes, over max_entry_size ({max} bytes)",
            metadata.len()
        )));
    }
    // Exactly the size `fstat` gave: one `read` for a regular file, and bounded whatever happens
    // to the file meanwhile. cacher never changes an entry in place (it renames a new one over
    // it), so the bytes up to that size are the whole entry that was opened.
    let len = metadata.len().min(max);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut bytes)?;
    Ok(Content::Bytes(bytes))
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        } else if file_type.is_socket() {
            return "a socket";
        } else if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Writes `bytes` to `rel` beneath `root` through a temporary file in the same directory and a
/// rename, so the file is replaced whole or not at all; missing directories on the way are
/// created with `modes`, the file with `modes.file`. Unless `replace`: then the temporary file
/// is linked to `rel` only if no file is there (one step: `link` fails on an existing name),
/// and `Ok(false)` says one was, left as it is. `gate` is asked once the temporary file is
/// written (and synced), just before it is put in place: what it returns is held while the file
/// is renamed (or linked) in; `None` leaves the entry as it is (`Ok(false)`).
pub(super) fn write_atomic<G>(
    root: &Dir,
    rel: &str,
    bytes: &[u8],
    (durable, replace): (bool, bool),
    modes: Modes,
    gate: impl FnOnce() -> io::Result<Option<G>>,
) -> io::Result<bool> {
    let (parent, name) = match rel.rsplit_once('/') {
        Some((parent, name)) => (Some(open_or_create_dir(root, parent, modes)?), name),
        None => (None, rel),
    };
    let dir = parent.as_ref().unwrap_or(root);
    let temp = temp_file_name();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::mode(&mut options, modes.file);
    let mut file = dir.open_with(&temp, &options)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| if durable { file.sync_all() } else { Ok(()) });
    drop(file);
    let held = written.and_then(|()| gate());
    let placed = held.and_then(|held| match (held, replace) {
        (None, _) => dir.remove_file(&temp).map(|()| false),
        (Some(_held), true) => dir.rename(&temp, dir, name).map(|()| true),
        (Some(_held), false) => {
            // A file system without hard links (FAT: EPERM) takes no fills, as a tier that
            // cannot check and write in one step.
            let linked = match dir.hard_link(&temp, dir, name) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
                    ) =>
                {
                    Ok(false)
                }
                linked => linked.map(|()| true),
            };
            dir.remove_file(&temp).and(linked)
        }
    });
    let placed = match placed {
        Ok(placed) => placed,
        Err(e) => {
            let _ = dir.remove_file(&temp);
            return Err(e);
        }
    };
    if durable && placed {
        // The rename (or link) is only durable once the directory itself is flushed.
        dir.open(".")?.sync_all()?;
    }
    Ok(placed)
}

/// The directory `rel` beneath `root`, created (with its parents) when missing.
fn open_or_create_dir(root: &Dir, rel: &str, modes: Modes) -> io::Result<Dir> {
    match root.open_dir(rel) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            root.create_dir_with(rel, &modes.dir_builder())?;
            root.open_dir(rel)
        }
        other => other,
    }
}

/// A name no other writer, in this process or another, is using at the same moment.
fn temp_file_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    temp_name(std::process::id(), n, nanos)
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

/// Removes `rel` beneath `root`; a file already gone is fine.
pub(super) fn remove_file(root: &Dir, rel: impl AsRef<Path>) -> io::Result<()> {
    match root.remove_file(rel) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether `modified` is at least `age` ago.
pub(super) fn is_older_than(modified: SystemTime, age: Duration) -> bool {
    modified.elapsed().is_ok_and(|elapsed| elapsed >= age)
}

#[cfg(test)]
mod tests {
    use cap_std::ambient_authority;
    use cap_std::fs::Dir;

    use super::{Content, TEMP_PREFIX, read_entry, read_head, temp_name, write_atomic};
    use crate::backend::file::root::Modes;

    #[test]
    fn temp_names_read_as_before() {
        for (pid, n, nanos) in [(0, 0, 0), (1, 7, 0xab), (4_294_967_295, u64::MAX, u32::MAX)] {
            assert_eq!(
                temp_name(pid, n, nanos),
                format!("{TEMP_PREFIX}{pid}-{n}-{nanos:08x}")
            );
        }
    }

    #[test]
    fn reads_whole_files_up_to_the_cap_and_heads_of_any() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap();
        for len in [0, 1, 300, 8191, 8192, 8193, 3 * 8192 + 7] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            write_atomic(&dir, "a/b/f", &bytes, (false, true), Modes::PRIVATE, || {
                Ok(Some(()))
            })
            .unwrap();
            let read = read_entry(&dir, "a/b/f", 1 << 20).unwrap();
            assert_eq!(read, Content::Bytes(bytes.clone()), "{len} bytes");
            let head = read_head(&dir, "a/b/f", 100).unwrap();
            assert_eq!(head, Content::Bytes(bytes[..len.min(100)].to_vec()));
        }
        let at_cap = read_entry(&dir, "a/b/f", 3 * 8192 + 7).unwrap();
        assert!(matches!(at_cap, Content::Bytes(_)));
        let over = read_entry(&dir, "a/b/f", 3 * 8192 + 6).unwrap();
        assert!(matches!(over, Content::Refused(_)), "{over:?}");
        assert_eq!(read_entry(&dir, "missing", 10).unwrap(), Content::Missing);
        assert_eq!(read_entry(&dir, "a/missing", 10).unwrap(), Content::Missing);
        let a_dir = read_entry(&dir, "a", 10).unwrap();
        assert!(matches!(a_dir, Content::Refused(_)), "{a_dir:?}");
    }
}
