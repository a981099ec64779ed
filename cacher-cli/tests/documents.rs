//! `--json` prints one JSON document on every outcome of `show` and `clear`, not only when they
//! find something: a script parses stdout, then reads the exit code (4: nothing found, 5: not
//! confirmed). Before, those outcomes printed nothing, and the script's parse failed.

mod common;
#[path = "common/greet.rs"]
mod greet;

use std::process::Output;

use common::{cacher, code, text};
use greet::greet_files;
use serde_json::{Value, json};

/// The document of a `--json` run, and its exit code.
fn document(output: &Output) -> (i32, Value) {
    let document = serde_json::from_str(&text(output)).expect("--json prints one document");
    (code(output), document)
}

#[test]
fn show_and_clear_print_a_document_when_nothing_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (code, shown) = document(&cacher(&["--root", root, "show", "demo::nope", "--json"]));
    assert_eq!(
        (code, shown),
        (4, json!({ "namespace": "demo::nope", "entries": [] }))
    );
    let one = cacher(&["--root", root, "show", "demo::greet", "(v2)zed", "--json"]);
    assert_eq!(document(&one), (4, Value::Null));
    let cleared = cacher(&["--root", root, "clear", "demo::nope", "--yes", "--json"]);
    assert_eq!(document(&cleared), (4, json!({ "removed": 0 })));
    // The message stays on stderr, apart from the document.
    assert!(String::from_utf8_lossy(&one.stderr).contains("cacher ls"));
}

#[test]
fn clear_not_confirmed_prints_a_document_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    greet_files(dir.path())
        .insert("alice", "hello alice".into())
        .unwrap();
    // Without a terminal to ask and without --yes: not confirmed, nothing removed.
    let refused = cacher(&["--root", root, "clear", "demo::greet", "--json"]);
    assert_eq!(document(&refused), (5, json!({ "removed": 0 })));
    assert_eq!(
        greet_files(dir.path()).get("alice").as_deref(),
        Some("hello alice")
    );
}
