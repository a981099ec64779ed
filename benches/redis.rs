//! Redis tier: a hit and a store through cacher's `RedisBackend`, beside a raw `GET`/`SET` of the
//! same bytes on a plain `redis::Connection`, and beside the hand-written equivalent (serde_json
//! of the bare value plus `GET`/`SET`), for a value of about 1 KiB and 16 KiB of JSON.
//!
//! The server is a private `redis-server` on loopback, started here (`--save "" --appendonly no`)
//! and killed at the end; the bench prints a note and does nothing when the binary is missing.
//! A hit is measured without a memory tier, so that every lookup goes to Redis.
//!
//! `cargo bench -p cacher-benches --features redis --bench redis`; see docs/REDIS.md.

use std::hint::black_box;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cacher::format::{Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, RedisBackend};
use cacher_benches::Payload;
use criterion::{BenchmarkId, Criterion, Throughput};

/// Value sizes, as bytes of JSON.
const SIZES: [usize; 2] = [1024, 16 * 1024];

/// A private server, killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Option<Self> {
        let binary = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning redis-server");
        let server = Self {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.connection().is_none() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }

    fn connection(&self) -> Option<redis::Connection> {
        let mut con = redis::Client::open(self.url.as_str())
            .ok()?
            .get_connection()
            .ok()?;
        redis::cmd("PING").query::<String>(&mut con).ok()?;
        Some(con)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cache<F: Formatter>(url: &str, namespace: &str, formatter: F) -> Cache<u32, Payload> {
    Cache::builder()
        .namespace(namespace)
        .backend(
            RedisBackend::new(cacher::RedisOptions::new(url))
                .unwrap()
                .formatter(formatter),
        )
        .build()
        .unwrap()
}

fn get_bytes(con: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

fn set_bytes(con: &mut redis::Connection, key: &str, bytes: &[u8]) {
    redis::cmd("SET")
        .arg(key)
        .arg(bytes)
        .query::<()>(con)
        .unwrap();
}

fn hit(c: &mut Criterion, server: &Server) {
    let json = cache(&server.url, "bench::json", JsonFormatter);
    let postcard = cache(&server.url, "bench::postcard", PostcardFormatter);
    let mut con = server.connection().unwrap();
    let mut group = c.benchmark_group("redis_hit");
    for size in SIZES {
        let key = u32::try_from(size).unwrap();
        let payload = Payload::of_json_size(size);
        json.insert(&key, payload.clone()).unwrap();
        postcard.insert(&key, payload.clone()).unwrap();
        // The very bytes cacher stored, under another key; and the bare value's JSON.
        let entry = get_bytes(&mut con, &format!("cacher:{{bench::json}}:{key}"));
        set_bytes(&mut con, "raw:entry", &entry);
        set_bytes(
            &mut con,
            "raw:value",
            &serde_json::to_vec(&payload).unwrap(),
        );
        group.throughput(Throughput::Bytes(entry.len() as u64));

        group.bench_with_input(BenchmarkId::new("cacher_json", size), &key, |b, key| {
            b.iter(|| black_box(json.get(key).unwrap()));
        });
        group.bench_with_input(BenchmarkId::new("cacher_postcard", size), &key, |b, key| {
            b.iter(|| black_box(postcard.get(key).unwrap()));
        });
        group.bench_function(BenchmarkId::new("raw_get_same_bytes", size), |b| {
            b.iter(|| black_box(get_bytes(&mut con, "raw:entry")));
        });
        group.bench_function(BenchmarkId::new("hand_written_get_json", size), |b| {
            b.iter(|| {
                let bytes = get_bytes(&mut con, "raw:value");
                black_box(serde_json::from_slice::<Payload>(&bytes).unwrap())
            });
        });
    }
    group.finish();
    assert_eq!(json.stats().errors + postcard.stats().errors, 0);
}

fn store(c: &mut Criterion, server: &Server) {
    let json = cache(&server.url, "bench::json", JsonFormatter);
    let postcard = cache(&server.url, "bench::postcard", PostcardFormatter);
    let mut con = server.connection().unwrap();
    let mut group = c.benchmark_group("redis_store");
    for size in SIZES {
        let key = u32::try_from(size).unwrap();
        let payload = Payload::of_json_size(size);
        json.insert(&key, payload.clone()).unwrap();
        let entry = get_bytes(&mut con, &format!("cacher:{{bench::json}}:{key}"));
        group.throughput(Throughput::Bytes(entry.len() as u64));

        // `insert` takes the value by ownership: the clone is part of what a caller pays.
        group.bench_with_input(BenchmarkId::new("cacher_json", size), &key, |b, key| {
            b.iter(|| json.insert(key, payload.clone()));
        });
        group.bench_with_input(BenchmarkId::new("cacher_postcard", size), &key, |b, key| {
            b.iter(|| postcard.insert(key, payload.clone()));
        });
        group.bench_function(BenchmarkId::new("raw_set_same_bytes", size), |b| {
            b.iter(|| set_bytes(&mut con, "raw:entry", black_box(&entry)));
        });
        group.bench_function(BenchmarkId::new("hand_written_set_json", size), |b| {
            b.iter(|| {
                let bytes = serde_json::to_vec(black_box(&payload)).unwrap();
                set_bytes(&mut con, "raw:value", &bytes);
            });
        });
    }
    group.finish();
    assert_eq!(json.stats().errors + postcard.stats().errors, 0);
}

/// One operation of [`interleaved`], run in blocks.
type Variant = Box<dyn FnMut()>;

/// The same comparisons without criterion, interleaved: each round runs a block of every variant
/// in turn, and the table shows the median over rounds of each block's mean. On a busy machine
/// the variants then share the same load, which criterion's one-after-the-other runs cannot
/// promise. Run with `CACHER_BENCH_INTERLEAVED=1`.
fn interleaved(server: &Server) {
    const ROUNDS: usize = 60;
    const BLOCK: u32 = 200;
    let json = cache(&server.url, "bench::json", JsonFormatter);
    let postcard = cache(&server.url, "bench::postcard", PostcardFormatter);
    let mut con = server.connection().unwrap();
    println!(
        "| operation | value (JSON bytes) | JSON entry bytes | median µs/op | p10–p90 of round means |"
    );
    println!("|---|---:|---:|---:|---|");
    for size in SIZES {
        let key = u32::try_from(size).unwrap();
        let payload = Payload::of_json_size(size);
        json.insert(&key, payload.clone()).unwrap();
        postcard.insert(&key, payload.clone()).unwrap();
        let entry = get_bytes(&mut con, &format!("cacher:{{bench::json}}:{key}"));
        set_bytes(&mut con, "raw:entry", &entry);
        set_bytes(
            &mut con,
            "raw:value",
            &serde_json::to_vec(&payload).unwrap(),
        );
        let mut variants: Vec<(&str, Variant)> = Vec::new();
        let mut con1 = server.connection().unwrap();
        let mut con2 = server.connection().unwrap();
        let mut con3 = server.connection().unwrap();
        let mut con4 = server.connection().unwrap();
        let (j1, j2, p1, p2) = (
            json.clone(),
            json.clone(),
            postcard.clone(),
            postcard.clone(),
        );
        let (pl1, pl2) = (payload.clone(), payload.clone());
        let entry2 = entry.clone();
        variants.push((
            "hit: cacher (JSON)",
            Box::new(move || {
                black_box(j1.get(&key).unwrap());
            }),
        ));
        variants.push((
            "hit: cacher (postcard)",
            Box::new(move || {
                black_box(p1.get(&key).unwrap());
            }),
        ));
        variants.push((
            "hit: raw GET of the same bytes",
            Box::new(move || {
                black_box(get_bytes(&mut con1, "raw:entry"));
            }),
        ));
        variants.push((
            "hit: hand-written GET + serde_json",
            Box::new(move || {
                let bytes = get_bytes(&mut con2, "raw:value");
                black_box(serde_json::from_slice::<Payload>(&bytes).unwrap());
            }),
        ));
        variants.push((
            "store: cacher (JSON)",
            Box::new(move || {
                j2.insert(&key, pl1.clone()).unwrap();
            }),
        ));
        variants.push((
            "store: cacher (postcard)",
            Box::new(move || {
                p2.insert(&key, pl2.clone()).unwrap();
            }),
        ));
        variants.push((
            "store: raw SET of the same bytes",
            Box::new(move || {
                set_bytes(&mut con3, "raw:entry", black_box(&entry2));
            }),
        ));
        variants.push((
            "store: hand-written serde_json + SET",
            Box::new(move || {
                let bytes = serde_json::to_vec(black_box(&payload)).unwrap();
                set_bytes(&mut con4, "raw:value", &bytes);
            }),
        ));
        let mut means = vec![Vec::with_capacity(ROUNDS); variants.len()];
        for round in 0..=ROUNDS {
            for (i, (_, run)) in variants.iter_mut().enumerate() {
                let started = Instant::now();
                for _ in 0..BLOCK {
                    run();
                }
                // Round 0 warms up.
                if round > 0 {
                    means[i].push(started.elapsed().as_secs_f64() * 1e6 / f64::from(BLOCK));
                }
            }
        }
        for ((name, _), mut m) in variants.iter().zip(means) {
            m.sort_by(f64::total_cmp);
            let at = |q: f64| m[((m.len() - 1) as f64 * q).round() as usize];
            println!(
                "| {name} | {size} | {} | {:.1} | {:.1}–{:.1} |",
                entry.len(),
                at(0.5),
                at(0.1),
                at(0.9)
            );
        }
    }
    assert_eq!(json.stats().errors + postcard.stats().errors, 0);
}

fn main() {
    let Some(server) = Server::start() else {
        println!("redis bench skipped: redis-server not found");
        return;
    };
    if std::env::var_os("CACHER_BENCH_INTERLEAVED").is_some() {
        interleaved(&server);
        return;
    }
    // Short runs on a small machine; `--measurement-time` etc. on the command line still win.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .configure_from_args();
    hit(&mut c, &server);
    store(&mut c, &server);
    c.final_summary();
    drop(server);
}
