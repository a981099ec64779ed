//! The file backend: names a person can read, atomic writes, corrupt entries as misses, no path
//! outside the cache directory, and a cache that cannot write still answering.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, Error, HashKeyer, SeparateFileBackend};
use cacher_tests::{Calls, files_below};

type Args = (String, u32, String);

fn args(endpoint: &str, user_id: u32, sort: &str) -> Args {
    (endpoint.to_string(), user_id, sort.to_string())
}

fn file_cache<F: Formatter>(dir: &Path, formatter: F) -> Cache<Args, Vec<String>> {
    Cache::builder()
        .namespace("tests::fetch_from_api")
        .arg_names(&["endpoint", "user_id", "sort"])
        .backend(SeparateFileBackend::new(dir).formatter(formatter))
        .build()
        .unwrap()
}

#[test]
fn readable_keys_name_the_file_after_the_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache(dir.path(), JsonFormatter);
    cache.insert(&args("/posts", 1, "asc"), vec!["post".into()]);
    let name = Path::new("endpoint=%2Fposts_user_id=1_sort=asc.json");
    assert_eq!(files_below(dir.path()), vec![name.to_path_buf()]);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join(name)).unwrap()).unwrap();
    assert_eq!(json["value"], serde_json::json!(["post"]));
    assert_eq!(json["namespace"], "tests::fetch_from_api");
}

#[test]
fn hashed_keys_shard_into_subdirectories() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<Args, u32> = Cache::builder()
        .keyer(HashKeyer)
        .backend(
            SeparateFileBackend::new(dir.path())
                .filename_fn(|key| format!("{}/{}.json", &key[..4], key)),
        )
        .build()
        .unwrap();
    cache.insert(&args("/posts", 1, "asc"), 1);
    let files = files_below(dir.path());
    assert_eq!(files.len(), 1);
    let key = cache.key_of(&args("/posts", 1, "asc")).unwrap();
    assert_eq!(key.len(), 32);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(files[0], Path::new(&key[..4]).join(format!("{key}.json")));
}

#[test]
fn every_formatter_round_trips_with_its_extension() {
    fn check<F: Formatter>(formatter: F, extension: &str) {
        let dir = tempfile::tempdir().unwrap();
        let value = vec!["a".to_string(), "ü".repeat(3)];
        file_cache(dir.path(), formatter.clone()).insert(&args("/x", 2, "d"), value.clone());
        let files = files_below(dir.path());
        assert_eq!(files[0].extension().unwrap(), extension);
        let fresh = file_cache(dir.path(), formatter);
        assert_eq!(fresh.get(&args("/x", 2, "d")), Some(value));
    }
    check(JsonFormatter, "json");
    check(BincodeFormatter, "bin");
    check(PostcardFormatter, "postcard");
}

#[test]
fn readers_never_see_a_torn_entry_while_it_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, Vec<u8>> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()).formatter(PostcardFormatter))
        .build()
        .unwrap();
    // Each value is 256 KiB of one repeated byte: a torn read would mix two bytes.
    let value = |b: u8| vec![b; 256 * 1024];
    cache.insert(&0, value(0));
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in 1..=60u8 {
                cache.insert(&0, value(b));
            }
            done.store(true, Ordering::SeqCst);
        });
        let mut reads = 0;
        while !done.load(Ordering::SeqCst) || reads < 10 {
            let got = cache
                .get(&0)
                .expect("the entry is always there, old or new");
            assert!(got.len() == 256 * 1024 && got.iter().all(|b| *b == got[0]));
            reads += 1;
        }
    });
    assert_eq!(cache.stats().errors, 0);
    assert!(
        files_below(dir.path())
            .iter()
            .all(|f| !f.to_string_lossy().contains("tmp"))
    );
}

/// Writes `bytes` over the entry file of `key`, then checks a fresh cache treats it as a miss,
/// recomputes, returns the right value and repairs the file.
fn assert_corrupt_entry_is_repaired(bytes: &[u8], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = args("/posts", 1, "asc");
    let right = vec!["right".to_string()];
    let cache = file_cache(dir.path(), JsonFormatter);
    cache.insert(&key, right.clone());
    fs::write(cache.path_of(&key).unwrap(), bytes).unwrap();

    let calls = Calls::default();
    let fresh = file_cache(dir.path(), JsonFormatter);
    let got = fresh.get_or_compute(&key, || {
        calls.hit();
        right.clone()
    });
    assert_eq!(got, right, "{what}");
    assert_eq!(calls.count(), 1, "{what}: must be a miss");
    assert_eq!(fresh.stats().errors, 1, "{what}: must be reported");
    let repaired = file_cache(dir.path(), JsonFormatter);
    assert_eq!(repaired.get(&key), Some(right), "{what}: must be repaired");
}

