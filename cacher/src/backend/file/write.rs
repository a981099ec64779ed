//! Writing a file whole or not at all, and reading it back, for the file backend.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::path::TEMP_PREFIX;
use crate::error::{Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so the
/// file is replaced whole or not at all.
pub(super) fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
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
pub(super) fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
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

pub(super) fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

pub(super) fn is_older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed >= age)
}

#[cfg(test)]
mod tests {
    use super::{FIRST_READ, TEMP_PREFIX, read_whole, temp_name};

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
}
