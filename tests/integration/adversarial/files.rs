//! The file backend among files that are not its own: a shared directory, planted symlinks,
//! FIFOs, devices, huge sparse files, undeletable entries, two versions, names that break on
//! other platforms, and an empty or relative `CACHER_DIR`. Caches here have the file backend
//! alone (no memory tier), so that every call reaches the disk.
//!
//! Unix only (symlinks, FIFOs, permission bits). Tests run as root in CI, where permission bits
//! stop nothing: the undeletable entry is made immutable (`chattr +i`) as root, and its directory
//! read-only otherwise.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use cacher::{Cache, Error, SeparateFileBackend, cached};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::{Calls, init_tracing, test_name};

fn file_cache(namespace: &str, backend: SeparateFileBackend) -> Cache<String, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(backend)
        .build()
        .unwrap()
}

/// Calls `get_or_compute` and checks that the function ran and its value came back.
fn computed(cache: &Cache<String, String>, key: &str) {
    let calls = Calls::default();
    let value = cache.get_or_compute(key, || {
        calls.hit();
        format!("value of {key}")
    });
    assert_eq!(value, format!("value of {key}"));
    assert_eq!(calls.count(), 1, "{key}: the function did not run");
}

/// Runs `f` on a thread and waits at most 30 s for it: a hang fails the test instead of
/// blocking the suite.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(f()));
    receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not return within 30 s"))
}

/// Bytes this process has read with `read` so far (Linux's `/proc/self/io`), when known.
fn bytes_read() -> Option<u64> {
    let io = fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("rchar:"))?
        .trim()
        .parse()
        .ok()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The process's umask, read from a file created with every permission bit asked for.
fn umask() -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o777)
        .open(&probe)
        .unwrap();
    !mode_of(&probe) & 0o777
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A user's directory shared with caches: notes, a config in a subdirectory, an empty
/// directory, and the entries of another namespace and of another version of `mine`.
struct SharedDir {
    dir: tempfile::TempDir,
    other: Cache<String, String>,
    other_version: Cache<String, String>,
}

impl SharedDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "my notes").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/config.toml"), "x = 1").unwrap();
        fs::create_dir(dir.path().join("empty")).unwrap();
        let other = file_cache("other", SeparateFileBackend::new(dir.path()));
        let other_version = Cache::builder()
            .namespace("mine")
            .version("2")
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap();
        for k in ["a", "b", "c"] {
            other.insert(k, format!("other {k}")).unwrap();
            other_version.insert(k, format!("v2 {k}")).unwrap();
        }
        Self {
            dir,
            other,
            other_version,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn assert_untouched(&self) {
        let path = self.path();
        assert_eq!(
            fs::read_to_string(path.join("notes.txt")).unwrap(),
            "my notes"
        );
        assert_eq!(
            fs::read_to_string(path.join("sub/config.toml")).unwrap(),
            "x = 1"
        );
        assert!(
            path.join("empty").is_dir(),
            "the user's empty directory was removed"
        );
        for k in ["a", "b", "c"] {
            assert_eq!(self.other.get(k), Some(format!("other {k}")), "{k}");
        }
    }
}

#[test]
fn max_entries_evicts_only_this_caches_entries() {
    let shared = SharedDir::new();
    let mine = file_cache(
        "mine",
        SeparateFileBackend::new(shared.path()).max_entries(3),
    );
    for k in 0..10 {
        mine.insert(&k.to_string(), format!("mine {k}")).unwrap();
    }
    shared.assert_untouched();
    for k in ["a", "b", "c"] {
        let kept = shared.other_version.get(k);
        assert_eq!(kept, Some(format!("v2 {k}")), "another version's {k}");
    }
    let kept: Vec<u32> = (0..10)
        .filter(|k| mine.get(&k.to_string()).is_some())
        .collect();
    assert_eq!(kept, [7, 8, 9]);
}

#[test]
fn clear_removes_only_this_caches_entries_and_the_directories_it_emptied() {
    let shared = SharedDir::new();
    let mine = file_cache(
        "mine",
        SeparateFileBackend::new(shared.path()).filename_fn(|k| format!("shard/{k}.json")),
    );
    for k in 0..10 {
        mine.insert(&k.to_string(), format!("mine {k}")).unwrap();
    }
    mine.clear().unwrap();
    shared.assert_untouched();
    assert!((0..10).all(|k| mine.get(&k.to_string()).is_none()));
    assert!(
        !shared.path().join("shard").exists(),
        "the emptied shard stayed"
    );
    // `clear` is the namespace's, of every version: the other version's entries went too.
    assert_eq!(shared.other_version.get("a"), None);
}

