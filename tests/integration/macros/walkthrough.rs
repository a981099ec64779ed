//! The walkthrough of the crate docs, written as `#[cached]` attributes and run end to end, for
//! `fn` and for `async fn`: memory; file + JSON with readable names; hashed keys with a
//! sharding `filename_fn`; ttl; errors not cached; the rate limiter; a second process reusing the
//! file cache.
//!
//! Each function caches under its own directory below `CARGO_TARGET_TMPDIR` (a directory cargo
//! keeps for integration tests), given as `cache_dir = dir!("…")`; each test empties it first,
//! since entries outlive the process — which is the point of the file backend.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cacher::cached;
use cacher_tests::{files_below, test_name};
use serde::{Deserialize, Serialize};

/// The cache directory of one function: an absolute path, fixed at compile time.
macro_rules! dir {
    ($name:literal) => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/macro_walkthrough/", $name)
    };
}

/// Empties a cache directory, so that a test starts from no entries.
fn fresh(dir: &str) -> &Path {
    let dir = Path::new(dir);
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("cannot empty {dir:?}: {e}"),
        _ => dir,
    }
}

/// What the remote API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Post {
    id: u32,
    title: String,
}

/// The stand-in for the remote API: a pure function of its arguments.
fn api(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    vec![Post {
        id: user_id,
        title: format!("{endpoint} of user {user_id}, {sort}"),
    }]
}

#[derive(Debug, PartialEq)]
enum ApiError {
    Overloaded,
}

fn count(runs: &AtomicUsize) -> usize {
    runs.load(Ordering::SeqCst)
}

/// The key of `("/posts", 1, "asc")`, as the companions take it.
fn posts_of_user_1() -> (String, u32, String) {
    ("/posts".to_owned(), 1, "asc".to_owned())
}

/// The entry's JSON envelope, as the file holds it.
fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// `<first 4>/<32 hex>.json`, the walkthrough's sharding `filename_fn`.
fn shard(key: &str) -> String {
    format!("{}/{}.json", &key[..4], key)
}

fn assert_sharded(dir: &Path) -> PathBuf {
    let files = files_below(dir);
    assert_eq!(
        files.len(),
        1,
        "one entry expected below {dir:?}: {files:?}"
    );
    let file = &files[0];
    let parts: Vec<&str> = file.iter().map(|p| p.to_str().unwrap()).collect();
    let [shard, name] = parts[..] else {
        panic!("expected <shard>/<hash>.json, found {file:?}");
    };
    let hash = name.strip_suffix(".json").unwrap();
    assert_eq!(hash.len(), 32, "{name}");
    assert!(
        hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{name}"
    );
    assert_eq!(shard, &hash[..4]);
    dir.join(file)
}

// ---------------------------------------------------------------------------------------------
// fn

static MEMORY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `MemoryBackend(fn=fetch_from_api)`.
#[cached]
fn fetch_memory(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    MEMORY_RUNS.fetch_add(1, Ordering::SeqCst);
    api(endpoint, user_id, sort)
}

#[test]
fn memory_runs_the_function_once_per_arguments() {
    let first = fetch_memory("/posts", 1, "asc");
    assert_eq!(first, api("/posts", 1, "asc"));
    assert_eq!(fetch_memory("/posts", 1, "asc"), first);
    assert_eq!(count(&MEMORY_RUNS), 1, "a repeated call is a hit");
    assert_eq!(fetch_memory("/posts", 2, "asc"), api("/posts", 2, "asc"));
    assert_eq!(fetch_memory("/posts", 1, "desc"), api("/posts", 1, "desc"));
    assert_eq!(
        count(&MEMORY_RUNS),
        3,
        "distinct arguments, distinct entries"
    );
    let stats = fetch_memory_cache().stats();
    assert_eq!((stats.hits, stats.misses, stats.stores), (1, 3, 3));
}

static FILE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `SeparateFileBackend(formatter=JsonFormatter(), cache_dir=…)`.
#[cached(backend = "file", formatter = "json", cache_dir = dir!("file_json"))]
fn fetch_file(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    FILE_RUNS.fetch_add(1, Ordering::SeqCst);
    api(endpoint, user_id, sort)
}

