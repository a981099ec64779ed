//! Crash suite: a child process writing large entries is killed with SIGKILL at random moments,
//! over and over. Afterwards every key is either its exact value or a miss that is recomputed and
//! stored; temporary files the killed writer left behind are never served and `clear` removes
//! them once they are stale.
//!
//! Default: 60 kills. `CACHER_LONG_TESTS=1`: 600. `CACHER_CRASH_SEED=<n>` replays a run.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use cacher::format::JsonFormatter;
use cacher::{Cache, Keyer, SeparateFileBackend};
use cacher_tests::reliability::{
    BIG_MAX, BIG_MIN, CRASH_KEYS, CRASH_NAMESPACE, Format, Layout, Rng, check_derived_value,
    crash_key, derived_value, file_cache, seed_from_time,
};
use cacher_tests::{Reaper, TEMP_PREFIX, init_tracing, long_tests, temp_files};

/// The layouts the writer cycles through, one per kill.
const LAYOUTS: [Layout; 4] = [
    Layout {
        format: Format::Json,
        durable: false,
        sharded: false,
    },
    Layout {
        format: Format::Postcard,
        durable: false,
        sharded: true,
    },
    Layout {
        format: Format::Bincode,
        durable: false,
        sharded: false,
    },
    Layout {
        format: Format::Json,
        durable: true,
        sharded: true,
    },
];

/// Keys the parent checks: those the writer writes, and a few it never writes (always misses).
fn all_keys() -> impl Iterator<Item = String> {
    (0..CRASH_KEYS + 3).map(crash_key)
}

fn spawn_writer(
    dir: &Path,
    seed: u64,
    layout: Layout,
) -> (Reaper, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reliability-child"))
        .arg("crash-writer")
        .arg(dir)
        .arg(seed.to_string())
        .args(layout.to_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the writer");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (Reaper(child), stdout)
}

#[derive(Debug, Default)]
struct Tally {
    kills: u64,
    /// Kills sent the moment a write was seen under way.
    hunted: u64,
    hits_verified: u64,
    misses: u64,
    live_reads: u64,
    wrong: Vec<String>,
}

/// Reads every key with a fresh cache (a new process would see the same): each must be its
/// exact value or a miss, and no read may find a corrupt entry.
fn verify(dir: &Path, layout: Layout, tally: &mut Tally) {
    let cache = file_cache::<String>(dir, CRASH_NAMESPACE, layout);
    for key in all_keys() {
        match cache.get(&key) {
            Some(value) => match check_derived_value(&key, &value, BIG_MIN, BIG_MAX) {
                Ok(_) => tally.hits_verified += 1,
                Err(why) => tally.wrong.push(format!("{layout:?}: {why}")),
            },
            None => tally.misses += 1,
        }
    }
    let errors = cache.stats().errors;
    if errors > 0 {
        tally.wrong.push(format!(
            "{layout:?}: {errors} entries were unreadable or corrupt after a kill (a torn write?)"
        ));
    }
}

#[test]
fn sigkill_during_large_writes_never_leaves_a_wrong_entry() {
    init_tracing();
    let seed = std::env::var("CACHER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(seed_from_time);
    let kills = if long_tests() { 600 } else { 60 };
    println!("crash suite: seed {seed} (replay with CACHER_CRASH_SEED={seed}), {kills} kills");
    let mut rng = Rng::new(seed);
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let mut tally = Tally::default();
    let started = Instant::now();

    for round in 0..kills {
        let layout = LAYOUTS[round % LAYOUTS.len()];
        let leftovers = temp_files(&dir);
        let (mut child, mut stdout) = spawn_writer(&dir, rng.next_u64(), layout);
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the writer did not start");

        // A reader in this process while the writer writes: what it gets must be exact too.
        let stop = AtomicBool::new(false);
        let live_reads = AtomicU64::new(0);
        let live_wrong = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let cache = file_cache::<String>(&dir, CRASH_NAMESPACE, layout);
                let mut wrong = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = crash_key(i % CRASH_KEYS);
                    i += 1;
                    if let Some(value) = cache.get(&key) {
                        live_reads.fetch_add(1, Ordering::Relaxed);
                        if let Err(why) = check_derived_value(&key, &value, BIG_MIN, BIG_MAX) {
                            wrong.push(format!("live read, {layout:?}: {why}"));
                        }
                    }
                }
                let errors = cache.stats().errors;
                if errors > 0 {
                    wrong.push(format!(
                        "live reads, {layout:?}: {errors} corrupt or unreadable"
                    ));
                }
                wrong
            });
            // Kill at a random moment: a few ms to a few tens of ms into the writing loop, so
            // that kills land before, during and after the writes of single entries. Every other
            // round hunts: after the random delay it waits for a temporary file to appear (a
            // write under way, a window of well under a millisecond) and kills right then.
            std::thread::sleep(Duration::from_micros(2_000 + rng.below(60_000)));
            if round % 2 == 1 {
                let deadline = Instant::now() + Duration::from_millis(500);
                while Instant::now() < deadline {
                    if temp_files(&dir).iter().any(|t| !leftovers.contains(t)) {
                        tally.hunted += 1;
                        break;
                    }
                }
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                // Stop the reader first: the scope waits for it before passing the panic on.
                stop.store(true, Ordering::Relaxed);
                let mut rest = String::new();
                let _ = stdout.read_to_string(&mut rest);
                panic!("the writer exited by itself ({status}): {rest}");
            }
            child.0.kill().unwrap();
            child.0.wait().unwrap();
            stop.store(true, Ordering::Relaxed);
            reader.join().unwrap()
        });
        tally.kills += 1;
        tally.live_reads += live_reads.load(Ordering::Relaxed);
        tally.wrong.extend(live_wrong);
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        if rest.contains("WRONG") {
            tally.wrong.push(format!("the writer reported: {rest}"));
        }
        verify(&dir, layout, &mut tally);
        assert!(
            tally.wrong.is_empty(),
            "seed {seed}, round {round}: {:#?}",
            tally.wrong
        );
    }

    // Afterwards: every key of every layout is its value, or a miss recomputed and stored.
    let mut recomputed = 0;
    for layout in LAYOUTS {
        let cache = file_cache::<String>(&dir, CRASH_NAMESPACE, layout);
        for key in all_keys() {
            let value = cache.get_or_compute(&key, || {
                recomputed += 1;
                derived_value(&key, 0, BIG_MIN, BIG_MAX)
            });
            check_derived_value(&key, &value, BIG_MIN, BIG_MAX).unwrap();
            let again = file_cache::<String>(&dir, CRASH_NAMESPACE, layout);
            assert_eq!(
                again.get(&key).as_deref(),
                Some(&*value),
                "{key} was not stored"
            );
        }
        assert_eq!(cache.stats().errors, 0, "{layout:?}");
    }
    let temps = temp_files(&dir);
    println!(
        "crash suite: {} kills survived in {:.1?} ({} sent while a write was seen under way); {} \
         entries verified exact after kills, {} misses, {} live reads from a concurrent reader \
         verified, {} keys recomputed at the end, {} temporary files left by killed writers, 0 \
         wrong values",
        tally.kills,
        started.elapsed(),
        tally.hunted,
        tally.hits_verified,
        tally.misses,
        tally.live_reads,
        recomputed,
        temps.len(),
    );
    assert!(tally.kills >= 50);
    assert!(
        tally.hits_verified > 0,
        "no entry was ever complete: the test verified nothing"
    );
}

