//! The numbers the `cacher` command shows (expired counts, states) against what the cache itself
//! does with the same entries.

mod common;

#[path = "common/keyer.rs"]
mod keyer;

use std::process::Output;
use std::time::Duration;

use cacher::{Cache, Clock, SeparateFileBackend};
use serde_json::Value;

use common::{cacher, text};
use keyer::WholeKeyer;

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON document")
}

fn cache(dir: &std::path::Path, clock: Clock) -> Cache<u32, String> {
    Cache::builder()
        .namespace("demo::ahead")
        .backend(SeparateFileBackend::new(dir))
        .ttl(Duration::from_secs(3600))
        .clock(clock)
        .build()
        .unwrap()
}

/// An entry whose creation time is further ahead than its ttl (written by a clock two days
/// ahead) is expired for the cache, which never serves it; `ls`, `stats`, `show` and `prune
/// --expired` counted it fresh (its age, in the future, was taken as 0) and left it.
#[test]
fn an_entry_created_further_ahead_than_its_ttl_is_expired_as_the_cache_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ahead, mock) = Clock::mock();
    mock.advance(Duration::from_secs(2 * 24 * 3600));
    cache(dir.path(), ahead).insert(&1, "ahead".into()).unwrap();
    cache(dir.path(), Clock::system())
        .insert(&2, "now".into())
        .unwrap();
    let now = cache(dir.path(), Clock::system());
    assert_eq!(now.get(&1), None, "the cache does not serve it");
    assert_eq!(now.get(&2).as_deref(), Some("now"));
    let root = dir.path().to_str().unwrap();
    let ls = json(&cacher(&["--ttl", "1h", "ls", root, "--json"]));
    assert_eq!(ls["caches"][0]["expired"], 1, "{ls}");
    let stats = json(&cacher(&["--root", root, "--ttl", "1h", "stats", "--json"]));
    assert_eq!(stats["expired"], 1, "{stats}");
    let shown = text(&cacher(&[
        "--root",
        root,
        "--ttl",
        "1h",
        "show",
        "demo::ahead",
    ]));
    assert!(shown.contains("expired"), "{shown}");
    let pruned = json(&cacher(&[
        "--root",
        root,
        "--ttl",
        "1h",
        "prune",
        "--expired",
        "--json",
    ]));
    assert_eq!(pruned["removed"], 1, "{pruned}");
    assert_eq!(now.get(&2).as_deref(), Some("now"), "the fresh one stays");
}

/// An entry whose key is longer than the 16 KiB a listing read of a header (a prompt of 20 000
/// characters as its argument) is a whole entry the cache serves: `ls` counts it, `verify`
/// finds nothing wrong and `--repair` leaves it. It was "corrupt": not counted, reported, and
/// removed by `verify --repair`.
#[test]
fn a_store_entry_with_a_key_longer_than_a_listings_read_is_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let cache: Cache<String, String> = Cache::builder()
        .namespace("demo::prompts")
        .keyer(WholeKeyer)
        .backend(cacher::StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    let prompt = "p".repeat(20_000);
    cache.insert(&prompt, "answer".into()).unwrap();
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
    let ls = json(&cacher(&["--store", store, "ls", "--json"]));
    assert_eq!(
        (&ls["caches"][0]["entries"], &ls["problems"]),
        (&Value::from(1), &Value::from(0)),
        "{ls}"
    );
    let verified = cacher(&["--store", store, "verify", "--repair"]);
    assert_eq!(common::code(&verified), 0, "{}", text(&verified));
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
}

/// The same in a file tier whose `filename_fn` names the files short: the entry of a 20 000
/// character key is listed as an entry and left by `verify --repair`.
#[test]
fn a_file_entry_with_a_key_longer_than_a_listings_read_is_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let backend =
        SeparateFileBackend::new(dir.path()).filename_fn(|key: &str| format!("{}.json", key.len()));
    let cache: Cache<String, String> = Cache::builder()
        .namespace("demo::prompts")
        .keyer(WholeKeyer)
        .backend(backend)
        .build()
        .unwrap();
    let prompt = "p".repeat(20_000);
    cache.insert(&prompt, "answer".into()).unwrap();
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(
        (&ls["caches"][0]["entries"], &ls["problems"]),
        (&Value::from(1), &Value::from(0)),
        "{ls}"
    );
    let verified = cacher(&["--root", root, "verify", "--repair"]);
    assert_eq!(common::code(&verified), 0, "{}", text(&verified));
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
}

/// A JSON entry cut short after its header (what a power loss without `durable` may leave) is
/// corrupt for the cache — a miss, counted in `stats().errors` — and for `verify`, which reported
/// "no problems" as it read headers only; `--repair` removes it and leaves the whole one.
#[test]
fn verify_finds_a_json_entry_cut_short_after_its_header_as_the_cache_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let cache = || -> Cache<u32, String> {
        Cache::builder()
            .namespace("demo::cut")
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let writer = cache();
    for key in [1, 2] {
        writer.insert(&key, "v".repeat(10_000)).unwrap();
    }
    let path = writer.path_of(&1).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len * 4 / 5)
        .unwrap();
    let reader = cache();
    assert_eq!(reader.get(&1), None);
    assert_eq!(reader.stats().errors, 1, "the cache finds it corrupt");
    let verified = cacher(&["--root", root, "verify"]);
    assert_eq!(common::code(&verified), 3, "{}", text(&verified));
    assert!(text(&verified).contains("corrupt"), "{}", text(&verified));
    let repaired = cacher(&["--root", root, "verify", "--repair"]);
    assert_eq!(common::code(&repaired), 0, "{}", text(&repaired));
    assert!(!path.exists());
    assert_eq!(cache().get(&2), Some("v".repeat(10_000)));
}
