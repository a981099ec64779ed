//! `cacher clear NAMESPACE` while the app computes the first value of a key of the namespace,
//! from a source read before the clear (attack, session 16): the key has no entry yet, so no
//! removal of the command's moves its generation. The command clears the namespace, as the
//! library's `clear` does: what any call began before it does not land after it. (Before, the
//! command moved only the generations of the entries it removed: the value landed, and was
//! served after `cacher clear` returned, in a file directory, a store and on Redis.)

mod common;

use std::path::Path;

use cacher::{Cache, HashKeyer, RedisBackend, RedisOptions, SeparateFileBackend, StoreBackend};
use cacher_tests::redis_server::RedisServer;
use common::{cacher, code, text};

/// `this` holds `alice`; `bob` is computed while `clear` (the command's arguments) runs.
fn cleared_while_computing(make: &dyn Fn() -> Cache<String, String>, clear: &[&str]) {
    let this = make();
    this.insert("alice", "hello".into()).unwrap();
    let computed = || {
        let out = cacher(clear);
        assert_eq!(code(&out), 0, "{out:?}");
        assert!(text(&out).starts_with("removed 1 entry"), "{out:?}");
        "computed before the clear".to_owned()
    };
    assert_eq!(
        this.get_or_compute("bob", computed),
        "computed before the clear"
    );
    let after = make();
    assert_eq!(after.get("alice"), None);
    assert_eq!(
        after.get("bob"),
        None,
        "a value computed before `cacher clear` landed after it"
    );
}

#[test]
fn in_a_file_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let make = || {
        Cache::builder()
            .namespace("demo::greet")
            .keyer(HashKeyer)
            .backend(SeparateFileBackend::new(Path::new(root).join("demo/greet")))
            .build()
            .unwrap()
    };
    cleared_while_computing(&make, &["--root", root, "clear", "demo::greet", "--yes"]);
}

#[test]
fn in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let make = || greet_in_store(store);
    cleared_while_computing(&make, &["--store", store, "clear", "demo::greet", "--yes"]);
}

#[test]
fn on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let make = || greet_on_redis(&url);
    cleared_while_computing(&make, &["--redis", &url, "clear", "demo::greet", "--yes"]);
}

/// As [`cleared_while_computing`], the namespace without any entry yet: the command finds none
/// to remove (and says so), yet the value under way does not land after it — where a name is
/// enough to reach the namespace's generations (a store, Redis).
fn cleared_empty_while_computing(make: &dyn Fn() -> Cache<String, String>, clear: &[&str]) {
    let this = make();
    let computed = || {
        let out = cacher(clear);
        assert_eq!(code(&out), 4, "no entries of the namespace: {out:?}");
        "computed before the clear".to_owned()
    };
    assert_eq!(
        this.get_or_compute("bob", computed),
        "computed before the clear"
    );
    assert_eq!(
        make().get("bob"),
        None,
        "a value computed before `cacher clear` of an empty namespace landed after it"
    );
}

#[test]
fn of_an_empty_namespace_in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let make = || greet_in_store(store);
    another_namespaces_entry(store);
    cleared_empty_while_computing(&make, &["--store", store, "clear", "demo::greet", "--yes"]);
}

#[test]
fn of_an_empty_namespace_on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let make = || greet_on_redis(&url);
    cleared_empty_while_computing(&make, &["--redis", &url, "clear", "demo::greet", "--yes"]);
}

/// The cache `demo::greet` in the store at `store`, as an app builds it.
fn greet_in_store(store: &str) -> Cache<String, String> {
    in_store(store, "demo::greet")
}

/// The cache of `namespace` in the store at `store`.
fn in_store(store: &str, namespace: &str) -> Cache<String, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(StoreBackend::new(store))
        .build()
        .unwrap()
}

/// Makes the store at `store` exist, with an entry of another namespace than the test's.
fn another_namespaces_entry(store: &str) {
    in_store(store, "demo::other")
        .insert("x", "y".into())
        .unwrap();
}

/// The cache `demo::greet` on the Redis server at `url`, as an app builds it.
fn greet_on_redis(url: &str) -> Cache<String, String> {
    Cache::builder()
        .namespace("demo::greet")
        .backend(RedisBackend::new(RedisOptions::new(url)).unwrap())
        .build()
        .unwrap()
}

/// A namespace whose name holds an ESC, with no entry yet, cleared by its name as `ls` prints
/// it (`\u{1b}`): with nothing listed to tell which reading is meant, `clear` moved the
/// generation of the name as typed only (a namespace no one uses), and the value under way
/// landed after the command (NOTE19's leftover). Each reading's generation moves now.
#[test]
fn of_an_empty_namespace_named_as_printed_in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let make = || in_store(store, "demo::greet\u{1b}");
    another_namespaces_entry(store);
    let printed = "demo::greet\\u{1b}";
    cleared_empty_while_computing(&make, &["--store", store, "clear", printed, "--yes"]);
}
