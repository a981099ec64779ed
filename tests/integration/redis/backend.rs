//! The Redis backend against a real server: the key layout, two processes sharing entries, ttl as
//! Redis expiry, invalidate and clear touching only the cache's own keys, and tiers in front of
//! Redis. Each test starts its own `redis-server` (see `cacher_tests::redis_server`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cacher::entry::{Entry, EntryKey};
use cacher::format::PostcardFormatter;
use cacher::{
    Cache, MemoryBackend, PersistentBackend, RedisBackend, RedisOptions, SeparateFileBackend,
};
use cacher_tests::redis_server::{RedisServer, child_results, spawn_self};
use cacher_tests::{Calls, test_name};

/// The child process's role, and the server it is to use.
const ROLE_ENV: &str = "CACHER_TEST_REDIS_ROLE";
const URL_ENV: &str = "CACHER_TEST_REDIS_URL";

fn connection(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn redis_cache(url: &str, namespace: &str) -> Cache<u32, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(RedisBackend::new(RedisOptions::new(url)).unwrap())
        .build()
        .unwrap()
}

fn exists(con: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(con).unwrap() == 1
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn entries_are_one_key_each_under_the_namespace_and_read_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache: Cache<(String, u32), Vec<String>> = Cache::builder()
        .namespace("app::fetch_posts")
        .arg_names(&["endpoint", "user_id"])
        .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
        .build()
        .unwrap();
    let calls = Calls::default();
    let key = ("/posts".to_string(), 1);
    let fetch = || {
        calls.hit();
        vec!["post".to_string()]
    };
    assert_eq!(cache.get_or_compute(&key, fetch), ["post"]);
    assert_eq!(cache.get_or_compute(&key, fetch), ["post"]);
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.stats().errors, 0);

    let mut con = connection(&server);
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.sort();
    // The namespace's generations hash, started by the miss's read of its generation.
    assert_eq!(
        keys,
        [
            "cacher:gen:{app::fetch_posts}",
            "cacher:{app::fetch_posts}:(v2)endpoint=%2Fposts_user_id=1"
        ]
    );
    keys.remove(0);
    let json: String = redis::cmd("GET").arg(&keys[0]).query(&mut con).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["namespace"], "app::fetch_posts");
    assert_eq!(json["key"], "(v2)endpoint=%2Fposts_user_id=1");
    assert_eq!(json["value"], serde_json::json!(["post"]));
    // No ttl given to the backend: no expiry.
    let pttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut con).unwrap();
    assert_eq!(pttl, -1);
}

#[test]
fn another_formatter_and_a_foreign_value_is_a_miss() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("postcard")
        .backend(
            RedisBackend::new(RedisOptions::new(server.url()))
                .unwrap()
                .formatter(PostcardFormatter),
        )
        .build()
        .unwrap();
    cache.insert(&1, "one".to_string()).unwrap();
    let mut con = connection(&server);
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg("cacher:{postcard}:(v2)1")
        .query(&mut con)
        .unwrap();
    assert_ne!(bytes.first(), Some(&b'{'), "postcard, not JSON");
    assert_eq!(cache.get(&1).as_deref(), Some("one"));

    // Garbage, or another key's entry, under this key: a miss (and an error count), never a
    // wrong value; the next store overwrites it.
    let _: () = redis::cmd("SET")
        .arg("cacher:{postcard}:(v2)1")
        .arg("garbage")
        .query(&mut con)
        .unwrap();
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.stats().errors, 1);
    cache.insert(&2, "two".to_string()).unwrap();
    let two_bytes: Vec<u8> = redis::cmd("GET")
        .arg("cacher:{postcard}:(v2)2")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("cacher:{postcard}:(v2)1")
        .arg(two_bytes)
        .query(&mut con)
        .unwrap();
    assert_eq!(cache.get(&1), None, "key 2's entry under key 1");
    assert_eq!(cache.stats().errors, 2);
    assert_eq!(cache.get_or_compute(&1, || "one again".into()), "one again");
    assert_eq!(cache.get(&1).as_deref(), Some("one again"));
    assert_eq!(cache.get(&2).as_deref(), Some("two"));
}

