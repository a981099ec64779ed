//! Session 19's attack on names as printed and given back (`print::escape`, `names`): what
//! `ls` and `show` print must name, given back, the one thing it was printed for, and `clear`
//! and `prune` must remove nothing else. Each test failed before its fix, unless ignored (then
//! its reason says what is left).

mod common;
#[path = "common/plant.rs"]
mod plant;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cacher::entry::{Entry, EntryKey};
use cacher::{PersistentBackend, SeparateFileBackend};
use serde_json::Value;

use common::{cacher, code, text};
use plant::plant_file;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The namespaces `ls --json` lists.
fn namespaces(root: &str) -> Vec<String> {
    let ls = cacher(&["--root", root, "ls", "--json"]);
    let ls: Value = serde_json::from_str(&text(&ls)).unwrap();
    let caches = ls["caches"].as_array().unwrap().iter();
    let mut names: Vec<String> = caches
        .map(|c| c["namespace"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The cells of a table's first column (below its header), as printed: up to the two spaces
/// that end a cell, or the line's end.
fn first_column(output: &Output) -> Vec<String> {
    let table = text(output);
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("NAMESPACE") && !l.starts_with("KEY"));
    // The rows end where `ls`'s note on expiry begins (entries that record no ttl).
    let cells = rows
        .skip(1)
        .take_while(|line| !line.starts_with("EXPIRED ?:"))
        .map(|line| line.split("  ").next().unwrap_or(line));
    cells.map(str::to_owned).collect()
}

/// A namespace named `--all`, printed as `--all` and given back, was read as the option:
/// `cacher clear --all --yes` removed every namespace. A name starting with `-` now prints its
/// `-` escaped (`\u{2d}-all`), which no command line reads as an option.
#[test]
fn a_namespace_that_looks_like_an_option_is_printed_as_a_name() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "--all", "k", "(v2)junk");
    plant_file(dir.path(), 1, "keep", "k", "(v2)keep");
    let root = dir.path().to_str().unwrap();
    let printed = first_column(&cacher(&["--root", root, "ls"]));
    let junk = printed.iter().find(|n| n.contains("all")).unwrap();
    assert!(!junk.starts_with('-'), "{printed:?}");
    let cleared = cacher(&["--root", root, "clear", junk, "--yes"]);
    assert_eq!(code(&cleared), 0, "{cleared:?}");
    assert_eq!(
        namespaces(root),
        ["keep"],
        "only the namespace named is removed"
    );
}

/// `ns` and `ns ` (a trailing space, which the table's padding hides), ` ns`, and names that
/// differ only by a character that shows as nothing (a zero-width space, a soft hyphen) or as a
/// plain space (a no-break space): `ls` printed each pair alike, so the listing did not say
/// which was which, and the printed name of the second gave back the first. Now the space at an
/// end, and every such character, is printed escaped.
#[test]
fn names_that_differ_by_what_does_not_show_print_apart() {
    let names = [
        "ns",
        "ns ",
        " ns",
        "x",
        "x\u{200b}",
        "x\u{ad}",
        "a b",
        "a\u{a0}b",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (n, name) in names.iter().enumerate() {
        plant_file(dir.path(), n, name, "k", &format!("(v2)n{n}"));
    }
    let root = dir.path().to_str().unwrap();
    // `ls` prints the namespaces in the order `--json` lists them.
    let printed = first_column(&cacher(&["--root", root, "ls"]));
    let listed = namespaces_in_order(root);
    assert_eq!(printed.len(), names.len(), "{printed:?}");
    // As a person copies a cell: without the padding after it.
    let cells: Vec<&str> = printed.iter().map(|p| p.trim_end()).collect();
    for (cell, name) in cells.iter().zip(&listed) {
        // These names are ASCII but for what does not show, which must show as escapes.
        let seen = |c: char| c.is_ascii_graphic() || c == ' ';
        assert!(cell.chars().all(seen) && !cell.starts_with(' '), "{cell:?}");
        let alike: Vec<_> = cells.iter().filter(|c| *c == cell).collect();
        assert_eq!(
            alike.len(),
            1,
            "{name:?} is printed as another: {printed:?}"
        );
        let shown = cacher(&["--root", root, "show", cell]);
        let n = names.iter().position(|x| x == name).unwrap();
        assert!(
            text(&shown).contains(&format!("(v2)n{n} ")),
            "{cell:?}: {shown:?}"
        );
    }
}

/// The namespaces `ls --json` lists, in its order.
fn namespaces_in_order(root: &str) -> Vec<String> {
    let ls = cacher(&["--root", root, "ls", "--json"]);
    let ls: Value = serde_json::from_str(&text(&ls)).unwrap();
    let caches = ls["caches"].as_array().unwrap().iter();
    caches
        .map(|c| c["namespace"].as_str().unwrap().to_owned())
        .collect()
}

/// `ls` names each store it passes with the command that sees into it, `cacher --store DIR ls`;
/// a store's directory is named by whoever could write to the directory of caches, and its name
/// was printed as it was: `x; touch PWNED; echo ` made the command run `touch PWNED` for whoever
/// copied it into a shell. Now the directory is quoted for the shell when it needs to be.
#[test]
fn the_command_ls_prints_for_a_store_runs_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "ns", "k", "(v2)one");
    let planted = [
        "x; touch PWNED; echo ",
        "$(touch PWNED2)",
        "it's `touch PWNED3`",
    ];
    for name in planted {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("data.mdb"), b"").unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let ls = cacher(&["--root", root, "ls"]);
    let said = text(&ls);
    let commands: Vec<&str> = said
        .lines()
        .filter_map(|line| line.split_once(": cacher ").map(|(_, command)| command))
        .collect();
    assert_eq!(commands.len(), planted.len(), "{said}");
    let shell = tempfile::tempdir().unwrap();
    for command in commands {
        let run = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$CACHER\" {command}"))
            .env("CACHER", env!("CARGO_BIN_EXE_cacher"))
            .current_dir(shell.path())
            .output()
            .unwrap();
        // The directory reached `cacher` as one argument: it says it holds no store.
        let why = stderr(&run);
        assert!(
            planted.iter().any(|name| why.contains(name)),
            "{command}: {why}"
        );
    }
    let ran: Vec<_> = std::fs::read_dir(shell.path()).unwrap().collect();
    assert!(ran.is_empty(), "the printed commands ran others: {ran:?}");
}