#[test]
fn file_json_entries_have_readable_names() {
    let dir = fresh(dir!("file_json"));
    assert_eq!(fetch_file("/posts", 1, "asc"), api("/posts", 1, "asc"));
    let path = dir.join("(v2)endpoint=%2Fposts_user_id=1_sort=asc.json");
    assert!(
        path.is_file(),
        "{path:?} missing; found {:?}",
        files_below(dir)
    );
    assert_eq!(
        fetch_file_cache().path_of(&posts_of_user_1()),
        Some(path.clone())
    );
    let entry = read_json(&path);
    assert_eq!(
        entry["namespace"],
        format!("{}::fetch_file", module_path!())
    );
    assert_eq!(entry["value"][0]["title"], "/posts of user 1, asc");

    // The file backend reads the file on every call (no hidden memory tier): it is the hit.
    assert_eq!(fetch_file("/posts", 1, "asc"), api("/posts", 1, "asc"));
    assert_eq!(count(&FILE_RUNS), 1);
    assert_eq!(fetch_file_cache().stats().hits, 1);
}

static HASHED_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `keyer=HashStringKeyer(), filename_fn=lambda key: f'{key[:4]}/{key}.json'`, and the
/// walkthrough's one-day `TTLPolicy`.
#[cached(
    backend = "file",
    keyer = "hash",
    filename_fn = shard,
    ttl = "1d",
    cache_dir = dir!("hashed")
)]
fn fetch_hashed(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    HASHED_RUNS.fetch_add(1, Ordering::SeqCst);
    api(endpoint, user_id, sort)
}

#[test]
fn hashed_keys_are_sharded_by_filename_fn() {
    let dir = fresh(dir!("hashed"));
    assert_eq!(fetch_hashed("/posts", 1, "asc"), api("/posts", 1, "asc"));
    let path = assert_sharded(dir);
    assert_eq!(
        fetch_hashed_cache().path_of(&posts_of_user_1()),
        Some(path.clone())
    );
    assert_eq!(read_json(&path)["value"][0]["id"], 1);
    assert_eq!(fetch_hashed("/posts", 1, "asc"), api("/posts", 1, "asc"));
    assert_eq!(count(&HASHED_RUNS), 1);
}

static TTL_RUNS: AtomicUsize = AtomicUsize::new(0);

// The statics of #[cached] run on the system clock, so this ttl is short and the test sleeps once;
// the ttl policy itself is tested on a mock clock in the `policies` module.
#[cached(ttl = "300ms")]
fn fetch_with_ttl(endpoint: &str) -> String {
    TTL_RUNS.fetch_add(1, Ordering::SeqCst);
    endpoint.to_uppercase()
}

#[test]
fn entries_expire_after_the_ttl() {
    assert_eq!(fetch_with_ttl("/posts"), "/POSTS");
    assert_eq!(fetch_with_ttl("/posts"), "/POSTS");
    assert_eq!(count(&TTL_RUNS), 1);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(fetch_with_ttl("/posts"), "/POSTS");
    assert_eq!(count(&TTL_RUNS), 2, "an expired entry is a miss");
}

static FLAKY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Overloaded twice, then fine.
#[cached(backend = "file", cache_dir = dir!("flaky"))]
fn fetch_flaky(endpoint: &str) -> Result<String, ApiError> {
    if FLAKY_RUNS.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(ApiError::Overloaded);
    }
    Ok(format!("{endpoint}: ok"))
}

#[test]
fn errors_are_returned_and_never_cached() {
    let dir = fresh(dir!("flaky"));
    assert_eq!(fetch_flaky("/posts"), Err(ApiError::Overloaded));
    assert!(files_below(dir).is_empty(), "an Err was stored");
    assert_eq!(fetch_flaky("/posts"), Err(ApiError::Overloaded));
    assert_eq!(
        count(&FLAKY_RUNS),
        2,
        "the Err was not cached: the function ran again"
    );
    assert_eq!(fetch_flaky("/posts"), Ok("/posts: ok".to_owned()));
    assert_eq!(fetch_flaky("/posts"), Ok("/posts: ok".to_owned()));
    assert_eq!(count(&FLAKY_RUNS), 3, "the Ok was cached");
    assert_eq!(files_below(dir).len(), 1);
}

static LIMITED_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `RateLimiter(min_interval=…)`, shortened to 100ms for the test.
#[cached(rate_limit = "100ms")]
fn fetch_limited(user_id: u32) -> u32 {
    LIMITED_RUNS.fetch_add(1, Ordering::SeqCst);
    user_id * 10
}

