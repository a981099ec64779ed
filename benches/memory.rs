//! Memory tier: a hit with a `u64`, a `String` and a three-argument `(&str, u32, &str)` key, on
//! one thread and on two threads at once, a miss + insert, and a miss + insert into a full
//! bounded cache (each evicting by its own policy: the least recently used for cacher and
//! `cached`, moka's admission by frequency, quick_cache's S3-FIFO) — cacher beside `cached`'s
//! `#[cached]`, moka, quick_cache and a plain `RwLock<HashMap>`, with the same key and value
//! types.
//!
//! Every peer is used the way its users would write a get-or-compute: cacher's
//! `get_or_compute` with a borrowed key, `cached`'s attribute, and `get` then `insert` for the
//! others. A lookup returns a `u64`.
//!
//! `cargo bench -p cacher-benches --bench memory`; see docs/BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, RwLock};
use std::time::{Duration, Instant};

use cached::Cached;
use cached::proc_macro::cached;
use cacher::Cache;
use cacher_benches::{Args3, Key3, MEMORY_KEYS, key3, shuffled, string_key};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

/// The "expensive" function: never run on a hit.
fn work(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn work_str(s: &str) -> u64 {
    s.len() as u64
}

fn work3(a: &str, b: u32, c: &str) -> u64 {
    (a.len() + c.len()) as u64 + u64::from(b)
}

// `cached`'s attribute with its defaults: an unbounded store behind one global lock (a
// parking_lot `RwLock` whose write side every call takes, since a get counts hits).
#[cached]
fn cached_u64(n: u64) -> u64 {
    work(n)
}

// `&str` arguments need an owned key and a conversion, which `cached` runs on every call.
#[cached(key = "String", convert = r#"{ s.to_owned() }"#)]
fn cached_str(s: &str) -> u64 {
    work_str(s)
}

#[cached(
    key = "(String, u32, String)",
    convert = r#"{ (a.to_owned(), b, c.to_owned()) }"#
)]
fn cached_3(a: &str, b: u32, c: &str) -> u64 {
    work3(a, b, c)
}

// `cached`'s best configuration for reads: hits take the shared side of the lock.
#[cached(unsync_reads = true)]
fn cached_u64_shared(n: u64) -> u64 {
    work(n)
}

#[cached(key = "String", convert = r#"{ s.to_owned() }"#, unsync_reads = true)]
fn cached_str_shared(s: &str) -> u64 {
    work_str(s)
}

#[cached(
    key = "(String, u32, String)",
    convert = r#"{ (a.to_owned(), b, c.to_owned()) }"#,
    unsync_reads = true
)]
fn cached_3_shared(a: &str, b: u32, c: &str) -> u64 {
    work3(a, b, c)
}

#[cached]
fn cached_miss(n: u64) -> u64 {
    work(n)
}

// cacher's attribute, defaults: an unbounded memory tier; the arguments are looked up by
// reference (a hit makes no `String`).
#[cacher::cached]
fn cacher_u64(n: u64) -> u64 {
    work(n)
}

#[cacher::cached]
fn cacher_str(s: &str) -> u64 {
    work_str(s)
}

#[cacher::cached]
fn cacher_3(a: &str, b: u32, c: &str) -> u64 {
    work3(a, b, c)
}

#[cacher::cached]
fn cacher_miss(n: u64) -> u64 {
    work(n)
}

// Bounded to `BOUND` entries (least recently used evicted): `cached`'s `LruCache` behind its
// global lock, cacher's memory tier with `max_entries`.
#[cached(max_size = 10000)]
fn cached_bounded(n: u64) -> u64 {
    work(n)
}

#[cacher::cached(max_entries = 10000)]
fn cacher_bounded(n: u64) -> u64 {
    work(n)
}

/// moka's get-or-compute, as its users write it: `get`, then `insert` on a miss.
fn moka_get_or_insert(moka: &moka::sync::Cache<u64, u64>, k: u64) -> u64 {
    moka.get(&k).unwrap_or_else(|| {
        let v = work(k);
        moka.insert(k, v);
        v
    })
}

/// quick_cache's get-or-compute, as moka's ([`moka_get_or_insert`]).
fn quick_get_or_insert(quick: &quick_cache::sync::Cache<u64, u64>, k: u64) -> u64 {
    quick.get(&k).unwrap_or_else(|| {
        let v = work(k);
        quick.insert(k, v);
        v
    })
}

/// The keys of the hit benches, and a lookup order shared by every peer.
struct Keys {
    u64s: Vec<u64>,
    strings: Vec<String>,
    triples: Vec<Key3>,
    order: Vec<usize>,
}

