//! The embedded store on a full disk: a small tmpfs filled to ENOSPC (root only, as the other
//! mount tests: `skipped: …` without it, a failure when `CI` is set).

use std::fs;
use std::io::Write as _;
use std::path::Path;

use cacher::{Cache, StoreBackend};

use super::environment::{Tmpfs, skip};

fn store_cache(dir: &Path) -> Cache<String, String> {
    Cache::builder()
        .namespace("app::full")
        .backend(StoreBackend::new(dir))
        .build()
        .unwrap()
}

/// Fills `dir`'s file system with a file until a write fails; the error.
fn fill(dir: &Path) -> std::io::Error {
    let mut file = fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            return e;
        }
    }
}

/// On a full disk, a store's write fails; the function's value is returned, and the key's older
/// entry is not served after an `insert` or a `refresh` of a newer value.
#[test]
fn a_store_on_a_full_disk_returns_values_and_never_serves_the_replaced_entry() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=1m") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("store on a full disk: {why}")),
    };
    let cache = store_cache(&dir);
    for key in ["a", "b", "c"] {
        cache.insert(key, format!("old {key}")).unwrap();
    }
    let full = fill(&dir);
    assert_eq!(full.raw_os_error(), Some(28), "expected ENOSPC, got {full}");
    let big = "x".repeat(600 * 1024);
    let inserted = cache.insert("a", big.clone());
    eprintln!("insert on a full disk: {inserted:?}");
    let got = cache.refresh(|| cache.get_or_compute("b", || big.clone()));
    assert_eq!(got, big, "the function's value is returned");
    let fresh = store_cache(&dir);
    let a = fresh.get("a");
    assert!(
        a.is_none() || inserted.is_ok(),
        "served the entry an insert replaced: {a:?}"
    );
    assert_ne!(
        fresh.get("b").as_deref(),
        Some("old b"),
        "served the entry a refresh replaced"
    );
    assert_eq!(fresh.get("c").as_deref(), Some("old c"));
    fs::remove_file(dir.join("filler")).unwrap();
    cache.insert("a", "new a".into()).unwrap();
    assert_eq!(store_cache(&dir).get("a").as_deref(), Some("new a"));
}

/// A store opened on a disk already full (helper-105): LMDB sized its lock file with `ftruncate`
/// (sparse) and wrote its header through its map, on a page the disk had no block for: the
/// kernel killed the process (`SIGBUS`, this test binary with it). The tier now fails to open,
/// saying the disk is full, and the function's value is returned.
#[test]
fn a_store_opened_on_a_full_disk_returns_the_value_not_a_crash() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=512k") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("store opened on a full disk: {why}")),
    };
    let full = fill(&dir);
    assert_eq!(full.raw_os_error(), Some(28), "expected ENOSPC, got {full}");
    let cache = store_cache(&dir.join("store"));
    assert_eq!(cache.get_or_compute("a", || "one".into()), "one");
    assert!(cache.stats().errors > 0, "the failed store is counted");
}

/// A store opened with room, then its disk filled, then read by more threads at once than one
/// page of LMDB's lock table holds slots for (64): each new reader thread takes a slot, written
/// through the map; a slot on a page with no block killed the process (`SIGBUS`, helper-105:
/// 64 threads of one process). The lock table's blocks are reserved when the store opens.
#[test]
fn many_reader_threads_of_a_store_whose_disk_filled_are_not_killed() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=1m") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("store readers on a full disk: {why}")),
    };
    let cache = store_cache(&dir.join("store"));
    cache.insert("a", "one".into()).unwrap();
    let full = fill(&dir);
    assert_eq!(full.raw_os_error(), Some(28), "expected ENOSPC, got {full}");
    const THREADS: usize = 160;
    let together = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                // Memory misses on every thread but the first: a read of the store each.
                let fresh = store_cache(&dir.join("store"));
                assert_eq!(fresh.get("a").as_deref(), Some("one"));
                together.wait();
            });
        }
    });
}

/// What keeps both tests above from a crash, seen without a full disk: the lock file has its
/// blocks, not holes (LMDB alone leaves all but its first page a hole).
#[cfg(target_os = "linux")]
#[test]
fn a_stores_lock_table_has_its_disk_blocks_reserved() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache(dir.path());
    cache.insert("a", "one".into()).unwrap();
    let lock = fs::metadata(dir.path().join("lock.mdb")).unwrap();
    assert!(
        lock.blocks() * 512 >= lock.len(),
        "lock.mdb is sparse: {} bytes long, {} bytes of blocks",
        lock.len(),
        lock.blocks() * 512
    );
}

/// Every write a full disk refuses the store is said as a full disk: LMDB reports a write cut
/// short as `EIO`, and the warnings read "Input/output error" (helper-105: 60 entries of 20 KB
/// on a 512 KiB file system), which does not tell an operator what to do.
#[test]
fn a_store_write_refused_by_a_full_disk_says_the_disk_is_full() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=512k") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("store writes on a full disk: {why}")),
    };
    let cache = store_cache(&dir.join("store"));
    let value = "x".repeat(20_000);
    let refused: Vec<String> = (0..60)
        .filter_map(|n| cache.insert(&n.to_string(), value.clone()).err())
        .map(|e| e.to_string())
        .collect();
    assert!(!refused.is_empty(), "60 entries of 20 KB fit in 512 KiB");
    for said in &refused {
        assert!(
            said.to_lowercase().contains("no space left on"),
            "a write refused by a full disk, said as: {said}"
        );
    }
}
