//! A cache's own files on another file system mounted below its directory (a tmpfs or a volume
//! at a subdirectory its `filename_fn` or version writes into). The cache reads and writes its
//! entries there: its `clear` must not report success and leave them, to be served after it (a
//! first fix for `cacher --root /`, session 10, kept every walk on one file system, and did).

use cacher::{Cache, SeparateFileBackend};

use crate::reliability::environment::{Tmpfs, skip};

#[test]
fn a_clear_removes_the_caches_entries_on_a_file_system_mounted_below_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _mounted = match Tmpfs::mount(&dir.path().join("hot"), "size=1m") {
        Ok(mounted) => mounted,
        Err(why) => return skip(&why),
    };
    let file = SeparateFileBackend::new(dir.path()).filename_fn(|key| {
        let name: String = key.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("hot/{name}.json")
    });
    let cache: Cache<u32, u64> = Cache::builder()
        .namespace("mounted")
        .backend(file)
        .build()
        .unwrap();
    cache.insert(&1, 10).unwrap();
    assert_eq!(cache.get(&1), Some(10), "written below the mount");
    cache.clear().unwrap();
    assert_eq!(cache.get(&1), None, "served after the clear returned Ok");
}