/// The child side of [`two_processes_share_entries`]: a no-op unless started as that child.
#[test]
fn child_share_entries() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    assert_eq!(role, "share");
    let url = std::env::var(URL_ENV).unwrap();
    let cache = redis_cache(&url, "shared");
    let calls = Calls::default();
    let one = cache.get_or_compute(&1, || {
        calls.hit();
        "child 1".to_string()
    });
    let two = cache.get_or_compute(&2, || {
        calls.hit();
        "child 2".to_string()
    });
    println!("RESULT one={one}");
    println!("RESULT two={two}");
    println!("RESULT calls={}", calls.count());
    println!("RESULT errors={}", cache.stats().errors);
}

#[test]
fn two_processes_share_entries() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server.url(), "shared");
    assert_eq!(cache.get_or_compute(&1, || "parent 1".into()), "parent 1");

    let child = spawn_self(
        &test_name!(child_share_entries),
        &[(ROLE_ENV, "share".into()), (URL_ENV, server.url())],
    );
    let results = child_results(child);
    let get = |name: &str| {
        results
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {results:?}"))
    };
    // The child found the parent's entry, and computed only the other one.
    assert_eq!(get("one"), "parent 1");
    assert_eq!(get("two"), "child 2");
    assert_eq!(get("calls"), "1");
    assert_eq!(get("errors"), "0");
    // And the parent finds the child's.
    let calls = Calls::default();
    let two = cache.get_or_compute(&2, || {
        calls.hit();
        "parent 2".into()
    });
    assert_eq!(two, "child 2");
    assert_eq!(calls.count(), 0);
}

#[test]
fn the_ttl_is_redis_expiry_counted_from_the_entry_creation() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let ttl = Duration::from_millis(200);
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("ttl")
        .backend(
            RedisBackend::new(RedisOptions::new(server.url()))
                .unwrap()
                .ttl(ttl),
        )
        .ttl(ttl)
        .build()
        .unwrap();
    cache.insert(&1, "one".into()).unwrap();
    let mut con = connection(&server);
    let pttl: i64 = redis::cmd("PTTL")
        .arg("cacher:{ttl}:(v2)1")
        .query(&mut con)
        .unwrap();
    assert!((1..=200).contains(&pttl), "PTTL {pttl}");
    assert_eq!(cache.get(&1).as_deref(), Some("one"));

    // Redis's expiry runs on Redis's clock, which no mock clock moves: this one test sleeps,
    // briefly, past the 200 ms ttl.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !exists(&mut con, "cacher:{ttl}:(v2)1"),
        "Redis dropped the entry"
    );
    assert_eq!(cache.get(&1), None);

    // An entry copied from another tier keeps its creation time, so its Redis expiry is what is
    // left of its ttl; an entry whose time is up is not written at all.
    let backend = RedisBackend::new(RedisOptions::new(server.url()))
        .unwrap()
        .ttl(ttl);
    let key = |k| EntryKey {
        namespace: "ttl",
        version: None,
        key: k,
        args: None,
        type_name: std::any::type_name::<String>(),
        code: None,
    };
    let entry = |age_ms: u64| Entry::new("old".to_string(), now_ms() - age_ms);
    PersistentBackend::<String>::insert(&backend, &key("aged"), &entry(150)).unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("cacher:{ttl}:aged")
        .query(&mut con)
        .unwrap();
    assert!(
        (1..=50).contains(&pttl),
        "PTTL {pttl} of an entry 150 ms old"
    );
    PersistentBackend::<String>::insert(&backend, &key("expired"), &entry(300)).unwrap();
    assert!(!exists(&mut con, "cacher:{ttl}:expired"));
}

