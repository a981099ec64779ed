//! The store backend's engine choice: the four serious embedded key-value engines side by side on
//! this machine — LMDB through `heed`, SQLite through `rusqlite` (bundled), `redb` and `fjall` —
//! with `cached`'s `RedbCache` as the bar the store backend must halve.
//!
//! Each engine keeps the same `PRESENT` entries (postcard bytes of [`Payload`] at 200 B and
//! 4 KiB, under 24-byte keys) and is asked for a hit (read the bytes, decode the value) and a
//! non-durable store (encode the value, write it in its own transaction, no fsync). What the
//! numbers decided is in docs/BENCHMARKS.md ("The store's engine").
//!
//! `cargo bench --manifest-path benches/engines/Cargo.toml -- --warm-up-time 1
//! --measurement-time 3`: a crate outside the workspace, so that CI does not build the candidates
//! that lost (SQLite's and LMDB's C among them).

use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;

use cached::{ConcurrentCached, RedbCache};
use cacher_benches::Payload;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const SIZES: [(usize, &str); 2] = [(200, "200B"), (4 * 1024, "4KiB")];
const PRESENT: usize = 64;

fn key(k: usize) -> [u8; 24] {
    let mut out = *b"bench/key/00000000000000";
    out[10..18].copy_from_slice(&(k as u64).to_be_bytes());
    out
}

fn encode(value: &Payload) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap()
}

fn decode(bytes: &[u8]) -> Payload {
    postcard::from_bytes(bytes).unwrap()
}

/// One engine: put and get bytes by key, non-durably.
trait Engine {
    fn put(&self, key: &[u8], value: &[u8]);
    fn get(&self, key: &[u8]) -> Payload;
}

struct Lmdb {
    env: heed::Env,
    db: heed::Database<heed::types::Bytes, heed::types::Bytes>,
}

impl Lmdb {
    #[allow(unsafe_code)]
    fn open(dir: &Path) -> Self {
        let mut options = heed::EnvOpenOptions::new();
        options.map_size(1 << 30);
        // SAFETY: the bench opens this directory once, and nothing else maps it.
        let env = unsafe {
            options.flags(heed::EnvFlags::NO_SYNC);
            options.open(dir).unwrap()
        };
        let mut txn = env.write_txn().unwrap();
        let db = env.create_database(&mut txn, None).unwrap();
        txn.commit().unwrap();
        Self { env, db }
    }
}

impl Engine for Lmdb {
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut txn = self.env.write_txn().unwrap();
        self.db.put(&mut txn, key, value).unwrap();
        txn.commit().unwrap();
    }
    fn get(&self, key: &[u8]) -> Payload {
        let txn = self.env.read_txn().unwrap();
        decode(self.db.get(&txn, key).unwrap().unwrap())
    }
}

struct Sqlite(rusqlite::Connection);

impl Sqlite {
    fn open(dir: &Path) -> Self {
        let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
             CREATE TABLE IF NOT EXISTS e (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        Self(conn)
    }
}

impl Engine for Sqlite {
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut stmt = self
            .0
            .prepare_cached("INSERT OR REPLACE INTO e (k, v) VALUES (?1, ?2)")
            .unwrap();
        stmt.execute((key, value)).unwrap();
    }
    fn get(&self, key: &[u8]) -> Payload {
        let mut stmt = self
            .0
            .prepare_cached("SELECT v FROM e WHERE k = ?1")
            .unwrap();
        stmt.query_row([key], |row| {
            let bytes = row.get_ref(0)?.as_blob()?;
            Ok(decode(bytes))
        })
        .unwrap()
    }
}

const TABLE: redb::TableDefinition<'_, &[u8], &[u8]> = redb::TableDefinition::new("e");

struct Redb(redb::Database);

impl Engine for Redb {
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut txn = self.0.begin_write().unwrap();
        txn.set_durability(redb::Durability::None).unwrap();
        txn.open_table(TABLE).unwrap().insert(key, value).unwrap();
        txn.commit().unwrap();
    }
    fn get(&self, key: &[u8]) -> Payload {
        use redb::ReadableDatabase;
        let txn = self.0.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        decode(table.get(key).unwrap().unwrap().value())
    }
}

struct Fjall {
    _db: fjall::Database,
    items: fjall::Keyspace,
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.items.insert(key, value).unwrap();
    }
    fn get(&self, key: &[u8]) -> Payload {
        decode(&self.items.get(key).unwrap().unwrap())
    }
}

struct Peer(RedbCache<String, Payload>);

impl Engine for Peer {
    fn put(&self, key: &[u8], value: &[u8]) {
        let key = String::from_utf8_lossy(key).into_owned();
        self.0.cache_set(key, decode(value)).unwrap();
    }
    fn get(&self, key: &[u8]) -> Payload {
        let key = String::from_utf8_lossy(key).into_owned();
        self.0.cache_get(&key).unwrap().unwrap()
    }
}

fn engines(root: &Path, label: &str) -> Vec<(&'static str, Box<dyn Engine>)> {
    let dir = |name: &str| {
        let dir = root.join(format!("{name}-{label}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let redb = redb::Database::create(dir("redb").join("store.redb")).unwrap();
    let fjall_db = fjall::Database::builder(dir("fjall")).open().unwrap();
    let items = fjall_db
        .keyspace("e", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    let peer = RedbCache::builder(format!("peer-{label}"))
        .disk_dir(dir("peer"))
        .durable(false)
        .build()
        .unwrap();
    vec![
        ("heed_lmdb", Box::new(Lmdb::open(&dir("lmdb")))),
        ("rusqlite", Box::new(Sqlite::open(&dir("sqlite")))),
        ("redb", Box::new(Redb(redb))),
        (
            "fjall",
            Box::new(Fjall {
                _db: fjall_db,
                items,
            }),
        ),
        ("cached_RedbCache", Box::new(Peer(peer))),
    ]
}

fn bench(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    for (size, label) in SIZES {
        let value = Payload::of_json_size(size);
        let bytes = encode(&value);
        let all = engines(root.path(), label);
        for (_, engine) in &all {
            for k in 0..PRESENT {
                engine.put(&key(k), &bytes);
            }
        }
        let next = Cell::new(0usize);
        let step = || {
            let k = next.get();
            next.set((k + 1) % PRESENT);
            key(k)
        };
        let mut group = c.benchmark_group(format!("engine_hit_{label}"));
        group.sample_size(20);
        for (name, engine) in &all {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| black_box(engine.get(&step())));
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("engine_store_{label}"));
        group.sample_size(20);
        for (name, engine) in &all {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| engine.put(&step(), &encode(black_box(&value))));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
