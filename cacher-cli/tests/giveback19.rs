//! Session 19's attack, the rule as a whole, in each place (a directory, a store, Redis): among
//! namespaces planted to look alike (escapes, backslashes, escapes `unescape` refuses, spaces,
//! options), every name `ls` prints given back with `--escaped`, and every name `ls --json`
//! prints given back with `--exact`, names that namespace; given back as it is, it names that
//! namespace or is refused — never another. `prune --namespace` and `clear` remove that one only.

mod common;

use std::process::Output;

use cacher::entry::{Entry, EntryKey};
use cacher::{PersistentBackend, RedisBackend, RedisOptions, SeparateFileBackend, StoreBackend};
use cacher_tests::redis_server::RedisServer;
use serde_json::Value;

use common::{cacher, code, text};

/// Names that print, or read back, like one another.
const NAMES: [&str; 18] = [
    "a\u{1b}",
    "a\\u{1b}",
    "a\\\\u{1b}",
    "a\\u{1B}",
    "a\\",
    "a\\\\",
    "a\\u{}",
    "a\\u{110000}",
    "a\\u{d800}",
    "a\\U{1b}",
    "a\\u{00000001b}",
    "\\u{2d}-all",
    "--all",
    "-",
    " a",
    "a ",
    "a\u{200b}",
    "a…",
];

fn plant(backend: &dyn PersistentBackend<u8>, n: usize, namespace: &str) {
    let args = format!("(v2)n{n}");
    let entry_key = EntryKey {
        namespace,
        version: None,
        key: "k",
        args: Some(&args),
        type_name: "u8",
        code: None,
    };
    let entry = Entry::new(7u8, cacher::Clock::system().now_ms());
    backend.insert(&entry_key, &entry).unwrap();
}

/// The namespaces `ls` lists in `place`: as `--json` names them, and as the table prints them,
/// in the same order.
fn listed(place: &[&str]) -> Vec<(String, String)> {
    let json = cacher(&[place, &["ls", "--json"]].concat());
    let json: Value = serde_json::from_str(&text(&json)).unwrap();
    let names = json["caches"].as_array().unwrap().iter();
    let names = names.map(|c| c["namespace"].as_str().unwrap().to_owned());
    let table = text(&cacher(&[place, &["ls"]].concat()));
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("NAMESPACE"))
        .skip(1);
    let cells = rows.map(|row| row.split("  ").next().unwrap().to_owned());
    names.zip(cells).collect()
}

/// The namespace `show … --json` showed, when it showed one.
fn shown(output: &Output) -> Option<String> {
    let shown: Value = serde_json::from_str(&text(output)).ok()?;
    let entries = shown["entries"].as_array()?;
    (!entries.is_empty()).then(|| shown["namespace"].as_str().unwrap().to_owned())
}

fn every_name_given_back_names_itself(place: &[&str]) {
    let listed = listed(place);
    assert_eq!(listed.len(), NAMES.len(), "{listed:?}");
    for (name, cell) in &listed {
        let show = |args: &[&str]| cacher(&[place, &["show", "--json"], args].concat());
        let escaped = show(&["--escaped", "--", cell]);
        assert_eq!(
            shown(&escaped).as_ref(),
            Some(name),
            "{cell:?}: {escaped:?}"
        );
        let exact = show(&["--exact", "--", name]);
        assert_eq!(shown(&exact).as_ref(), Some(name), "{name:?}: {exact:?}");
        for given in [cell, name] {
            let either = show(&["--", given]);
            match shown(&either) {
                Some(other) => assert_eq!(&other, name, "{given:?} named another"),
                None => assert_eq!(code(&either), 1, "{given:?}: {either:?}"),
            }
        }
    }
    // Removed one at a time by its printed name, each removal takes that one only.
    for (i, (name, cell)) in listed.iter().enumerate() {
        let args: &[&str] = if i % 2 == 0 {
            &["prune", "--escaped", "--max-size", "0", "--namespace", cell]
        } else {
            &["clear", "--escaped", "--yes", "--", cell]
        };
        let removed = cacher(&[place, args].concat());
        assert_eq!(code(&removed), 0, "{cell:?}: {removed:?}");
        let left: Vec<String> = self::listed(place).into_iter().map(|(n, _)| n).collect();
        let expected: Vec<&String> = listed[i + 1..].iter().map(|(n, _)| n).collect();
        assert_eq!(left.iter().collect::<Vec<_>>(), expected, "after {name:?}");
    }
}

#[test]
fn every_printed_name_names_itself_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    for (n, name) in NAMES.iter().enumerate() {
        let backend = SeparateFileBackend::new(dir.path().join(format!("p{n}")))
            .filename_fn(|_| "entry.json".to_owned());
        plant(&backend, n, name);
    }
    every_name_given_back_names_itself(&["--root", dir.path().to_str().unwrap()]);
}

#[test]
fn every_printed_name_names_itself_in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StoreBackend::new(dir.path());
        for (n, name) in NAMES.iter().enumerate() {
            plant(&store, n, name);
        }
    }
    every_name_given_back_names_itself(&["--store", dir.path().to_str().unwrap()]);
}

/// (Skipped without `redis-server`.)
#[test]
fn every_printed_name_names_itself_on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    for (n, name) in NAMES.iter().enumerate() {
        plant(&backend, n, name);
    }
    every_name_given_back_names_itself(&["--redis", &server.url()]);
}