/// `cache/ab -> elsewhere`, with `filename_fn = |k| format!("ab/{k}.json")`: no read, write,
/// remove, eviction or clear goes through the link.
#[test]
fn a_symlink_planted_in_the_directory_never_leads_outside() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let (dir, elsewhere) = (
        sandbox.path().join("cache"),
        sandbox.path().join("elsewhere"),
    );
    fs::create_dir(&dir).unwrap();
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("ab")).unwrap();
    // elsewhere/precious.json: a valid entry of this cache's namespace; notes.json: a user's.
    let plain_names = |k: &str| format!("{}.json", k.strip_prefix("(v2)").unwrap_or(k));
    let direct = file_cache(
        "ns",
        SeparateFileBackend::new(&elsewhere).filename_fn(plain_names),
    );
    direct.insert("precious", "outside".into()).unwrap();
    let precious_path = elsewhere.join("precious.json");
    assert_eq!(direct.path_of("precious"), Some(precious_path.clone()));
    let precious = fs::read(&precious_path).unwrap();
    fs::write(elsewhere.join("notes.json"), "user's notes").unwrap();

    let backend = SeparateFileBackend::new(&dir)
        .max_entries(1)
        .filename_fn(|k| {
            // Names without the key encoding's version prefix, to aim at the planted files.
            let k = k.strip_prefix("(v2)").unwrap_or(k);
            match k.strip_prefix("top-") {
                Some(top) => format!("{top}.json"),
                None => format!("ab/{k}.json"),
            }
        });
    let cache = file_cache("ns", backend);
    cache.insert("top-0", "inside".into()).unwrap(); // the eviction index exists from here
    assert_eq!(cache.get("precious"), None, "read through the link");
    computed(&cache, "notes");
    assert!(matches!(
        cache.insert("notes", "x".into()),
        Err(Error::Io { .. })
    ));
    assert!(cache.remove("notes").is_err());
    assert!(cache.remove("precious").is_err());
    for k in 1..5 {
        cache.insert(&format!("top-{k}"), "inside".into()).unwrap(); // evicts
    }
    cache.clear().unwrap();

    assert_eq!(
        fs::read_to_string(elsewhere.join("notes.json")).unwrap(),
        "user's notes"
    );
    assert_eq!(fs::read(&precious_path).unwrap(), precious);
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 2);
    assert!(cache.stats().errors >= 3, "{:?}", cache.stats());
}

#[test]
fn entries_and_directories_are_private_by_default() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("new/cache");
    let sharded = |backend: SeparateFileBackend| {
        file_cache("ns", backend.filename_fn(|k| format!("shard/{k}.json")))
    };
    sharded(SeparateFileBackend::new(&dir))
        .insert("k", "secret".into())
        .unwrap();
    assert_eq!(mode_of(&dir.join("shard/(v2)k.json")), 0o600);
    assert_eq!(mode_of(&dir.join("shard")), 0o700);
    assert_eq!(
        mode_of(&dir),
        0o700,
        "the cache directory, created by the cache"
    );
    assert_eq!(mode_of(&sandbox.path().join("new")), 0o700);

    // Shared with the group, as far as the umask lets.
    let shared_dir = sandbox.path().join("shared");
    sharded(SeparateFileBackend::new(&shared_dir).permissions(0o640))
        .insert("k", "for the team".into())
        .unwrap();
    let umask = umask();
    assert_eq!(
        mode_of(&shared_dir.join("shard/(v2)k.json")),
        0o640 & !umask
    );
    assert_eq!(mode_of(&shared_dir.join("shard")), 0o750 & !umask);
}

#[test]
fn a_fifo_at_an_entry_path_never_blocks() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let cache = file_cache("ns", SeparateFileBackend::new(&path));
    mkfifo(&cache.path_of("k").unwrap());
    mkfifo(&path.join("other.json"));
    let cache = within("get_or_compute on a FIFO", move || {
        computed(&cache, "k");
        cache
    });
    assert!(cache.stats().errors >= 1, "{:?}", cache.stats());
    assert!(
        cache.path_of("k").unwrap().is_file(),
        "the value replaced the FIFO"
    );
    within("clear beside a FIFO", move || cache.clear().unwrap());
    assert!(path.join("other.json").exists());
}