#[test]
fn the_rate_limit_spaces_underlying_calls() {
    let start = Instant::now();
    for user_id in 1..=3 {
        assert_eq!(fetch_limited(user_id), user_id * 10);
    }
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "3 calls started within {:?}",
        start.elapsed()
    );
    // Hits never wait for the limiter.
    assert_eq!(fetch_limited(1), 10);
    assert_eq!(count(&LIMITED_RUNS), 3);
}

static SHARED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", cache_dir = dir!("shared"))]
fn fetch_shared(endpoint: &str, user_id: u32) -> Vec<Post> {
    SHARED_RUNS.fetch_add(1, Ordering::SeqCst);
    api(endpoint, user_id, "asc")
}

/// Set in the child process that the second-process tests start.
const CHILD: &str = "CACHER_MACRO_WALKTHROUGH_CHILD";

/// Runs `test` (its full name, see [`test_name!`]) of this binary in a child process, which fills
/// the cache, and checks that it ran that one test and passed.
fn run_child(test: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child process failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_second_process_reuses_the_file_cache() {
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(fetch_shared("/posts", 1), api("/posts", 1, "asc"));
        assert_eq!(count(&SHARED_RUNS), 1, "the child computes the entry");
        return;
    }
    let dir = fresh(dir!("shared"));
    run_child(&test_name!(a_second_process_reuses_the_file_cache));
    assert_eq!(files_below(dir).len(), 1, "the child wrote no entry");
    assert_eq!(fetch_shared("/posts", 1), api("/posts", 1, "asc"));
    assert_eq!(
        count(&SHARED_RUNS),
        0,
        "this process reused the child's entry"
    );
    assert_eq!(fetch_shared_cache().stats().hits, 1);
}

// ---------------------------------------------------------------------------------------------
// async fn

/// The stand-in for an async API client.
async fn api_async(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    tokio::task::yield_now().await;
    api(endpoint, user_id, sort)
}

static ASYNC_MEMORY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
async fn fetch_memory_async(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    ASYNC_MEMORY_RUNS.fetch_add(1, Ordering::SeqCst);
    api_async(endpoint, user_id, sort).await
}

#[tokio::test]
async fn async_memory_runs_the_function_once_per_arguments() {
    let first = fetch_memory_async("/posts", 1, "asc").await;
    assert_eq!(first, api("/posts", 1, "asc"));
    assert_eq!(fetch_memory_async("/posts", 1, "asc").await, first);
    assert_eq!(count(&ASYNC_MEMORY_RUNS), 1);
    assert_eq!(
        fetch_memory_async("/posts", 2, "asc").await,
        api("/posts", 2, "asc")
    );
    assert_eq!(count(&ASYNC_MEMORY_RUNS), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_concurrent_callers_of_one_key_run_it_once() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[cached]
    async fn slow(user_id: u32) -> u32 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        user_id + 1
    }
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(slow(7))).collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 8);
    }
    assert_eq!(count(&RUNS), 1);
}

static ASYNC_FILE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", formatter = "json", cache_dir = dir!("async_file_json"))]
async fn fetch_file_async(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    ASYNC_FILE_RUNS.fetch_add(1, Ordering::SeqCst);
    api_async(endpoint, user_id, sort).await
}

#[tokio::test]
async fn async_file_json_entries_have_readable_names() {
    let dir = fresh(dir!("async_file_json"));
    assert_eq!(
        fetch_file_async("/posts", 1, "asc").await,
        api("/posts", 1, "asc")
    );
    let path = dir.join("(v2)endpoint=%2Fposts_user_id=1_sort=asc.json");
    assert!(
        path.is_file(),
        "{path:?} missing; found {:?}",
        files_below(dir)
    );
    assert_eq!(
        read_json(&path)["value"][0]["title"],
        "/posts of user 1, asc"
    );
    assert_eq!(
        fetch_file_async("/posts", 1, "asc").await,
        api("/posts", 1, "asc")
    );
    assert_eq!(count(&ASYNC_FILE_RUNS), 1);
}

static ASYNC_HASHED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", keyer = "hash", filename_fn = shard, ttl = "1d", cache_dir = dir!("async_hashed"))]
async fn fetch_hashed_async(endpoint: &str, user_id: u32, sort: &str) -> Vec<Post> {
    ASYNC_HASHED_RUNS.fetch_add(1, Ordering::SeqCst);
    api_async(endpoint, user_id, sort).await
}