impl Keys {
    fn new() -> Self {
        Self {
            u64s: (0..MEMORY_KEYS as u64).map(|i| i * 7_919 + 13).collect(),
            strings: (0..MEMORY_KEYS).map(string_key).collect(),
            triples: (0..MEMORY_KEYS).map(key3).collect(),
            order: shuffled(MEMORY_KEYS, 0x5EED),
        }
    }
}

/// One lookup of the key with index `i`, for each peer and key type.
type Lookup<'a> = Box<dyn Fn(usize) -> u64 + Sync + 'a>;

fn peers<'a>(keys: &'a Keys, kind: &str) -> Vec<(&'static str, Lookup<'a>)> {
    let capacity = MEMORY_KEYS * 4;
    match kind {
        "u64" => {
            let cacher: Cache<u64, u64> = Cache::builder().build().unwrap();
            let moka = moka::sync::Cache::<u64, u64>::new(capacity as u64);
            let quick = quick_cache::sync::Cache::<u64, u64>::new(capacity);
            let map = RwLock::new(HashMap::<u64, u64>::new());
            vec![
                (
                    "cacher",
                    Box::new(move |i: usize| {
                        let k = keys.u64s[i];
                        cacher.get_or_compute(&k, || work(k))
                    }) as Lookup<'a>,
                ),
                ("cacher_attr", Box::new(|i: usize| cacher_u64(keys.u64s[i]))),
                ("cached", Box::new(|i: usize| cached_u64(keys.u64s[i]))),
                (
                    "cached_unsync_reads",
                    Box::new(|i: usize| cached_u64_shared(keys.u64s[i])),
                ),
                (
                    "moka",
                    Box::new(move |i: usize| {
                        let k = keys.u64s[i];
                        moka_get_or_insert(&moka, k)
                    }),
                ),
                (
                    "quick_cache",
                    Box::new(move |i: usize| {
                        let k = keys.u64s[i];
                        quick_get_or_insert(&quick, k)
                    }),
                ),
                (
                    "rwlock_hashmap",
                    Box::new(move |i: usize| {
                        let k = keys.u64s[i];
                        if let Some(v) = map.read().unwrap().get(&k) {
                            return *v;
                        }
                        let v = work(k);
                        map.write().unwrap().insert(k, v);
                        v
                    }),
                ),
            ]
        }
        "String" => {
            let cacher: Cache<String, u64> = Cache::builder().build().unwrap();
            let moka = moka::sync::Cache::<String, u64>::new(capacity as u64);
            let quick = quick_cache::sync::Cache::<String, u64>::new(capacity);
            let map = RwLock::new(HashMap::<String, u64>::new());
            vec![
                (
                    "cacher",
                    Box::new(move |i: usize| {
                        let k = keys.strings[i].as_str();
                        cacher.get_or_compute(k, || work_str(k))
                    }) as Lookup<'a>,
                ),
                (
                    "cacher_attr",
                    Box::new(|i: usize| cacher_str(&keys.strings[i])),
                ),
                ("cached", Box::new(|i: usize| cached_str(&keys.strings[i]))),
                (
                    "cached_unsync_reads",
                    Box::new(|i: usize| cached_str_shared(&keys.strings[i])),
                ),
                (
                    "moka",
                    Box::new(move |i: usize| {
                        let k = keys.strings[i].as_str();
                        moka.get(k).unwrap_or_else(|| {
                            let v = work_str(k);
                            moka.insert(k.to_owned(), v);
                            v
                        })
                    }),
                ),
                (
                    "quick_cache",
                    Box::new(move |i: usize| {
                        let k = keys.strings[i].as_str();
                        quick.get(k).unwrap_or_else(|| {
                            let v = work_str(k);
                            quick.insert(k.to_owned(), v);
                            v
                        })
                    }),
                ),
                (
                    "rwlock_hashmap",
                    Box::new(move |i: usize| {
                        let k = keys.strings[i].as_str();
                        if let Some(v) = map.read().unwrap().get(k) {
                            return *v;
                        }
                        let v = work_str(k);
                        map.write().unwrap().insert(k.to_owned(), v);
                        v
                    }),
                ),
            ]
        }
        _ => {
            let cacher: Cache<Key3, u64> = Cache::builder().build().unwrap();
            let moka = moka::sync::Cache::<Key3, u64>::new(capacity as u64);
            let quick = quick_cache::sync::Cache::<Key3, u64>::new(capacity);
            let map = RwLock::new(HashMap::<Key3, u64>::new());
            let args = |i: usize| {
                let (a, b, c) = &keys.triples[i];
                (a.as_str(), *b, c.as_str())
            };
            vec![
                (
                    "cacher",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        cacher.get_or_compute(&Args3(a, b, c), || work3(a, b, c))
                    }) as Lookup<'a>,
                ),
                (
                    "cacher_attr",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        cacher_3(a, b, c)
                    }),
                ),
                (
                    "cached",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        cached_3(a, b, c)
                    }),
                ),
                (
                    "cached_unsync_reads",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        cached_3_shared(a, b, c)
                    }),
                ),
                (
                    // moka looks keys up through `Borrow`: a tuple of `String`s cannot be borrowed
                    // from `(&str, u32, &str)`, so each lookup builds the owned key.
                    "moka",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        let key = (a.to_owned(), b, c.to_owned());
                        moka.get(&key).unwrap_or_else(|| {
                            let v = work3(a, b, c);
                            moka.insert(key, v);
                            v
                        })
                    }),
                ),
                (
                    // quick_cache takes an `Equivalent` borrowed key: no allocation.
                    "quick_cache",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        quick.get(&Args3(a, b, c)).unwrap_or_else(|| {
                            let v = work3(a, b, c);
                            quick.insert((a.to_owned(), b, c.to_owned()), v);
                            v
                        })
                    }),
                ),
                (
                    // std's HashMap also looks up through `Borrow`: the owned key is built.
                    "rwlock_hashmap",
                    Box::new(move |i: usize| {
                        let (a, b, c) = args(i);
                        let key = (a.to_owned(), b, c.to_owned());
                        if let Some(v) = map.read().unwrap().get(&key) {
                            return *v;
                        }
                        let v = work3(a, b, c);
                        map.write().unwrap().insert(key, v);
                        v
                    }),
                ),
            ]
        }
    }
}

