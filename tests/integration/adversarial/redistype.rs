//! Left by the attacker of session 11: a value of another Redis type (a list, a hash) planted
//! under a cache entry's key made every `GET` fail with `WRONGTYPE`, which the cache took for the
//! server being down: the tier was skipped, never written, and the key recomputed on every call
//! until the planted value expired — where a corrupt file entry is a miss that the next write
//! replaces.

use cacher::{Cache, RedisBackend, RedisOptions};
use cacher_tests::Calls;
use cacher_tests::redis_server::RedisServer;

fn redis_cache(server: &RedisServer) -> Cache<u32, String> {
    Cache::builder()
        .namespace("planted")
        .backend(RedisBackend::new(RedisOptions::new(server.url())).unwrap())
        .build()
        .unwrap()
}

/// Replaces the one entry on `server` by a list under its key, and gives that key.
fn plant_a_list(server: &RedisServer) -> String {
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    // The entry's, not the namespace's generations hash.
    let keys: Vec<String> = redis::cmd("KEYS").arg("cacher:{*").query(&mut con).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    redis::cmd("DEL").arg(&keys[0]).exec(&mut con).unwrap();
    redis::cmd("RPUSH")
        .arg(&keys[0])
        .arg("planted")
        .exec(&mut con)
        .unwrap();
    keys[0].clone()
}

fn type_of(server: &RedisServer, key: &str) -> String {
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("TYPE").arg(key).query(&mut con).unwrap()
}

#[test]
fn a_value_of_another_type_under_an_entrys_key_is_a_miss_that_the_next_write_replaces() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server);
    let calls = Calls::default();
    let compute = || {
        calls.hit();
        "value".to_owned()
    };
    assert_eq!(cache.get_or_compute(&1, compute), "value");
    let key = plant_a_list(&server);
    assert_eq!(cache.get_or_compute(&1, compute), "value");
    assert_eq!(
        type_of(&server, &key),
        "string",
        "the entry was written over the list"
    );
    assert_eq!(cache.get_or_compute(&1, compute), "value");
    assert_eq!(calls.count(), 2, "the third call is a hit");
    assert_eq!(cache.stats().errors, 1, "the planted value, reported once");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn the_same_in_an_async_call() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server);
    let calls = Calls::default();
    let compute = || async {
        calls.hit();
        "value".to_owned()
    };
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "value");
    let key = plant_a_list(&server);
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "value");
    assert_eq!(
        type_of(&server, &key),
        "string",
        "the entry was written over the list"
    );
    assert_eq!(cache.get_or_compute_async(&1, compute).await, "value");
    assert_eq!(calls.count(), 2, "the third call is a hit");
    assert_eq!(cache.stats().errors, 1, "the planted value, reported once");
}

/// Replaces the namespace's generations hash by a string (another program's value under its
/// name, or an attacker's).
fn plant_at_the_generations(server: &RedisServer) {
    let reply = server.raw(&["SET", "cacher:gen:{planted}", "planted"]);
    assert_eq!(reply, "+OK\r\n");
}

/// A string planted where the namespace's generations hash is: every script that moves or
/// compares a generation failed with `WRONGTYPE` — a `remove` left the entry in place (its
/// `UNLINK` runs after the move in the script), an `insert` wrote nothing, and every miss took
/// the tier for down and recomputed the key, for good (the hash has no expiry). Session 15
/// review: failed before. Now a value of another type there is a lost hash, made anew (its
/// generations start again at a random value, which no generation read before matches).
#[test]
fn a_value_of_another_type_at_the_generations_hash_keeps_no_invalidated_entry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server);
    cache.insert(&1, "old".to_owned()).unwrap();
    plant_at_the_generations(&server);
    cache.remove(&1).unwrap();
    assert_eq!(cache.get(&1), None, "the removed entry stayed");
    plant_at_the_generations(&server);
    cache.insert(&1, "new".to_owned()).unwrap();
    assert_eq!(cache.get(&1).as_deref(), Some("new"));
    plant_at_the_generations(&server);
    cache.clear().unwrap();
    assert_eq!(cache.get(&1), None, "the cleared entry stayed");

    let calls = Calls::default();
    let compute = || {
        calls.hit();
        "value".to_owned()
    };
    plant_at_the_generations(&server);
    assert_eq!(cache.get_or_compute(&2, compute), "value");
    assert_eq!(cache.get_or_compute(&2, compute), "value");
    assert_eq!(calls.count(), 1, "the second call is a hit");
    assert_eq!(type_of(&server, "cacher:gen:{planted}"), "hash");
}

