//! Namespaces and keys the way `ls` and `show` print them, and taken back: a name is written by
//! whoever could write to the cache, so its characters a terminal acts on are printed escaped
//! (`\u{1b}`), and its backslashes doubled (`\\`), so that each printed name reads back to one
//! name; `show`, `clear` and `prune --namespace` take a name as printed, or as typed, and refuse
//! an argument that names two.

mod common;
#[path = "common/plant.rs"]
mod plant;

use std::process::Output;

use cacher::{RedisBackend, RedisOptions, StoreBackend};
use cacher_tests::redis_server::RedisServer;
use serde_json::Value;

use common::{cacher, code, text};
use plant::{plant, plant_file};

/// The namespaces `ls --json` lists, with their entries.
fn listed(place: &[&str]) -> Vec<(String, u64)> {
    let ls = cacher(&[place, &["ls", "--json"]].concat());
    assert_eq!(code(&ls), 0, "{ls:?}");
    let ls: Value = serde_json::from_str(&text(&ls)).unwrap();
    let caches = ls["caches"].as_array().unwrap().iter();
    caches
        .map(|c| {
            let name = c["namespace"].as_str().unwrap().to_owned();
            (name, c["entries"].as_u64().unwrap())
        })
        .collect()
}

/// The first column of a table's rows (below its header).
fn first_column(output: &Output) -> Vec<String> {
    let table = text(output);
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("NAMESPACE") && !l.starts_with("KEY"));
    // The rows end where `ls`'s note on expiry begins (entries that record no ttl).
    rows.skip(1)
        .take_while(|line| !line.starts_with("EXPIRED ?:"))
        .map_while(|line| line.split("  ").next().filter(|c| !c.is_empty()))
        .map(str::to_owned)
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A namespace whose name holds an ESC and one whose name holds the text `\u{1b}`: `ls` printed
/// both as `a\u{1b}`. (Failed: the listing did not say which was which; now the second prints
/// `a\\u{1b}`.)
#[test]
fn ls_prints_two_namespaces_that_differ_as_two_names() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "a\u{1b}", "k0", "(v2)zero");
    plant_file(dir.path(), 1, "a\\u{1b}", "k1", "(v2)one");
    plant_file(dir.path(), 2, "back\\slash", "k2", "(v2)two");
    let root = dir.path().to_str().unwrap();
    let ls = cacher(&["--root", root, "ls"]);
    let mut printed = first_column(&ls);
    printed.sort();
    assert_eq!(
        printed,
        ["a\\\\u{1b}", "a\\u{1b}", "back\\\\slash"],
        "{ls:?}"
    );
}

/// `show`, `show NS KEY`, `prune --namespace` and `clear` take a namespace and key as `ls` and
/// `show` printed them. (Failed: a namespace holding an ESC was printed `\u{1b}`, which no
/// command took back, and no one types an ESC: `show` and `clear` said "no entries", exit 4.)
#[test]
fn a_namespace_and_key_are_taken_as_ls_and_show_printed_them() {
    let dir = tempfile::tempdir().unwrap();
    let namespace = "evil\u{1b}[31m\\red";
    plant_file(dir.path(), 0, namespace, "k\u{1b}\\x", "(v2)one");
    plant_file(dir.path(), 1, "kept", "k", "(v2)kept");
    let root = dir.path().to_str().unwrap();
    let ns = first_column(&cacher(&["--root", root, "ls"]))
        .into_iter()
        .find(|n| n.starts_with("evil"))
        .unwrap();
    assert_eq!(ns, "evil\\u{1b}[31m\\\\red");
    let shown = cacher(&["--root", root, "show", &ns]);
    assert_eq!(code(&shown), 0, "{shown:?}");
    let key = first_column(&shown).remove(0);
    assert_eq!(key, "k\\u{1b}\\\\x");
    let entry = cacher(&["--root", root, "show", &ns, &key]);
    assert_eq!(code(&entry), 0, "{entry:?}");
    assert!(text(&entry).contains("args      (v2)one"), "{entry:?}");
    let pruned = cacher(&[
        "--root",
        root,
        "prune",
        "--namespace",
        &ns,
        "--max-size",
        "0",
    ]);
    assert!(text(&pruned).contains("removed 1 entry"), "{pruned:?}");
    assert_eq!(listed(&["--root", root]), [("kept".to_owned(), 1)]);

    plant_file(dir.path(), 2, namespace, "k2", "(v2)two");
    let cleared = cacher(&["--root", root, "clear", &ns, "--yes"]);
    assert_eq!(code(&cleared), 0, "{cleared:?}");
    let said = text(&cleared);
    assert!(
        said.contains("removed 1 entry of namespace \"evil\\u{1b}[31m\\\\red\""),
        "{said}"
    );
    assert_eq!(listed(&["--root", root]), [("kept".to_owned(), 1)]);
}

