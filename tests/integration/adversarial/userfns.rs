//! User functions a cache calls (`filename_fn`) that panic: the cache's failure, not the caller's.

use cacher::{Cache, Error, SeparateFileBackend};

/// A `filename_fn` that panics for some keys (`&key[..40]` of a shorter key) is a path refused
/// for them, as one that leaves the directory: the function's value is returned, the failure
/// counted, `insert` says so, and other keys are stored. Before, the call panicked (after the
/// function ran, for a refresh or an insert).
#[test]
fn a_filename_fn_that_panics_costs_the_entry_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u32> = Cache::builder()
        .backend(
            SeparateFileBackend::new(dir.path()).filename_fn(|key| format!("{}.json", &key[..8])),
        )
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute("a", || 7), 7);
    assert!(cache.stats().errors > 0);
    assert!(matches!(cache.insert("a", 8), Err(Error::InvalidPath(_))));
    assert_eq!(cache.refresh(|| cache.get_or_compute("a", || 9)), 9);
    assert_eq!(cache.get_or_compute("long enough", || 10), 10);
    assert_eq!(cache.get("long enough"), Some(10), "stored");
}
