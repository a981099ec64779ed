//! File tier: a hit, a miss (a failed read, then the value stored) and a store, for json,
//! bincode and postcard at 200 B, 4 KiB and 256 KiB values, beside the floor — a raw
//! `std::fs::read` + decode of the same bytes, and a raw encode + temp file + rename — and
//! beside `cached`'s disk store (redb, one memory-mapped file) and cacache; then a hit among
//! 1 000, 100 000 and 1 000 000 entries with a sharding `filename_fn`.
//!
//! The raw baselines do only the I/O and the serde call: their paths are computed beforehand,
//! and they check nothing. What cacher adds — making the key and the path, checking the entry's
//! namespace, key, type and version, counting — is what the ratio shows.
//!
//! The populations of 1 000 000 files are written once (with plain `fs::write` of bytes encoded
//! once, not through the cache) under `$CACHER_BENCH_DIR` or `/tmp/cacher-bench`, and reused by
//! later runs.
//!
//! `cargo bench -p cacher-benches --bench file`; see docs/BENCHMARKS.md.

use std::cell::Cell;
use std::fs;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cached::{ConcurrentCached, RedbCache, SerializeCached};
use cacher::entry::{self, Entry, EntryKey};
use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, HashKeyer, SeparateFileBackend};
use cacher_benches::{
    Payload, RawEnvelope, XorShift, fixture_root, sharded_name, splice, write_files,
};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main,
};

const SIZES: [(usize, &str); 3] = [(200, "200B"), (4 * 1024, "4KiB"), (256 * 1024, "256KiB")];
const NAMESPACE: &str = "bench";
/// Keys present on disk for the hit and store benches.
const PRESENT: u64 = 64;
/// Miss keys start here, far from the present ones.
const FIRST_MISS: u64 = 1 << 40;

fn type_name() -> &'static str {
    std::any::type_name::<Payload>()
}

/// One format at one value size: a cache over its own directory with `PRESENT` entries.
struct Setup<F: Formatter> {
    format: F,
    cache: Cache<u64, Payload>,
    value: Payload,
    /// The file of each present key, and a temporary name beside it, for the raw baselines.
    paths: Vec<(PathBuf, PathBuf)>,
}

impl<F: Formatter + Copy> Setup<F> {
    fn new(format: F, dir: &Path, size: usize) -> Self {
        let cache: Cache<u64, Payload> = Cache::builder()
            .namespace(NAMESPACE)
            .backend(SeparateFileBackend::new(dir).formatter(format))
            .build()
            .unwrap();
        let value = Payload::of_json_size(size);
        let paths = (0..PRESENT)
            .map(|k| {
                cache.insert(&k, value.clone()).unwrap();
                let path = cache.path_of(&k).unwrap();
                let temp = path.with_extension("raw-tmp");
                (path, temp)
            })
            .collect();
        Self {
            format,
            cache,
            value,
            paths,
        }
    }

    /// The raw floor of a hit: read the file, decode the entry.
    fn raw_read(&self, path: &Path) -> Payload {
        let bytes = fs::read(path).unwrap();
        let envelope: RawEnvelope<'_, Payload> = self.format.decode(&bytes).unwrap();
        envelope.value
    }

    /// The raw floor of a store: encode the entry, write a temporary file, rename it. It takes
    /// the value, as `Cache::insert` does, and drops it (for 256 KiB, freeing it is a visible
    /// part of the cost).
    fn raw_write(&self, value: Payload, key: &str, path: &Path, temp: &Path) {
        let envelope = RawEnvelope::new(NAMESPACE, key, type_name(), &value);
        let bytes = self.format.encode(&envelope).unwrap();
        let mut file = fs::File::create(temp).unwrap();
        file.write_all(&bytes).unwrap();
        drop(file);
        fs::rename(temp, path).unwrap();
    }
}

fn settings<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(30);
    group
}

