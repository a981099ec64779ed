//! Runs one scenario in a plain loop, for `valgrind --tool=callgrind`, whose instruction counts
//! are repeatable where wall time on a shared machine is not.
//!
//! ```text
//! cargo build --release -p cacher-benches --bin cacher-bench-profile
//! valgrind --tool=callgrind target/release/cacher-bench-profile memory-hit-u64 1000000
//! ```
//!
//! Scenarios for callgrind: `memory-hit-u64`, `memory-hit-str`, `memory-hit-3` (cacher's
//! `get_or_compute`), `attr-hit-u64`, `attr-hit-str`, `attr-hit-3` (cacher's `#[cached]`), `companion` (a `#[cached]` function's companion call alone, its cache found again), `async-hit-u64`, `async-hit-str`
//! (`get_or_compute_async`), `async-attr-hit-u64`, `async-attr-hit-str` (`#[cached]` on an `async fn`;
//! each future polled in place),
//! `cached-hit-u64`, `cached-hit-str`, `cached-hit-3` (`cached`'s `#[cached]`, as the memory
//! bench declares them), `memory-miss-u64`, `attr-miss-u64`, `async-miss-u64`, `async-attr-miss-u64`, `cached-miss-u64` (a miss + insert of
//! a new key each loop, from an empty cache), `memory-miss-rounds-u64`, `cached-miss-rounds-u64`
//! (the same in rounds of keys 0..1 024, each from an empty cache, as the memory bench's miss
//! group times them; each round's set-up and drop counted too, which the bench's clock leaves
//! out), `memory-miss-bounded-u64` (a miss + insert of a new key each loop into a tier bounded to
//! 10 000 entries: once full, each insert evicts), `file-hit-json`, `file-store-json`, `store-hit`,
//! `store-insert` (200-byte values; the store with postcard, not durable), `redb-hit` (`cached`'s
//! `RedbCache`, the same value), `value-decode`, `value-decode-raw` (the store's value alone,
//! through `PostcardFormatter` and through postcard itself).
//! A hit scenario followed by `-2t` (`attr-hit-u64-2t`) runs its loop on two threads at once, each
//! doing the given count (callgrind runs them one at a time: it counts the instructions of a
//! shared path, not the contention). The instructions of one lookup are the difference between
//! two counts divided by the difference of their loops, which leaves the set-up out (see
//! docs/BENCHMARKS.md, "How to profile").
//!
//! Quick wall-clock A/B checks, less sensitive to a noisy neighbour than two separate runs (each
//! side timed alternately, best of 25 rounds): `ab-u64` (cacher's and `cached`'s `u64` hits),
//! `ab-u64-2t [shuffled]` (the same on two threads at once), `ab-file-hit [sharded]` (a file hit
//! against `fs::read` + decode of the same file), `ab-file-store N [DIR] [SIZE]` (a store against
//! encode + temporary file + rename; the median of 25 rounds, as writes wait on the disk),
//! `ab-store-hit N [SIZE]` (a store hit against `cached`'s `RedbCache` hit, best of 25 rounds),
//! `ab-store-insert N [SIZE]` (a non-durable store against `RedbCache`'s, median of 25 rounds),
//! `ab-miss N [big]` (a miss + insert from an empty cache against `cached`'s), `ab-miss-bounded N`
//! (a miss + insert into a full tier bounded to 10 000 entries against `cached`'s `LruCache`).

use std::hint::black_box;

use cached::proc_macro::cached;
use cacher::format::{Formatter, JsonFormatter};
use cacher::{Cache, SeparateFileBackend};
use cacher_benches::{Args3, Key3, MEMORY_KEYS, Payload, RawEnvelope, key3, string_key};

#[cached]
fn cached_u64(n: u64) -> u64 {
    n * 3
}

#[cached(key = "String", convert = r#"{ s.to_owned() }"#)]
fn cached_str(s: &str) -> u64 {
    s.len() as u64
}

#[cached(
    key = "(String, u32, String)",
    convert = r#"{ (a.to_owned(), b, c.to_owned()) }"#
)]
fn cached_3(a: &str, b: u32, c: &str) -> u64 {
    (a.len() + c.len()) as u64 + u64::from(b)
}

