//! The store backend beside its peers, in one run: a hit and a store of the same value through
//! `cacher`'s `StoreBackend` (postcard, its default; and `durable(true)` for stores), `cacher`'s
//! file tier (JSON, its default), `cached`'s `RedbCache` (MessagePack, `durable(false)`) and
//! cacache (JSON), at 200 B and 4 KiB. No memory tier in front: every hit reads the disk tier.
//!
//! `cargo bench -p cacher-benches --bench store -- --warm-up-time 1 --measurement-time 3`; the
//! numbers and the goals they meet are in docs/BENCHMARKS.md ("The store backend").

use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;

use cached::{ConcurrentCached, RedbCache, SerializeCached};
use cacher::{Cache, SeparateFileBackend, StoreBackend};
use cacher_benches::Payload;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const SIZES: [(usize, &str); 2] = [(200, "200B"), (4 * 1024, "4KiB")];
const PRESENT: u64 = 64;

/// The contenders at one value size, each holding the `PRESENT` keys.
struct Contenders {
    store: Cache<u64, Payload>,
    durable: Cache<u64, Payload>,
    file: Cache<u64, Payload>,
    redb: RedbCache<u64, Payload>,
    cacache: std::path::PathBuf,
    value: Payload,
}

impl Contenders {
    fn new(root: &Path, size: usize, label: &str) -> Self {
        let cache = |backend_dir: &str, durable: bool| -> Cache<u64, Payload> {
            Cache::builder()
                .namespace("bench")
                .backend(StoreBackend::new(root.join(backend_dir)).durable(durable))
                .build()
                .unwrap()
        };
        let contenders = Self {
            store: cache(&format!("store-{label}"), false),
            durable: cache(&format!("store-{label}"), true),
            file: Cache::builder()
                .namespace("bench")
                .backend(SeparateFileBackend::new(root.join(format!("file-{label}"))))
                .build()
                .unwrap(),
            redb: RedbCache::builder(format!("bench-{label}"))
                .disk_dir(root.join(format!("redb-{label}")))
                .durable(false)
                .build()
                .unwrap(),
            cacache: root.join(format!("cacache-{label}")),
            value: Payload::of_json_size(size),
        };
        let json = serde_json::to_vec(&contenders.value).unwrap();
        for k in 0..PRESENT {
            contenders
                .store
                .insert(&k, contenders.value.clone())
                .unwrap();
            contenders
                .file
                .insert(&k, contenders.value.clone())
                .unwrap();
            contenders
                .redb
                .cache_set_ref(&k, &contenders.value)
                .unwrap();
            cacache::write_sync(&contenders.cacache, k.to_string(), &json).unwrap();
        }
        contenders
    }
}

fn bench(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    for (size, label) in SIZES {
        let all = Contenders::new(root.path(), size, label);
        let next = Cell::new(0u64);
        let key = || {
            let k = next.get();
            next.set((k + 1) % PRESENT);
            k
        };
        let names: Vec<String> = (0..PRESENT).map(|k| k.to_string()).collect();
        let mut group = c.benchmark_group(format!("store_hit_{label}"));
        group.sample_size(20);
        group.bench_function(BenchmarkId::from_parameter("cacher_store"), |b| {
            b.iter(|| black_box(all.store.get(&key()).unwrap()));
        });
        group.bench_function(BenchmarkId::from_parameter("cacher_file"), |b| {
            b.iter(|| black_box(all.file.get(&key()).unwrap()));
        });
        group.bench_function(BenchmarkId::from_parameter("cached_RedbCache"), |b| {
            b.iter(|| black_box(all.redb.cache_get(&key()).unwrap().unwrap()));
        });
        group.bench_function(BenchmarkId::from_parameter("cacache"), |b| {
            b.iter(|| {
                let bytes = cacache::read_sync(&all.cacache, &names[key() as usize]).unwrap();
                black_box(serde_json::from_slice::<Payload>(&bytes).unwrap())
            });
        });
        group.finish();

        let mut group = c.benchmark_group(format!("store_store_{label}"));
        group.sample_size(20);
        let v = &all.value;
        group.bench_function(BenchmarkId::from_parameter("cacher_store"), |b| {
            b.iter(|| all.store.insert(&key(), black_box(v.clone())).unwrap());
        });
        group.bench_function(BenchmarkId::from_parameter("cacher_store_durable"), |b| {
            b.iter(|| all.durable.insert(&key(), black_box(v.clone())).unwrap());
        });
        group.bench_function(BenchmarkId::from_parameter("cacher_file"), |b| {
            b.iter(|| all.file.insert(&key(), black_box(v.clone())).unwrap());
        });
        group.bench_function(BenchmarkId::from_parameter("cached_RedbCache"), |b| {
            b.iter(|| all.redb.cache_set_ref(&key(), black_box(v)).unwrap());
        });
        group.bench_function(BenchmarkId::from_parameter("cacache"), |b| {
            b.iter(|| {
                let json = serde_json::to_vec(black_box(v)).unwrap();
                cacache::write_sync(&all.cacache, &names[key() as usize], json).unwrap()
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