#[test]
fn the_cache_ttl_and_grace_become_redis_expiry_without_being_repeated() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache: Cache<u32, String> = Cache::builder()
        .namespace("app::retention")
        .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
        .ttl(Duration::from_secs(60))
        .stale_if_error(Duration::from_secs(30))
        .build()
        .unwrap();
    cache.insert(&1, "one".to_owned()).unwrap();
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(backend.redis_key("app::retention", None, &cache.key_of(&1).unwrap()))
        .query(&mut connection(&server))
        .unwrap();
    // ttl + grace = 90 s, counted from the entry's creation a moment ago.
    assert!((85_000..=90_000).contains(&pttl), "PTTL {pttl}");
}

#[test]
fn invalidate_and_clear_touch_only_the_cache_keys() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server.url(), "app::clear_me");
    let neighbour = redis_cache(&server.url(), "app::clear_me::child");
    for n in 0..3 {
        cache.insert(&n, format!("mine {n}")).unwrap();
        neighbour.insert(&n, format!("neighbour {n}")).unwrap();
    }
    let mut con = connection(&server);
    // More entries than one SCAN batch (500), written directly.
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    let mut pipe = redis::pipe();
    for n in 100..1300 {
        pipe.cmd("SET")
            .arg(backend.redis_key("app::clear_me", None, &n.to_string()))
            .arg("x")
            .ignore();
    }
    let foreign = [
        "user:1",
        "app::clear_me",
        "app::clear_me:1",
        "cacher:app::clear_me:1",
        "cacher:{app::clear_me}",
        "cacher:{app::clear_me}x:1",
        "cacher:{app::clear_mex}:1",
        "cacher:{app::clear_m}:1",
        "cacher:{APP::CLEAR_ME}:1",
        "cacher:rate:app::clear_me",
        "cacher:lock:app::clear_me:1",
    ];
    for key in foreign {
        pipe.cmd("SET").arg(key).arg("foreign").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let neighbours = 3;
    // The two namespaces' generations hashes (`cacher:gen:{…}`), which `clear` keeps.
    let generations = [
        "cacher:gen:{app::clear_me}",
        "cacher:gen:{app::clear_me::child}",
    ];
    let size = |con: &mut redis::Connection| {
        redis::cmd("DBSIZE").query::<usize>(con).unwrap() - generations.len()
    };
    assert_eq!(size(&mut con), 3 + 1200 + neighbours + foreign.len());

    // Invalidate: one key of this cache, nothing else.
    cache.remove(&1).unwrap();
    assert!(!exists(&mut con, "cacher:{app::clear_me}:(v2)1"));
    assert_eq!(cache.get(&0).as_deref(), Some("mine 0"));
    assert_eq!(neighbour.get(&1).as_deref(), Some("neighbour 1"));
    assert_eq!(size(&mut con), 2 + 1200 + neighbours + foreign.len());

    // Clear: every key of this cache, in batches, nothing else.
    cache.clear().unwrap();
    assert_eq!(size(&mut con), neighbours + foreign.len());
    for key in foreign.into_iter().chain(generations) {
        assert!(exists(&mut con, key), "{key} survived");
    }
    for n in 0..3 {
        assert_eq!(neighbour.get(&n), Some(format!("neighbour {n}")));
        assert_eq!(cache.get(&n), None);
    }
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn a_redis_hit_fills_the_memory_tier_in_front_of_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let tiered = |url: &str| -> Cache<u32, String> {
        Cache::builder()
            .namespace("tiers")
            .backend(MemoryBackend::new())
            .backend(RedisBackend::new(RedisOptions::new(url)).unwrap())
            .build()
            .unwrap()
    };
    let first = tiered(&server.url());
    assert_eq!(first.get_or_compute(&1, || "one".into()), "one");

    // Another process (a fresh cache): a Redis hit, which fills its memory tier.
    let second = tiered(&server.url());
    let calls = Calls::default();
    let compute = || {
        calls.hit();
        "recomputed".to_string()
    };
    assert_eq!(second.get_or_compute(&1, compute), "one");
    let mut con = connection(&server);
    let _: () = redis::cmd("UNLINK")
        .arg("cacher:{tiers}:(v2)1")
        .query(&mut con)
        .unwrap();
    assert_eq!(second.get_or_compute(&1, compute), "one", "from memory");
    assert_eq!(calls.count(), 0);
}

