//! Hostile environment: a missing directory, a read-only one, one below a regular file, one
//! replaced by a file, an entry path taken by a directory, a full disk. In every case the caller
//! gets the function's value, the failure is counted in `stats().errors`, no partial entry is
//! left behind, and the cache works again once the environment does.
//!
//! The read-only and full-disk cases mount a small tmpfs, which needs root (tests here run as
//! root; permissions alone do not stop root, hence the mounts). Without root, or when `mount`
//! fails, they print `skipped: …` — unless the environment variable `CI` is set, in which case
//! they fail instead.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use cacher::{Cache, Error, SeparateFileBackend};
pub(crate) use cacher_tests::mount::{Tmpfs, is_root, skip};
use cacher_tests::{Calls, files_below, init_tracing, temp_files};

fn cache_on(dir: &Path) -> Cache<String, String> {
    Cache::builder()
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

/// Calls `get_or_compute` and checks that the function ran and its value came back.
fn computed(cache: &Cache<String, String>, key: &str, value: &str) {
    let calls = Calls::default();
    let got = cache.get_or_compute(key, || {
        calls.hit();
        value.to_owned()
    });
    assert_eq!(got, value);
    assert_eq!(calls.count(), 1, "{key}: the function did not run");
}

#[test]
fn a_missing_directory_is_created_on_first_write() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("not/there/yet");
    let cache = cache_on(&dir);
    assert_eq!(cache.get("k"), None);
    assert!(!dir.exists(), "a read created the directory");
    computed(&cache, "k", "value");
    assert!(dir.is_dir());
    assert!(cache.path_of("k").unwrap().is_file());
    assert_eq!(cache.stats().errors, 0, "{:?}", cache.stats());
    assert_eq!(cache_on(&dir).get("k").as_deref(), Some("value"));
}

/// `cache_dir` goes through a regular file (`file/sub`): nothing can be created there, not even
/// by root (ENOTDIR). Nothing can be stored, so every call computes.
#[test]
fn a_directory_below_a_regular_file_still_returns_values() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let file = sandbox.path().join("file");
    fs::write(&file, "not a directory").unwrap();
    let cache = cache_on(&file.join("sub"));
    computed(&cache, "k", "one");
    computed(&cache, "k", "two");
    assert!(cache.stats().errors >= 2, "{:?}", cache.stats());
    let err = cache.insert("k", "x".into()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn a_directory_replaced_by_a_file_still_returns_values_and_recovers() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let cache = cache_on(&dir);
    computed(&cache, "k", "before");
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, "a file now").unwrap();

    computed(&cache, "k", "while replaced");
    let errors = cache.stats().errors;
    assert!(errors >= 1, "{:?}", cache.stats());
    assert_eq!(fs::read_to_string(&dir).unwrap(), "a file now");

    // The directory is back: the cache works again, without new errors.
    fs::remove_file(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    computed(&cache, "k", "after");
    assert_eq!(cache.stats().errors, errors);
    assert_eq!(cache_on(&dir).get("k").as_deref(), Some("after"));
}

#[test]
fn an_entry_path_taken_by_a_directory_still_returns_values() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_on(dir.path());
    let path = cache.path_of("k").unwrap();
    fs::create_dir_all(path.join("inside")).unwrap();
    computed(&cache, "k", "one");
    computed(&cache, "k", "two");
    assert!(cache.stats().errors >= 2, "{:?}", cache.stats());
    assert!(path.join("inside").is_dir());
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}

/// A read-only directory with an entry in it: the entry is served, new values are returned and
/// the failed writes counted. Root ignores permissions, so as root the directory is a tmpfs
/// remounted read-only; otherwise it is `chmod 0o555`.
#[test]
fn a_read_only_directory_serves_its_entries_and_still_returns_values() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let mount = if is_root() {
        match Tmpfs::mount(&dir, "size=1m") {
            Ok(mount) => Some(mount),
            Err(why) => return skip(&format!("read-only directory: {why}")),
        }
    } else {
        fs::create_dir(&dir).unwrap();
        None
    };
    cache_on(&dir)
        .insert("old", "stored before".into())
        .unwrap();
    match &mount {
        Some(mount) => mount.remount("ro"),
        None => {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        }
    }
    let files_before = files_below(&dir);

    let cache = cache_on(&dir);
    assert_eq!(cache.get("old").as_deref(), Some("stored before"));
    assert_eq!(cache.stats().errors, 0);
    computed(&cache, "new", "one");
    computed(&cache, "new", "two");
    assert!(cache.stats().errors >= 2, "{:?}", cache.stats());
    let err = cache.insert("new", "x".into()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(files_below(&dir), files_before);

    if mount.is_none() {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Fills a small tmpfs: a value larger than what is left is still returned, the failure is
/// counted, no partial entry or temporary file stays, existing entries are still served, and
/// once space is freed the value is stored.
#[test]
fn a_full_disk_still_returns_values_and_leaves_no_partial_entry() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=64k") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("full disk: {why}")),
    };
    let cache = cache_on(&dir);
    cache
        .insert("before", "stored while there was room".into())
        .unwrap();
    assert_eq!(cache.stats().errors, 0);

    // Fill the file system.
    let filler = dir.join("filler");
    let mut file = fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    let full = loop {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            break e;
        }
    };
    drop(file);
    assert_eq!(full.raw_os_error(), Some(28), "expected ENOSPC, got {full}");

    let big = "x".repeat(100 * 1024);
    let cache = cache_on(&dir);
    assert_eq!(
        cache.get("before").as_deref(),
        Some("stored while there was room")
    );
    computed(&cache, "big", &big);
    computed(&cache, "small", "tiny");
    let errors = cache.stats().errors;
    assert!(errors >= 2, "{:?}", cache.stats());
    let err = cache.insert("big", big.clone()).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(28)),
        "{err:?}"
    );
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    assert!(
        !cache.path_of("big").unwrap().exists(),
        "a partial entry was left"
    );
    let fresh = cache_on(&dir);
    assert_eq!(fresh.get("big"), None);
    assert_eq!(fresh.stats().errors, 0, "a partial entry was read");

    // Room again: stored.
    fs::remove_file(&filler).unwrap();
    computed(&cache, "small", "tiny");
    assert_eq!(
        cache.stats().errors,
        errors + 1,
        "only the insert above failed"
    );
    assert_eq!(cache_on(&dir).get("small").as_deref(), Some("tiny"));
}