/// Two keys `show NS` printed alike: one of 24 characters ending in `…`, printed whole, and a
/// longer one that `show` cuts to the same 23 characters and `…`. Given back, the printed key
/// showed the first, whichever row it was copied from. Now it is refused, naming neither as the
/// other; each is still shown by its arguments' text, or the whole one with `--exact`.
#[test]
fn a_cut_key_printed_like_another_whole_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let start = "abcdefghijklmnopqrstuvw";
    plant_file(dir.path(), 0, "ns", &format!("{start}…"), "(v2)whole");
    plant_file(dir.path(), 1, "ns", &format!("{start}xyz"), "(v2)long");
    let root = dir.path().to_str().unwrap();
    let keys = first_column(&cacher(&["--root", root, "show", "ns"]));
    assert_eq!(keys, [format!("{start}…"), format!("{start}…")]);
    let given_back = cacher(&["--root", root, "show", "ns", &keys[0]]);
    assert_eq!(code(&given_back), 1, "{given_back:?}");
    assert!(stderr(&given_back).contains("--exact"), "{given_back:?}");
    let exact = cacher(&["--root", root, "show", "--exact", "ns", &keys[0]]);
    assert!(text(&exact).contains("(v2)whole"), "{exact:?}");
    let long = cacher(&["--root", root, "show", "ns", "(v2)long"]);
    assert!(text(&long).contains(&format!("{start}xyz")), "{long:?}");
    // Alone, each is shown by its printed key.
    let alone_dir = tempfile::tempdir().unwrap();
    plant_file(
        alone_dir.path(),
        1,
        "ns",
        &format!("{start}xyz"),
        "(v2)long",
    );
    let alone = alone_dir.path().to_str().unwrap();
    let cut = cacher(&["--root", alone, "show", "ns", &keys[0]]);
    assert!(text(&cut).contains("(v2)long"), "{cut:?}");
    // Two long keys that `show` cuts alike are refused, as keys cut short by the user are.
    plant_file(
        Path::new(alone),
        2,
        "ns",
        &format!("{start}xyz2"),
        "(v2)long2",
    );
    let two = cacher(&["--root", alone, "show", "ns", &keys[0]]);
    assert_eq!(code(&two), 1, "{two:?}");
    assert!(
        stderr(&two).contains("starts the keys of 2 entries"),
        "{two:?}"
    );
}

