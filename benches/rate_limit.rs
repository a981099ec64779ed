//! The cost a rate limiter adds to a hit: the same memory hit with and without
//! `rate_limit(…)`. The limiter is only consulted when the function runs, so the goal is none.
//!
//! `cargo bench -p cacher-benches --bench rate_limit`; see docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use cacher::Cache;
use cacher_benches::{MEMORY_KEYS, shuffled};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn rate_limit(c: &mut Criterion) {
    let plain: Cache<u64, u64> = Cache::builder().build().unwrap();
    let limited: Cache<u64, u64> = Cache::builder()
        .rate_limit(cacher::RateLimiter::new(Duration::from_millis(100)))
        .build()
        .unwrap();
    for k in 0..MEMORY_KEYS as u64 {
        plain.insert(&k, k * 2).unwrap();
        limited.insert(&k, k * 2).unwrap();
    }
    let order = shuffled(MEMORY_KEYS, 0x5EED);
    let mask = order.len() - 1;
    let mut group = c.benchmark_group("rate_limit_hit");
    for (name, cache) in [("without", &plain), ("with", &limited)] {
        group.bench_function(BenchmarkId::new(name, "u64"), |b| {
            let mut n = 0usize;
            b.iter(|| {
                n = n.wrapping_add(1);
                let k = order[n & mask] as u64;
                black_box(cache.get_or_compute(&k, || k * 2))
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = rate_limit
}
criterion_main!(benches);
