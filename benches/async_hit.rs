//! Async memory hit, one thread: an `async fn` whose result is cached, called with a key it holds
//! — cacher's `#[cached]` on an `async fn` and its `get_or_compute_async`, beside `cached`'s
//! `#[cached]` on an `async fn` (its `async` feature: an `async-lock` `Mutex` around the store)
//! and moka's `future::Cache::get_with`. The keys and values are the memory bench's (`u64`,
//! and a `String` of about 25 bytes; values `u64`).
//!
//! Each call's future is polled on the bench's thread with a no-op waker until it is ready (a hit
//! is ready at its first poll for every peer): what is timed is the cache's own work, without an
//! executor's.
//!
//! `cargo bench -p cacher-benches --bench async_hit`; see docs/BENCHMARKS.md.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cacher::Cache;
use cacher_benches::{MEMORY_KEYS, shuffled, string_key};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn work(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn work_str(s: &str) -> u64 {
    s.len() as u64
}

#[cacher::cached]
async fn cacher_u64(n: u64) -> u64 {
    work(n)
}

#[cacher::cached]
async fn cacher_str(s: &str) -> u64 {
    work_str(s)
}

#[cached::proc_macro::cached]
async fn cached_u64(n: u64) -> u64 {
    work(n)
}

#[cached::proc_macro::cached(key = "String", convert = r#"{ s.to_owned() }"#)]
async fn cached_str(s: &str) -> u64 {
    work_str(s)
}

/// Polls `future` with a no-op waker until it is ready.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// One lookup of key number `i` (a hit once filled).
type Lookup = Box<dyn Fn(usize) -> u64>;

fn peers(kind: &str) -> Vec<(&'static str, Lookup)> {
    let strings: &'static [String] = (0..MEMORY_KEYS).map(string_key).collect::<Vec<_>>().leak();
    match kind {
        "u64" => {
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            let moka = moka::future::Cache::<u64, u64>::new(1 << 20);
            vec![
                (
                    "cacher",
                    Box::new(move |i: usize| {
                        let k = i as u64;
                        ready(cache.get_or_compute_async(&k, || async move { work(k) }))
                    }) as Lookup,
                ),
                (
                    "cacher_attr",
                    Box::new(|i: usize| ready(cacher_u64(i as u64))),
                ),
                ("cached", Box::new(|i: usize| ready(cached_u64(i as u64)))),
                (
                    "moka",
                    Box::new(move |i: usize| {
                        let k = i as u64;
                        ready(moka.get_with(k, async move { work(k) }))
                    }),
                ),
            ]
        }
        _ => {
            let cache: Cache<String, u64> = Cache::builder().build().unwrap();
            let moka = moka::future::Cache::<String, u64>::new(1 << 20);
            vec![
                (
                    "cacher",
                    Box::new(move |i: usize| {
                        let s = strings[i].as_str();
                        ready(cache.get_or_compute_async(s, || async move { work_str(s) }))
                    }) as Lookup,
                ),
                (
                    "cacher_attr",
                    Box::new(|i: usize| ready(cacher_str(&strings[i]))),
                ),
                (
                    "cached",
                    Box::new(|i: usize| ready(cached_str(&strings[i]))),
                ),
                (
                    // moka's `get_with` takes an owned key: a borrowed lookup, then the insert.
                    "moka",
                    Box::new(move |i: usize| {
                        let s = strings[i].as_str();
                        ready(async {
                            match moka.get(s).await {
                                Some(v) => v,
                                None => moka.get_with(s.to_owned(), async { work_str(s) }).await,
                            }
                        })
                    }),
                ),
            ]
        }
    }
}

fn hit_one_thread(c: &mut Criterion) {
    let order = shuffled(MEMORY_KEYS, 7);
    let mask = order.len() - 1;
    let mut group = c.benchmark_group("async_hit_1t");
    for kind in ["u64", "String"] {
        for (peer, lookup) in peers(kind) {
            for i in 0..MEMORY_KEYS {
                lookup(i);
            }
            group.bench_function(BenchmarkId::new(peer, kind), |b| {
                let mut n = 0usize;
                b.iter(|| {
                    n = n.wrapping_add(1);
                    black_box(lookup(order[n & mask]))
                });
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_millis(1500))
        .sample_size(30);
    targets = hit_one_thread
}
criterion_main!(benches);