/// Hit, miss and store for one format, each beside its raw floor.
fn bench_format<F: Formatter + Copy>(c: &mut Criterion, format: F, root: &Path) {
    let name = format.name();
    let setups: Vec<(&str, Setup<F>)> = SIZES
        .iter()
        .map(|&(size, label)| {
            let dir = root.join(format!("{name}-{label}"));
            (label, Setup::new(format, &dir, size))
        })
        .collect();

    let mut group = settings(c, &format!("file_hit_{name}"));
    for (label, s) in &setups {
        let next = Cell::new(0usize);
        let key = || {
            let k = next.get();
            next.set((k + 1) % PRESENT as usize);
            k
        };
        group.bench_function(BenchmarkId::new("cacher", label), |b| {
            b.iter(|| {
                let k = key() as u64;
                black_box(s.cache.get_or_compute(&k, || s.value.clone()))
            });
        });
        group.bench_function(BenchmarkId::new("raw", label), |b| {
            b.iter(|| black_box(s.raw_read(&s.paths[key()].0)));
        });
    }
    group.finish();

    let mut group = settings(c, &format!("file_miss_{name}"));
    for (label, s) in &setups {
        let next = Cell::new(FIRST_MISS);
        // Keys never seen. The files are deleted in batches between samples, untimed: not after
        // every sample, as deleting frees blocks whose journal commit (and, on a filesystem
        // mounted with `discard`, whose discards) would land in the next one; but before they
        // pass 256 MiB, which on a tmpfs is memory.
        let written = Cell::new(FIRST_MISS);
        let file_bytes = serde_json::to_vec(&s.value).unwrap().len() as u64 + 200;
        let clean = || {
            for k in written.get()..next.get() {
                let _ = fs::remove_file(s.cache.path_of(&k).unwrap());
            }
            written.set(next.get());
        };
        let fresh = |iters: u64| {
            if (next.get() - written.get() + iters) * file_bytes > 256 << 20 {
                clean();
            }
            let first = next.get();
            next.set(first + iters);
            first..first + iters
        };
        group.bench_function(BenchmarkId::new("cacher", label), |b| {
            b.iter_custom(|iters| {
                let keys = fresh(iters);
                let start = Instant::now();
                for k in keys {
                    black_box(s.cache.get_or_compute(&k, || s.value.clone()));
                }
                start.elapsed()
            });
        });
        clean();
        group.bench_function(BenchmarkId::new("raw", label), |b| {
            b.iter_custom(|iters| {
                let keys = fresh(iters);
                let files: Vec<(String, PathBuf, PathBuf)> = keys
                    .clone()
                    .map(|k| {
                        let path = s.cache.path_of(&k).unwrap();
                        let temp = path.with_extension("raw-tmp");
                        (k.to_string(), path, temp)
                    })
                    .collect();
                let start = Instant::now();
                for (key, path, temp) in &files {
                    assert!(fs::read(path).is_err());
                    // The function's value, then stored.
                    let value = black_box(s.value.clone());
                    s.raw_write(value, key, path, temp);
                }
                start.elapsed()
            });
        });
        clean();
    }
    group.finish();

    let mut group = settings(c, &format!("file_store_{name}"));
    for (label, s) in &setups {
        let next = Cell::new(0u64);
        let key = || {
            let k = next.get();
            next.set((k + 1) % PRESENT);
            k
        };
        group.bench_function(BenchmarkId::new("cacher", label), |b| {
            // `insert` takes the value by value: the caller's clone is made outside the timing.
            b.iter_batched(
                || (key(), s.value.clone()),
                |(k, value)| s.cache.insert(&k, value).unwrap(),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("raw", label), |b| {
            b.iter_batched(
                || (key(), s.value.clone()),
                |(k, value)| {
                    let (path, temp) = &s.paths[k as usize];
                    s.raw_write(value, &k.to_string(), path, temp);
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// `cached`'s redb store and cacache, at the same sizes, as groups of their own.
fn bench_peers(c: &mut Criterion, root: &Path) {
    let values: Vec<(&str, Payload)> = SIZES
        .iter()
        .map(|&(size, label)| (label, Payload::of_json_size(size)))
        .collect();
    let redbs: Vec<RedbCache<u64, Payload>> = SIZES
        .iter()
        .map(|&(_, label)| {
            let dir = root.join(format!("redb-{label}"));
            RedbCache::builder(format!("bench-{label}"))
                .disk_dir(&dir)
                // Like cacher's default: no fsync per write.
                .durable(false)
                .build()
                .unwrap()
        })
        .collect();
    let cacache_dir = root.join("cacache");
    let cacache_key = |k: u64| format!("bench:{k}");
    for ((_, value), redb) in values.iter().zip(&redbs) {
        for k in 0..PRESENT {
            redb.cache_set_ref(&k, value).unwrap();
        }
    }

    let mut group = settings(c, "file_peers_hit");
    for ((label, value), redb) in values.iter().zip(&redbs) {
        let dir = cacache_dir.join(label);
        for k in 0..PRESENT {
            cacache::write_sync(&dir, cacache_key(k), serde_json::to_vec(value).unwrap()).unwrap();
        }
        let next = Cell::new(0u64);
        let key = || {
            let k = next.get();
            next.set((k + 1) % PRESENT);
            k
        };
        group.bench_function(BenchmarkId::new("cached_redb", label), |b| {
            b.iter(|| black_box(redb.cache_get(&key()).unwrap().unwrap()));
        });
        let keys: Vec<String> = (0..PRESENT).map(cacache_key).collect();
        group.bench_function(BenchmarkId::new("cacache", label), |b| {
            b.iter(|| {
                let bytes = cacache::read_sync(&dir, &keys[key() as usize]).unwrap();
                black_box(serde_json::from_slice::<Payload>(&bytes).unwrap())
            });
        });
    }
    group.finish();

    let mut group = settings(c, "file_peers_miss");
    for ((label, value), redb) in values.iter().zip(&redbs) {
        let dir = cacache_dir.join(label);
        let next = Cell::new(FIRST_MISS);
        let fresh = |iters: u64| {
            let first = next.get();
            next.set(first + iters);
            first..first + iters
        };
        group.bench_function(BenchmarkId::new("cached_redb", label), |b| {
            b.iter_custom(|iters| {
                let keys = fresh(iters);
                let start = Instant::now();
                for k in keys.clone() {
                    assert!(redb.cache_get(&k).unwrap().is_none());
                    let value = black_box(value.clone());
                    redb.cache_set_ref(&k, &value).unwrap();
                }
                let elapsed = start.elapsed();
                for k in keys {
                    redb.cache_delete(&k).unwrap();
                }
                elapsed
            });
        });
        group.bench_function(BenchmarkId::new("cacache", label), |b| {
            b.iter_custom(|iters| {
                let keys: Vec<String> = fresh(iters).map(cacache_key).collect();
                let start = Instant::now();
                for key in &keys {
                    assert!(cacache::read_sync(&dir, key).is_err());
                    let value = black_box(value.clone());
                    cacache::write_sync(&dir, key, serde_json::to_vec(&value).unwrap()).unwrap();
                }
                let elapsed = start.elapsed();
                for key in &keys {
                    cacache::remove_sync(&dir, key).unwrap();
                }
                elapsed
            });
        });
    }
    group.finish();

    let mut group = settings(c, "file_peers_store");
    for ((label, value), redb) in values.iter().zip(&redbs) {
        let dir = cacache_dir.join(label);
        let next = Cell::new(0u64);
        let key = || {
            let k = next.get();
            next.set((k + 1) % PRESENT);
            k
        };
        group.bench_function(BenchmarkId::new("cached_redb", label), |b| {
            b.iter(|| redb.cache_set_ref(&key(), value).unwrap());
        });
        let keys: Vec<String> = (0..PRESENT).map(cacache_key).collect();
        group.bench_function(BenchmarkId::new("cacache", label), |b| {
            b.iter(|| {
                let bytes = serde_json::to_vec(value).unwrap();
                cacache::write_sync(&dir, &keys[key() as usize], bytes).unwrap()
            });
        });
    }
    group.finish();
}

fn files(c: &mut Criterion) {
    let root = fixture_root().join("sizes");
    // Fresh every run: these directories are small and rewritten by the store benches anyway.
    let _ = fs::remove_dir_all(&root);
    bench_format(c, JsonFormatter, &root);
    bench_format(c, BincodeFormatter, &root);
    bench_format(c, PostcardFormatter, &root);
    bench_peers(c, &root);
}

/// Entries in the population benches.
const POPULATIONS: [(u64, &str); 3] = [(1_000, "1k"), (100_000, "100k"), (1_000_000, "1M")];

fn population_cache(dir: &Path) -> Cache<u64, Payload> {
    Cache::builder()
        .namespace("bench-population")
        .keyer(HashKeyer)
        .backend(SeparateFileBackend::new(dir).filename_fn(sharded_name))
        .build()
        .unwrap()
}

/// The directory holding `n` entries of `population_cache`, written now unless an earlier run
/// completed it.
fn population(n: u64, label: &str) -> (PathBuf, Cache<u64, Payload>) {
    let dir = fixture_root().join(format!("population-{label}"));
    let done = dir.join("complete");
    let cache = population_cache(&dir);
    if done.exists() {
        return (dir, cache);
    }
    let _ = fs::remove_dir_all(&dir);
    let started = Instant::now();
    eprintln!("writing {n} entries under {} (once)", dir.display());
    // Encode one entry with a placeholder key, then splice each file's key in: hashed keys all
    // have the same length.
    let placeholder = "X".repeat(32);
    let template = entry::encode(
        &JsonFormatter,
        &EntryKey {
            namespace: cache.namespace(),
            version: None,
            key: &placeholder,
            args: None,
            type_name: type_name(),
            code: None,
        },
        &Entry::new(Payload::of_json_size(200), cacher::Clock::system().now_ms()),
    )
    .unwrap();
    let chunk = 50_000;
    for start in (0..n).step_by(chunk) {
        let files: Vec<(PathBuf, Vec<u8>)> = (start..(start + chunk as u64).min(n))
            .map(|k| {
                let key = cache.key_of(&k).unwrap();
                assert_eq!(key.len(), placeholder.len());
                let bytes = splice(&template, placeholder.as_bytes(), key.as_bytes());
                (cache.path_of(&k).unwrap(), bytes)
            })
            .collect();
        write_files(&files, 4);
    }
    fs::write(&done, b"").unwrap();
    eprintln!("  done in {:.1?}", started.elapsed());
    (dir, cache)
}

/// Whether the command line's filter (if any) could select the population benches, whose
/// fixtures take a minute to write the first time.
fn populations_wanted() -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| "file_hit_population".contains(f.as_str()) || f.contains("population"))
}

fn populations(c: &mut Criterion) {
    if !populations_wanted() {
        return;
    }
    let mut group = settings(c, "file_hit_population");
    for (n, label) in POPULATIONS {
        let (_dir, cache) = population(n, label);
        // Random existing keys: 65 536 lookups over the whole population.
        let mut rng = XorShift(0x00C0_FFEE);
        let keys: Vec<u64> = (0..1 << 16).map(|_| rng.next() % n).collect();
        assert!(cache.get(&keys[0]).is_some(), "the fixture is readable");
        let paths: Vec<PathBuf> = keys.iter().map(|k| cache.path_of(k).unwrap()).collect();
        // Hits are measured on a warm page cache: read every file the lookups will touch once,
        // untimed (a population left alone for minutes may have been reclaimed, and its first
        // reads would measure the disk).
        for path in &paths {
            black_box(fs::read(path).unwrap());
        }
        let mask = keys.len() - 1;
        let next = Cell::new(0usize);
        let index = || {
            let i = next.get();
            next.set((i + 1) & mask);
            i
        };
        group.bench_function(BenchmarkId::new("cacher", label), |b| {
            b.iter(|| black_box(cache.get(&keys[index()]).unwrap()));
        });
        group.bench_function(BenchmarkId::new("raw", label), |b| {
            b.iter(|| {
                let bytes = fs::read(&paths[index()]).unwrap();
                let envelope: RawEnvelope<'_, Payload> = JsonFormatter.decode(&bytes).unwrap();
                black_box(envelope.value)
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = files, populations
}
criterion_main!(benches);
