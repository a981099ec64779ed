//! The file tier's generations files (`.cacher-locks/generations-XX`) among things that are not
//! its own: a FIFO, a directory, a regular file where the lock folder should be. Whatever is
//! planted there, a call returns its value without waiting unbounded, and `remove`, `clear` and
//! a forced `refresh` still take out the value they invalidate: a planted thing costs the
//! cross-process check (and a computation), never a stale value kept for every process.

#![cfg(unix)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use cacher::lock::LOCK_DIR;
use cacher::{Cache, SeparateFileBackend};

/// The number of generations files a directory has.
const FILES: u32 = 64;

/// A process's cache of the file tier alone (no memory tier: every call reads the files).
fn process(dir: &Path) -> Cache<u32, u64> {
    Cache::builder()
        .namespace("app::genfiles")
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

/// Runs `f` on a thread and waits at most 30 s for it: a hang fails the test instead of
/// blocking the suite.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(f()));
    receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not return within 30 s"))
}

/// Plants `make(path)` at every generations file's name.
fn plant(dir: &Path, make: impl Fn(&Path)) {
    let locks = dir.join(LOCK_DIR);
    std::fs::create_dir_all(&locks).unwrap();
    for number in 0..FILES {
        make(&locks.join(format!("generations-{number:02x}")));
    }
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO at a generations file is never read: opened without blocking and refused as not a
/// regular file. Before, the read of a generation (and an invalidation's move of it) blocked
/// on the FIFO for good: `get_or_compute`, `remove` and `clear` never returned.
#[test]
fn a_fifo_at_a_generations_file_makes_no_call_wait() {
    let dir = tempfile::tempdir().unwrap();
    plant(dir.path(), mkfifo);
    let path = dir.path().to_owned();
    let got = within("get_or_compute", move || {
        process(&path).get_or_compute(&1, || 1)
    });
    assert_eq!(got, 1, "the function's value");
    let path = dir.path().to_owned();
    within("insert", move || process(&path).insert(&2, 2)).unwrap();
    let path = dir.path().to_owned();
    within("remove", move || process(&path).remove(&2)).unwrap();
    let path = dir.path().to_owned();
    within("clear", move || process(&path).clear()).unwrap();
    assert_eq!(process(dir.path()).get(&2), None, "removed");
}

/// A directory at every generations file's name, or a file where the lock folder should be:
/// no process can read a generation from them (no store is comparing with one), and the
/// invalidations still take the entry out. Before, `remove` and `clear` failed on the planted
/// thing before they reached the entry, which every process then read until its ttl.
#[test]
fn an_unusable_generations_file_does_not_keep_an_invalidated_entry() {
    type Planting = fn(&Path);
    let directories: Planting = |dir| plant(dir, |path| std::fs::create_dir(path).unwrap());
    let lock_folder_a_file: Planting = |dir| std::fs::write(dir.join(LOCK_DIR), b"mine").unwrap();
    for (what, planting) in [
        ("directories", directories),
        ("a file for the lock folder", lock_folder_a_file),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let other = process(dir.path());
        other.insert(&1, 1).unwrap();
        other.insert(&2, 2).unwrap();
        planting(dir.path());
        let removed = other.remove(&1);
        let cleared = other.clear();
        let third = process(dir.path());
        assert_eq!(
            (third.get(&1), third.get(&2)),
            (None, None),
            "{what}: an entry removed (remove: {removed:?}) or cleared (clear: {cleared:?}) is \
             still read"
        );
        assert!(
            removed.is_ok() && cleared.is_ok(),
            "{what}: {removed:?}, {cleared:?}"
        );
    }
}

/// The lock folder linked out of the directory: nothing outside is read or written, and (no
/// process can read a generation through the link, so no store is comparing with one) `insert`
/// and `remove` work as without it; a computed value is returned, not stored. Before, `insert`
/// and `remove` failed on the link: the inserted value never landed, the removed one stayed.
#[test]
fn a_lock_folder_linked_outside_costs_no_insert_nor_remove() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join(LOCK_DIR)).unwrap();
    let this = process(dir.path());
    assert_eq!(this.get_or_compute(&2, || 2), 2, "the function's value");
    this.insert(&1, 1).expect("insert");
    assert_eq!(process(dir.path()).get(&1), Some(1), "inserted");
    this.remove(&1).expect("remove");
    assert_eq!(process(dir.path()).get(&1), None, "removed");
    this.clear().expect("clear");
    let planted: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(planted.is_empty(), "files made outside: {planted:?}");
}

/// A forced refresh whose value the file tier cannot take (its generation cannot be read) does
/// not leave the value it replaces there: the older entry is taken out, as a write that fails
/// takes it out. Before, the tier kept the value the refresh was called to replace, read by
/// every process until its ttl.
#[test]
fn a_refresh_whose_value_cannot_be_stored_does_not_leave_the_value_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let this = process(dir.path());
    this.insert(&1, 1).unwrap();
    // The lock folder, never made by an insert, is a file: no generation can be read.
    std::fs::write(dir.path().join(LOCK_DIR), b"mine").unwrap();
    assert_eq!(this.refresh(|| this.get_or_compute(&1, || 2)), 2);
    assert_ne!(
        process(dir.path()).get(&1),
        Some(1),
        "the value the refresh replaced is still in the shared tier"
    );
}

/// Every generations file a hard link of a file outside the directory (helper-105): a hard link
/// is a regular file beneath the directory, so the tier took each for its own, and (not finding
/// its header) wrote a new one over the other file — a call wrote the files its key's stripes
/// name, `clear` all 64. Now each is refused as not its own: the function's value is returned,
/// and nothing outside is written.
#[test]
fn a_generations_file_hard_linked_outside_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = |number: u32| outside.path().join(format!("notes-{number}"));
    let precious = |number: u32| format!("another program's notes, {number}\n").into_bytes();
    for number in 0..FILES {
        std::fs::write(victim(number), precious(number)).unwrap();
    }
    let next = std::cell::Cell::new(0);
    plant(dir.path(), |path| {
        std::fs::hard_link(victim(next.replace(next.get() + 1)), path).unwrap()
    });
    let this = process(dir.path());
    assert_eq!(this.get_or_compute(&1, || 1), 1, "the function's value");
    let inserted = this.insert(&2, 2);
    let removed = this.remove(&2);
    let cleared = this.clear();
    for number in 0..FILES {
        assert!(
            std::fs::read(victim(number)).unwrap() == precious(number),
            "generations-{number:02x} was written through its hard link (insert: {inserted:?}, \
             remove: {removed:?}, clear: {cleared:?})"
        );
    }
}