#[tokio::test]
async fn async_hashed_keys_are_sharded_by_filename_fn() {
    let dir = fresh(dir!("async_hashed"));
    assert_eq!(
        fetch_hashed_async("/posts", 1, "asc").await,
        api("/posts", 1, "asc")
    );
    let path = assert_sharded(dir);
    assert_eq!(
        fetch_hashed_async_cache().path_of(&posts_of_user_1()),
        Some(path)
    );
    assert_eq!(
        fetch_hashed_async("/posts", 1, "asc").await,
        api("/posts", 1, "asc")
    );
    assert_eq!(count(&ASYNC_HASHED_RUNS), 1);
}

static ASYNC_TTL_RUNS: AtomicUsize = AtomicUsize::new(0);

// A short ttl and one sleep: see `fetch_with_ttl`.
#[cached(ttl = "300ms")]
async fn fetch_with_ttl_async(endpoint: &str) -> String {
    ASYNC_TTL_RUNS.fetch_add(1, Ordering::SeqCst);
    endpoint.to_uppercase()
}

#[tokio::test]
async fn async_entries_expire_after_the_ttl() {
    assert_eq!(fetch_with_ttl_async("/posts").await, "/POSTS");
    assert_eq!(fetch_with_ttl_async("/posts").await, "/POSTS");
    assert_eq!(count(&ASYNC_TTL_RUNS), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(fetch_with_ttl_async("/posts").await, "/POSTS");
    assert_eq!(count(&ASYNC_TTL_RUNS), 2);
}

static ASYNC_FLAKY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", cache_dir = dir!("async_flaky"))]
async fn fetch_flaky_async(endpoint: &str) -> Result<String, ApiError> {
    tokio::task::yield_now().await;
    if ASYNC_FLAKY_RUNS.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(ApiError::Overloaded);
    }
    Ok(format!("{endpoint}: ok"))
}

#[tokio::test]
async fn async_errors_are_returned_and_never_cached() {
    let dir = fresh(dir!("async_flaky"));
    assert_eq!(fetch_flaky_async("/posts").await, Err(ApiError::Overloaded));
    assert_eq!(fetch_flaky_async("/posts").await, Err(ApiError::Overloaded));
    assert_eq!(count(&ASYNC_FLAKY_RUNS), 2);
    assert!(files_below(dir).is_empty(), "an Err was stored");
    assert_eq!(
        fetch_flaky_async("/posts").await,
        Ok("/posts: ok".to_owned())
    );
    assert_eq!(
        fetch_flaky_async("/posts").await,
        Ok("/posts: ok".to_owned())
    );
    assert_eq!(count(&ASYNC_FLAKY_RUNS), 3);
}

static ASYNC_LIMITED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(rate_limit = "100ms")]
async fn fetch_limited_async(user_id: u32) -> u32 {
    ASYNC_LIMITED_RUNS.fetch_add(1, Ordering::SeqCst);
    user_id * 10
}

#[tokio::test]
async fn async_the_rate_limit_spaces_underlying_calls() {
    let start = Instant::now();
    for user_id in 1..=3 {
        assert_eq!(fetch_limited_async(user_id).await, user_id * 10);
    }
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(fetch_limited_async(1).await, 10);
    assert_eq!(count(&ASYNC_LIMITED_RUNS), 3);
}

static ASYNC_SHARED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", cache_dir = dir!("async_shared"))]
async fn fetch_shared_async(endpoint: &str, user_id: u32) -> Vec<Post> {
    ASYNC_SHARED_RUNS.fetch_add(1, Ordering::SeqCst);
    api_async(endpoint, user_id, "asc").await
}

#[tokio::test]
async fn async_a_second_process_reuses_the_file_cache() {
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(
            fetch_shared_async("/posts", 1).await,
            api("/posts", 1, "asc")
        );
        assert_eq!(count(&ASYNC_SHARED_RUNS), 1);
        return;
    }
    let dir = fresh(dir!("async_shared"));
    run_child(&test_name!(async_a_second_process_reuses_the_file_cache));
    assert_eq!(files_below(dir).len(), 1, "the child wrote no entry");
    assert_eq!(
        fetch_shared_async("/posts", 1).await,
        api("/posts", 1, "asc")
    );
    assert_eq!(
        count(&ASYNC_SHARED_RUNS),
        0,
        "this process reused the child's entry"
    );
}
