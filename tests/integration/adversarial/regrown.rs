//! A file tier's directory removed while processes use it (`rm -rf` of the cache, a cleaner of
//! old files), then made again by another process's write (attack, session 16). Each process
//! keeps the cache directory open; `a` opened it before the removal, `b` after. The file tier
//! alone, so that every call reaches the disk; each `Cache` of its own `SeparateFileBackend`,
//! as in a process of its own.

use std::path::Path;

use cacher::{Cache, SeparateFileBackend};

const NAMESPACE: &str = "adversarial::regrown";

fn process(dir: &Path) -> Cache<u32, String> {
    Cache::builder()
        .namespace(NAMESPACE)
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

/// `a`'s directory removed and made again by `b`, which stores `1`'s value there.
fn regrown(dir: &Path) -> (Cache<u32, String>, Cache<u32, String>) {
    let a = process(dir);
    a.insert(&0, "a's".to_owned()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    let b = process(dir);
    assert_eq!(b.get_or_compute(&1, || "old".to_owned()), "old");
    (a, b)
}

/// Once `a.clear()` returned, `b` no longer serves the value it computed before. (Failed: `a`
/// cleared the directory it had open, deleted, and returned `Ok`; the directory `b` made kept
/// its entry, served after the clear.)
#[test]
fn a_clear_after_the_directory_was_made_again_clears_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let (a, b) = regrown(&dir);
    a.clear().unwrap();
    assert_eq!(b.get(&1), None, "served after a clear that returned");
    assert_eq!(b.get_or_compute(&1, || "new".to_owned()), "new");
}

/// The same for `a.remove(&1)`, and for `a.insert` over it: `b` serves what `a` left.
#[test]
fn a_remove_or_insert_after_the_directory_was_made_again_reaches_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let (a, b) = regrown(&dir);
    a.remove(&1).unwrap();
    assert_eq!(b.get(&1), None, "served after a remove that returned");
    assert_eq!(b.get_or_compute(&1, || "old".to_owned()), "old");
    a.insert(&1, "inserted".to_owned()).unwrap();
    assert_eq!(b.get(&1).as_deref(), Some("inserted"));
}
