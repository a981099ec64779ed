//! Single-flight across processes for the disk tiers: 2 processes × 4 threads miss the same
//! keys at once, on one file directory and on one embedded store. Every value is right, and each
//! key is computed once across the processes (the default `FileLock` of a disk tier). And a
//! `RateLimiter::file` spaces the call starts of two processes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use cacher_tests::{Reaper, init_tracing};

const PROCESSES: u64 = 2;
const THREADS: u64 = 4;
const KEYS: u64 = 24;
/// Long enough that the processes overlap on every key.
const COMPUTE_MS: u64 = 20;

fn start(
    dir: &Path,
    backend: &str,
) -> (Reaper, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reliability-child"))
        .arg("flight")
        .arg(dir)
        .arg(backend)
        .args([THREADS, KEYS, COMPUTE_MS].map(|n| n.to_string()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a worker");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (Reaper(child), lines)
}

/// Runs the processes on `backend`; how many times each key was computed, across them.
fn computed_per_key(backend: &str) -> HashMap<u64, u64> {
    let dir = tempfile::tempdir().unwrap();
    let mut children: Vec<_> = (0..PROCESSES).map(|_| start(dir.path(), backend)).collect();
    for (_, lines) in &mut children {
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut counts = HashMap::new();
    for (mut child, lines) in children {
        let lines: Vec<String> = lines.map(Result::unwrap).collect();
        let status = child.0.wait().unwrap();
        assert!(
            status.success(),
            "{backend}: a worker failed ({status}): {lines:?}"
        );
        let computed = lines
            .iter()
            .find_map(|line| line.strip_prefix("COMPUTED"))
            .unwrap_or_else(|| panic!("no report: {lines:?}"));
        for key in computed.split_whitespace() {
            *counts.entry(key.parse().unwrap()).or_insert(0) += 1;
        }
    }
    counts
}

fn assert_each_key_computed_once(backend: &str) {
    init_tracing();
    let counts = computed_per_key(backend);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{backend}: keys computed more than once: {twice:?}"
    );
    assert_eq!(
        counts.len() as u64,
        KEYS,
        "{backend}: every key computed: {counts:?}"
    );
}

#[test]
fn two_processes_of_four_threads_compute_each_key_once_on_one_file_directory() {
    assert_each_key_computed_once("file");
}

#[test]
fn two_processes_of_four_threads_compute_each_key_once_on_one_store() {
    assert_each_key_computed_once("store");
}

#[test]
fn two_processes_sharing_a_file_rate_limiter_start_calls_an_interval_apart() {
    const INTERVAL_MS: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let start = |_| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reliability-child"))
            .arg("rate")
            .arg(dir.path())
            .args(["4".to_owned(), INTERVAL_MS.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        (Reaper(child), lines)
    };
    let mut children: Vec<_> = (0..2).map(start).collect();
    for (_, lines) in &mut children {
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
    }
    let go_ms = cacher::Clock::system().now_ms();
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut starts: Vec<u64> = Vec::new();
    for (mut child, lines) in children {
        for line in lines {
            let line = line.unwrap();
            starts.push(line.strip_prefix("START ").unwrap().parse().unwrap());
        }
        assert!(child.0.wait().unwrap().success());
    }
    starts.sort_unstable();
    assert_eq!(starts.len(), 8);
    // Each start comes at or after its slot, and the slots are an interval apart from the go:
    // so the i-th start is at least i intervals after it, however late a process woke.
    for (i, start) in starts.iter().enumerate() {
        assert!(
            start + 1 >= go_ms + i as u64 * INTERVAL_MS,
            "start {i} at +{} ms: {starts:?} (go at {go_ms})",
            start.saturating_sub(go_ms)
        );
    }
}
