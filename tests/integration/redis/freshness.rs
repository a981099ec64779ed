//! Freshness over Redis: the entry's own ttl, the stale-while-revalidate window and the idle
//! time become Redis's expiry; a background refresh replaces the entry in Redis.

use std::time::Duration;

use cacher::{Cache, Clock, RedisBackend, RedisOptions};
use cacher_tests::redis_server::RedisServer;

use crate::freshness::eventually;

const MIN: Duration = Duration::from_secs(60);

fn pttl(server: &RedisServer, cache: &Cache<u32, String>, key: u32) -> i64 {
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    let redis_key = backend.redis_key(cache.namespace(), None, &cache.key_of(&key).unwrap());
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("PTTL").arg(redis_key).query(&mut con).unwrap()
}

fn builder(
    server: &RedisServer,
    namespace: &str,
    clock: Clock,
) -> cacher::CacheBuilder<u32, String> {
    Cache::builder()
        .namespace(namespace)
        .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
        .clock(clock)
}

/// At most 5 s below `expected` (the test's own time passes too).
fn near(pttl: i64, expected: Duration) -> bool {
    let expected = i64::try_from(expected.as_millis()).unwrap();
    (expected - 5_000..=expected).contains(&pttl)
}

#[test]
fn the_entry_ttl_from_the_value_is_redis_expiry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (clock, _mock) = Clock::mock();
    let cache = builder(&server, "fresh::ttl_fn", clock)
        .ttl(60 * MIN)
        .ttl_fn(|v: &String| v.strip_prefix("short").map(|_| MIN))
        .build()
        .unwrap();
    cache.get_or_compute(&1, || "short-lived".to_owned());
    cache.get_or_compute(&2, || "long-lived".to_owned());
    assert!(
        near(pttl(&server, &cache, 1), MIN),
        "{}",
        pttl(&server, &cache, 1)
    );
    assert!(near(pttl(&server, &cache, 2), 60 * MIN));
}

#[test]
fn redis_keeps_an_entry_through_the_revalidate_window_and_a_refresh_replaces_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (clock, mock) = Clock::mock();
    let cache = builder(&server, "fresh::swr", clock)
        .ttl(MIN)
        .stale_while_revalidate(10 * MIN)
        .build()
        .unwrap();
    cache.insert(&1, "old".to_owned()).unwrap();
    assert!(near(pttl(&server, &cache, 1), 11 * MIN));
    mock.advance(2 * MIN);
    let got = cache.try_get_or_refresh(&1, || Ok::<_, String>("new".to_owned()));
    assert_eq!(got, Ok("old".to_owned()));
    eventually("the refresh in Redis", || {
        cache.get(&1).as_deref() == Some("new")
    });
}

/// A use is not written to Redis (see `freshness::idle`: a rewrite after a check could put back
/// a value another process replaced in between): the entry's expiry stays its write's, and its
/// idle window counts from its write.
#[test]
fn a_use_leaves_the_redis_expiry_of_an_idle_entry_as_its_write_set_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (clock, mock) = Clock::mock();
    let cache = builder(&server, "fresh::tti", clock)
        .time_to_idle(10 * MIN)
        .build()
        .unwrap();
    cache.insert(&1, "v".to_owned()).unwrap();
    assert!(near(pttl(&server, &cache, 1), 10 * MIN));
    mock.advance(3 * MIN);
    assert_eq!(cache.get(&1).as_deref(), Some("v"));
    assert!(
        near(pttl(&server, &cache, 1), 10 * MIN),
        "not renewed: {}",
        pttl(&server, &cache, 1)
    );
    mock.advance(8 * MIN);
    assert_eq!(cache.get(&1), None, "11 min after its write");
}

/// An `insert` whose value's time is already up when Redis is written (its own ttl passed since
/// its creation: here the cache's clock stands still while real time goes on, as a slow tier
/// before Redis would make it) writes nothing there, and must still take the older entry out —
/// and move the key's generation — as any `insert` does: it wrote nothing and left the value it
/// replaced, served again once the memory tier forgets the key. Session 15 review: failed before.
#[test]
fn an_insert_whose_time_is_up_in_redis_takes_the_older_entry_out() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (clock, _mock) = Clock::mock();
    let cache = builder(&server, "fresh::up", clock)
        .ttl(60 * MIN)
        .ttl_fn(|v: &String| v.strip_prefix("brief").map(|_| Duration::from_millis(20)))
        .build()
        .unwrap();
    cache.insert(&1, "old".to_owned()).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    cache.insert(&1, "brief".to_owned()).unwrap();
    assert_eq!(cache.get(&1), None, "the replaced value was left in Redis");
}