/// An entry planted with arguments' text that is another entry's key, and one whose key is
/// another entry's location: the key, arguments or location given back showed whichever of
/// the two the listing met first. Now an argument that names two entries is refused.
#[test]
fn a_key_that_is_another_entrys_arguments_or_location_is_refused() {
    for order in [[0, 1, 2], [2, 1, 0]] {
        let dir = tempfile::tempdir().unwrap();
        let entries = [
            ("victim", "(v2)victim"),
            ("k1", "victim"),
            ("planted0/entry.json", "(v2)three"),
        ];
        for n in order {
            // Planted in this order, each in `planted{n}`: the listing meets them so.
            let (key, args) = entries[n];
            plant_file(dir.path(), n, "ns", key, args);
        }
        let root = dir.path().to_str().unwrap();
        for given in ["victim", "planted0/entry.json"] {
            let shown = cacher(&["--root", root, "show", "ns", given]);
            assert_eq!(code(&shown), 1, "{given}: {shown:?}");
            assert!(stderr(&shown).contains("two entries"), "{shown:?}");
        }
        // What names one entry still shows it.
        let one = cacher(&["--root", root, "show", "ns", "(v2)victim"]);
        assert!(text(&one).contains("key       victim\n"), "{one:?}");
        let three = cacher(&["--root", root, "show", "ns", "(v2)three"]);
        assert!(text(&three).contains("planted2/entry.json"), "{three:?}");
    }
}

/// `cacher args…` for `sh -c` (each argument in single quotes: none of these holds one).
fn command_line(args: &[&str]) -> String {
    let words = std::iter::once(env!("CARGO_BIN_EXE_cacher")).chain(args.iter().copied());
    words
        .map(|arg| format!("'{arg}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cacher args…` on a terminal (util-linux `script`'s, which `.ci/run` installs), answers
/// its question once `meanwhile` has run, and returns what the terminal showed. Without
/// `script` the test fails, saying so: it is not skipped.
fn on_a_terminal(args: &[&str], meanwhile: impl FnOnce(), answer: &str) -> String {
    terminal(args, meanwhile, answer).expect(SCRIPT)
}

/// What runs the CLI on a terminal, named when it cannot.
const SCRIPT: &str = "util-linux `script` (Debian's bsdutils) runs the CLI on a terminal";

/// [`on_a_terminal`]'s run: `None` when `script` cannot be run.
fn terminal(args: &[&str], meanwhile: impl FnOnce(), answer: &str) -> Option<String> {
    let command = command_line(args);
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("CACHER_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let mut shown = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&shown).contains("[y/N]") {
        if out.read(&mut byte).ok()? == 0 {
            return Some(String::from_utf8_lossy(&shown).into_owned());
        }
        shown.push(byte[0]);
    }
    meanwhile();
    let mut stdin = child.stdin.take()?;
    stdin.write_all(answer.as_bytes()).ok()?;
    out.read_to_end(&mut shown).ok()?;
    drop(stdin);
    child.wait().ok()?;
    Some(String::from_utf8_lossy(&shown).into_owned())
}

/// `clear A` lists A's entries, asks, then removes each: an entry of namespace B written at a
/// listed location while the question waited (two caches sharing a directory and file names, or
/// a directory swapped for a symlink to B's, which the walk beneath the root follows) was
/// removed, and the command said it removed A's entries. A removal now reads what is there
/// again first (`Listing::remove_listed`), and leaves what is not what was listed.
#[test]
fn clear_removes_nothing_written_at_a_listed_location_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "A", "k", "(v2)a");
    plant_file(other.path(), 0, "B", "k", "(v2)b");
    let root = dir.path().to_str().unwrap();
    let at = dir.path().join("planted0/entry.json");
    let b_entry = std::fs::read(other.path().join("planted0/entry.json")).unwrap();
    let write_b = || {
        let tmp = dir.path().join("planted0/entry.tmp");
        std::fs::write(&tmp, &b_entry).unwrap();
        std::fs::rename(&tmp, &at).unwrap();
    };
    let shown = on_a_terminal(&["--root", root, "clear", "A"], write_b, "y\n");
    assert!(shown.contains("removed 0 entries"), "{shown}");
    assert!(shown.contains("left 1 entry written over"), "{shown}");
    assert_eq!(
        namespaces(root),
        ["B"],
        "B's entry, written meanwhile, stays"
    );
}

/// A script passes each name `ls --json` prints with `--exact`, as the README says: a namespace
/// named `--all` made `cacher clear --exact --all --yes` clear every namespace. `--all` now
/// takes no `--exact` (nor `--escaped`), which only a name is read with: refused, exit 2.
#[test]
fn a_name_given_with_exact_is_never_the_option_all() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "--all", "k", "(v2)junk");
    plant_file(dir.path(), 1, "keep", "k", "(v2)keep");
    let root = dir.path().to_str().unwrap();
    for reading in ["--exact", "--escaped"] {
        let cleared = cacher(&["--root", root, "clear", reading, "--all", "--yes"]);
        assert_eq!(code(&cleared), 2, "{cleared:?}");
        assert_eq!(namespaces(root), ["--all", "keep"], "nothing is removed");
    }
    // After `--`, the name is a name.
    let cleared = cacher(&["--root", root, "clear", "--exact", "--yes", "--", "--all"]);
    assert_eq!(code(&cleared), 0, "{cleared:?}");
    assert_eq!(namespaces(root), ["keep"]);
}

