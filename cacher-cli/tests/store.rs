//! The built `cacher` binary against an embedded store (`StoreBackend`) this program writes,
//! while it keeps it open: LMDB is shared by processes.

use std::process::{Command, Output, Stdio};

use cacher::{Cache, HashKeyer, JsonFormatter, StoreBackend};
use serde_json::Value;

fn cacher(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the cacher binary runs")
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON document")
}

#[test]
fn every_subcommand_works_on_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let cache: Cache<String, String> = Cache::builder()
        .namespace("demo::stored")
        .keyer(HashKeyer)
        .backend(StoreBackend::new(dir.path()).formatter(JsonFormatter))
        .build()
        .unwrap();
    for name in ["alice", "bob", "carol"] {
        cache.get_or_compute(name, || format!("hello {name}"));
    }
    let ls = json(&cacher(&["--store", store, "ls", "--json"]));
    assert_eq!(ls["caches"][0]["namespace"], "demo::stored");
    assert_eq!(ls["caches"][0]["entries"], 3);
    assert_eq!(ls["problems"], 0);

    let shown = json(&cacher(&[
        "--store",
        store,
        "show",
        "demo::stored",
        "--json",
    ]));
    let location = shown["entries"][0]["location"].as_str().unwrap().to_owned();
    assert!(location.starts_with("demo::stored\\0\\0"), "{location}");
    let one = cacher(&["--store", store, "show", "demo::stored", "(v2)bob"]);
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    assert!(
        one.contains("\"hello bob\"") && one.contains("args      (v2)bob"),
        "{one}"
    );

    let stats = json(&cacher(&["--store", store, "stats", "--json"]));
    assert_eq!(stats["entries"], 3);
    assert_eq!(cacher(&["--store", store, "verify"]).status.code(), Some(0));
    let pruned = json(&cacher(&[
        "--store",
        store,
        "prune",
        "--max-size",
        "400",
        "--json",
    ]));
    // Entries of about 290 bytes each: down to 400 bytes leaves one.
    assert_eq!(pruned["removed"], 2, "{pruned}");
    let names = ["alice", "bob", "carol"];
    assert_eq!(names.iter().filter(|n| cache.get(**n).is_some()).count(), 1);
    let cleared = json(&cacher(&[
        "--store", store, "clear", "--all", "--yes", "--json",
    ]));
    assert_eq!(cleared["removed"], 1);
    assert!(
        ["alice", "bob", "carol"]
            .iter()
            .all(|n| cache.get(*n).is_none())
    );

    let nothing = cacher(&["--store", "/nonexistent/store", "ls"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no store"));
}

/// A store bounded by `max_size` counts its bytes in the database, so `cacher clear` in another
/// process frees them for every process at once: the app then keeps as many new entries as
/// before, evicting none, and the next ones evict as many as they add.
#[test]
fn a_stores_max_size_counts_what_cacher_clear_removed_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let value = |key: u32| format!("value {key} {}", "x".repeat(100));
    let probe: Cache<u32, String> = Cache::builder()
        .namespace("demo::measure")
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    probe.insert(&100, value(100)).unwrap();
    let shown = json(&cacher(&["--store", store, "ls", "--json"]));
    let size = shown["caches"][0]["bytes"].as_u64().unwrap();
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("demo::bounded")
        .backend(StoreBackend::new(dir.path()).max_size(10 * size))
        .build()
        .unwrap();
    for key in 100..110 {
        cache.insert(&key, value(key)).unwrap();
    }
    json(&cacher(&[
        "--store",
        store,
        "clear",
        "demo::bounded",
        "--yes",
        "--json",
    ]));
    for key in 200..210 {
        cache.insert(&key, value(key)).unwrap();
    }
    assert!((200..210).all(|key| cache.get(&key).is_some()));
    assert_eq!(cache.stats().evictions, 0);
    for key in 210..215 {
        cache.insert(&key, value(key)).unwrap();
    }
    assert_eq!(cache.stats().evictions, 5);
    let kept: Vec<u32> = (200..215).filter(|key| cache.get(key).is_some()).collect();
    assert_eq!(kept, (205..215).collect::<Vec<_>>());
}

/// `cacher --store DIR ls` on a store whose `data.mdb` was cut to half (a copy cut short): LMDB
/// read pages past the end of the file through its map and the command died of `SIGBUS`,
/// saying nothing. It is refused as damaged (exit 1), saying so.
#[test]
fn a_store_whose_database_was_cut_short_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("demo::cut")
        .backend(StoreBackend::new(dir.path()))
        .build()
        .unwrap();
    for key in 0..50 {
        cache.insert(&key, "x".repeat(64 * 1024)).unwrap();
    }
    let data = dir.path().join("data.mdb");
    cacher_tests::cut_in_half(&data);
    let listed = cacher(&["--store", store, "ls"]);
    assert_eq!(listed.status.code(), Some(1), "{listed:?}");
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(said.contains("damaged"), "{said}");
}

/// `cacher clear` of a key while this program refreshes it (its source read before the clear):
/// the value computed before the clear does not land in the store after it, as after a `clear`
/// of the library. (Before, the command's removals moved no generation: it landed.)
#[test]
fn a_value_computed_before_cacher_clear_does_not_land_in_the_store_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let cache = || -> Cache<String, String> {
        Cache::builder()
            .namespace("demo::cleared")
            .backend(StoreBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let this = cache();
    this.insert("alice", "hello".into()).unwrap();
    let computed = || {
        let out = cacher(&["--store", store, "clear", "demo::cleared", "--yes"]);
        assert!(out.status.success(), "{out:?}");
        "computed before the clear".to_owned()
    };
    let got = this.refresh(|| this.get_or_compute("alice", computed));
    assert_eq!(got, "computed before the clear");
    assert_eq!(
        cache().get("alice"),
        None,
        "a value computed before `cacher clear` landed after it"
    );
}