#[test]
fn corrupt_entries_are_misses_and_get_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache(dir.path(), JsonFormatter);
    cache.insert(&args("/other", 9, "desc"), vec!["other key's value".into()]);
    let other_key_entry = fs::read(cache.path_of(&args("/other", 9, "desc")).unwrap()).unwrap();
    cache.insert(&args("/posts", 1, "asc"), vec!["x".into()]);
    let good = fs::read(cache.path_of(&args("/posts", 1, "asc")).unwrap()).unwrap();

    assert_corrupt_entry_is_repaired(b"", "empty");
    assert_corrupt_entry_is_repaired(&good[..good.len() / 2], "truncated");
    assert_corrupt_entry_is_repaired(b"\x00\xff garbage \x13", "garbage");
    assert_corrupt_entry_is_repaired(br#"{"some":"other json"}"#, "json of another shape");
    assert_corrupt_entry_is_repaired(&other_key_entry, "another key's entry");
    let wrong_type = String::from_utf8(good.clone())
        .unwrap()
        .replace(r#"["x"]"#, "12");
    assert_corrupt_entry_is_repaired(wrong_type.as_bytes(), "a value of another type");
}

#[test]
fn an_entry_of_an_older_version_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let build = |version: &str| -> Cache<String, u32> {
        Cache::builder()
            .version(version)
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    build("1").insert("k", 1);
    assert_eq!(build("1").get("k"), Some(1));
    assert_eq!(build("2").get_or_compute("k", || 2), 2);
    assert_eq!(build("2").get("k"), Some(2));
}

#[test]
fn hostile_keys_stay_inside_the_cache_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cache");
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(&dir))
        .build()
        .unwrap();
    let hostile = [
        "..",
        "../x",
        "/etc/passwd",
        "a/../../b",
        "C:\\x",
        "con",
        "a\0b",
        "",
        ".",
    ];
    for (i, key) in hostile.iter().enumerate() {
        cache.insert(*key, i as u32);
    }
    for (i, key) in hostile.iter().enumerate() {
        assert_eq!(cache.get(*key), Some(i as u32), "{key:?}");
    }
    assert_eq!(files_below(root.path()).len(), hostile.len());
    assert!(
        files_below(root.path())
            .iter()
            .all(|f| f.starts_with("cache"))
    );
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn a_filename_fn_leaving_the_directory_is_refused_and_the_value_still_returned() {
    for bad in [
        "../escape.json",
        "/abs.json",
        "",
        "a//b.json",
        "x/../../y.json",
    ] {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        let bad_owned = bad.to_string();
        let cache: Cache<String, u32> = Cache::builder()
            .backend(SeparateFileBackend::new(&dir).filename_fn(move |_| bad_owned.clone()))
            .build()
            .unwrap();
        assert_eq!(cache.get_or_compute("k", || 5), 5, "{bad:?}");
        assert!(cache.stats().errors >= 1, "{bad:?}");
        match cache.insert("k", 5) {
            Err(Error::InvalidPath(e)) => assert!(e.to_string().contains(bad), "{e}"),
            other => panic!("{bad:?}: expected InvalidPath, got {other:?}"),
        }
        assert!(
            files_below(root.path()).is_empty(),
            "{bad:?} wrote something"
        );
    }
}

#[test]
fn a_missing_directory_is_created_on_first_write() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a/b/c");
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(&dir))
        .build()
        .unwrap();
    assert_eq!(cache.get_or_compute("k", || 1), 1);
    assert!(cache.path_of("k").unwrap().exists());
}

#[test]
fn a_cache_that_cannot_write_still_returns_the_value() {
    let root = tempfile::tempdir().unwrap();
    // The "directory" is a regular file: nothing can be created below it, even as root.
    let not_a_dir = root.path().join("file");
    fs::write(&not_a_dir, b"in the way").unwrap();
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(not_a_dir.join("cache")))
        .build()
        .unwrap();
    let calls = Calls::default();
    for _ in 0..2 {
        let v = cache.get_or_compute("k", || {
            calls.hit();
            3
        });
        assert_eq!(v, 3);
    }
    assert_eq!(
        calls.count(),
        2,
        "nothing could be stored, so both calls compute"
    );
    assert!(cache.stats().errors >= 2);
    assert!(matches!(cache.insert("k", 3), Err(Error::Io { .. })));
}

#[test]
fn clear_removes_only_this_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let build = |namespace: &str| -> Cache<String, u32> {
        Cache::builder()
            .namespace(namespace)
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let (a, b) = (build("a"), build("b"));
    a.insert("x", 1);
    b.insert("y", 2);
    fs::write(dir.path().join("notes.json"), b"{\"mine\": true}").unwrap();
    a.clear().unwrap();
    assert_eq!(a.get("x"), None);
    assert_eq!(b.get("y"), Some(2));
    assert!(
        dir.path().join("notes.json").exists(),
        "a user's file is not ours to delete"
    );
}

#[test]
fn max_entries_on_disk_evicts_the_least_recently_used_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()).max_entries(3))
        .build()
        .unwrap();
    for k in 0..3 {
        cache.insert(&k, k);
    }
    assert_eq!(cache.get(&0), Some(0)); // 0 is now more recent than 1
    cache.insert(&3, 3);
    assert_eq!(files_below(dir.path()).len(), 3);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&0), Some(0));
}

#[test]
fn durable_writes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()).durable(true))
        .build()
        .unwrap();
    cache.insert("k", 1);
    assert_eq!(cache.get("k"), Some(1));
}