#[test]
fn a_redis_hit_fills_the_file_tier_keeping_the_creation_time() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tiered = || -> Cache<u32, String> {
        Cache::builder()
            .namespace("three_tiers")
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
            .build()
            .unwrap()
    };
    // Written by a machine with no file tier of ours: only in Redis.
    let elsewhere = redis_cache(&server.url(), "three_tiers");
    elsewhere.insert(&7, "seven".into()).unwrap();

    let cache = tiered();
    let calls = Calls::default();
    let compute = || {
        calls.hit();
        "recomputed".to_string()
    };
    assert_eq!(cache.get_or_compute(&7, compute), "seven");
    // The Redis hit filled the file tier, keeping the creation time.
    let path = cache.path_of(&7).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut con = connection(&server);
    let in_redis: String = redis::cmd("GET")
        .arg("cacher:{three_tiers}:(v2)7")
        .query(&mut con)
        .unwrap();
    let in_redis: serde_json::Value = serde_json::from_str(&in_redis).unwrap();
    assert_eq!(file["created_ms"], in_redis["created_ms"]);
    assert_eq!(file["value"], "seven");

    // A computed value goes to every tier.
    assert_eq!(cache.get_or_compute(&8, || "eight".into()), "eight");
    assert!(cache.path_of(&8).unwrap().exists());
    assert!(exists(&mut con, "cacher:{three_tiers}:(v2)8"));

    // With Redis emptied, a fresh process still hits the file tier.
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    let fresh = tiered();
    assert_eq!(fresh.get_or_compute(&7, compute), "seven");
    assert_eq!(calls.count(), 0);
    assert_eq!(cache.stats().errors + fresh.stats().errors, 0);
}

/// A cache in a `static` outlives the runtimes that use it (consecutive `#[tokio::test]`s each
/// have their own), and a current-thread runtime only drives its tasks while it runs: every
/// runtime gets a connection of its own, which works whether the others are idle or gone.
#[cfg(feature = "tokio")]
#[test]
fn async_calls_work_from_several_runtimes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server.url(), "async");
    let calls = Calls::default();
    let mut idle_runtimes = Vec::new();
    let started = std::time::Instant::now();
    for round in 0..4 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let value = runtime.block_on(cache.get_or_compute_async(&1, || async {
            calls.hit();
            "one".to_string()
        }));
        assert_eq!(value, "one", "round {round}");
        let value = runtime.block_on(cache.get_or_compute_async(&(10 + round), || async {
            calls.hit();
            format!("{round}")
        }));
        assert_eq!(value, format!("{round}"));
        // Keep some runtimes alive but idle, drop the others.
        if round % 2 == 0 {
            idle_runtimes.push(runtime);
        }
    }
    // A command sent on another runtime's idle connection would wait for its response timeout
    // (500 ms) before being retried on a fresh one.
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.count(), 5);
    assert_eq!(cache.stats().errors, 0);
    assert_eq!(
        cache.get(&11).as_deref(),
        Some("1"),
        "async writes reach Redis"
    );
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_callers_share_one_value() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server.url(), "async_many");
    let calls = Calls::default();
    let mut tasks = Vec::new();
    for n in 0..32u32 {
        let cache = cache.clone();
        let calls = calls.clone();
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_compute_async(&(n % 4), || async {
                    calls.hit();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    format!("v{}", n % 4)
                })
                .await
        }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), format!("v{}", n % 4));
    }
    assert_eq!(calls.count(), 4);
    assert_eq!(cache.stats().errors, 0);
}

