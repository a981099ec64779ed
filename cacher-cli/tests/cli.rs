//! The built `cacher` binary against caches written by this program through cacher: each
//! subcommand's output, its `--json` shape and its exit code.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};

use cacher::entry::{Entry, EntryKey};
use cacher::{Cache, HashKeyer, PersistentBackend, PostcardFormatter, SeparateFileBackend};
use serde_json::Value;

use common::{cacher, code, text};

const DAY_MS: u64 = 86_400_000;

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON document")
}

fn greet_cache(dir: &Path) -> Cache<String, String> {
    Cache::builder()
        .namespace("demo::greet")
        .keyer(HashKeyer)
        .backend(SeparateFileBackend::new(dir.join("demo/greet")))
        .build()
        .unwrap()
}

/// Three JSON entries of `demo::greet` (hashed keys), two postcard ones of `demo::square`.
fn write_caches(dir: &Path) {
    let greet = greet_cache(dir);
    for name in ["alice", "bob", "carol"] {
        greet.get_or_compute(name, || format!("hello {name}"));
    }
    let square: Cache<u32, u64> = Cache::builder()
        .namespace("demo::square")
        .backend(SeparateFileBackend::new(dir.join("demo/square")).formatter(PostcardFormatter))
        .build()
        .unwrap();
    for n in [3, 4] {
        square.get_or_compute(&n, || u64::from(n * n));
    }
}

/// An entry of `demo::old` created `days` ago, written by the file backend itself.
fn write_old(dir: &Path, key: &str, days: u64) {
    write_aged(dir, key, days, None);
}

/// [`write_old`]'s entry, with `ttl_ms` as its own ttl (what a `ttl_fn` records).
fn write_aged(dir: &Path, key: &str, days: u64, ttl_ms: Option<u64>) {
    let backend = SeparateFileBackend::new(dir.join("demo/old"));
    let now = cacher::Clock::system().now_ms();
    let key = EntryKey {
        namespace: "demo::old",
        version: None,
        key,
        args: Some(key),
        type_name: std::any::type_name::<String>(),
        code: None,
    };
    let entry = Entry {
        ttl_ms,
        ..Entry::new("x".repeat(1000), now - days * DAY_MS)
    };
    PersistentBackend::<String>::insert(&backend, &key, &entry).unwrap();
}