#[test]
fn an_entry_symlinked_to_a_device_or_outside_is_never_read() {
    init_tracing();
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let cache = file_cache("ns", SeparateFileBackend::new(&dir));
    cache.insert("outside", "stored".into()).unwrap();
    // A valid entry for "outside", moved out of the directory and linked back in.
    let moved = sandbox.path().join("moved.json");
    fs::rename(cache.path_of("outside").unwrap(), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, cache.path_of("outside").unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", cache.path_of("zero").unwrap()).unwrap();

    let cache = within("get_or_compute on /dev/zero", move || {
        computed(&cache, "zero");
        computed(&cache, "outside");
        cache
    });
    assert!(cache.stats().errors >= 2, "{:?}", cache.stats());
    assert!(moved.is_file(), "the link was replaced, not its target");
}

#[test]
fn an_entry_over_max_entry_size_is_never_read() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache("ns", SeparateFileBackend::new(dir.path()));
    let sparse = fs::File::create(cache.path_of("huge").unwrap()).unwrap();
    sparse.set_len(8 << 30).unwrap(); // 8 GiB, no block of which is on disk
    let before = bytes_read();
    computed(&cache, "huge");
    if let (Some(before), Some(after)) = (before, bytes_read()) {
        assert!(after - before < 64 << 20, "{} bytes read", after - before);
    }
    assert!(cache.stats().errors >= 1);

    // A lower cap: a larger entry is neither read nor stored; its value is still returned.
    let small = file_cache(
        "ns",
        SeparateFileBackend::new(dir.path()).max_entry_size(1024),
    );
    let big = "x".repeat(2048);
    let err = small.insert("big", big.clone()).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::FileTooLarge),
        "{err}"
    );
    assert_eq!(small.get_or_compute("big", || big.clone()), big);
    file_cache("ns", SeparateFileBackend::new(dir.path()))
        .insert("big", big)
        .unwrap();
    assert_eq!(small.get("big"), None, "an entry over the cap was read");
}

#[test]
fn clear_reads_only_a_bounded_header() {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache("ns", SeparateFileBackend::new(dir.path()));
    cache.insert("k", "v".into()).unwrap();
    let big = dir.path().join("big.json");
    fs::File::create(&big).unwrap().set_len(1 << 30).unwrap();
    let Some(before) = bytes_read() else {
        return println!("skipped: no /proc/self/io to count the bytes read");
    };
    cache.clear().unwrap();
    let read = bytes_read().unwrap() - before;
    assert!(read < 64 << 20, "clear read {read} bytes");
    assert!(big.exists());
    assert_eq!(cache.get("k"), None);
}

/// Makes `path` undeletable, even by root, until dropped: `chattr +i` as root (permission bits
/// do not stop root), a read-only parent directory otherwise.
struct Undeletable(PathBuf, bool);

impl Undeletable {
    fn new(path: &Path) -> Result<Self, String> {
        if fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        }) {
            let status = Command::new("chattr").arg("+i").arg(path).status();
            return match status {
                Ok(s) if s.success() => Ok(Self(path.to_path_buf(), true)),
                other => Err(format!("chattr +i failed: {other:?}")),
            };
        }
        let parent = path.parent().unwrap();
        fs::set_permissions(parent, fs::Permissions::from_mode(0o555)).unwrap();
        Ok(Self(parent.to_path_buf(), false))
    }
}

impl Drop for Undeletable {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        } else {
            let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        }
    }
}

