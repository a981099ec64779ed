//! The embedded store's own files planted as links leading out of its directory (`data.mdb`,
//! `lock.mdb`; symbolic or hard): as with the file tier, nothing leads the cache out of its
//! directory — another program's file is never written, truncated or taken for the database —
//! and the function's value is still returned.

#![cfg(unix)]

use std::path::Path;

use cacher::{Cache, StoreBackend};

const PRECIOUS: &[u8] = b"another program's file: must stay as it is\n";

/// A store cache in `store`, whose `name` is a symbolic link to a file of another program
/// outside it: the call's value, and what became of that file.
fn with_planted_link(name: &str, victim_content: &[u8]) -> (String, Vec<u8>) {
    planted(name, victim_content, |victim, link| {
        std::os::unix::fs::symlink(victim, link)
    })
}

/// As [`with_planted_link`], a hard link: the store's file *is* the other program's.
fn with_planted_hard_link(name: &str, victim_content: &[u8]) -> (String, Vec<u8>) {
    planted(name, victim_content, |victim, link| {
        std::fs::hard_link(victim, link)
    })
}

fn planted(
    name: &str,
    victim_content: &[u8],
    link: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, victim_content).unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    link(&victim, &store.join(name)).unwrap();
    let value = call(&store);
    (value, std::fs::read(&victim).unwrap())
}

fn call(store: &Path) -> String {
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(StoreBackend::new(store))
        .build()
        .unwrap();
    cache.get_or_compute(&1, || "one".into())
}

/// LMDB opens `lock.mdb` by its path, following the link: the first process of the store
/// extends the file to its lock table and writes the table's header over its first bytes.
#[test]
fn a_lock_file_linked_outside_the_store_is_never_written() {
    let (value, after) = with_planted_link("lock.mdb", PRECIOUS);
    assert_eq!(value, "one", "the function's value is returned");
    assert!(
        after == PRECIOUS,
        "the store followed lock.mdb out of its directory and changed the file it leads to: \
         {} bytes now, starting {:?}",
        after.len(),
        String::from_utf8_lossy(&after[..after.len().min(48)])
    );
}

/// LMDB opens `data.mdb` by its path, following the link: an empty file there is taken for a new
/// database and written (its meta pages), then filled with the cache's entries.
#[test]
fn a_database_file_linked_outside_the_store_is_never_written() {
    let (value, after) = with_planted_link("data.mdb", b"");
    assert_eq!(value, "one", "the function's value is returned");
    assert!(
        after.is_empty(),
        "the store followed data.mdb out of its directory and wrote {} bytes into the (empty) \
         file it leads to",
        after.len()
    );
}

/// A store directory that holds another program's LMDB database (`data.mdb` with rows, no
/// `lock.mdb`: the program opens it without LMDB's locks, or is not running): the cache refuses
/// it as a store and still returns the function's value, and the directory is left as it was —
/// the database's bytes, and no file made beside it. (Failed: the store made its `lock.mdb`
/// there, and opened the database read-write, before it looked whose it was; the cache's
/// cross-process lock made its `.cacher-locks` folder there.)
#[test]
fn another_programs_lmdb_directory_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cacher-cli/tests/fixtures/other-program.mdb");
    let data = dir.path().join("data.mdb");
    std::fs::copy(&fixture, &data).unwrap();
    let before = std::fs::read(&data).unwrap();
    // Twice: the refusal holds for the backend's later calls (it does not look there again).
    assert_eq!(call(dir.path()), "one");
    assert_eq!(call(dir.path()), "one");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["data.mdb"],
        "files made in another program's directory"
    );
    assert!(
        std::fs::read(&data).unwrap() == before,
        "its database was changed"
    );
}

/// A hard link passes every check of a symbolic one (it is a regular file beneath the
/// directory): LMDB extended the other program's file to its lock table and wrote its header
/// over it (helper-105: 108 894 bytes of a file became 262 272).
#[test]
fn a_lock_file_hard_linked_to_a_file_outside_is_never_written() {
    let (value, after) = with_planted_hard_link("lock.mdb", PRECIOUS);
    assert_eq!(value, "one", "the function's value is returned");
    assert!(
        after == PRECIOUS,
        "the store wrote the file its lock.mdb is a hard link of: {} bytes now",
        after.len()
    );
}

/// As above, `data.mdb`: an empty file taken for a new database and written.
#[test]
fn a_database_file_hard_linked_to_a_file_outside_is_never_written() {
    let (value, after) = with_planted_hard_link("data.mdb", b"");
    assert_eq!(value, "one", "the function's value is returned");
    assert!(
        after.is_empty(),
        "the store wrote {} bytes into the file its data.mdb is a hard link of",
        after.len()
    );
}

/// As above, in a store that has entries (helper-108's review): the store is looked at before
/// it is opened (`whose`), read-only but with LMDB's locks, and LMDB, the lock file's first
/// opener, extended it to its table and wrote its header — before the hard link was refused.
#[test]
fn a_lock_file_hard_linked_outside_a_store_with_entries_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let made = dir.path().join("made");
    assert_eq!(call(&made), "one");
    // A copy of that store's database, in a directory no store of this process has opened.
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::copy(made.join("data.mdb"), store.join("data.mdb")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, PRECIOUS).unwrap();
    std::fs::hard_link(&victim, store.join("lock.mdb")).unwrap();
    assert_eq!(call(&store), "one", "the function's value is returned");
    let after = std::fs::read(&victim).unwrap();
    assert!(
        after == PRECIOUS,
        "the store wrote the file its lock.mdb is a hard link of: {} bytes now",
        after.len()
    );
}
