//! Many processes, many threads, one cache directory: zero wrong values, zero errors, zero panics.
//! The processes share a lock file per key (the file tier's default `FileLock`), so a process
//! that hangs while computing makes another wait at most its `wait_timeout`, and one that dies
//! releases at once. (Single-flight within a process and its bounded waits: `single_flight`;
//! across processes: `flight`.)
//!
//! Default: 3 processes × 4 threads × 1 000 calls per layout (24 000 calls). `CACHER_LONG_TESTS=1`:
//! 4 processes × 4 threads × 10 000 calls per layout.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cacher::{Cache, SeparateFileBackend};
use cacher_tests::reliability::{self as common, Format, Layout, seed_from_time};
use cacher_tests::{Reaper, init_tracing, long_tests};

/// The counts a worker prints.
#[derive(Debug, Default)]
struct Report {
    calls: u64,
    wrong: u64,
    errors: u64,
    insert_errors: u64,
    remove_errors: u64,
    computed: u64,
    hits: u64,
    panics: u64,
    first_wrong: String,
}

fn parse_report(line: &str) -> Report {
    let rest = line
        .strip_prefix("RESULT ")
        .unwrap_or_else(|| panic!("not a report: {line:?}"));
    let (counts, first_wrong) = rest.split_once(" first_wrong=").unwrap_or((rest, ""));
    let mut report = Report {
        first_wrong: first_wrong.to_owned(),
        ..Report::default()
    };
    for field in counts.split(' ') {
        let (name, value) = field.split_once('=').unwrap();
        let value: u64 = value.parse().unwrap();
        match name {
            "calls" => report.calls = value,
            "wrong" => report.wrong = value,
            "errors" => report.errors = value,
            "insert_errors" => report.insert_errors = value,
            "remove_errors" => report.remove_errors = value,
            "computed" => report.computed = value,
            "hits" => report.hits = value,
            "panics" => report.panics = value,
            _ => {}
        }
    }
    report
}

fn run_workers(dir: &Path, layout: Layout, processes: u64, threads: u64, calls: u64, seed: u64) {
    let keys = 48;
    let children: Vec<Reaper> = (0..processes)
        .map(|p| {
            let child = Command::new(env!("CARGO_BIN_EXE_reliability-child"))
                .arg("worker")
                .arg(dir)
                .arg((seed ^ common::mix(p)).to_string())
                .arg(threads.to_string())
                .arg(calls.to_string())
                .arg(keys.to_string())
                .args(layout.to_args())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a worker");
            Reaper(child)
        })
        .collect();
    let mut total = Report::default();
    for mut child in children {
        let stdout = BufReader::new(child.0.stdout.take().unwrap());
        let lines: Vec<String> = stdout.lines().map(Result::unwrap).collect();
        let status = child.0.wait().unwrap();
        assert!(status.success(), "a worker failed ({status}): {lines:?}");
        let line = lines
            .iter()
            .find(|l| l.starts_with("RESULT "))
            .unwrap_or_else(|| panic!("no report from a worker: {lines:?}"));
        let report = parse_report(line);
        assert_eq!(report.wrong, 0, "{layout:?}: wrong values: {report:?}");
        assert_eq!(report.errors, 0, "{layout:?}: cache errors: {report:?}");
        assert_eq!(
            report.insert_errors, 0,
            "{layout:?}: failed inserts: {report:?}"
        );
        assert_eq!(
            report.remove_errors, 0,
            "{layout:?}: failed removes: {report:?}"
        );
        assert_eq!(
            report.panics, 0,
            "{layout:?}: panicking threads: {report:?}"
        );
        assert_eq!(report.calls, threads * calls, "{layout:?}: {report:?}");
        assert!(report.first_wrong.is_empty(), "{report:?}");
        total.calls += report.calls;
        total.computed += report.computed;
        total.hits += report.hits;
    }
    assert!(
        total.hits > 0,
        "{layout:?}: the processes never shared an entry"
    );
    println!(
        "many processes, {layout:?}: {processes} processes × {threads} threads, {} calls over \
         {keys} keys: {} computed, {} hits, 0 wrong, 0 errors, 0 panics",
        total.calls, total.computed, total.hits
    );
}