/// 300 entries in ten shards, and one more alone in `locked/`, made undeletable.
#[test]
fn clear_deletes_all_it_can_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache(
        "ns",
        SeparateFileBackend::new(dir.path()).filename_fn(|k| match k {
            "stuck" => "locked/stuck.json".to_owned(),
            _ => format!("{}/{k}.json", &k[..1]),
        }),
    );
    let keys: Vec<String> = (0..300).map(|i| format!("{}-{i}", i % 10)).collect();
    for k in keys.iter().map(String::as_str).chain(["stuck"]) {
        cache.insert(k, "v".into()).unwrap();
    }
    let stuck = cache.path_of("stuck").unwrap();
    let guard = match Undeletable::new(&stuck) {
        Ok(guard) => guard,
        Err(why) if std::env::var_os("CI").is_some() => panic!("{why} (CI must run this test)"),
        Err(why) => return println!("skipped: {why}"),
    };
    let err = cache.clear().unwrap_err();
    drop(guard);
    let Error::Io { path, source } = &err else {
        panic!("expected Error::Io, got {err:?}");
    };
    assert_eq!(path, &stuck, "{err}");
    let message = source.to_string();
    assert!(
        message.starts_with("1 of this cache's files could not be deleted; the first: "),
        "{message}"
    );
    let left: Vec<&String> = keys
        .iter()
        .filter(|k| cache.get(k.as_str()).is_some())
        .collect();
    assert!(left.is_empty(), "{} entries left: {left:?}", left.len());
    assert!(stuck.exists());
    cache.clear().unwrap();
    assert!(!stuck.exists());
}

#[test]
fn two_versions_sharing_a_directory_keep_both() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Calls::default();
    let build = |version: &str| -> Cache<String, String> {
        Cache::builder()
            .namespace("ns")
            .version(version)
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let (old, new) = (build("1"), build("2"));
    for i in 0..100 {
        let cache = if i % 2 == 0 { &old } else { &new };
        let key = (i / 2 % 5).to_string();
        cache.get_or_compute(&key, || {
            calls.hit();
            key.clone()
        });
    }
    assert_eq!(
        calls.count(),
        10,
        "5 keys of 2 versions: anything more is thrashing"
    );
}

#[test]
fn filename_fn_names_that_break_on_other_platforms_are_refused() {
    init_tracing();
    for name in [
        "...",
        "a.",
        "a.json ",
        "sub./a.json",
        "a\\b.json",
        "a?.json",
        "x\u{202E}nosj.exe",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let returned = name.to_owned();
        let backend = SeparateFileBackend::new(dir.path()).filename_fn(move |_| returned.clone());
        let cache = file_cache("ns", backend);
        assert_eq!(cache.path_of("k"), None, "{name:?}");
        computed(&cache, "k");
        let err = cache.insert("k", "v".into()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPath(p) if p.path == name),
            "{name:?}: {err:?}"
        );
        // Nothing but the folder of the cross-process lock's (empty) files.
        let made: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name != cacher::lock::LOCK_DIR)
            .collect();
        assert!(made.is_empty(), "{name:?}: {made:?}");
    }
}

const CACHER_DIR_ROLE: &str = "CACHER_TEST_ADVERSARIAL_DIR_ROLE";

#[cached(backend = "file")]
fn placed(n: u32) -> u32 {
    n
}

/// The child: prints where `placed`'s entry for 1 goes, under the `CACHER_DIR` it was given.
#[test]
fn child_prints_the_cache_directory() {
    if std::env::var_os(CACHER_DIR_ROLE).is_none() {
        return;
    }
    let _: fn(u32) -> u32 = placed; // never called: only its directory matters
    let path = placed_cache().path_of(&(1u32,)).unwrap();
    println!("RESULT path={}", path.display());
}

#[test]
fn an_empty_or_relative_cacher_dir_still_gives_an_absolute_directory() {
    let current = std::env::current_dir().unwrap();
    // An empty CACHER_DIR is ignored: the platform's cache directory (XDG on Linux).
    let platform = tempfile::tempdir().unwrap();
    let cases = [
        ("", platform.path().to_path_buf()),
        ("rel/dir", current.join("rel/dir")),
    ];
    for (value, base) in cases {
        let child = spawn_self(
            &test_name!(child_prints_the_cache_directory),
            &[
                (CACHER_DIR_ROLE, "child".into()),
                ("CACHER_DIR", value.into()),
                ("XDG_CACHE_HOME", platform.path().display().to_string()),
            ],
        );
        let results = child_results(child);
        let path = PathBuf::from(&results.iter().find(|(k, _)| k == "path").unwrap().1);
        assert!(
            path.is_absolute(),
            "CACHER_DIR={value:?}: {}",
            path.display()
        );
        if cfg!(target_os = "linux") || !value.is_empty() {
            assert!(
                path.starts_with(base.join(env!("CARGO_PKG_NAME"))),
                "CACHER_DIR={value:?}: {}",
                path.display()
            );
        }
    }
}
