//! Where the `cacher` command is pointed: a root that is not a directory of caches (the file
//! system's root, the kernel's pseudo file systems), a `--store` directory that holds no store
//! of cacher's, a store whose writer is frozen. Each must end soon, say what is wrong, and
//! leave the place as it was.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{cacher, code, text};

/// The longest a command may take here: each ends in well under a second when it does what it
/// should; a walk of the whole file system, or a wait for a writer, takes minutes or forever.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `cacher args…` without a terminal; kills it and fails past [`BOUND`].
fn cacher_bounded(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(args)
        .env_remove("CACHER_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cacher binary runs");
    wait_bounded(child, args)
}

fn wait_bounded(mut child: Child, args: &[&str]) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`cacher {}` ran past {BOUND:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `--root /` (or `cacher ls /`) walked the whole machine, reading the first 16 KiB of every
/// file: `/proc/*/environ` and `cmdline` among them, for minutes. `/proc` and `/sys` as roots
/// read the kernel's files. No cache is in any of them: each is refused at once, saying to give
/// the directory of the caches.
#[test]
fn the_file_systems_root_and_the_kernels_pseudo_file_systems_are_refused_at_once() {
    let mut roots = vec!["/", "//", "/."];
    if cfg!(target_os = "linux") {
        roots.extend(["/proc", "/sys", "/proc/self"]);
    }
    for root in roots {
        for args in [
            &["--root", root, "ls"][..],
            &["ls", root],
            &["--root", root, "stats"],
        ] {
            let out = cacher_bounded(args);
            assert_eq!(code(&out), 1, "{args:?}: {}{}", text(&out), stderr(&out));
            assert!(
                stderr(&out).contains("not a directory of caches"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
}

/// What a directory holds: each file's path and bytes, and each directory.
fn contents(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                all.insert(rel, None);
                stack.push(path);
            } else {
                all.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    all
}

/// `--store DIR` on directories that hold no store of cacher's: an empty `data.mdb`, one of
/// text, another program's LMDB without its lock file, notes only. Every subcommand refuses
/// each, saying so, and leaves the directory as it was. (Failed: each got a `lock.mdb`, and the
/// empty `data.mdb` was made a database of cacher's tables, listed as "no caches", exit 0.)
#[test]
fn a_directory_that_holds_no_store_is_refused_and_nothing_is_made_there() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-program.mdb");
    let places: [(&str, Vec<u8>); 4] = [
        ("data.mdb", Vec::new()),
        ("data.mdb", b"hello, not a database\n".to_vec()),
        ("data.mdb", std::fs::read(fixture).unwrap()),
        ("notes.txt", b"my notes".to_vec()),
    ];
    for (name, bytes) in places {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), &bytes).unwrap();
        let before = contents(dir.path());
        let store = dir.path().to_str().unwrap();
        for args in [
            &["ls"][..],
            &["stats"],
            &["verify", "--repair"],
            &["clear", "--all", "--yes"],
        ] {
            let out = cacher_bounded(&[&["--store", store][..], args].concat());
            assert_eq!(code(&out), 1, "{name} {bytes:?} {args:?}: {}", text(&out));
            let error = stderr(&out);
            assert!(
                error.contains("no store") || error.contains("not a store of cacher's"),
                "{args:?}: {error}"
            );
            assert_eq!(contents(dir.path()), before, "{name}: {args:?} changed it");
        }
    }
    let missing = tempfile::tempdir().unwrap();
    let gone = missing.path().join("not/made");
    let out = cacher(&["--store", gone.to_str().unwrap(), "ls"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        !missing.path().join("not").exists(),
        "the directory was made"
    );
}

/// A store whose writer holds LMDB's write lock and does not go on (a process frozen mid-write:
/// `SIGSTOP`, a debugger) is still listed: reads never take the write lock, and neither does
/// opening a store that has its tables. (Failed: every open began with a write transaction, so
/// `cacher ls` — and any process opening the store, to read or not — waited for the frozen
/// writer without end.)
#[test]
fn a_store_whose_writer_is_frozen_is_still_listed() {
    use heed::types::Bytes;
    let dir = tempfile::tempdir().unwrap();
    let env = open_env(dir.path());
    // A store as cacher makes it: the unnamed table and the `order` and `meta` ones.
    let mut txn = env.write_txn().unwrap();
    env.create_database::<Bytes, Bytes>(&mut txn, None).unwrap();
    env.create_database::<Bytes, Bytes>(&mut txn, Some("order"))
        .unwrap();
    env.create_database::<Bytes, Bytes>(&mut txn, Some("meta"))
        .unwrap();
    txn.commit().unwrap();
    let frozen = env.write_txn().unwrap();
    let store = dir.path().to_str().unwrap();
    let out = cacher_bounded(&["--store", store, "ls", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ls: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ls["caches"], serde_json::json!([]), "{ls}");
    drop(frozen);
}

/// `cacher ls` over a directory that holds a store (`backend = "store"` keeps its entries in one
/// database, `data.mdb`, which a walk of files cannot read) names it, with the command that
/// sees into it. (Failed: the README's store, in the default root, was not mentioned: "no
/// caches", exit 0, and nothing said to use `--store`.)
#[test]
fn ls_names_the_stores_it_passes_with_the_command_that_sees_into_them() {
    use cacher::{Cache, StoreBackend};
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("app/users");
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("app::users")
        .backend(StoreBackend::new(&users))
        .build()
        .unwrap();
    cache.insert(&7, "ada".into()).unwrap();
    let root = dir.path().to_str().unwrap();
    let hint = format!("cacher --store {} ls", users.display());
    for args in [
        &["--root", root, "ls"][..],
        &["ls", users.to_str().unwrap()],
    ] {
        let out = cacher(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert!(text(&out).contains(&hint), "{args:?}: {}", text(&out));
    }
    let out = cacher(&["--root", root, "ls", "--json"]);
    let ls: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        ls["stores"],
        serde_json::json!([users.display().to_string()]),
        "{ls}"
    );
}

/// The variable that makes this test binary, run again as a child, write a store's entries
/// with cacher and exit (the test process itself then holds the store's write lock through
/// LMDB: one process cannot open one store twice).
const MAKE_ENTRIES: &str = "CACHER_CLI_TEST_MAKE_ENTRIES";

/// `clear` of a store whose writer lock another process holds (frozen mid-write) waits — the
/// removal is what was asked — but says so on stderr within a few seconds, naming the writer
/// lock and Ctrl-C, and finishes once the writer lets go. (Failed: it waited without a word.)
#[test]
fn a_clear_that_waits_for_a_frozen_writer_says_so_and_ends_when_it_lets_go() {
    if let Some(dir) = std::env::var_os(MAKE_ENTRIES) {
        let cache: cacher::Cache<u32, String> = cacher::Cache::builder()
            .namespace("app::users")
            .backend(cacher::StoreBackend::new(dir))
            .build()
            .unwrap();
        for n in 0..3 {
            cache.insert(&n, format!("user {n}")).unwrap();
        }
        return;
    }
    let dir =
        entries_made_by("a_clear_that_waits_for_a_frozen_writer_says_so_and_ends_when_it_lets_go");
    let env = open_env(dir.path());
    let frozen = env.write_txn().unwrap();
    let store = dir.path().to_str().unwrap();
    let args = ["--store", store, "clear", "--all", "--yes"];
    let mut child = spawn_cacher(&args);
    let said = said_within(&mut child, "still waiting", BOUND);
    assert!(
        said.contains("writer lock") && said.contains("Ctrl-C"),
        "{said}"
    );
    drop(frozen);
    let out = wait_bounded(child, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(text(&out).contains("removed 3 entries"), "{}", text(&out));
}

/// `clear` of a store whose writer is a cacher process frozen mid-write — which holds the
/// store's writers' gate (`.cacher-locks/store-writer`) beside LMDB's lock — waits as it does for
/// any writer, however long, and finishes once the writer lets go. (Failed: each removal gave up
/// after the store's write timeout, 5 s: a writer frozen for 6 s left an entry behind, exit 1,
/// and a store of 10 000 entries took 14 hours to remove none of them.)
#[test]
fn a_clear_waits_for_a_frozen_writer_that_holds_the_stores_gate() {
    if let Some(dir) = std::env::var_os(MAKE_ENTRIES) {
        return make_entries(dir);
    }
    let dir = entries_made_by("a_clear_waits_for_a_frozen_writer_that_holds_the_stores_gate");
    // The frozen writer: the gate's lock, then LMDB's, as a cacher process's write takes them.
    let gate = std::fs::File::options()
        .read(true)
        .write(true)
        .open(dir.path().join(".cacher-locks/store-writer"))
        .unwrap();
    gate.lock().unwrap();
    let env = open_env(dir.path());
    let frozen = env.write_txn().unwrap();
    let store = dir.path().to_str().unwrap();
    let args = ["--store", store, "clear", "--all", "--yes"];
    let mut child = spawn_cacher(&args);
    let said = said_within(&mut child, "still waiting", BOUND);
    assert!(said.contains("writer lock"), "{said}");
    // Frozen past the store's default write timeout (5 s).
    std::thread::sleep(Duration::from_secs(6));
    drop((frozen, gate));
    let out = wait_bounded(child, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(text(&out).contains("removed 3 entries"), "{}", text(&out));
}

/// A directory whose store holds three entries, written by a child process: this test binary
/// running `test`, which calls [`make_entries`] when asked to.
fn entries_made_by(test: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact"])
        .env(MAKE_ENTRIES, dir.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    dir
}

/// `cacher` with `args`, running, its output piped.
fn spawn_cacher(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's part of the tests above: three entries written to the store in `dir` by a cache.
fn make_entries(dir: std::ffi::OsString) {
    let cache: cacher::Cache<u32, String> = cacher::Cache::builder()
        .namespace("app::users")
        .backend(cacher::StoreBackend::new(dir))
        .build()
        .unwrap();
    for n in 0..3 {
        cache.insert(&n, format!("user {n}")).unwrap();
    }
}

/// The first line of `child`'s stderr that contains `needle`, read as it is written; fails
/// (killing the child) when none came within `bound`. The rest of stderr is read and dropped,
/// so that what the child says later does not meet a closed pipe (a panic, exit 101).
fn said_within(child: &mut Child, needle: &str, bound: Duration) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (line, lines) = std::sync::mpsc::channel();
    let needle = needle.to_owned();
    std::thread::spawn(move || {
        for read in std::io::BufReader::new(stderr).lines() {
            let Ok(read) = read else { return };
            if read.contains(&needle) {
                let _ = line.send(read);
            }
        }
    });
    lines.recv_timeout(bound).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("nothing said about waiting within {bound:?}")
    })
}

/// The store in `dir`, opened as another program (a writer frozen mid-write) would open it.
fn open_env(dir: &std::path::Path) -> heed::Env {
    let mut options = heed::EnvOpenOptions::new();
    options.max_dbs(3);
    // SAFETY: each test opens its directory's environment once in this process, and keeps it
    // open until it ends; the other processes are its children (ended) and `cacher`.
    #[allow(unsafe_code)]
    unsafe { options.open(dir) }.unwrap()
}
