//! The built `cacher` binary against a private redis-server holding entries this program wrote
//! through `RedisBackend`: skipped without `redis-server`, failed instead under
//! `CACHER_REQUIRE_REDIS=1`.

#[path = "common/keyer.rs"]
mod keyer;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cacher::{Cache, HashKeyer, RedisBackend, RedisOptions};
use cacher_tests::redis_server::RedisServer;
use keyer::WholeKeyer;
use serde_json::Value;

fn cacher(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cacher"))
        .arg("--redis")
        .arg(url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the cacher binary runs")
}

/// The cache `demo::greet` on the Redis server at `url`.
fn greet_cache(url: &str) -> Cache<String, String> {
    Cache::builder()
        .namespace("demo::greet")
        .backend(RedisBackend::new(RedisOptions::new(url)).unwrap())
        .build()
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON document")
}

#[test]
fn every_subcommand_works_on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let cache: Cache<String, String> = Cache::builder()
        .namespace("demo::greet")
        .keyer(HashKeyer)
        .backend(RedisBackend::new(RedisOptions::new(url.clone())).unwrap())
        .ttl(Duration::from_secs(3600))
        .build()
        .unwrap();
    for name in ["alice", "bob"] {
        cache.get_or_compute(name, || format!("hello {name}"));
    }
    // Not entries: a lock's key, a user's key, a corrupt entry.
    server.raw(&["SET", "cacher:lock:demo", "x"]);
    server.raw(&["SET", "mine", "x"]);
    server.raw(&["SET", "cacher:{demo::greet}:torn", "{\"cacher\":3,"]);

    let ls = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(ls["caches"][0]["namespace"], "demo::greet");
    assert_eq!(ls["caches"][0]["entries"], 2);
    assert_eq!(ls["problems"], 1);
    // Redis drops expired entries itself: nothing it lists is of unknown expiry.
    assert_eq!(ls["caches"][0]["expiry_unknown"], 0);
    let listed = String::from_utf8_lossy(&cacher(&url, &["ls"]).stdout).into_owned();
    assert!(!listed.contains('?'), "{listed}");

    let shown = json(&cacher(&url, &["show", "demo::greet", "--json"]));
    let entries = shown["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let pttl = entries[0]["expires_in_ms"].as_u64().unwrap();
    assert!(pttl > 3_500_000 && pttl <= 3_600_000, "{pttl}");
    let one = cacher(&url, &["show", "demo::greet", "(v2)bob"]);
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    assert!(
        one.contains("\"hello bob\"") && one.contains("expires in 59m"),
        "{one}"
    );

    let verify = cacher(&url, &["verify"]);
    assert_eq!(verify.status.code(), Some(3));
    assert_eq!(cacher(&url, &["verify", "--repair"]).status.code(), Some(0));
    assert_eq!(
        server.raw(&["EXISTS", "cacher:{demo::greet}:torn"]),
        ":0\r\n"
    );

    let stats = json(&cacher(&url, &["stats", "--json"]));
    assert_eq!(stats["entries"], 2);
    assert_eq!(
        json(&cacher(&url, &["clear", "demo::greet", "--yes", "--json"]))["removed"],
        2
    );
    assert_eq!(cache.get("alice"), None);
    // What is not cacher's entries stays.
    assert_eq!(
        server.raw(&["EXISTS", "mine", "cacher:lock:demo"]),
        ":2\r\n"
    );
}

#[test]
fn an_unreachable_server_is_a_failure_that_says_so() {
    let port = cacher_tests::redis_server::free_port();
    let out = cacher(&format!("redis://127.0.0.1:{port}/"), &["ls"]);
    assert_eq!(out.status.code(), Some(1));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("cannot list") && error.contains(&port.to_string()),
        "{error}"
    );
}

#[test]
fn many_entries_being_written_are_listed_across_scan_batches() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let cache: Cache<u32, u32> = Cache::builder()
        .namespace("demo::many")
        .backend(RedisBackend::new(RedisOptions::new(url.clone())).unwrap())
        .build()
        .unwrap();
    for n in 0..1200 {
        cache.insert(&n, n).unwrap();
    }
    let stop = AtomicBool::new(false);
    let (written, seen) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 1200;
            while !stop.load(Ordering::Relaxed) || n < 1210 {
                cache.insert(&n, n).unwrap();
                n += 1;
            }
            n
        });
        let mut seen = Vec::new();
        for _ in 0..3 {
            let ls = json(&cacher(&url, &["ls", "--json"]));
            assert_eq!(ls["problems"], 0, "{ls}");
            seen.push(ls["caches"][0]["entries"].as_u64().unwrap());
        }
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap(), seen)
    });
    assert!(seen.iter().all(|&n| n >= 1200), "{seen:?}");
    let ls = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(
        ls["caches"][0]["entries"].as_u64(),
        Some(u64::from(written))
    );
}

