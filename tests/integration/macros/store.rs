//! `backend = "store"` and `max_size` in the attribute reach the store and file tiers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use cacher::cached;

macro_rules! dir {
    ($name:literal) => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/macro_store/", $name)
    };
}

static STORE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(
    backend = ["memory", "store"],
    cache_dir = dir!("store"),
    max_entries = 2,
    max_size = "1MiB",
    durable = true,
    // Pinned, so that the cache below reads its entries (without, they record the code).
    version = "1"
)]
fn stored(n: u32) -> Vec<u32> {
    STORE_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![n; 3]
}

#[test]
fn the_store_tier_keeps_max_entries_behind_memory() {
    let _ = std::fs::remove_dir_all(dir!("store"));
    for n in 0..5 {
        assert_eq!(stored(n), vec![n; 3]);
    }
    assert_eq!(STORE_RUNS.load(Ordering::SeqCst), 5);
    // The store keeps two: the newest. (Read through a cache of its own, with the same names.)
    let store: cacher::Cache<u32, Vec<u32>> = cacher::Cache::builder()
        .namespace(stored_cache().namespace())
        .version("1")
        .arg_names(&["n"])
        .backend(cacher::StoreBackend::new(dir!("store")))
        .build()
        .unwrap();
    let kept: Vec<u32> = (0..5).filter(|n| store.get(n).is_some()).collect();
    assert_eq!(kept, vec![3, 4]);
}

static SIZED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", cache_dir = dir!("sized"), max_size = "10KB")]
fn sized(n: u32) -> String {
    SIZED_RUNS.fetch_add(1, Ordering::SeqCst);
    "x".repeat(3000 + n as usize)
}

#[test]
fn max_size_reaches_the_file_tier() {
    let _ = std::fs::remove_dir_all(dir!("sized"));
    for n in 0..10 {
        sized(n);
    }
    let bytes: u64 = cacher_tests::files_below(Path::new(dir!("sized")))
        .iter()
        .map(|rel| {
            std::fs::metadata(Path::new(dir!("sized")).join(rel))
                .unwrap()
                .len()
        })
        .sum();
    assert!(bytes <= 10_000, "{bytes}");
    assert_eq!(SIZED_RUNS.load(Ordering::SeqCst), 10);
}
