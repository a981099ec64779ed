//! A small tmpfs mounted for a test (a read-only or full file system), and the rule for a test
//! that cannot run here: skipped with a message, or failed when `CI` is set. Mounting needs root
//! (permissions alone do not stop root, hence the mounts).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the tests run as root.
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Skips the test with a message — or fails it when `CI` is set: CI must run it.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("cannot run this test: {why} (CI is set, so it must not be skipped)");
    }
    println!("skipped: {why}");
}

/// A tmpfs mounted on a directory, unmounted when dropped.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options` on `dir` (created if missing).
    pub fn mount(dir: &Path, options: &str) -> Result<Self, String> {
        if !is_root() {
            return Err("needs root to mount a tmpfs".into());
        }
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs -o {options} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Mounts it again with `options` (`ro`, `rw`).
    pub fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remount,{options}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
