//! The `cacher` command as an unlucky user meets it: its output piped into a reader that stops
//! early (`cacher ls | head -1`), or written where it cannot go (a full disk).

mod common;
#[path = "common/greet.rs"]
mod greet;

use greet::greet_files;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Two entries of `demo::greet` below `dir`.
fn two_entries(dir: &Path) {
    let cache = greet_files(dir);
    for name in ["alice", "bob"] {
        cache.get_or_compute(name, || format!("hello {name}"));
    }
}

/// Runs `cacher args…` with its stdout a pipe whose reader is already gone, as `| head -1`
/// leaves it once `head` has its line.
fn cacher_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(args)
        .env_remove("CACHER_DIR")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(writer)
        .output()
        .expect("the cacher binary runs")
}

/// A reader that stops early ends the output, not the command: no panic (exit 101, "failed
/// printing to stdout: Broken pipe"), and the exit code is the command's. (Failed: every
/// subcommand panicked on its first line, `cacher show NS KEY | head -3` of an entry's value
/// most often.)
#[test]
fn output_into_a_pipe_whose_reader_went_away_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    two_entries(dir.path());
    let root = dir.path().to_str().unwrap();
    for args in [
        &["--root", root, "ls"][..],
        &["--root", root, "ls", "--json"],
        &["--root", root, "stats"],
        &["--root", root, "show", "demo::greet"],
        &["--root", root, "show", "demo::greet", "(v2)alice"],
        &["--root", root, "verify"],
        &["--root", root, "prune", "--max-size", "1GiB"],
        &["completions", "bash"],
    ] {
        let output = cacher_into_closed_pipe(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(common::code(&output), 0, "{args:?}: {stderr}");
    }
    // The command still does what it was asked, and says so in its exit code.
    let cleared = cacher_into_closed_pipe(&["--root", root, "clear", "--all", "--yes"]);
    assert_eq!(common::code(&cleared), 0, "{cleared:?}");
    let ls = common::cacher(&["--root", root, "ls"]);
    assert!(common::text(&ls).contains("no caches"), "{ls:?}");
}

/// Output that cannot be written (a full disk: `/dev/full`) is a failure that says so, exit 1,
/// not a panic.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_a_failure_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    two_entries(dir.path());
    let root = dir.path().to_str().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(["--root", root, "ls"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(common::code(&output), 1, "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
}

/// `show NAMESPACE` cuts a key longer than 24 characters (every key of `HashKeyer`: 32 hex
/// digits) to 23 and `…`; `show NAMESPACE KEY` takes the key as printed, when one entry's key
/// starts so. (Failed: the key copied from the table was "no entry", exit 4; only the
/// arguments' text or `--json`'s whole key found it.)
#[test]
fn show_takes_a_key_as_show_namespace_printed_it() {
    let dir = tempfile::tempdir().unwrap();
    two_entries(dir.path());
    let root = dir.path().to_str().unwrap();
    let table = common::text(&common::cacher(&["--root", root, "show", "demo::greet"]));
    let printed: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(printed.len(), 2, "{table}");
    for key in printed {
        assert!(key.ends_with('…'), "{table}");
        let shown = common::cacher(&["--root", root, "show", "demo::greet", key]);
        assert_eq!(common::code(&shown), 0, "{key}: {shown:?}");
        assert!(common::text(&shown).contains("hello "), "{shown:?}");
    }
    // A prefix is taken only as printed, with its `…`, and only of one entry's key.
    let cut = common::cacher(&["--root", root, "show", "demo::greet", "…"]);
    assert_eq!(common::code(&cut), 1, "{cut:?}");
    assert!(
        String::from_utf8_lossy(&cut.stderr).contains("2 entries"),
        "{cut:?}"
    );
}

/// `ls DIR` with `--store` or `--redis` names two places: refused, saying which to give, not
/// one of them listed in silence. (Failed: DIR was ignored; `cacher --store S ls DIR` listed S.)
#[test]
fn ls_of_a_directory_and_a_store_or_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    two_entries(dir.path());
    let root = dir.path().to_str().unwrap();
    for place in [["--store", root], ["--redis", "redis://127.0.0.1:1/"]] {
        let output = common::cacher(&[place[0], place[1], "ls", root]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(common::code(&output), 1, "{place:?}: {output:?}");
        assert!(stderr.contains("not both"), "{place:?}: {stderr}");
    }
}