/// Sets `key` (any bytes) to `value` with a RESP command written by hand.
fn set_raw(port: u16, key: &[u8], value: &[u8]) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut command = b"*3\r\n$3\r\nSET\r\n".to_vec();
    for arg in [key, value] {
        command.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        command.extend_from_slice(arg);
        command.extend_from_slice(b"\r\n");
    }
    stream.write_all(&command).unwrap();
    let mut reply = [0; 5];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+OK\r\n");
}

/// A key under `cacher:{` that is not UTF-8 (planted, or another program's binary key) is
/// listed, reported and repaired like any other; it does not stop the listing. (Failed: every
/// subcommand ended in "Cannot convert from UTF-8", `verify --repair` included.)
#[test]
fn a_key_that_is_not_utf8_is_listed_and_repaired_without_stopping_the_rest() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let cache = greet_cache(&url);
    cache
        .insert(&"alice".to_owned(), "hello".to_owned())
        .unwrap();
    set_raw(server.port(), b"cacher:{\xff}x", b"garbage");
    let ls = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(ls["caches"][0]["namespace"], "demo::greet", "{ls}");
    assert_eq!(ls["problems"], 1, "{ls}");
    let repair = cacher(&url, &["verify", "--repair"]);
    assert_eq!(repair.status.code(), Some(0), "{repair:?}");
    let verify = json(&cacher(&url, &["verify", "--json"]));
    assert_eq!(
        verify["problems"].as_array().map(Vec::len),
        Some(0),
        "{verify}"
    );
    assert_eq!(cache.get("alice").as_deref(), Some("hello"));
}

/// A list (any value not a string) under an entry's key, planted or another program's: `ls`,
/// `show` and `verify` list it as a corrupt entry beside the others, and `verify --repair`
/// removes it. (Failed: the listing's GETRANGE met Redis's WRONGTYPE, which failed the whole
/// pipeline: every subcommand exited with the server's error, saying nothing of the key.)
#[test]
fn a_value_of_another_type_under_an_entry_key_is_listed_as_corrupt_and_repaired() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let cache = greet_cache(&url);
    cache.get_or_compute("alice", || "hello alice".to_owned());
    server.raw(&["RPUSH", "cacher:{demo::greet}:planted", "x"]);

    let ls = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(ls["caches"][0]["entries"], 1, "{ls}");
    assert_eq!(ls["problems"], 1, "{ls}");
    assert_eq!(cacher(&url, &["verify"]).status.code(), Some(3));
    assert_eq!(cacher(&url, &["verify", "--repair"]).status.code(), Some(0));
    assert_eq!(
        server.raw(&["EXISTS", "cacher:{demo::greet}:planted"]),
        ":0\r\n"
    );
    assert_eq!(cache.get("alice").as_deref(), Some("hello alice"));
}

/// An entry whose key (20 000 characters) is longer than the listing's first read of a value is
/// listed as an entry, and `verify --repair` leaves it; it was "corrupt", and removed.
#[test]
fn an_entry_with_a_key_longer_than_a_listings_read_is_an_entry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let cache: Cache<String, String> = Cache::builder()
        .namespace("demo::prompts")
        .keyer(WholeKeyer)
        .backend(RedisBackend::new(RedisOptions::new(url.clone())).unwrap())
        .build()
        .unwrap();
    let prompt = "p".repeat(20_000);
    cache.insert(&prompt, "answer".into()).unwrap();
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
    let ls = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(
        (&ls["caches"][0]["entries"], &ls["problems"]),
        (&Value::from(1), &Value::from(0)),
        "{ls}"
    );
    let verified = cacher(&url, &["verify", "--repair"]);
    assert_eq!(verified.status.code(), Some(0), "{verified:?}");
    assert_eq!(cache.get(&prompt).as_deref(), Some("answer"));
}

/// `SCAN … MATCH cacher:{*` answers batches with no key of cacher's in them — every batch of an
/// empty database, and most batches of one where other programs' keys outnumber cacher's —
/// and each batch's keys were read in one pipeline: an empty one is the client's error, so
/// `cacher ls` of an empty server, or of a busy one, failed ("empty command").
#[test]
fn a_scan_batch_without_entries_lists_nothing_and_goes_on() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let empty = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(empty["caches"].as_array().map(Vec::len), Some(0), "{empty}");
    // Another program's keys, many more than a batch, then one entry of cacher's.
    for batch in 0..10 {
        let pairs: Vec<String> = (0..500)
            .flat_map(|i| [format!("other:{batch}:{i}"), i.to_string()])
            .collect();
        let mut args = vec!["MSET"];
        args.extend(pairs.iter().map(String::as_str));
        assert_eq!(server.raw(&args), "+OK\r\n");
    }
    greet_cache(&url).insert("alice", "hello".into()).unwrap();
    let listed = json(&cacher(&url, &["ls", "--json"]));
    assert_eq!(
        listed["caches"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["caches"][0]["namespace"], "demo::greet", "{listed}");
}