/// Two `version`s of one namespace on one server (a rolling deploy) keep their own entries: 100
/// calls over 5 keys compute each key once per version, not on every call.
#[test]
fn two_versions_sharing_a_server_keep_both() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let calls = Calls::default();
    let versioned = |version: &str| -> Cache<u32, String> {
        Cache::builder()
            .namespace("app::deploy")
            .version(version)
            .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
            .build()
            .unwrap()
    };
    let (old, new) = (versioned("1"), versioned("2"));
    for i in 0..100u32 {
        let (cache, version) = if i % 2 == 0 { (&old, "1") } else { (&new, "2") };
        let value = cache.get_or_compute(&(i % 5), || {
            calls.hit();
            format!("v{version}")
        });
        assert_eq!(value, format!("v{version}"));
    }
    assert_eq!(calls.count(), 10);
    // `clear` removes every version's entries of the namespace.
    old.clear().unwrap();
    let mut con = connection(&server);
    let left: Vec<String> = redis::cmd("KEYS").arg("cacher:*").query(&mut con).unwrap();
    // The namespace's generations hash stays: it is what refuses a value computed before the clear.
    assert_eq!(left, ["cacher:gen:{app::deploy}"], "{left:?}");
}

/// A fill (`SET … NX`) stores into a key Redis does not hold, and leaves a held one as it is: a
/// copy from a later tier never overwrites another process's newer write.
#[test]
fn a_fill_stores_only_a_key_redis_does_not_hold() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    let key = EntryKey {
        namespace: "fill",
        version: None,
        key: "1",
        args: None,
        type_name: std::any::type_name::<String>(),
        code: None,
    };
    let entry = |v: &str| Entry::new(v.to_owned(), now_ms());
    let value = || {
        PersistentBackend::<String>::get(&backend, &key)
            .unwrap()
            .map(|e| e.value)
    };
    let seen = PersistentBackend::<String>::generation(&backend, &key).unwrap();
    assert!(backend.fill(&key, &entry("one"), seen).unwrap());
    assert!(!backend.fill(&key, &entry("two"), seen).unwrap());
    assert_eq!(
        value().as_deref(),
        Some("one"),
        "a held key is left as it is"
    );
    PersistentBackend::<String>::remove(&backend, &key).unwrap();
    assert!(
        !backend.fill(&key, &entry("three"), seen).unwrap(),
        "removed since its generation was read: not put back"
    );
    let seen = PersistentBackend::<String>::generation(&backend, &key).unwrap();
    assert!(backend.fill(&key, &entry("three"), seen).unwrap());
    assert_eq!(value().as_deref(), Some("three"));
}

/// The generations' scripts go by their hash (`EVALSHA`: a write carries its arguments, not the
/// script's kilobyte), and again with their text whenever the server no longer holds them (a
/// restart, `SCRIPT FLUSH`, a failover): no write is lost to `NOSCRIPT`.
#[test]
fn the_generations_scripts_go_by_hash_and_again_in_full_when_the_server_forgot_them() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server.url(), "app::scripts");
    let mut con = connection(&server);
    let flush = |con: &mut redis::Connection| {
        redis::cmd("SCRIPT").arg("FLUSH").query::<()>(con).unwrap();
    };
    cache.insert(&1, "one".into()).unwrap();
    flush(&mut con);
    cache.insert(&2, "two".into()).unwrap();
    flush(&mut con);
    cache.remove(&1).unwrap();
    flush(&mut con);
    assert_eq!(cache.get_or_compute(&3, || "three".into()), "three");
    let fresh = redis_cache(&server.url(), "app::scripts");
    let held = (fresh.get(&1), fresh.get(&2), fresh.get(&3));
    assert_eq!(held, (None, Some("two".into()), Some("three".into())));
    flush(&mut con);
    cache.clear().unwrap();
    assert_eq!((fresh.get(&2), fresh.get(&3)), (None, None));
    assert_eq!(cache.stats().errors, 0);
    cache.insert(&4, "four".into()).unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut con)
        .unwrap();
    assert!(
        stats.contains("cmdstat_evalsha:calls="),
        "the scripts go by their hash: {stats}"
    );
}
