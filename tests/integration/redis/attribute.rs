//! `#[cached(backend = ["memory", "redis"])]` end to end. The server's port is only known at run
//! time, so the attribute's functions run in child processes (this test binary again) with
//! `CACHER_REDIS_URL` pointing at it — which also shows two processes sharing entries.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use cacher::cached;
use cacher_tests::redis_server::{RedisServer, child_results, spawn_self};
use cacher_tests::test_name;

const ROLE_ENV: &str = "CACHER_TEST_REDIS_ATTRIBUTE_ROLE";

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = ["memory", "redis"], formatter = "postcard", ttl = "1h")]
fn user_name(id: u32) -> Result<String, String> {
    CALLS.fetch_add(1, SeqCst);
    if id == 0 {
        return Err("no user 0".into());
    }
    Ok(format!("user {id}"))
}

/// The child side: a no-op unless started by [`processes_share_a_redis_backed_function`].
#[test]
fn child_calls_user_name() {
    if std::env::var(ROLE_ENV).is_err() {
        return;
    }
    println!("RESULT seven={}", user_name(7).unwrap());
    println!("RESULT again={}", user_name(7).unwrap());
    println!("RESULT zero={}", user_name(0).unwrap_err());
    println!("RESULT calls={}", CALLS.load(SeqCst));
    println!("RESULT errors={}", user_name_cache().stats().errors);
}

fn run_child(server: &RedisServer) -> Vec<(String, String)> {
    let child = spawn_self(
        &test_name!(child_calls_user_name),
        &[
            (ROLE_ENV, "child".into()),
            ("CACHER_REDIS_URL", server.url()),
        ],
    );
    child_results(child)
}

fn get<'a>(results: &'a [(String, String)], name: &str) -> &'a str {
    results
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {results:?}"))
}

#[test]
fn processes_share_a_redis_backed_function() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let first = run_child(&server);
    assert_eq!(get(&first, "seven"), "user 7");
    assert_eq!(get(&first, "again"), "user 7");
    // 7 computed once (the second call hit memory), 0 failed and was not stored.
    assert_eq!(get(&first, "calls"), "2");
    assert_eq!(get(&first, "errors"), "0");

    // The entry is in Redis under the function's namespace, with the ttl as its expiry.
    let keys = server.raw(&["KEYS", "cacher:*"]);
    let namespace = format!("{}::user_name", module_path!());
    assert!(
        keys.contains(&format!("{{{namespace}}}:(v2)id=7")),
        "{keys}"
    );
    assert!(!keys.contains("id=0"), "an Err must not be stored: {keys}");

    // A second process finds 7 in Redis and computes only the failing call again.
    let second = run_child(&server);
    assert_eq!(get(&second, "seven"), "user 7");
    assert_eq!(get(&second, "calls"), "1");
}

/// `team_name` before a move, and after it (in another module): one pinned namespace.
mod before {
    #[cacher::cached(backend = "redis", namespace = "teams::name")]
    pub fn team_name(id: u32) -> String {
        super::CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("team {id}")
    }
}

mod after {
    #[cacher::cached(backend = "redis", namespace = "teams::name")]
    pub fn team_name(id: u32) -> String {
        super::CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("team {id}")
    }
}

/// The child side of [`a_pinned_namespace_names_the_redis_keys_and_survives_a_move`].
#[test]
fn child_calls_team_name() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let name = match role.as_str() {
        "before" => before::team_name(3),
        _ => after::team_name(3),
    };
    println!("RESULT name={name}");
    println!("RESULT calls={}", CALLS.load(SeqCst));
}

#[test]
fn a_pinned_namespace_names_the_redis_keys_and_survives_a_move() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let run = |role: &str| {
        let envs = [
            (ROLE_ENV, role.to_owned()),
            ("CACHER_REDIS_URL", server.url()),
        ];
        child_results(spawn_self(&test_name!(child_calls_team_name), &envs))
    };
    let first = run("before");
    assert_eq!(get(&first, "calls"), "1");
    // `<package>::<namespace>`, whatever the module.
    let keys = server.raw(&["KEYS", "cacher:*"]);
    assert!(
        keys.contains("cacher:{cacher_tests::teams::name}:(v2)id=3"),
        "{keys}"
    );
    let moved = run("after");
    assert_eq!(get(&moved, "name"), "team 3");
    assert_eq!(get(&moved, "calls"), "0");
}