#[cached]
fn cached_miss(n: u64) -> u64 {
    n * 3
}

#[cacher::cached]
fn attr_miss(n: u64) -> u64 {
    n * 3
}

#[cacher::cached]
fn attr_u64(n: u64) -> u64 {
    n * 3
}

#[cacher::cached]
fn attr_str(s: &str) -> u64 {
    s.len() as u64
}

#[cacher::cached]
fn attr_3(a: &str, b: u32, c: &str) -> u64 {
    (a.len() + c.len()) as u64 + u64::from(b)
}

/// The A/B timers' `u64` keys: `0..1024` in order, or the memory bench's keys in its order.
fn ab_keys(shuffled: bool) -> Vec<u64> {
    if shuffled {
        let order = cacher_benches::shuffled(MEMORY_KEYS, 0x5EED);
        order.iter().map(|&i| i as u64 * 7_919 + 13).collect()
    } else {
        (0..MEMORY_KEYS as u64).collect()
    }
}

/// `lookup(i)` for `i` in `0..loops` (each thread starting half-way into the keys from the
/// other), on `threads` threads at once, after one untimed pass over the keys fills the cache.
fn hits(threads: usize, loops: usize, lookup: &(dyn Fn(usize) -> u64 + Sync)) {
    for i in 0..MEMORY_KEYS {
        lookup(i);
    }
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in 0..loops {
                    black_box(lookup((i + t * MEMORY_KEYS / 2) % MEMORY_KEYS));
                }
            });
        }
    });
}

/// The hit scenarios, all through [`hits`]: `memory-…` (cacher's `get_or_compute`), `attr-…`
/// (cacher's `#[cached]`) and `cached-…` (`cached`'s), with `-2t` for two threads. `None` for
/// another scenario.
#[cacher::cached]
async fn async_attr_u64(n: u64) -> u64 {
    n * 3
}

#[cacher::cached]
async fn async_attr_str(s: &str) -> u64 {
    s.len() as u64
}

/// Polls `future` with a no-op waker until it is ready (a hit: at once).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn hit_scenarios(scenario: &str, loops: usize) -> Option<()> {
    let (name, threads) = match scenario.strip_suffix("-2t") {
        Some(name) => (name, 2),
        None => (scenario, 1),
    };
    let strings: Vec<String> = (0..MEMORY_KEYS).map(string_key).collect();
    let triples: Vec<Key3> = (0..MEMORY_KEYS).map(key3).collect();
    let (u64s, strs, threes): (Cache<u64, u64>, Cache<String, u64>, Cache<Key3, u64>) = (
        Cache::builder().build().unwrap(),
        Cache::builder().build().unwrap(),
        Cache::builder().build().unwrap(),
    );
    let lookup: Box<dyn Fn(usize) -> u64 + Sync> = match name {
        "memory-hit-u64" => Box::new(|i| {
            let k = i as u64;
            u64s.get_or_compute(&k, || k * 3)
        }),
        "memory-hit-str" => Box::new(|i| strs.get_or_compute(strings[i].as_str(), || 1)),
        "memory-hit-3" => Box::new(|i| {
            let (a, b, c) = &triples[i];
            threes.get_or_compute(&Args3(a, *b, c), || 1)
        }),
        "attr-hit-u64" => Box::new(|i| attr_u64(i as u64)),
        // The companion's call alone: its cache found again, in this thread's table.
        "companion" => {
            Box::new(|i| black_box(attr_u64_cache()).namespace().len() as u64 + i as u64)
        }
        "attr-hit-str" => Box::new(|i| attr_str(&strings[i])),
        "attr-hit-3" => Box::new(|i| {
            let (a, b, c) = &triples[i];
            attr_3(a, *b, c)
        }),
        "async-hit-u64" => Box::new(|i| {
            let k = i as u64;
            ready(u64s.get_or_compute_async(&k, || async move { k * 3 }))
        }),
        "async-hit-str" => Box::new(|i| {
            let s = strings[i].as_str();
            ready(strs.get_or_compute_async(s, || async { 1 }))
        }),
        "async-attr-hit-u64" => Box::new(|i| ready(async_attr_u64(i as u64))),
        "async-attr-hit-str" => Box::new(|i| ready(async_attr_str(&strings[i]))),
        "cached-hit-u64" => Box::new(|i| cached_u64(i as u64)),
        "cached-hit-str" => Box::new(|i| cached_str(&strings[i])),
        "cached-hit-3" => Box::new(|i| {
            let (a, b, c) = &triples[i];
            cached_3(a, *b, c)
        }),
        _ => return None,
    };
    hits(threads, loops, &*lookup);
    Some(())
}