/// `cacher --help` lists the exit codes: 1 was "failure (cannot read or change the cache)",
/// which the refusal of a NAMESPACE that names two (exit 1, nothing read nor changed) is not.
#[test]
fn help_says_what_exit_1_is_for_a_refused_name_too() {
    let help = text(&cacher(&["--help"]));
    let codes = help.split("Exit codes:").nth(1).unwrap();
    let one = codes.split("; 2 ").next().unwrap();
    assert!(one.contains("names two"), "{one}");
}

/// What `cacher args…` showed on a terminal (util-linux `script`'s); without `script`, the test
/// fails saying so.
fn shown_on_a_terminal(args: &[&str]) -> String {
    let command = command_line(args);
    let run = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("CACHER_DIR")
        .stdin(Stdio::null())
        .output()
        .expect(SCRIPT);
    String::from_utf8_lossy(&run.stdout).into_owned()
}

/// The spinner a walk shows on a terminal said "reading DIR" with DIR as it was: a directory
/// whose name holds an OSC sequence (one the user was given to list, or $CACHER_DIR) set the
/// terminal's title. Every other line printed it cleaned.
#[test]
fn the_spinner_prints_the_directory_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("x\u{1b}]0;PWNED\u{7}");
    std::fs::create_dir(&root).unwrap();
    let shown = shown_on_a_terminal(&["ls", root.to_str().unwrap()]);
    assert!(shown.contains("no caches"), "{shown:?}");
    assert!(!shown.contains("\u{1b}]0;PWNED"), "{shown:?}");
}

/// A removal that fails names the entry's location in its message as `show` prints locations
/// (`print::escape`: a backslash doubled), so that it reads back to that one location. It was
/// printed with `clean`, which leaves a backslash as it is: `back\sl/entry.json` read back as
/// no location, and as another's where `back\\sl` is a directory too.
#[test]
fn a_removal_that_fails_names_the_location_as_show_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SeparateFileBackend::new(dir.path().join("back\\sl"))
        .filename_fn(|_| "entry.json".to_owned());
    let entry_key = EntryKey {
        namespace: "A",
        version: None,
        key: "k",
        args: Some("(v2)a"),
        type_name: "u8",
        code: None,
    };
    let entry = Entry::new(7u8, cacher::Clock::system().now_ms());
    PersistentBackend::<u8>::insert(&backend, &entry_key, &entry).unwrap();
    // While `clear` asks, the entry's directory becomes a link out of the root, which no
    // removal follows: the removal fails, and says where.
    let elsewhere = tempfile::tempdir().unwrap();
    let linked = dir.path().join("back\\sl");
    let a_link_out = || {
        std::fs::rename(&linked, elsewhere.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("moved"), &linked).unwrap();
    };
    let root = dir.path().to_str().unwrap();
    let shown = on_a_terminal(&["--root", root, "clear", "A"], a_link_out, "y\n");
    assert!(shown.contains("cannot remove 1 entry"), "{shown}");
    assert!(shown.contains("back\\\\sl/entry.json"), "{shown}");
}

/// `--exact` and `--escaped` say how `prune --namespace` reads its name: given without one,
/// `prune` went on over every namespace as if they were not there. Now a usage error, exit 2,
/// naming `--namespace`, and nothing removed.
#[test]
fn prune_takes_exact_and_escaped_only_with_a_namespace() {
    let dir = tempfile::tempdir().unwrap();
    plant_file(dir.path(), 0, "keep", "k", "(v2)keep");
    let root = dir.path().to_str().unwrap();
    for reading in ["--exact", "--escaped"] {
        let pruned = cacher(&["--root", root, "prune", "--max-size", "0", reading]);
        assert_eq!(code(&pruned), 2, "{pruned:?}");
        assert!(
            String::from_utf8_lossy(&pruned.stderr).contains("--namespace"),
            "{pruned:?}"
        );
        assert_eq!(namespaces(root), ["keep"], "nothing is removed");
    }
}
