//! The file backend: names a person can read, every formatter, atomic rewrites, versions and
//! namespaces, bounds, and a cache that cannot write still answering. (Corrupt entries, hostile
//! keys and `filename_fn`s, and hostile file systems: `reliability`.)

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, HashKeyer, SeparateFileBackend};
use cacher_tests::files_below;

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
    cache
        .insert(&args("/posts", 1, "asc"), vec!["post".into()])
        .unwrap();
    let name = Path::new("(v2)endpoint=%2Fposts_user_id=1_sort=asc.json");
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
    cache.insert(&args("/posts", 1, "asc"), 1).unwrap();
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
        file_cache(dir.path(), formatter.clone())
            .insert(&args("/x", 2, "d"), value.clone())
            .unwrap();
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
    cache.insert(&0, value(0)).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in 1..=60u8 {
                cache.insert(&0, value(b)).unwrap();
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
    build("1").insert("k", 1).unwrap();
    assert_eq!(build("1").get("k"), Some(1));
    assert_eq!(build("2").get_or_compute("k", || 2), 2);
    assert_eq!(build("2").get("k"), Some(2));
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
    a.insert("x", 1).unwrap();
    b.insert("y", 2).unwrap();
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
        cache.insert(&k, k).unwrap();
    }
    assert_eq!(cache.get(&0), Some(0)); // 0 is now more recent than 1
    cache.insert(&3, 3).unwrap();
    assert_eq!(files_below(dir.path()).len(), 3);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&0), Some(0));
}

#[test]
fn durable_writes_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()).durable(true))
        .build()
        .unwrap();
    cache.insert("k", 1).unwrap();
    assert_eq!(cache.get("k"), Some(1));
}

#[test]
fn entries_lists_this_cache_only_with_its_arguments_and_stops_when_told() {
    use std::ops::ControlFlow;
    let dir = tempfile::tempdir().unwrap();
    let named = |namespace: &str| -> Cache<u32, String> {
        Cache::builder()
            .namespace(namespace)
            .keyer(HashKeyer)
            .backend(SeparateFileBackend::new(dir.path()).formatter(PostcardFormatter))
            .build()
            .unwrap()
    };
    let (mine, other) = (named("app::mine"), named("app::other"));
    for n in 0..5 {
        mine.insert(&n, format!("v{n}")).unwrap();
        other.insert(&n, format!("w{n}")).unwrap();
    }
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let mut args = Vec::new();
    mine.entries(|listed| {
        let meta = listed.meta().expect("only entries");
        assert_eq!(
            (meta.namespace.as_str(), meta.format),
            ("app::mine", "postcard")
        );
        assert!(listed.size > 0 && listed.location.ends_with(".postcard"));
        args.push(meta.args.clone().unwrap());
        ControlFlow::Continue(())
    })
    .unwrap();
    args.sort();
    assert_eq!(args, ["(v2)0", "(v2)1", "(v2)2", "(v2)3", "(v2)4"]);
    let mut seen = 0;
    mine.entries(|_| {
        seen += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(seen, 1);
}

#[test]
fn max_size_keeps_the_newest_entries_within_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("tests::sized")
        .backend(SeparateFileBackend::new(dir.path()).max_size(40 * 1024))
        .build()
        .unwrap();
    for k in 0..50 {
        cache.insert(&k, "x".repeat(4000)).unwrap();
    }
    let kept: Vec<u32> = (0..50).filter(|k| cache.get(k).is_some()).collect();
    assert!((8..=10).contains(&kept.len()), "{kept:?}");
    assert_eq!(kept, (50 - kept.len() as u32..50).collect::<Vec<_>>());
    let bytes: u64 = files_below(dir.path())
        .iter()
        .map(|rel| fs::metadata(dir.path().join(rel)).unwrap().len())
        .sum();
    assert!(bytes <= 40 * 1024, "{bytes}");
    // A single entry over the bound is still stored: the newest always stays.
    cache.insert(&99, "y".repeat(50_000)).unwrap();
    assert!(cache.get(&99).is_some());
    assert_eq!(files_below(dir.path()).len(), 1);
}

#[test]
fn max_size_zero_is_refused_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let built: Result<Cache<u32, String>, _> = Cache::builder()
        .backend(SeparateFileBackend::new(dir.path()).max_size(0))
        .build();
    assert!(matches!(built, Err(cacher::Error::Config(_))), "{built:?}");
}

#[test]
fn lock_files_are_never_entries_for_clear_or_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("tests::locked")
        .backend(SeparateFileBackend::new(dir.path()).max_entries(2))
        .build()
        .unwrap();
    for k in 0..4 {
        cache.get_or_compute(&k, || format!("v{k}"));
    }
    // Each miss took its key's lock file; none counts against the bound.
    assert!(!cacher_tests::lock_files(dir.path()).is_empty());
    assert_eq!(files_below(dir.path()).len(), 2);
    cache.clear().unwrap();
    assert!(files_below(dir.path()).is_empty());
    // A lock file left in place does not stop the next call.
    assert_eq!(cache.get_or_compute(&9, || "nine".into()), "nine");
}