fn namespaces(ls: &Value) -> Vec<(String, u64)> {
    ls["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["namespace"].as_str().unwrap().to_owned(),
                c["entries"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ls_lists_each_namespace_with_its_entries_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    let root = dir.path().to_str().unwrap();
    let out = cacher(&["ls", root]);
    assert_eq!(code(&out), 0);
    // No terminal: no progress drawn, nothing on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = text(&out);
    assert!(
        shown.contains("NAMESPACE") && shown.contains("demo::greet"),
        "{shown}"
    );
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(
        namespaces(&ls),
        [
            ("demo::greet".to_owned(), 3),
            ("demo::square".to_owned(), 2)
        ]
    );
    let greet = &ls["caches"][0];
    assert!(greet["bytes"].as_u64().unwrap() > 0);
    assert!(greet["oldest_ms"].as_u64().unwrap() <= greet["newest_ms"].as_u64().unwrap());
    assert_eq!(ls["problems"], 0);
    // --root does the same as the positional root.
    assert_eq!(
        json(&cacher(&["--root", root, "ls", "--json"]))["caches"],
        ls["caches"]
    );
}

#[test]
fn show_prints_the_arguments_of_hashed_entries_and_a_json_value() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    let root = dir.path().to_str().unwrap();
    let listing = text(&cacher(&["--root", root, "show", "demo::greet"]));
    assert!(
        listing.contains("(v2)alice") && listing.contains("(v2)carol"),
        "{listing}"
    );
    let shown = json(&cacher(&["--root", root, "show", "demo::greet", "--json"]));
    let entries = shown["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["kind"], "entry");
    assert_eq!(entries[0]["format"], "json");
    let key = entries[0]["key"].as_str().unwrap();
    assert!(
        key.len() >= 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "a hashed key: {key}"
    );

    // One entry, by its arguments' text or by its key.
    let one = text(&cacher(&["--root", root, "show", "demo::greet", "(v2)bob"]));
    assert!(
        one.contains("\"hello bob\"") && one.contains("args      (v2)bob"),
        "{one}"
    );
    let by_key = json(&cacher(&[
        "--root",
        root,
        "--json",
        "show",
        "demo::greet",
        key,
    ]));
    assert!(by_key["value"].as_str().unwrap().starts_with("hello "));
    // A binary entry is summarised.
    let square = text(&cacher(&["--root", root, "show", "demo::square", "(v2)3"]));
    assert!(square.contains("bytes of postcard"), "{square}");
    // Nothing of that name: exit 4, and what to do.
    let missing = cacher(&["--root", root, "show", "demo::nope"]);
    assert_eq!(code(&missing), 4);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cacher ls"));
    assert_eq!(
        code(&cacher(&["--root", root, "show", "demo::greet", "(v2)zed"])),
        4
    );
    // The arguments' text without the layout that starts a key: exit 4, naming the key.
    let bare = cacher(&["--root", root, "show", "demo::greet", "bob"]);
    assert_eq!(code(&bare), 4);
    let told = String::from_utf8_lossy(&bare.stderr);
    assert!(told.contains("did you mean \"(v2)bob\"?"), "{told}");
    // A hashed key as `show` cuts it, pasted without its `…` (helper-106): exit 4, naming it.
    let start = &key[..20];
    let cut = cacher(&["--root", root, "show", "demo::greet", start]);
    assert_eq!(code(&cut), 4);
    let told = String::from_utf8_lossy(&cut.stderr);
    assert!(told.contains(&format!("did you mean \"{key}\"?")), "{told}");
    // With it, the entry.
    let whole = cacher(&["--root", root, "show", "demo::greet", &format!("{start}…")]);
    assert_eq!(code(&whole), 0, "{whole:?}");
}

#[test]
fn stats_draws_the_ages_and_counts_the_expired() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    write_old(dir.path(), "a", 3);
    write_old(dir.path(), "b", 40);
    let root = dir.path().to_str().unwrap();
    let drawn = text(&cacher(&["--root", root, "--ttl", "1d", "stats"]));
    assert!(drawn.contains("3 namespaces, 7 entries"), "{drawn}");
    assert!(drawn.contains("2 expired"), "{drawn}");
    assert!(
        drawn.contains("< 1m │████████████████████████████████████████ 5"),
        "{drawn}"
    );
    let stats = json(&cacher(&["--root", root, "--ttl", "1d", "stats", "--json"]));
    assert_eq!(
        (stats["entries"].as_u64(), stats["expired"].as_u64()),
        (Some(7), Some(2))
    );
    let ages: Vec<u64> = stats["ages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["entries"].as_u64().unwrap())
        .collect();
    assert_eq!(ages, [5, 0, 0, 1, 0, 1, 0]);
}

#[test]
fn prune_removes_by_age_by_expiry_and_down_to_a_size() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    for (key, days) in [("a", 3), ("b", 10), ("c", 40)] {
        write_old(dir.path(), key, days);
    }
    let root = dir.path().to_str().unwrap();
    let count = || {
        json(&cacher(&["--root", root, "stats", "--json"]))["entries"]
            .as_u64()
            .unwrap()
    };

    let dry = json(&cacher(&[
        "--root",
        root,
        "prune",
        "--older-than",
        "30d",
        "--dry-run",
        "--json",
    ]));
    assert_eq!(
        (dry["removed"].as_u64(), dry["dry_run"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(count(), 8);
    let out = cacher(&["--root", root, "prune", "--older-than", "30d"]);
    assert_eq!(text(&out), "removed 1 entry (1.2 KiB)\n");
    assert_eq!(count(), 7);
    // A bare number is refused, as the attribute's `ttl = "60"` is: one second would have
    // removed every entry here.
    let bare = cacher(&["--root", root, "prune", "--older-than", "1"]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("needs a unit: write 1s"));
    assert_eq!(count(), 7);
    // --expired needs to know the ttl.
    let refused = cacher(&["--root", root, "prune", "--expired"]);
    assert_eq!(code(&refused), 1);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--ttl"));
    let expired = json(&cacher(&[
        "--root",
        root,
        "--ttl",
        "5d",
        "prune",
        "--expired",
        "--json",
    ]));
    assert_eq!(expired["removed"], 1);
    // Down to a size: the oldest go first (the 3-day-old entry of 1 KiB; the rest take about 1).
    let sized = json(&cacher(&[
        "--root",
        root,
        "prune",
        "--max-size",
        "2K",
        "--json",
    ]));
    assert_eq!(sized["removed"], 1);
    assert!(
        sized["locations"][0]
            .as_str()
            .unwrap()
            .starts_with("demo/old/")
    );
    assert_eq!(count(), 5);
    // Nothing to say what to prune: a usage error.
    assert_eq!(code(&cacher(&["--root", root, "prune"])), 2);
    let only_filters = cacher(&[
        "--root",
        root,
        "prune",
        "--namespace",
        "demo::old",
        "--dry-run",
    ]);
    assert_eq!(code(&only_filters), 2);
}

#[test]
fn verify_finds_corrupt_foreign_orphaned_and_repair_removes_only_those() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    let greet = dir.path().join("demo/greet");
    std::fs::write(
        greet.join("torn.json"),
        br#"{"cacher":3,"namespace":"demo::gr"#,
    )
    .unwrap();
    std::fs::write(
        greet.join("old.json"),
        br#"{"cacher":1,"namespace":"demo::greet","key":"k","value":1}"#,
    )
    .unwrap();
    let temp = greet.join(".cacher-tmp-123-0");
    std::fs::write(&temp, b"half").unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    std::fs::write(greet.join("notes.txt"), b"mine").unwrap();
    // Not this release's to judge (helper-105): a later release's entry (a rolling deploy), and
    // another program's protobuf message, whose first field (a string: tag 0x0a, then its
    // length) reads as a postcard entry of layout 10 and a namespace. Both were "foreign (an
    // older layout)", and `--repair` deleted them.
    let newer = br#"{"cacher":4,"namespace":"demo::greet","key":"k","value":1}"#;
    std::fs::write(greet.join("newer.json"), newer).unwrap();
    let protobuf = b"\x0a\x0bhello world\x10\x96\x01";
    std::fs::write(greet.join("state.bin"), protobuf).unwrap();
    let root = dir.path().to_str().unwrap();

    let out = cacher(&["--root", root, "verify"]);
    assert_eq!(code(&out), 3);
    let report = text(&out);
    assert!(
        report.contains("corrupt") && report.contains("foreign (layout 1)"),
        "{report}"
    );
    assert!(
        report.contains("orphaned temporary") && !report.contains("notes.txt"),
        "{report}"
    );
    assert!(text(&cacher(&["--root", root, "ls"])).contains("3 files need attention"));
    let listed = cacher(&["--root", root, "verify", "--json"]);
    assert_eq!(code(&listed), 3);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let kinds: Vec<&str> = listed["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");

    let repaired = cacher(&["--root", root, "verify", "--repair"]);
    assert_eq!(code(&repaired), 0, "{repaired:?}");
    assert!(text(&repaired).contains("removed 3 of 3"));
    assert!(greet.join("notes.txt").exists() && !temp.exists());
    assert_eq!(std::fs::read(greet.join("newer.json")).unwrap(), newer);
    assert_eq!(std::fs::read(greet.join("state.bin")).unwrap(), protobuf);
    assert_eq!(code(&cacher(&["--root", root, "verify"])), 0);
    assert_eq!(
        greet_cache(dir.path()).get("alice").as_deref(),
        Some("hello alice")
    );
}

#[test]
fn clear_asks_and_without_a_terminal_needs_yes() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    let root = dir.path().to_str().unwrap();
    let refused = cacher(&["--root", root, "clear", "demo::greet"]);
    assert_eq!(code(&refused), 5);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(namespaces(&ls).len(), 2);

    let cleared = json(&cacher(&[
        "--root",
        root,
        "clear",
        "demo::greet",
        "--yes",
        "--json",
    ]));
    assert_eq!(cleared["removed"], 3);
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(namespaces(&ls), [("demo::square".to_owned(), 2)]);
    assert_eq!(greet_cache(dir.path()).get("alice"), None);
    assert_eq!(code(&cacher(&["--root", root, "clear", "--all", "-y"])), 0);
    assert!(namespaces(&json(&cacher(&["ls", root, "--json"]))).is_empty());
    // Neither a namespace nor --all: a usage error.
    assert_eq!(code(&cacher(&["--root", root, "clear"])), 2);
}

#[test]
fn a_cache_being_written_is_listed_whole() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let cache = greet_cache(dir.path());
    let stop = AtomicBool::new(false);
    let root = dir.path().to_str().unwrap();
    // The writer goes on until five listings ran, so that each of them meets writes.
    let (written, seen) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) || i < 10 {
                cache
                    .insert(&format!("user {i}"), "v".repeat(i % 500))
                    .unwrap();
                i += 1;
            }
            i
        });
        let mut seen = Vec::new();
        for _ in 0..5 {
            let ls = json(&cacher(&["ls", root, "--json"]));
            assert_eq!(ls["problems"], 0, "a temporary or torn file reported: {ls}");
            seen.push(namespaces(&ls).first().map_or(0, |(_, n)| *n));
        }
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap(), seen)
    });
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        seen[4] < written as u64,
        "the listings ran while entries were written: {seen:?}"
    );
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(
        namespaces(&ls),
        [("demo::greet".to_owned(), written as u64)]
    );
}