const KINDS: [&str; 3] = ["u64", "String", "3 args"];

fn hit_one_thread(c: &mut Criterion) {
    let keys = Keys::new();
    let mut group = c.benchmark_group("memory_hit_1t");
    for kind in KINDS {
        for (peer, lookup) in peers(&keys, kind) {
            // Fill: every later lookup is a hit.
            for i in 0..MEMORY_KEYS {
                lookup(i);
            }
            let mask = keys.order.len() - 1;
            group.bench_function(BenchmarkId::new(peer, kind), |b| {
                let mut n = 0usize;
                b.iter(|| {
                    n = n.wrapping_add(1);
                    black_box(lookup(keys.order[n & mask]))
                });
            });
        }
    }
    group.finish();
}

/// Two worker threads that live as long as one benchmark: each sample hands them a number of
/// lookups and measures the wall time until both are done. Threads made once and already placed
/// on their cores by the scheduler; spawning per sample measured thread start-up (and, for
/// short samples, two threads sharing one core) instead of lookups.
struct Workers<'a> {
    start: Barrier,
    done: Barrier,
    iters: AtomicU64,
    stop: AtomicBool,
    keys: &'a Keys,
    lookup: &'a Lookup<'a>,
}

const THREADS: usize = 2;

impl Workers<'_> {
    fn work(&self, t: usize) {
        let mask = self.keys.order.len() - 1;
        // Each thread walks the same keys from another starting point.
        let mut n = t * (mask + 1) / THREADS;
        loop {
            self.start.wait();
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            for _ in 0..self.iters.load(Ordering::Relaxed) {
                n = n.wrapping_add(1);
                black_box((self.lookup)(self.keys.order[n & mask]));
            }
            self.done.wait();
        }
    }

    /// `iters` lookups on each thread at once.
    fn sample(&self, iters: u64) -> Duration {
        self.iters.store(iters, Ordering::Relaxed);
        self.start.wait();
        let start = Instant::now();
        self.done.wait();
        start.elapsed()
    }
}

fn hit_two_threads(c: &mut Criterion) {
    let keys = Keys::new();
    let mut group = c.benchmark_group("memory_hit_2t");
    // Equal, longer samples: each is one hand-over to the workers.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for kind in KINDS {
        for (peer, lookup) in peers(&keys, kind) {
            for i in 0..MEMORY_KEYS {
                lookup(i);
            }
            let workers = Workers {
                start: Barrier::new(THREADS + 1),
                done: Barrier::new(THREADS + 1),
                iters: AtomicU64::new(0),
                stop: AtomicBool::new(false),
                keys: &keys,
                lookup: &lookup,
            };
            std::thread::scope(|scope| {
                for t in 0..THREADS {
                    let workers = &workers;
                    scope.spawn(move || workers.work(t));
                }
                group.bench_function(BenchmarkId::new(peer, kind), |b| {
                    b.iter_custom(|iters| workers.sample(iters));
                });
                workers.stop.store(true, Ordering::Relaxed);
                workers.start.wait();
            });
        }
    }
    group.finish();
}