/// Keys a round of the miss scenarios looks up from an empty cache, as the memory bench's miss
/// group does (`MISS_ROUND` there).
const MISS_ROUND: u64 = 1024;

/// `loops` misses in rounds of [`MISS_ROUND`] keys (the last one shorter), as the memory bench's
/// miss group makes them: `round(n)` looks up keys `0..n` from an empty cache.
fn in_rounds(loops: usize, round: &mut dyn FnMut(u64)) {
    let mut left = loops as u64;
    while left > 0 {
        let n = left.min(MISS_ROUND);
        round(n);
        left -= n;
    }
}

/// Nanoseconds a key of looking up `keys` with `f`: the timing of the `ab-miss` scenarios.
#[allow(clippy::cast_precision_loss)]
fn ns_per_key(keys: std::ops::Range<u64>, f: &dyn Fn(u64) -> u64) -> f64 {
    let n = keys.end - keys.start;
    let start = std::time::Instant::now();
    for k in keys {
        black_box(f(black_box(k)));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// `ab-miss N`: N misses + inserts from an empty cache, through cacher's `get_or_compute` (a new
/// cache each round), cacher's `#[cached]` (cleared before the round: its tables' memory given
/// back) and `cached`'s (reset: a `cache_clear` keeps the table's capacity); the best of 25
/// rounds, alternating.
fn ab_miss(loops: usize) {
    let time = |before: &dyn Fn(), f: &dyn Fn(u64) -> u64| {
        before();
        ns_per_key(0..loops as u64, f)
    };
    // `ab-miss N big`: the cache of `get_or_compute` grown to a million entries and cleared
    // first, as the attribute's and `cached`'s are after a long run (a cleared table keeps its
    // capacity).
    let big = std::env::args().nth(3).as_deref() == Some("big");
    let mut best = [f64::MAX; 3];
    for _ in 0..25 {
        let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
        if big {
            for k in 0..1_000_000u64 {
                cache.get_or_compute(&k, || k);
            }
            cache.clear().unwrap();
        }
        best[0] = best[0].min(time(&|| {}, &|k| cache.get_or_compute(&k, || k * 3)));
        best[1] = best[1].min(time(&|| attr_miss_cache().clear().unwrap(), &attr_miss));
        best[2] = best[2].min(time(
            // Reset (its capacity given back), as the memory group does: from empty.
            &|| cached::Cached::cache_reset(&mut *CACHED_MISS.write()),
            &cached_miss,
        ));
    }
    let [cacher, attr, cached] = best;
    println!(
        "get_or_compute {cacher:.1} ns ({:.2}x), #[cached] {attr:.1} ns ({:.2}x), cached {cached:.1} ns",
        cacher / cached,
        attr / cached
    );
}

/// `ab-miss-bounded N`: a miss + insert into a full memory tier bounded to 10 000 entries (each
/// evicts the least recently used) against `cached`'s `LruCache` of the same size behind a
/// mutex (what `#[cached(max_size = 10000)]` keeps), taking turns: the best of 25 rounds of `N`
/// new keys each.
fn ab_miss_bounded(loops: usize) {
    const SIZE: usize = 10_000;
    let cache: Cache<u64, u64> = Cache::builder()
        .backend(cacher::MemoryBackend::new().max_entries(SIZE))
        .build()
        .unwrap();
    let sized = std::sync::Mutex::new(cached::LruCache::<u64, u64>::new(SIZE));
    let sized_miss = |k: u64| {
        if let Some(&v) = cached::Cached::cache_get(&mut *sized.lock().unwrap(), &k) {
            return v;
        }
        let v = k * 3;
        cached::Cached::cache_set(&mut *sized.lock().unwrap(), k, v);
        v
    };
    for k in 0..SIZE as u64 {
        cache.get_or_compute(&k, || k * 3);
        sized_miss(k);
    }
    let (mut best_cacher, mut best_cached) = (f64::MAX, f64::MAX);
    for round in 0..25 {
        let keys = (SIZE + round * loops) as u64..(SIZE + (round + 1) * loops) as u64;
        best_cacher = best_cacher.min(ns_per_key(keys.clone(), &|k| {
            cache.get_or_compute(&k, || k * 3)
        }));
        best_cached = best_cached.min(ns_per_key(keys, &sized_miss));
    }
    println!(
        "cacher {best_cacher:.1} ns, cached LruCache {best_cached:.1} ns, ratio {:.2}",
        best_cacher / best_cached
    );
}

/// `ab-store-hit N [SIZE]`, `ab-store-insert N [SIZE]`: the store's hit (or non-durable store)
/// against `cached`'s `RedbCache`'s on the same value, taking turns: the best of 25 rounds of a
/// hit, the median of 25 rounds of a store (a write's time spreads more).
fn ab_store(loops: usize, size: usize, insert: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u64, Payload> = Cache::builder()
        .backend(cacher::StoreBackend::new(dir.path().join("store")))
        .build()
        .unwrap();
    let redb = cached::RedbCache::<u64, Payload>::builder("ab")
        .disk_dir(dir.path().join("redb"))
        .durable(false)
        .build()
        .unwrap();
    let value = Payload::of_json_size(size);
    for k in 0..64u64 {
        cache.insert(&k, value.clone()).unwrap();
        cached::SerializeCached::cache_set_ref(&redb, &k, &value).unwrap();
    }
    let time = |f: &dyn Fn(u64)| {
        let start = std::time::Instant::now();
        for i in 0..loops {
            f(black_box((i % 64) as u64));
        }
        start.elapsed().as_nanos() as f64 / loops as f64
    };
    let (mut store, mut other) = (Vec::new(), Vec::new());
    for _ in 0..25 {
        if insert {
            store.push(time(&|k| {
                cache.insert(&k, black_box(value.clone())).unwrap()
            }));
            other.push(time(&|k| {
                cached::SerializeCached::cache_set_ref(&redb, &k, black_box(&value)).unwrap();
            }));
        } else {
            store.push(time(&|k| drop(black_box(cache.get(&k).unwrap()))));
            other.push(time(&|k| {
                drop(black_box(
                    cached::ConcurrentCached::cache_get(&redb, &k)
                        .unwrap()
                        .unwrap(),
                ));
            }));
        }
    }
    let pick = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        if insert {
            times[times.len() / 2]
        } else {
            times[0]
        }
    };
    let (store, other) = (pick(&mut store), pick(&mut other));
    println!(
        "store {store:.0} ns, RedbCache {other:.0} ns, ratio {:.2}",
        store / other
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "memory-hit-u64".to_owned());
    let loops: usize = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("a count"));
    if hit_scenarios(&scenario, loops).is_some() {
        return;
    }
    match scenario.as_str() {
        "memory-miss-u64" => {
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            for k in 0..loops as u64 {
                black_box(cache.get_or_compute(&k, || k * 3));
            }
        }
        "memory-miss-rounds-u64" => in_rounds(loops, &mut |n| {
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            for k in 0..n {
                black_box(cache.get_or_compute(&k, || k * 3));
            }
        }),
        "cached-miss-rounds-u64" => in_rounds(loops, &mut |n| {
            cached::Cached::cache_reset(&mut *CACHED_MISS.write());
            for k in 0..n {
                black_box(cached_miss(k));
            }
        }),
        "async-miss-u64" => {
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            for k in 0..loops as u64 {
                black_box(ready(
                    cache.get_or_compute_async(&k, || async move { k * 3 }),
                ));
            }
        }
        "async-attr-miss-u64" => {
            for k in 0..loops as u64 {
                black_box(ready(async_attr_u64(k)));
            }
        }
        "memory-miss-str" => {
            // The keys made first: a miss hashes a `String` (its bytes) where a `u64` hashes a word.
            let keys: Vec<String> = (0..loops).map(string_key).collect();
            let cache: Cache<String, u64> = Cache::builder().build().unwrap();
            for key in &keys {
                black_box(cache.get_or_compute(key.as_str(), || 3));
            }
        }
        "memory-miss-bounded-u64" => {
            // Full from the 10 001st key on: each insert evicts (a scan of its shard's ~625).
            let cache: Cache<u64, u64> = Cache::builder()
                .backend(cacher::MemoryBackend::new().max_entries(10_000))
                .build()
                .unwrap();
            for k in 0..loops as u64 {
                black_box(cache.get_or_compute(&k, || k * 3));
            }
        }
        "attr-miss-u64" => {
            for k in 0..loops as u64 {
                black_box(attr_miss(k));
            }
        }
        "cached-miss-u64" => {
            for k in 0..loops as u64 {
                black_box(cached_miss(k));
            }
        }
        "file-hit-json" | "file-store-json" => {
            let dir = tempfile::tempdir().unwrap();
            let cache: Cache<u64, Payload> = Cache::builder()
                .backend(SeparateFileBackend::new(dir.path()))
                .build()
                .unwrap();
            let value = Payload::of_json_size(200);
            for k in 0..64u64 {
                cache.insert(&k, value.clone()).unwrap();
            }
            let store = scenario == "file-store-json";
            for i in 0..loops {
                let k = (i % 64) as u64;
                if store {
                    cache.insert(&k, value.clone()).unwrap();
                } else {
                    black_box(cache.get(&k));
                }
            }
        }
        "store-hit" | "store-insert" => {
            // `store-hit N [SIZE]`, `store-insert N [SIZE]`: values of SIZE bytes (200).
            let size = args.next().map_or(200, |s| s.parse().expect("a size"));
            let dir = tempfile::tempdir().unwrap();
            let cache: Cache<u64, Payload> = Cache::builder()
                .backend(cacher::StoreBackend::new(dir.path()))
                .build()
                .unwrap();
            let value = Payload::of_json_size(size);
            for k in 0..64u64 {
                cache.insert(&k, value.clone()).unwrap();
            }
            let insert = scenario == "store-insert";
            for i in 0..loops {
                let k = (i % 64) as u64;
                if insert {
                    cache.insert(&k, value.clone()).unwrap();
                } else {
                    black_box(cache.get(&k));
                }
            }
        }
        "store-miss" | "file-miss" => {
            // `store-miss N`, `file-miss N`: `get_or_compute` of a key not asked before, through
            // the store or the file tier alone: the tier's read, the cross-process lock, the
            // function, the write.
            let dir = tempfile::tempdir().unwrap();
            let builder = Cache::builder();
            let builder = match scenario.as_str() {
                "store-miss" => builder.backend(cacher::StoreBackend::new(dir.path())),
                _ => builder.backend(cacher::SeparateFileBackend::new(dir.path())),
            };
            let cache: Cache<u64, u64> = builder.build().unwrap();
            for i in 0..loops as u64 {
                black_box(cache.get_or_compute(&i, || i));
            }
        }
        "value-decode" | "value-decode-raw" => {
            // `value-decode N [SIZE]`: the store's value alone decoded, through the guarded
            // `PostcardFormatter`; `-raw`: through postcard itself (the floor of a hit's decode).
            let size = args.next().map_or(200, |s| s.parse().expect("a size"));
            let bytes = postcard::to_stdvec(&Payload::of_json_size(size)).unwrap();
            let raw = scenario == "value-decode-raw";
            for _ in 0..loops {
                let bytes = black_box(&bytes[..]);
                if raw {
                    black_box(postcard::from_bytes::<Payload>(bytes).unwrap());
                } else {
                    let formatter = cacher::format::PostcardFormatter;
                    black_box(formatter.decode::<Payload>(bytes).unwrap());
                }
            }
        }
        "redb-hit" => {
            // `redb-hit N [SIZE]`: values of SIZE bytes (200), as `store-hit`.
            let size = args.next().map_or(200, |s| s.parse().expect("a size"));
            let dir = tempfile::tempdir().unwrap();
            let redb = cached::RedbCache::<u64, Payload>::builder("profile")
                .disk_dir(dir.path())
                .durable(false)
                .build()
                .unwrap();
            let value = Payload::of_json_size(size);
            for k in 0..64u64 {
                cached::SerializeCached::cache_set_ref(&redb, &k, &value).unwrap();
            }
            for i in 0..loops {
                black_box(cached::ConcurrentCached::cache_get(&redb, &((i % 64) as u64)).unwrap());
            }
        }
        "ab-store-hit" | "ab-store-insert" => {
            let size = args.next().map_or(200, |s| s.parse().expect("a size"));
            ab_store(loops, size, scenario == "ab-store-insert");
        }
        "ab-miss" => ab_miss(loops),
        "ab-miss-bounded" => ab_miss_bounded(loops),
        "ab-u64" => {
            // `ab-u64 N shuffled`: the memory bench's keys and order instead of 0..1024.
            let keys = ab_keys(args.next().as_deref() == Some("shuffled"));
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            // Filled in key order, looked up in the bench's (as the memory bench does).
            let mut filled = keys.clone();
            filled.sort_unstable();
            for &k in &filled {
                cache.insert(&k, k * 3).unwrap();
                cached_u64(k);
            }
            // Each entry hit into the thread's index in the lookups' order, as the bench's
            // warm-up does.
            for _ in 0..4 {
                for &k in &keys {
                    cache.get_or_compute(&k, || k * 3);
                }
            }
            let time = |f: &dyn Fn(u64) -> u64| {
                let start = std::time::Instant::now();
                for i in 0..loops {
                    black_box(f(black_box(keys[i % MEMORY_KEYS])));
                }
                start.elapsed().as_nanos() as f64 / loops as f64
            };
            let (mut best_cacher, mut best_cached) = (f64::MAX, f64::MAX);
            for _ in 0..25 {
                best_cacher = best_cacher.min(time(&|k| cache.get_or_compute(&k, || k * 3)));
                best_cached = best_cached.min(time(&cached_u64));
            }
            println!(
                "cacher {best_cacher:.2} ns, cached {best_cached:.2} ns, ratio {:.2}",
                best_cacher / best_cached
            );
        }
        "ab-u64-2t" => {
            // `ab-u64-2t N shuffled`: the memory bench's keys and order instead of 0..1024.
            let keys = &ab_keys(args.next().as_deref() == Some("shuffled"));
            let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
            for &k in keys {
                cache.insert(&k, k * 3).unwrap();
                cached_u64(k);
            }
            let time = |f: &(dyn Fn(u64) -> u64 + Sync)| {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..2 {
                        scope.spawn(move || {
                            for i in 0..loops {
                                let k = keys[(i + t * 512) % MEMORY_KEYS];
                                black_box(f(black_box(k)));
                            }
                        });
                    }
                });
                start.elapsed().as_nanos() as f64 / loops as f64
            };
            let (mut best_cacher, mut best_cached) = (f64::MAX, f64::MAX);
            for _ in 0..25 {
                best_cacher = best_cacher.min(time(&|k| cache.get_or_compute(&k, || k * 3)));
                best_cached = best_cached.min(time(&cached_u64));
            }
            println!(
                "two threads: cacher {best_cacher:.2} ns, cached {best_cached:.2} ns, ratio {:.2}",
                best_cacher / best_cached
            );
        }
        "ab-file-hit" => {
            let dir = tempfile::tempdir().unwrap();
            // `ab-file-hit sharded`: hashed keys and the population benches' `filename_fn`.
            let sharded = args.next().as_deref() == Some("sharded");
            let backend = SeparateFileBackend::new(dir.path());
            let cache: Cache<u64, Payload> = if sharded {
                Cache::builder()
                    .keyer(cacher::HashKeyer)
                    .backend(backend.filename_fn(cacher_benches::sharded_name))
                    .build()
                    .unwrap()
            } else {
                Cache::builder().backend(backend).build().unwrap()
            };
            let value = Payload::of_json_size(200);
            let paths: Vec<_> = (0..64u64)
                .map(|k| {
                    cache.insert(&k, value.clone()).unwrap();
                    cache.path_of(&k).unwrap()
                })
                .collect();
            let time = |f: &dyn Fn(u64) -> Payload| {
                let start = std::time::Instant::now();
                for i in 0..loops {
                    black_box(f((i % 64) as u64));
                }
                start.elapsed().as_nanos() as f64 / loops as f64
            };
            let raw = |k: u64| {
                let bytes = std::fs::read(&paths[k as usize]).unwrap();
                let envelope: RawEnvelope<'_, Payload> = JsonFormatter.decode(&bytes).unwrap();
                envelope.value
            };
            let (mut best_cacher, mut best_raw) = (f64::MAX, f64::MAX);
            for _ in 0..25 {
                best_cacher = best_cacher.min(time(&|k| cache.get(&k).unwrap()));
                best_raw = best_raw.min(time(&raw));
            }
            println!(
                "file hit: cacher {best_cacher:.0} ns, raw {best_raw:.0} ns, ratio {:.2}",
                best_cacher / best_raw
            );
        }
        "ab-file-store" => {
            // `ab-file-store N [DIR] [SIZE]`: stores of a JSON value of SIZE bytes (200) under DIR
            // (a temporary directory in /tmp), cacher's `insert` and a raw encode + temporary
            // file + rename alternating in rounds of N; the median of 25 rounds of each.
            let base = args
                .next()
                .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
            let size = args.next().map_or(200, |s| s.parse().expect("a size"));
            let dir = tempfile::tempdir_in(base).unwrap();
            let cache: Cache<u64, Payload> = Cache::builder()
                .backend(SeparateFileBackend::new(dir.path()))
                .build()
                .unwrap();
            let value = Payload::of_json_size(size);
            let paths: Vec<_> = (0..64u64)
                .map(|k| {
                    cache.insert(&k, value.clone()).unwrap();
                    let path = cache.path_of(&k).unwrap();
                    let temp = path.with_extension("raw-tmp");
                    (k.to_string(), path, temp)
                })
                .collect();
            let type_name = std::any::type_name::<Payload>();
            let raw = |k: u64, value: Payload| {
                let (key, path, temp) = &paths[k as usize];
                let envelope = RawEnvelope::new("default", key, type_name, &value);
                let bytes = JsonFormatter.encode(&envelope).unwrap();
                let mut file = std::fs::File::create(temp).unwrap();
                std::io::Write::write_all(&mut file, &bytes).unwrap();
                drop(file);
                std::fs::rename(temp, path).unwrap();
            };
            let time = |f: &dyn Fn(u64, Payload)| {
                let values: Vec<Payload> = (0..loops).map(|_| value.clone()).collect();
                let start = std::time::Instant::now();
                for (i, v) in values.into_iter().enumerate() {
                    f((i % 64) as u64, v);
                }
                start.elapsed().as_nanos() as f64 / loops as f64
            };
            let (mut cacher_times, mut raw_times) = (Vec::new(), Vec::new());
            for _ in 0..25 {
                cacher_times.push(time(&|k, v| cache.insert(&k, v).unwrap()));
                raw_times.push(time(&raw));
            }
            let median = |t: &mut Vec<f64>| {
                t.sort_by(f64::total_cmp);
                t[t.len() / 2]
            };
            let (c, r) = (median(&mut cacher_times), median(&mut raw_times));
            println!(
                "file store: cacher {c:.0} ns, raw {r:.0} ns, ratio {:.2}",
                c / r
            );
        }
        other => panic!("unknown scenario {other}"),
    }
}
