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
