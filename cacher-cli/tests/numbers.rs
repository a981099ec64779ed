//! The numbers the `cacher` command shows (expired counts, states) against what the cache itself
//! does with the same entries.

mod common;

use std::process::Output;
use std::time::Duration;

use cacher::{Cache, Clock, SeparateFileBackend};
use serde_json::Value;

use common::{cacher, text};

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
