//! Attacks on the embedded store and the lock files beside it: names that collide, paths that
//! lead elsewhere, directories that cannot be written, entries dropped before their time.

use std::time::Duration;

use cacher::lock::{FileLock, FlightLock, LOCK_DIR};
use cacher::{Cache, Clock, RateLimiter, StoreBackend};

fn store_cache(namespace: &str, store: StoreBackend) -> Cache<u64, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(store)
        .build()
        .unwrap()
}

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

#[test]
fn an_entry_with_its_own_longer_ttl_outlives_the_caches_ttl_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(StoreBackend::new(dir.path()))
        .ttl(Duration::from_secs(60))
        .ttl_fn(|value: &String| (value == "long").then(|| Duration::from_secs(3600)))
        .clock(clock)
        .build()
        .unwrap();
    cache.insert(&1, "long".into()).unwrap();
    mock.advance(Duration::from_secs(120));
    // A later write sweeps entries past their end: not this one, whose end is an hour away.
    cache.insert(&2, "short".into()).unwrap();
    assert_eq!(cache.get(&1).as_deref(), Some("long"));
}

#[test]
fn a_namespace_that_extends_another_by_a_nul_is_not_cleared_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let short = store_cache("app", StoreBackend::new(dir.path()).max_entries(1));
    let long = store_cache("app\0x", StoreBackend::new(dir.path()));
    long.insert(&1, "kept".into()).unwrap();
    short.insert(&1, "a".into()).unwrap();
    short.insert(&2, "b".into()).unwrap();
    short.clear().unwrap();
    assert_eq!(long.get(&1).as_deref(), Some("kept"));
}

#[cfg(unix)]
#[test]
fn the_store_directory_and_database_are_private_to_their_user() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cache = store_cache("app::f", StoreBackend::new(&store));
    cache.insert(&1, "secret".into()).unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store) & 0o077, 0, "directory {:o}", mode(&store));
    for file in ["data.mdb", "lock.mdb"] {
        let path = store.join(file);
        assert_eq!(mode(&path) & 0o077, 0, "{file} {:o}", mode(&path));
    }
    // The directories a lock and a shared rate limit make, too.
    let locks = dir.path().join("locks");
    let lock = FileLock::new(&locks);
    assert!(lock.lock("app::f/1").unwrap().is_some());
    let limits = dir.path().join("limits");
    RateLimiter::file(&limits, "api", Duration::from_millis(1)).acquire();
    for made in [locks.clone(), locks.join(LOCK_DIR), limits] {
        assert_eq!(
            mode(&made) & 0o077,
            0,
            "{} {:o}",
            made.display(),
            mode(&made)
        );
    }
}

#[cfg(unix)]
#[test]
fn a_lock_folder_linked_outside_the_directory_is_not_followed_and_the_function_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::os::unix::fs::symlink(outside.path(), store.join(LOCK_DIR)).unwrap();
    let cache = store_cache("app::f", StoreBackend::new(&store));
    assert_eq!(cache.get_or_compute(&1, || "one".into()), "one");
    assert_eq!(
        cache.get(&1).as_deref(),
        Some("one"),
        "stored without the lock"
    );
    let planted: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(planted.is_empty(), "lock files made outside: {planted:?}");
}

#[test]
fn a_lock_file_that_cannot_be_made_costs_the_lock_not_the_value_nor_a_wait() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let cache: Cache<u64, String> = Cache::builder()
        .namespace("app::f")
        .backend(StoreBackend::new(dir.path().join("store")))
        .cross_process_lock(FileLock::new(file.join("locks")))
        .wait_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    assert_eq!(cache.get_or_compute(&1, || "one".into()), "one");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(cache.get(&1).as_deref(), Some("one"));
}

/// JSON whose `extension` (asked on the blocking thread that writes a file) waits, once armed,
/// until released: a write held under way.
#[derive(Debug, Clone, Copy)]
struct HeldWrite;

static ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static WRITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl cacher::format::Formatter for HeldWrite {
    fn name(&self) -> &'static str {
        "held"
    }
    fn extension(&self) -> &'static str {
        use std::sync::atomic::Ordering::SeqCst;
        if ARMED.swap(false, SeqCst) {
            WRITING.store(true, SeqCst);
            while !RELEASED.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        "json"
    }
    fn encode<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<Vec<u8>, cacher::format::FormatError> {
        cacher::format::JsonFormatter.encode(value)
    }
    fn decode<'de, T: serde::Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<T, cacher::format::FormatError> {
        cacher::format::JsonFormatter.decode(bytes)
    }
    fn decode_prefix<'de, T: serde::Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<T, cacher::format::FormatError> {
        cacher::format::JsonFormatter.decode_prefix(bytes)
    }
}

#[test]
fn an_async_call_cancelled_while_its_write_is_under_way_does_not_store_after_a_remove() {
    use std::sync::atomic::Ordering::SeqCst;

    let dir = tempfile::tempdir().unwrap();
    let cache: std::sync::Arc<Cache<u64, String>> = std::sync::Arc::new(
        Cache::builder()
            .namespace("app::f")
            .backend(cacher::SeparateFileBackend::new(dir.path()).formatter(HeldWrite))
            .build()
            .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let call = runtime.spawn({
        let cache = std::sync::Arc::clone(&cache);
        async move {
            cache
                .get_or_compute_async(&1, || async {
                    ARMED.store(true, SeqCst); // the next extension asked is the write's
                    "old".to_owned()
                })
                .await
        }
    });
    while !WRITING.load(SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    call.abort(); // the caller gives up (a timeout, a closed connection) mid-write
    let release = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(200));
        RELEASED.store(true, SeqCst);
    });
    cache.remove(&1).unwrap();
    release.join().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // time for a write left behind to land
    assert_eq!(
        cache.get(&1),
        None,
        "a value computed before remove landed after it"
    );
    drop(runtime);
}

#[test]
fn the_stores_max_entries_counts_the_writes_of_every_writer() {
    let dir = tempfile::tempdir().unwrap();
    // Two backends on one directory stand for two processes: the count lives in the database.
    let a = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(5));
    let b = store_cache("app::f", StoreBackend::new(dir.path()).max_entries(5));
    for k in 0..10 {
        let writer = if k % 2 == 0 { &a } else { &b };
        writer.insert(&k, format!("v{k}")).unwrap();
    }
    let kept: Vec<u64> = (0..10).filter(|k| a.get(k).is_some()).collect();
    assert_eq!(
        kept,
        [5, 6, 7, 8, 9],
        "exactly the 5 newest, whoever wrote them"
    );
}

/// The store's key joins namespace, version and key with NULs: a cache without a version and
/// one whose version is empty, or two whose version and key split one text at another NUL, shared
/// one row, each write evicting the other's entry (the file and Redis tiers keep them apart).
#[test]
fn versions_that_join_to_the_same_text_keep_entries_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let cache = |version: Option<&str>| -> Cache<String, String> {
        let builder = Cache::builder().namespace("app::f");
        let builder = match version {
            Some(version) => builder.version(version),
            None => builder,
        };
        builder
            .backend(StoreBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let pairs = [
        ((None, "k"), (Some(""), "k")),
        ((Some("a\0b"), "c"), (Some("a"), "b\0c")),
        (
            (Some("a\0b"), &"c".repeat(600)[..]),
            (Some("a"), &format!("b\0{}", "c".repeat(600))[..]),
        ),
    ];
    for ((version_a, key_a), (version_b, key_b)) in pairs {
        let (a, b) = (cache(version_a), cache(version_b));
        a.insert(&key_a.to_owned(), "a".into()).unwrap();
        b.insert(&key_b.to_owned(), "b".into()).unwrap();
        let read = (a.get(&key_a.to_owned()), b.get(&key_b.to_owned()));
        assert_eq!(
            read,
            (Some("a".into()), Some("b".into())),
            "{version_a:?} {version_b:?}"
        );
    }
}
