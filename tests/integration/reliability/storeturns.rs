//! Writers of a store take turns across processes: a process whose threads write back to back
//! does not keep another process's writes out. The store's writers' gate is shared by the
//! threads of the process holding it, so a process writing from several threads at once held it
//! without a break — and another process's writes, trying it between pauses of up to 20 ms,
//! each waited their whole `write_timeout` and failed (session 15 review: 40 writes of 40, at
//! 300 ms, 1 s and the default 5 s, beside 8 threads writing; without the gate, 6 ms at most).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cacher::{Cache, StoreBackend};
use cacher_tests::redis_server::spawn_self;
use cacher_tests::test_name;

const DIR: &str = "CACHER_TEST_BUSY_STORE";

fn store_cache(dir: &std::path::Path, bound: Duration) -> Cache<u32, u64> {
    Cache::builder()
        .namespace("app::turns")
        .backend(StoreBackend::new(dir).write_timeout(bound))
        .build()
        .unwrap()
}

/// The child's part: 8 threads writing without a pause until it is killed. A no-op as a test.
#[test]
fn a_process_writing_from_many_threads() {
    let Ok(dir) = std::env::var(DIR) else {
        return;
    };
    let cache = store_cache(&PathBuf::from(dir), Duration::from_secs(60));
    cache.insert(&0, 0).unwrap();
    println!("WRITING");
    std::thread::scope(|scope| {
        for thread in 0..8u32 {
            let cache = &cache;
            scope.spawn(move || {
                for n in 0.. {
                    let _ = cache.insert(&(thread * 1_000 + n % 1_000), u64::from(n));
                }
            });
        }
    });
}

#[test]
fn a_process_writing_from_many_threads_keeps_no_other_processs_write_out() {
    let dir = tempfile::tempdir().unwrap();
    let cache = store_cache(dir.path(), Duration::from_secs(1));
    cache.insert(&100_000, 0).unwrap();
    let envs = [(DIR, dir.path().display().to_string())];
    let mut child = spawn_self(&test_name!(a_process_writing_from_many_threads), &envs);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|line| line.unwrap().contains("WRITING")),
        "the child never wrote"
    );
    std::thread::sleep(Duration::from_millis(200));
    let mut slowest = Duration::ZERO;
    let written: Vec<bool> = (0..20)
        .map(|n| {
            let started = Instant::now();
            let written = cache.insert(&(100_001 + n), 1).is_ok();
            slowest = slowest.max(started.elapsed());
            written
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let failed = written.iter().filter(|&&written| !written).count();
    assert_eq!(failed, 0, "writes kept out (slowest {slowest:?})");
    assert_eq!(cache.stats().errors, 0);
}
