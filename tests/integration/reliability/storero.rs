//! A store on a read-only mount (a cache shipped in a container image, a read-only volume):
//! LMDB could not open it — its lock file cannot be written there — so the store tier failed on
//! every call and every value was computed again, the shipped entries never read (issue 13's
//! attack list, session 14). Root only, as the other mount tests.

use std::path::PathBuf;

use cacher::{Cache, StoreBackend};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::test_name;

use super::environment::{Tmpfs, skip};

const DIR: &str = "CACHER_TEST_READ_ONLY_STORE";

fn store_cache(dir: &std::path::Path) -> Cache<u32, u64> {
    Cache::builder()
        .namespace("app::shipped")
        .backend(StoreBackend::new(dir))
        .build()
        .unwrap()
}

/// The child's part: the store written, as the image's build would. A no-op as a test.
#[test]
fn a_store_written_before_its_mount_is_made_read_only() {
    let Ok(dir) = std::env::var(DIR) else {
        return;
    };
    store_cache(&PathBuf::from(dir)).insert(&1, 10).unwrap();
    println!("RESULT written=1");
}

/// A store with key 1 on a tmpfs of its own, written by another process (this one opens it only
/// once it is read-only): the sandbox, the store's directory, the mount. `None` when skipped.
fn written_on_a_mount() -> Option<(tempfile::TempDir, PathBuf, Tmpfs)> {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("shipped");
    let mount = match Tmpfs::mount(&dir, "size=8m") {
        Ok(mount) => mount,
        Err(why) => {
            skip(&format!("store on a read-only mount: {why}"));
            return None;
        }
    };
    let envs = [(DIR, dir.display().to_string())];
    let child = spawn_self(
        &test_name!(a_store_written_before_its_mount_is_made_read_only),
        &envs,
    );
    assert_eq!(child_results(child), [("written".into(), "1".into())]);
    Some((sandbox, dir, mount))
}

#[test]
fn a_store_on_a_read_only_mount_serves_its_entries_and_returns_computed_values() {
    let Some((_sandbox, dir, mount)) = written_on_a_mount() else {
        return;
    };
    // Shipped without its lock file: no process uses LMDB's locks there.
    std::fs::remove_file(dir.join("lock.mdb")).unwrap();
    mount.remount("ro");
    let cache = store_cache(&dir);
    assert_eq!(cache.get(&1), Some(10), "the shipped entry is served");
    assert_eq!(
        cache.get_or_compute(&2, || 20),
        20,
        "a miss still returns its value"
    );
    assert!(cache.stats().errors >= 1, "the refused write is counted");
    // Refused as a write to a read-only store, not as LMDB's "Permission denied".
    let refused = cache.insert(&3, 30).map_err(|e| e.to_string());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("read-only mount")),
        "{refused:?}"
    );
    assert_eq!(cache.get(&1), Some(10));
    mount.remount("rw");
}

/// The same store shipped with its lock file: a process may be writing the files through another
/// mount (a read-only bind of a directory the host writes), and a reader without LMDB's locks
/// would be killed by LMDB's assertions (the session 15 review saw SIGABRT within seconds). It
/// is refused, saying why: every call computes its value.
#[test]
fn a_store_on_a_read_only_mount_with_its_lock_file_is_refused_not_read_without_locks() {
    let Some((_sandbox, dir, mount)) = written_on_a_mount() else {
        return;
    };
    mount.remount("ro");
    let cache = store_cache(&dir);
    assert_eq!(cache.get(&1), None, "not read without LMDB's locks");
    assert_eq!(cache.get_or_compute(&2, || 20), 20);
    let refused = cache.insert(&3, 30).map_err(|e| e.to_string());
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("lock.mdb")),
        "{refused:?}"
    );
    mount.remount("rw");
}
