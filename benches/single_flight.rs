//! Single-flight: 8 threads ask at once for one missing key whose function takes 1 ms. Measured:
//! the time until all 8 have their answer, and how many times the function ran — cacher beside
//! moka's `get_with`, quick_cache's `get_or_insert_with`, and `cached`'s `#[cached]` with its
//! default (no write synchronisation) and with `sync_writes = "by_key"`.
//!
//! The call counts are printed at the end and written to
//! `<target>/criterion/single_flight/calls.json` for `benches/report.py`.
//!
//! `cargo bench -p cacher-benches --bench single_flight`; see docs/BENCHMARKS.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use cached::proc_macro::cached;
use cacher::Cache;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const CALLERS: usize = 8;
const WORK: Duration = Duration::from_millis(1);

/// Calls of the function, per peer.
static CACHED_CALLS: AtomicU64 = AtomicU64::new(0);
static CACHED_BY_KEY_CALLS: AtomicU64 = AtomicU64::new(0);

/// The slow function: 1 ms, as a fast remote call.
fn slow(n: u64, calls: &AtomicU64) -> u64 {
    calls.fetch_add(1, Ordering::Relaxed);
    std::thread::sleep(WORK);
    n * 2
}

#[cached]
fn cached_default(n: u64) -> u64 {
    slow(n, &CACHED_CALLS)
}

#[cached(sync_writes = "by_key")]
fn cached_by_key(n: u64) -> u64 {
    slow(n, &CACHED_BY_KEY_CALLS)
}

/// `CALLERS` threads released at once on key `key`; the time until the last has its answer.
fn burst(key: u64, lookup: &(dyn Fn(u64) -> u64 + Sync)) -> Duration {
    let barrier = Barrier::new(CALLERS + 1);
    std::thread::scope(|scope| {
        for _ in 0..CALLERS {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                assert_eq!(black_box(lookup(key)), key * 2);
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed()
}

fn single_flight(c: &mut Criterion) {
    let mut group = c.benchmark_group("single_flight");
    group.sample_size(10);
    // Calls per burst, per peer: (calls, bursts).
    let counts: Mutex<BTreeMap<&str, (u64, u64)>> = Mutex::default();
    let next_key = AtomicU64::new(1);
    let mut run = |name: &'static str, calls: &AtomicU64, lookup: &(dyn Fn(u64) -> u64 + Sync)| {
        group.bench_function(BenchmarkId::new(name, CALLERS), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let before = calls.load(Ordering::Relaxed);
                    total += burst(next_key.fetch_add(1, Ordering::Relaxed), lookup);
                    let mut counts = counts.lock().unwrap();
                    let entry = counts.entry(name).or_default();
                    entry.0 += calls.load(Ordering::Relaxed) - before;
                    entry.1 += 1;
                }
                total
            });
        });
    };

    let cacher_calls = AtomicU64::new(0);
    let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
    run("cacher", &cacher_calls, &|k| {
        cache.get_or_compute(&k, || slow(k, &cacher_calls))
    });

    let moka_calls = AtomicU64::new(0);
    let moka = moka::sync::Cache::<u64, u64>::new(1 << 20);
    run("moka", &moka_calls, &|k| {
        moka.get_with(k, || slow(k, &moka_calls))
    });

    let quick_calls = AtomicU64::new(0);
    let quick = quick_cache::sync::Cache::<u64, u64>::new(1 << 20);
    run("quick_cache", &quick_calls, &|k| {
        quick
            .get_or_insert_with(&k, || Ok::<_, ()>(slow(k, &quick_calls)))
            .unwrap()
    });

    run("cached", &CACHED_CALLS, &cached_default);
    run(
        "cached_sync_writes_by_key",
        &CACHED_BY_KEY_CALLS,
        &cached_by_key,
    );
    group.finish();

    let counts = counts.into_inner().unwrap();
    let mut json = String::from("{");
    for (i, (name, (calls, bursts))) in counts.iter().enumerate() {
        let per_burst = *calls as f64 / (*bursts).max(1) as f64;
        eprintln!("{name}: {per_burst:.2} calls per burst of {CALLERS} callers");
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!("\"{name}\":{per_burst}"));
    }
    json.push('}');
    let dir = criterion_dir().join("single_flight");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("calls.json"), json);
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the
/// workspace's `target/criterion`.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = single_flight
}
criterion_main!(benches);