/// Asserts that `args` (a command taking the namespace `a\u{1b}`) is refused, saying both
/// namespaces it may name and how to name each.
fn refused_as_two(place: &[&str], args: &[&str]) {
    let out = cacher(&[place, args].concat());
    assert_eq!(code(&out), 1, "{args:?}: {out:?}");
    let said = stderr(&out);
    for part in ["\"a\\\\u{1b}\"", "\"a\\u{1b}\"", "--exact", "--escaped"] {
        assert!(said.contains(part), "{args:?}: {part} not in {said}");
    }
}

/// The namespaces `a\u{1b}` (the text) and `a` ESC: `a\u{1b}` names the first as typed and the
/// second as `ls` printed it. `clear`, `prune` and `show` refuse it, saying so, rather than
/// guess; `--exact` takes it as typed, `--escaped` as printed. (Failed: `clear 'a\u{1b}'` cleared
/// the first, whichever the user had copied.)
fn two_readings_are_refused_until_one_is_chosen(place: &[&str]) {
    let both = [("a\u{1b}".to_owned(), 1), ("a\\u{1b}".to_owned(), 1)];
    refused_as_two(place, &["clear", "a\\u{1b}", "--yes"]);
    refused_as_two(
        place,
        &["prune", "--namespace", "a\\u{1b}", "--max-size", "0"],
    );
    refused_as_two(place, &["show", "a\\u{1b}"]);
    refused_as_two(place, &["show", "a\\u{1b}", "(v2)one"]);
    assert_eq!(listed(place), both, "nothing is removed");
    // Each printed name that is no other's reads back to its namespace.
    let shown = cacher(&[place, &["show", "a\\\\u{1b}", "(v2)one"]].concat());
    assert!(text(&shown).contains("(v2)one"), "{shown:?}");

    let escaped = cacher(&[place, &["clear", "--escaped", "a\\u{1b}", "--yes"]].concat());
    assert_eq!(code(&escaped), 0, "{escaped:?}");
    assert_eq!(listed(place), [("a\\u{1b}".to_owned(), 1)]);
    let exact = cacher(&[place, &["clear", "--exact", "a\\u{1b}", "--yes"]].concat());
    assert_eq!(code(&exact), 0, "{exact:?}");
    assert_eq!(listed(place), []);
}

#[test]
fn a_namespace_read_two_ways_is_refused_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "a\u{1b}", "k0", "(v2)zero");
    plant_file(dir.path(), 1, "a\\u{1b}", "k1", "(v2)one");
    two_readings_are_refused_until_one_is_chosen(&["--root", dir.path().to_str().unwrap()]);
}

#[test]
fn a_namespace_read_two_ways_is_refused_in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StoreBackend::new(dir.path());
        plant(&store, "a\u{1b}", "k0", "(v2)zero");
        plant(&store, "a\\u{1b}", "k1", "(v2)one");
    }
    two_readings_are_refused_until_one_is_chosen(&["--store", dir.path().to_str().unwrap()]);
}

/// On a Redis server, whose `clear` also moves the namespace's generation by its name: the
/// name chosen, not the argument. (Skipped without `redis-server`.)
#[test]
fn a_namespace_read_two_ways_is_refused_on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    plant(&backend, "a\u{1b}", "k0", "(v2)zero");
    plant(&backend, "a\\u{1b}", "k1", "(v2)one");
    two_readings_are_refused_until_one_is_chosen(&["--redis", &server.url()]);
}

/// Keys the same way: `k\u{1b}` is the key `k\u{1b}` as typed and the key `k` ESC as printed;
/// refused, then taken with `--exact` or `--escaped`. (Failed: the first was shown.)
#[test]
fn a_key_read_two_ways_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "ns", "k\u{1b}", "(v2)escape");
    plant_file(dir.path(), 1, "ns", "k\\u{1b}", "(v2)text");
    let root = dir.path().to_str().unwrap();
    let show = |args: &[&str]| cacher(&[&["--root", root, "show"][..], args].concat());
    let out = show(&["ns", "k\\u{1b}"]);
    assert_eq!(code(&out), 1, "{out:?}");
    let said = stderr(&out);
    assert!(
        said.contains("\"k\\\\u{1b}\"") && said.contains("--escaped"),
        "{said}"
    );
    assert!(text(&show(&["--exact", "ns", "k\\u{1b}"])).contains("(v2)text"));
    assert!(text(&show(&["--escaped", "ns", "k\\u{1b}"])).contains("(v2)escape"));
    assert!(text(&show(&["ns", "k\\\\u{1b}"])).contains("(v2)text"));
    // `--exact` takes no key as `show NS` cut it, `--escaped` no backslash that starts nothing.
    assert_eq!(code(&show(&["--exact", "ns", "k…"])), 4);
    let bad = show(&["--escaped", "ns", "k\\q"]);
    assert_eq!(code(&bad), 1, "{bad:?}");
    assert!(stderr(&bad).contains("\\\\"), "{bad:?}");
}