#[test]
fn many_processes_and_threads_on_one_directory_never_see_a_wrong_value() {
    let seed = std::env::var("CACHER_PROCESSES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(seed_from_time);
    let (processes, threads, calls) = if long_tests() {
        (4, 4, 10_000)
    } else {
        (3, 4, 1_000)
    };
    println!("many processes: seed {seed} (replay with CACHER_PROCESSES_SEED={seed})");
    let started = Instant::now();
    let layouts = [
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
    ];
    for layout in layouts {
        let dir = tempfile::tempdir().unwrap();
        run_workers(dir.path(), layout, processes, threads, calls, seed);
    }
    println!("many processes: done in {:.1?}", started.elapsed());
}

/// A process stuck in the middle of computing a key makes another process missing it wait at most
/// its `wait_timeout`, then compute it itself; once the stuck process is killed, its lock is
/// released at once (the OS drops it), and nothing it left blocks or misleads a later process.
#[test]
fn a_process_hanging_in_a_computation_blocks_another_at_most_its_wait_timeout() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Reaper(
        Command::new(env!("CARGO_BIN_EXE_reliability-child"))
            .arg("hang")
            .arg(dir.path())
            .arg("shared key")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "computing");
    let bound = Duration::from_millis(300);
    let cache = |wait: Duration| -> Cache<String, String> {
        Cache::builder()
            .namespace(common::PROCESSES_NAMESPACE)
            .backend(SeparateFileBackend::new(dir.path()))
            .wait_timeout(wait)
            .build()
            .unwrap()
    };
    let start = Instant::now();
    let value =
        cache(bound).get_or_compute(&"shared key".to_owned(), || "computed here".to_owned());
    assert_eq!(value, "computed here");
    let waited = start.elapsed();
    assert!(waited >= bound, "it waited for the holder: {waited:?}");
    assert!(waited < bound + Duration::from_secs(5), "{waited:?}");
    // Killed while computing: its lock goes with it, at once.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let again = cache(Duration::from_secs(60));
    let start = Instant::now();
    assert_eq!(again.remove(&"shared key".to_owned()).ok(), Some(()));
    assert_eq!(
        again.get_or_compute(&"shared key".to_owned(), || "after the kill".to_owned()),
        "after the kill"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// stale_while_revalidate across processes: a process answers stale callers at once, its
/// background refresh replaces the entry on disk for every process, and exiting with a refresh
/// in flight leaves the old entry whole.
#[test]
fn a_background_refresh_replaces_the_entry_on_disk_while_callers_are_answered_at_once() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = cacher::Clock::mock();
    let cache = common::refresh_cache(dir.path(), clock.clone());
    cache.insert("fresh", "old".to_owned()).unwrap();
    cache.insert("inflight", "old".to_owned()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_reliability-child"))
        .arg("refresh")
        .arg(dir.path())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for line in ["fresh_answer=old", "inflight_answer=old", "on_disk=new"] {
        assert!(
            stdout.contains(&format!("RESULT {line}")),
            "{line} in {stdout}"
        );
    }
    // This process sees the refreshed entry on disk (fresh: 2 min into a 1 min ttl would be
    // stale, so the refresh is what it reads), and the one in flight at exit unharmed.
    mock.advance(Duration::from_secs(120));
    let reader = common::refresh_cache(dir.path(), clock);
    assert_eq!(reader.get("fresh").as_deref(), Some("new"));
    let inflight = reader.try_get_or_refresh("inflight", || Err::<String, _>("not called: stale"));
    assert_eq!(inflight.as_deref(), Ok("old"));
    assert!(cacher_tests::temp_files(dir.path()).is_empty());
}
