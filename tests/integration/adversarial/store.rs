//! Attacks on the embedded store and the lock files beside it: names that collide, paths that
//! lead elsewhere, directories that cannot be written, entries dropped before their time.

use cacher::{Cache, StoreBackend};

#[test]
fn an_unwritable_store_directory_still_returns_the_functions_value() {
    let dir = tempfile::tempdir().unwrap();
    // A directory below a regular file cannot be made, whoever runs the test (root included).
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(StoreBackend::new(file.join("store")))
        .build()
        .expect("a store that cannot open is a failing tier, not a failed build");
    assert_eq!(cache.get_or_compute(&1, || "one".into()), "one");
    assert!(
        cache.insert(&1, "one".into()).is_err(),
        "the tier's error is told"
    );
    assert!(cache.stats().errors > 0);
}