#[test]
fn errors_say_what_to_do_and_completions_are_printed() {
    let out = cacher(&["ls", "/nonexistent/cacher-test"]);
    assert_eq!(code(&out), 1);
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("is not a directory") && error.contains("CACHER_DIR"),
        "{error}"
    );
    let bad = cacher(&["--redis", "http://x", "ls"]);
    assert_eq!(code(&bad), 1);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redis://"));
    let completions = cacher(&["completions", "bash"]);
    assert_eq!(code(&completions), 0);
    assert!(text(&completions).contains("_cacher()"));
    let help = text(&cacher(&["--help"]));
    assert!(
        help.contains("Exit codes") && help.contains("prune"),
        "{help}"
    );
}

/// A cache's fixed ttl is not in its files: without `--ttl`, `ls` and `stats` say that they
/// cannot tell whether such entries expired (`?`, and what to pass) instead of counting them as
/// fresh — a `0` in the EXPIRED column read as "none expired" beside entries weeks old.
#[test]
fn without_a_ttl_entries_that_record_none_are_of_unknown_expiry_not_fresh() {
    let dir = tempfile::tempdir().unwrap();
    write_old(dir.path(), "a", 3);
    write_old(dir.path(), "b", 40);
    let root = dir.path().to_str().unwrap();
    let row = |shown: &str| {
        let row = shown.lines().find(|l| l.starts_with("demo::old"));
        row.map(|r| r.trim_end().to_owned()).unwrap_or_default()
    };
    let shown = text(&cacher(&["--root", root, "ls"]));
    assert!(row(&shown).ends_with("  ?"), "{shown}");
    assert!(
        shown.contains("EXPIRED ?:") && shown.contains("pass --ttl"),
        "{shown}"
    );
    let listed = json(&cacher(&["--root", root, "ls", "--json"]));
    let old = &listed["caches"][0];
    assert_eq!(
        (old["expired"].as_u64(), old["expiry_unknown"].as_u64()),
        (Some(0), Some(2))
    );
    let stats = text(&cacher(&["--root", root, "stats"]));
    assert!(stats.contains("2 of unknown expiry"), "{stats}");
    let stats = json(&cacher(&["--root", root, "stats", "--json"]));
    assert_eq!(stats["expiry_unknown"], 2);
    // Told the cache's ttl, both are judged by it, and nothing is unknown.
    let told = text(&cacher(&["--root", root, "--ttl", "7d", "ls"]));
    assert!(row(&told).ends_with("  1"), "{told}");
    assert!(!told.contains("EXPIRED ?:"), "{told}");
    let told = json(&cacher(&["--root", root, "--ttl", "7d", "ls", "--json"]));
    assert_eq!(told["caches"][0]["expiry_unknown"], 0);
    let told = text(&cacher(&["--root", root, "--ttl", "7d", "stats"]));
    assert!(!told.contains("unknown expiry"), "{told}");
    // Beside an entry that records its own ttl (1 day, made 3 days ago): counted, the others not.
    write_aged(dir.path(), "c", 3, Some(DAY_MS));
    let mixed = text(&cacher(&["--root", root, "ls"]));
    assert!(row(&mixed).ends_with("  1 + 2 ?"), "{mixed}");
}