/// Keys looked up from an empty cache in one round of the miss benchmark.
const MISS_ROUND: u64 = 1024;

/// `iters` misses + inserts in rounds of [`MISS_ROUND`] keys never seen, each round from an
/// empty cache made or emptied by `round` before it starts its clock: every contender's table
/// grows to the same size, whatever sample sizes criterion picks (one table grown over a whole
/// sample was as large as the sample, and the faster contender's, with larger samples, paid
/// more cache misses per insert). `round(n)` looks up keys `0..n` and answers their time.
fn misses(iters: u64, round: &mut dyn FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(MISS_ROUND);
        total += round(n);
        done += n;
    }
    total
}

/// The time of looking up `keys`.
fn timed(keys: std::ops::Range<u64>, lookup: &dyn Fn(u64) -> u64) -> Duration {
    let start = Instant::now();
    for k in keys {
        black_box(lookup(k));
    }
    start.elapsed()
}

/// A miss + insert: keys never seen, from an empty cache ([`misses`]).
fn miss_insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_miss_insert");
    group.bench_function(BenchmarkId::new("cacher", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
                timed(0..n, &|k| cache.get_or_compute(&k, || work(k)))
            })
        });
    });
    group.bench_function(BenchmarkId::new("cacher_attr", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                // `clear` gives the tables' memory back: empty, as a new cache.
                cacher_miss_cache().clear().unwrap();
                timed(0..n, &cacher_miss)
            })
        });
    });
    group.bench_function(BenchmarkId::new("cached", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                // `cache_reset`, not `cache_clear`, which keeps the table's capacity.
                CACHED_MISS.write().cache_reset();
                timed(0..n, &cached_miss)
            })
        });
    });
    group.bench_function(BenchmarkId::new("moka", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                let moka = moka::sync::Cache::<u64, u64>::new(u64::MAX);
                timed(0..n, &|k| moka_get_or_insert(&moka, k))
            })
        });
    });
    group.bench_function(BenchmarkId::new("quick_cache", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                let quick = quick_cache::sync::Cache::<u64, u64>::new(MISS_ROUND as usize);
                timed(0..n, &|k| quick_get_or_insert(&quick, k))
            })
        });
    });
    group.bench_function(BenchmarkId::new("rwlock_hashmap", "u64"), |b| {
        b.iter_custom(|iters| {
            misses(iters, &mut |n| {
                let map = RwLock::new(HashMap::<u64, u64>::new());
                timed(0..n, &|k| {
                    if let Some(v) = map.read().unwrap().get(&k) {
                        return *v;
                    }
                    let v = work(k);
                    map.write().unwrap().insert(k, v);
                    v
                })
            })
        });
    });
    group.finish();
}

/// The bound of the bounded miss group (the attributes above write it as a literal).
const BOUND: u64 = 10_000;

/// A miss + insert into a full bounded cache: each insert of a key never seen evicts an entry
/// by the cache's policy (the least recently used for cacher and `cached`; moka may refuse the
/// new key instead, by its frequency). Every contender is filled with keys `0..BOUND` first; each iteration then
/// looks up the next key never seen (a counter kept across criterion's samples).
fn bounded_miss_insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_bounded_miss_insert");
    let mut bench = |name: &str, lookup: &dyn Fn(u64) -> u64| {
        for k in 0..BOUND {
            black_box(lookup(k));
        }
        let mut next = BOUND;
        group.bench_function(BenchmarkId::new(name, "u64"), |b| {
            b.iter_custom(|iters| {
                let first = next;
                next += iters;
                timed(first..first + iters, lookup)
            });
        });
    };
    let cache: Cache<u64, u64> = Cache::builder()
        .backend(cacher::MemoryBackend::new().max_entries(BOUND as usize))
        .build()
        .unwrap();
    bench("cacher", &|k| cache.get_or_compute(&k, || work(k)));
    bench("cacher_attr", &cacher_bounded);
    bench("cached", &cached_bounded);
    let moka = moka::sync::Cache::<u64, u64>::new(BOUND);
    bench("moka", &|k| moka_get_or_insert(&moka, k));
    let quick = quick_cache::sync::Cache::<u64, u64>::new(BOUND as usize);
    bench("quick_cache", &|k| quick_get_or_insert(&quick, k));
    group.finish();
}

fn config() -> Criterion {
    // Short runs on a small machine; `--measurement-time` etc. on the command line still win.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = hit_one_thread, hit_two_threads, miss_insert, bounded_miss_insert
}
criterion_main!(benches);