/// A keyer whose key is the canonical text of a string argument without the encoding's version
/// `(v2)` and the `'` that marks a string starting like another kind of value (`.cacher-tmp-…`
/// starts with a `.`): the string itself, so that a key can name any file.
#[derive(Debug)]
struct Verbatim;

impl Keyer for Verbatim {
    fn key(&self, _namespace: &str, _version: Option<&str>, canonical: &str) -> String {
        let arg = canonical.strip_prefix("(v2)").unwrap_or(canonical);
        arg.strip_prefix('\'').unwrap_or(arg).to_owned()
    }
}

/// What a writer killed between writing its temporary file and renaming it leaves behind: a
/// complete, valid entry under a temporary name. Even a `filename_fn` that names exactly that
/// file must not serve it, and `clear` deletes it once it is stale (older than a minute), but not
/// while it may still belong to a live writer.
#[test]
fn leftover_temp_files_are_never_served_and_stale_ones_are_cleared() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let build = || -> Cache<String, String> {
        Cache::builder()
            .namespace(CRASH_NAMESPACE)
            .keyer(Verbatim)
            .backend(
                SeparateFileBackend::new(dir.path())
                    .formatter(JsonFormatter)
                    .filename_fn(|key| key.to_owned()),
            )
            .build()
            .unwrap()
    };
    let cache = build();
    // A valid entry for the key "entry.json", which we then also copy under temporary names.
    cache.insert("entry.json", "the value".to_owned()).unwrap();
    let entry = dir.path().join("entry.json");
    assert!(entry.exists());
    let stale = format!("{TEMP_PREFIX}4242-7-0badcafe");
    let young = format!("{TEMP_PREFIX}4242-8-0badcafe");
    for name in [&stale, &young] {
        // The entry recorded under the key that names the temporary file, as a writer of that
        // key would have written it.
        let other = tempfile::tempdir().unwrap();
        let writer: Cache<String, String> = Cache::builder()
            .namespace(CRASH_NAMESPACE)
            .keyer(Verbatim)
            .backend(SeparateFileBackend::new(other.path()).filename_fn(|_| "x.json".into()))
            .build()
            .unwrap();
        writer
            .insert(name.as_str(), "from a temporary file".to_owned())
            .unwrap();
        fs::copy(other.path().join("x.json"), dir.path().join(name)).unwrap();
    }

    let calls = std::cell::Cell::new(0);
    for name in [&stale, &young] {
        assert_eq!(
            cache.get(name.as_str()),
            None,
            "a temporary file was served"
        );
        let value = cache.get_or_compute(name.as_str(), || {
            calls.set(calls.get() + 1);
            "computed".to_owned()
        });
        assert_eq!(value, "computed");
        let err = cache.insert(name.as_str(), "x".into()).unwrap_err();
        assert!(matches!(err, cacher::Error::InvalidPath(_)), "{err}");
    }
    assert_eq!(calls.get(), 2);
    assert!(cache.stats().errors >= 4, "{:?}", cache.stats());
    // The temporary files are untouched by all of this.
    assert!(dir.path().join(&stale).exists() && dir.path().join(&young).exists());

    // Age one of them past the one-minute bound.
    let old = SystemTime::now() - Duration::from_secs(120);
    fs::File::options()
        .write(true)
        .open(dir.path().join(&stale))
        .unwrap()
        .set_modified(old)
        .unwrap();
    cache.clear().unwrap();
    assert!(
        !dir.path().join(&stale).exists(),
        "a stale temporary file survived clear()"
    );
    assert!(
        dir.path().join(&young).exists(),
        "clear() deleted a temporary file a live writer may still be renaming"
    );
    assert!(!entry.exists(), "clear() left an entry of its namespace");
    assert_eq!(build().get("entry.json"), None);
}