#[test]
fn an_entry_with_its_own_ttl_says_whether_it_expired_without_being_told_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SeparateFileBackend::new(dir.path().join("own"));
    let now = cacher::Clock::system().now_ms();
    for (key, ttl_days) in [("short", 1), ("long", 30)] {
        let entry_key = EntryKey {
            namespace: "demo::own",
            version: None,
            key,
            args: Some(key),
            type_name: std::any::type_name::<u8>(),
            code: None,
        };
        let entry = Entry {
            ttl_ms: Some(ttl_days * DAY_MS),
            ..Entry::new(1u8, now - 3 * DAY_MS)
        };
        PersistentBackend::<u8>::insert(&backend, &entry_key, &entry).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let ls = json(&cacher(&["ls", root, "--json"]));
    assert_eq!(ls["caches"][0]["expired"], 1);
    let shown = text(&cacher(&["--root", root, "show", "demo::own"]));
    assert!(
        shown.contains("expired") && shown.contains("fresh for 26d"),
        "{shown}"
    );
    let pruned = json(&cacher(&[
        "--root",
        root,
        "--ttl",
        "90d",
        "prune",
        "--expired",
        "--json",
    ]));
    assert_eq!(pruned["removed"], 1, "an entry's own ttl wins over --ttl");
}

/// `cacher clear` of a key while this program refreshes it (its source read before the clear):
/// the value computed before the clear does not land in the directory after it, as after a
/// `clear` of the library. (Before, `clear`, `prune` and `verify --repair` removed entries
/// without moving their generation: the refreshed value landed after `cacher clear` returned.)
#[test]
fn a_value_computed_before_cacher_clear_does_not_land_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let this = greet_cache(dir.path());
    this.insert("alice", "hello".into()).unwrap();
    let computed = || {
        let out = cacher(&["--root", root, "clear", "demo::greet", "--yes"]);
        assert_eq!(code(&out), 0, "{out:?}");
        "computed before the clear".to_owned()
    };
    let got = this.refresh(|| this.get_or_compute("alice", computed));
    assert_eq!(got, "computed before the clear");
    assert_eq!(
        greet_cache(dir.path()).get("alice"),
        None,
        "a value computed before `cacher clear` landed after it"
    );
}