/// A hash at the generations' name whose `all` is not a count of cacher's (another program's, or
/// planted): not a number (`x`), or one only Lua's `tonumber` reads as one (a fraction, a sign,
/// an exponent, hex, `nan`). Every computed value's write compared it with a number and refused,
/// or the reads could not parse it (every miss "not started", the tier taken for down), and
/// every `clear` failed (`HINCRBY` on a non-integer), for good — the hash has no expiry. Failed
/// before (session 15's note; the Lua-only numbers, session 16's review): only an `all` of digits
/// is ours, and another hash is a lost one, made anew as a value of another type there is.
#[test]
fn a_generations_hash_whose_count_of_clears_is_not_ours_is_made_anew() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = redis_cache(&server);
    for (key, planted) in (0u32..).zip(["x", "1.5", "-1", "1e3", "0x10", "nan", " 7"]) {
        let plant = || {
            let reply = server.raw(&["HSET", "cacher:gen:{planted}", "all", planted]);
            assert!(reply.starts_with(':'), "{reply}");
        };
        let calls = Calls::default();
        let compute = || {
            calls.hit();
            "value".to_owned()
        };
        plant();
        assert_eq!(cache.get_or_compute(&key, compute), "value");
        assert_eq!(cache.get_or_compute(&key, compute), "value");
        assert_eq!(calls.count(), 1, "{planted:?}: the second call is a hit");
        plant();
        cache.clear().unwrap_or_else(|e| panic!("{planted:?}: {e}"));
        assert_eq!(
            cache.get(&key),
            None,
            "{planted:?}: the cleared entry stayed"
        );
        plant();
        cache.insert(&key, "inserted".to_owned()).unwrap();
        cache.remove(&key).unwrap();
        assert_eq!(
            cache.get(&key),
            None,
            "{planted:?}: the removed entry stayed"
        );
        assert_eq!(cache.stats().errors, 0, "{planted:?}");
    }
}

/// Garbage planted in every stripe of a namespace's generations hash (helper-111): the scripts
/// read a count with `tonumber`, so `-5` made every store's count of moves negative and `1e309`
/// NaN — every computed value's write refused for good, uncounted, and (NaN) every `remove` and
/// `insert` failing in the script. A count that is not digits is 0 now, to the scripts as to the
/// reads: the next invalidation writes a count of its own.
#[test]
fn garbage_in_the_generations_stripes_costs_no_store_nor_removal() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    for garbage in ["-5,a,b,c,d", "1e309", "nan", "1.5,x"] {
        let cache = redis_cache(&server);
        cache.clear().unwrap();
        let plant = "for i=0,4095 do redis.call('HSET',KEYS[1],tostring(i),ARGV[1]) end";
        redis::cmd("EVAL")
            .arg(plant)
            .arg(1)
            .arg("cacher:gen:{planted}")
            .arg(garbage)
            .exec(&mut con)
            .unwrap();
        let calls = Calls::default();
        let compute = || {
            calls.hit();
            "value".to_owned()
        };
        assert_eq!(cache.get_or_compute(&1, compute), "value");
        assert_eq!(
            redis_cache(&server).get_or_compute(&1, compute),
            "value",
            "{garbage}"
        );
        assert_eq!(
            calls.count(),
            1,
            "{garbage}: the computed value was not stored"
        );
        cache.insert(&2, "two".into()).expect(garbage);
        cache.remove(&1).expect(garbage);
        assert_eq!(redis_cache(&server).get(&1), None, "{garbage}: removed");
        assert_eq!(cache.stats().errors, 0, "{garbage}");
    }
}
