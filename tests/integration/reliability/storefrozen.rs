//! A process frozen in the middle of a write to a store (`SIGSTOP`, a debugger stopped at a
//! breakpoint) holds LMDB's writer mutex, which has no timeout: every other process's write to
//! the store — and so each of its misses, which write the value — waited for as long as the
//! frozen one stayed frozen (issue 13's attack list, sessions 10–14: documented, not bounded).
//!
//! The frozen writer is a child process that does what a cacher writer does before its write
//! transaction (the store's writers' gate, `.cacher-locks/store-writer`), begins one, says so and
//! waits to be killed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cacher::{Cache, StoreBackend};
use cacher_tests::redis_server::spawn_self;
use cacher_tests::test_name;

const DIR: &str = "CACHER_TEST_FROZEN_STORE";

/// The child's part: a writer frozen mid-write. A no-op when run as a test.
#[test]
fn a_writer_frozen_mid_write() {
    let Ok(dir) = std::env::var(DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(dir.join(".cacher-locks")).unwrap();
    let gate = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(".cacher-locks/store-writer"))
        .unwrap();
    gate.lock().unwrap();
    let mut options = heed::EnvOpenOptions::new();
    options.max_dbs(3).max_readers(4096).map_size(1 << 30);
    // SAFETY: the only open of this environment in this process, open until it is killed.
    #[allow(unsafe_code)]
    let env = unsafe { options.flags(heed::EnvFlags::NO_SYNC).open(&dir) }.unwrap();
    let txn = env.write_txn().unwrap();
    println!("FROZEN");
    std::thread::sleep(Duration::from_secs(120));
    drop((txn, gate));
}

/// A child process frozen mid-write on the store in `dir` ([`a_writer_frozen_mid_write`]), once
/// it says so.
fn frozen_writer(dir: &std::path::Path) -> std::process::Child {
    let envs = [(DIR, dir.display().to_string())];
    let mut child = spawn_self(&test_name!(a_writer_frozen_mid_write), &envs);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|line| line.unwrap().contains("FROZEN")),
        "the child never froze"
    );
    child
}

#[test]
fn a_writer_frozen_mid_write_costs_another_processs_miss_its_write_timeout_not_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache = |bound| -> Cache<u32, u64> {
        Cache::builder()
            .namespace("app::frozen")
            .backend(StoreBackend::new(dir.path()).write_timeout(bound))
            .build()
            .unwrap()
    };
    // The store made, with an entry, and its gate's file, as any writer leaves them.
    cache(Duration::from_secs(5)).insert(&0, 0).unwrap();
    let mut child = frozen_writer(dir.path());
    let this = cache(Duration::from_millis(300));
    let (done, answered) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let value = this.get_or_compute(&1, || 11);
            let _ = done.send((value, this.stats().errors, this.get(&0)));
        });
        let answered = answered.recv_timeout(Duration::from_secs(20));
        let _ = (child.kill(), child.wait());
        let (value, errors, read) = answered.expect(
            "the miss waited for the frozen writer (more than 20 s) instead of its write_timeout",
        );
        assert_eq!(value, 11, "the function's value");
        assert!(errors >= 1, "the refused write is counted");
        assert_eq!(read, Some(0), "reads do not wait for a writer");
    });
}

/// A store's first open makes its tables in a write transaction: a process frozen there (the
/// same child, on a directory that held nothing) cost every other process's open — and so each
/// of its calls, reads included — LMDB's wait without end (found by session 16's attacker). The
/// tables are now made behind the gate too: the open waits its bound, the call computes.
#[test]
fn a_process_frozen_making_a_new_store_costs_anothers_call_its_write_timeout_not_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = frozen_writer(dir.path());
    let (done, answered) = mpsc::channel();
    let bound = Duration::from_millis(700);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let cache: Cache<u32, u64> = Cache::builder()
                .namespace("app::frozen")
                .backend(StoreBackend::new(dir.path()).write_timeout(bound))
                .build()
                .unwrap();
            let started = Instant::now();
            let value = cache.get_or_compute(&1, || 11);
            let _ = done.send((value, cache.stats().errors, started.elapsed()));
        });
        let answered = answered.recv_timeout(Duration::from_secs(20));
        let _ = (child.kill(), child.wait());
        let (value, errors, took) = answered.expect(
            "the open waited for the frozen creator (more than 20 s) instead of its write_timeout",
        );
        assert_eq!(value, 11, "the function's value");
        assert!(errors >= 1, "the store that could not be opened is counted");
        // One wait, not one per use of the tier in the call (its read, its generation, its
        // write, the removal after a failed write): the timed-out open is the service failing,
        // and the tier is left alone for the rest of the call, as a timed-out write's is.
        assert!(
            took < bound * 2,
            "the call waited {took:?}, its bound {bound:?}"
        );
    });
}

/// Beside a process frozen making a new store, threads opening it at once each wait the bound
/// once, and a store in another directory opens at once. Failed before (session 16's review):
/// the process's opens went one at a time under one lock, so the k-th thread waited k bounds, and
/// every other store's open waited behind them.
#[test]
fn threads_opening_a_store_beside_a_frozen_creator_each_wait_one_bound_and_other_stores_none() {
    let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut child = frozen_writer(dir.path());
    let bound = Duration::from_millis(600);
    let store = |at: &std::path::Path| -> Cache<u32, u64> {
        Cache::builder()
            .namespace("app::frozen")
            .backend(StoreBackend::new(at).write_timeout(bound))
            .build()
            .unwrap()
    };
    let (done, answered) = mpsc::channel();
    std::thread::scope(|scope| {
        for n in 0..3 {
            let done = done.clone();
            let dir = dir.path();
            scope.spawn(move || {
                let started = Instant::now();
                let value = store(dir).get_or_compute(&n, || u64::from(n));
                let _ = done.send(("frozen", value == u64::from(n), started.elapsed()));
            });
        }
        std::thread::sleep(bound / 4);
        let started = Instant::now();
        let value = store(other.path()).get_or_compute(&7, || 7);
        let _ = done.send(("other", value == 7, started.elapsed()));
        drop(done);
        let answers: Vec<_> = (0..4)
            .map(|_| answered.recv_timeout(Duration::from_secs(20)))
            .collect();
        let _ = (child.kill(), child.wait());
        for answer in answers {
            let (which, right, took) = answer.expect("a call waited more than 20 s");
            assert!(right, "{which}: the function's value");
            let most = if which == "other" {
                bound / 2
            } else {
                bound * 2
            };
            assert!(
                took < most,
                "{which}: the call waited {took:?}, its bound {bound:?}"
            );
        }
    });
}