/// `clear` on a full disk (helper-105): the namespace's generations are moved first, into
/// generations files that a failed write left empty and that cannot be written now; the entries
/// go all the same. It says what it removed — with `--json`, the document — then the failure,
/// exit 1. Before, it said only "cannot clear the namespace" (and printed no JSON document),
/// having removed every entry: a script believed nothing was removed.
#[cfg(unix)]
#[test]
fn a_clear_on_a_full_disk_says_what_it_removed() {
    use cacher_tests::mount::{Tmpfs, skip};
    use std::io::Write as _;
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("small");
    let _mount = match Tmpfs::mount(&dir, "size=512k") {
        Ok(mount) => mount,
        Err(why) => return skip(&format!("clear on a full disk: {why}")),
    };
    write_caches(&dir);
    // Each entry's own generations file made whole (an insert moves it), so that removing the
    // entries writes nothing new; every other one left empty, as a write that failed leaves it.
    let greet = greet_cache(&dir);
    for name in ["alice", "bob", "carol"] {
        greet.insert(name, format!("hello {name}")).unwrap();
    }
    let locks = dir.join("demo/greet").join(cacher::lock::LOCK_DIR);
    for number in 0..64 {
        let file = locks.join(format!("generations-{number:02x}"));
        if !file.exists() {
            std::fs::File::create(file).unwrap();
        }
    }
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    while filler
        .write_all(&[0; 4096])
        .and_then(|()| filler.sync_all())
        .is_ok()
    {}
    let root = dir.to_str().unwrap();
    let out = cacher(&["--root", root, "--json", "clear", "demo::greet", "--yes"]);
    assert_eq!(code(&out), 1, "{out:?}");
    let document: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON document ({e}): {out:?}"));
    assert_eq!(document["removed"], 3, "{document}");
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("the entries were removed"), "{error}");
    assert_eq!(greet_cache(&dir).get("alice"), None);
}

/// `prune --namespace` with a name no entry has (a typo, helper-105): exit 4 as `clear` and
/// `show` say it, after the empty result, instead of a quiet "removed 0 entries", exit 0.
#[test]
fn prune_of_a_namespace_with_no_entries_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write_caches(dir.path());
    let root = dir.path().to_str().unwrap();
    let typo = &["--root", root, "prune", "--older-than", "0s", "--namespace"];
    let out = cacher(&[typo.as_slice(), &["demo::gret"]].concat());
    assert_eq!(code(&out), 4, "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no entries of namespace"),
        "{out:?}"
    );
    // A namespace of the same function under another path (helper-106 guessed the package's
    // name for a binary's): named, in `prune`, `clear` and `show` alike.
    for command in [
        &["prune", "--older-than", "0s", "--namespace", "app::greet"][..],
        &["clear", "app::greet", "--yes"],
        &["show", "app::greet"],
    ] {
        let out = cacher(&[&["--root", root][..], command].concat());
        assert_eq!(code(&out), 4, "{out:?}");
        let told = String::from_utf8_lossy(&out.stderr);
        assert!(
            told.contains("did you mean \"demo::greet\"?"),
            "{command:?}: {told}"
        );
    }
    let out = cacher(&[typo.as_slice(), &["demo::greet", "--dry-run"]].concat());
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(text(&out).contains("would remove 3 entries"), "{out:?}");
}
