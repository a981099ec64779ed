//! Another process invalidates a key (`remove`, `insert`, `clear`, a forced `refresh`) while
//! this process computes
//! its value: the value computed before the invalidation must not land in a tier the two
//! processes share after it, where every process would read it (issue 13's attack list,
//! session 14: within one process the key's generation refuses such a store; across processes
//! nothing did).
//!
//! Two caches over one directory (or Redis server) stand for two processes: they share the
//! directory's files, its store or the server's keys, not their memory, flights or generations. The other process's invalidation is made
//! from inside this process's function, so that it lands exactly between the lookup that missed
//! and the store of the value.

use cacher::{Cache, PersistentBackend, SeparateFileBackend, StoreBackend};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::test_name;

/// The shared tiers the race is run on (Redis: the server's URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shared<'a> {
    Files,
    Store,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis(&'a str),
}

/// The local shared tiers, and Redis when the feature is on (the server kept alive meanwhile).
fn every_shared(redis_url: Option<&str>) -> Vec<Shared<'_>> {
    let mut shared = vec![Shared::Files, Shared::Store];
    shared.extend(redis_url.map(Shared::Redis));
    shared
}

/// Runs `round` on every shared tier (Redis on a server of its own, with the `redis` feature).
fn on_every_shared(round: impl Fn(Shared<'_>)) {
    let server = server();
    every_shared(server.as_ref().map(|s| s.url()).as_deref())
        .into_iter()
        .for_each(round);
}

/// Every invalidation, in turn.
const EVERY: [Invalidation; 4] = [
    Invalidation::Remove,
    Invalidation::Insert,
    Invalidation::Clear,
    Invalidation::Refresh,
];

/// A Redis server for the round, with the `redis` feature (`None` without it, or skipped).
#[cfg(feature = "redis")]
fn server() -> Option<cacher_tests::redis_server::RedisServer> {
    cacher_tests::redis_server::RedisServer::start()
}

#[cfg(not(feature = "redis"))]
fn server() -> Option<NoServer> {
    None
}

#[cfg(not(feature = "redis"))]
struct NoServer;

#[cfg(not(feature = "redis"))]
impl NoServer {
    fn url(&self) -> String {
        unreachable!("no server without the redis feature")
    }
}

/// What the other process does while this one computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invalidation {
    Remove,
    Insert,
    Clear,
    /// A forced refresh of the key, to 2 (session 30: a refresh moved no shared generation, and
    /// the value computed before it was stored over it, for every process).
    Refresh,
}

/// A process's cache of the shared tier alone (no memory tier: every call reads the tier).
fn process(shared: Shared<'_>, dir: &std::path::Path) -> Cache<u32, u64> {
    match shared {
        Shared::Files => tier(SeparateFileBackend::new(dir)),
        Shared::Store => tier(StoreBackend::new(dir)),
        #[cfg(feature = "redis")]
        Shared::Redis(url) => {
            tier(cacher::RedisBackend::new(cacher::RedisOptions::new(url)).unwrap())
        }
        #[cfg(not(feature = "redis"))]
        Shared::Redis(_) => unreachable!("no Redis tier without the redis feature"),
    }
}

fn tier(backend: impl PersistentBackend<u64>) -> Cache<u32, u64> {
    Cache::builder()
        .namespace("app::foreign")
        .backend(backend)
        .build()
        .unwrap()
}

fn invalidate(other: &Cache<u32, u64>, how: Invalidation) {
    match how {
        Invalidation::Remove => other.remove(&1).unwrap(),
        Invalidation::Insert => other.insert(&1, 2).unwrap(),
        Invalidation::Clear => other.clear().unwrap(),
        Invalidation::Refresh => {
            assert_eq!(other.refresh(|| other.get_or_compute(&1, || 2)), 2);
        }
    }
}

/// What the other invalidation leaves the key as, read by a third process.
fn left(how: Invalidation) -> Option<u64> {
    match how {
        Invalidation::Insert | Invalidation::Refresh => Some(2),
        Invalidation::Remove | Invalidation::Clear => None,
    }
}

/// This process computes key 1 as 1 (its source read before the invalidation); the other
/// process invalidates the key meanwhile. `refresh` forces the computation.
fn race(shared: Shared<'_>, how: Invalidation, refresh: bool) {
    let dir = tempfile::tempdir().unwrap();
    // A server's keys outlive the round: start from none.
    process(shared, dir.path()).clear().unwrap();
    let (this, other) = (process(shared, dir.path()), process(shared, dir.path()));
    let compute = || {
        invalidate(&other, how);
        1
    };
    let got = match refresh {
        false => this.get_or_compute(&1, compute),
        true => this.refresh(|| this.get_or_compute(&1, compute)),
    };
    assert_eq!(got, 1, "its caller gets the computed value");
    assert_eq!(
        process(shared, dir.path()).get(&1),
        left(how),
        "{shared:?}, {how:?} during a computation (refresh: {refresh}): a third process reads \
         what the invalidation left, not a value computed before it"
    );
}

#[test]
fn a_remove_by_another_process_during_a_computation_is_not_undone_by_its_store() {
    on_every_shared(|shared| race(shared, Invalidation::Remove, false));
}

#[test]
fn an_insert_by_another_process_during_a_computation_is_not_overwritten_by_its_store() {
    on_every_shared(|shared| race(shared, Invalidation::Insert, false));
}

#[test]
fn a_clear_by_another_process_during_a_computation_is_not_undone_by_its_store() {
    on_every_shared(|shared| race(shared, Invalidation::Clear, false));
}

#[test]
fn a_refresh_by_another_process_during_a_computation_is_not_overwritten_by_its_store() {
    on_every_shared(|shared| race(shared, Invalidation::Refresh, false));
}

#[test]
fn an_invalidation_by_another_process_during_a_refresh_is_not_undone_by_its_store() {
    on_every_shared(|shared| EVERY.into_iter().for_each(|how| race(shared, how, true)));
}

/// Two processes refresh one key, the later one still computing when the earlier one's value
/// is written: the refresh that began last is what every process reads (session 30: a refresh
/// that moved the key's generation as it wrote, rather than as it began, refused the later
/// refresh's value, and the earlier one's stood).
#[test]
fn of_two_refreshes_by_two_processes_the_one_that_began_last_stands() {
    on_every_shared(|shared| {
        let dir = tempfile::tempdir().unwrap();
        process(shared, dir.path()).clear().unwrap();
        let (earlier, later) = (process(shared, dir.path()), process(shared, dir.path()));
        std::thread::scope(|scope| {
            // In the scope: a failed assertion below drops `go`, and the later refresh's wait
            // ends (a hang otherwise, the scope joining its thread first).
            let (entered, entered_rx) = std::sync::mpsc::channel();
            let (go, go_rx) = std::sync::mpsc::channel::<()>();
            let got = earlier.refresh(|| {
                earlier.get_or_compute(&1, || {
                    let later = &later;
                    scope.spawn(move || {
                        let got = later.refresh(|| {
                            later.get_or_compute(&1, || {
                                entered.send(()).unwrap();
                                go_rx.recv().unwrap();
                                2
                            })
                        });
                        assert_eq!(got, 2);
                    });
                    entered_rx.recv().unwrap();
                    1
                })
            });
            assert_eq!(got, 1);
            let meanwhile = process(shared, dir.path()).get(&1);
            assert_eq!(meanwhile, None, "{shared:?}: the earlier value was refused");
            go.send(()).unwrap();
        });
        assert_eq!(process(shared, dir.path()).get(&1), Some(2), "{shared:?}");
    });
}

/// An async refresh by another process during a computation, as
/// `a_refresh_by_another_process_during_a_computation_is_not_overwritten_by_its_store`: the
/// async driver moves the shared generations as it begins too (on a blocking thread for the
/// files and the store, awaited for Redis).
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_refresh_by_another_process_during_a_computation_is_not_overwritten() {
    let server = server();
    for shared in every_shared(server.as_ref().map(|s| s.url()).as_deref()) {
        let dir = tempfile::tempdir().unwrap();
        process(shared, dir.path()).clear().unwrap();
        let (this, other) = (process(shared, dir.path()), process(shared, dir.path()));
        let got = this
            .get_or_compute_async(&1, || async {
                let refreshed = other
                    .refresh_async(other.get_or_compute_async(&1, || async { 2 }))
                    .await;
                assert_eq!(refreshed, 2);
                1
            })
            .await;
        assert_eq!(got, 1);
        assert_eq!(process(shared, dir.path()).get(&1), Some(2), "{shared:?}");
    }
}

/// The same, with no invalidation: the value is stored (the check refuses only what it must).
#[test]
fn a_computation_no_other_process_invalidated_is_stored_in_the_shared_tier() {
    let server = server();
    for shared in every_shared(server.as_ref().map(|s| s.url()).as_deref()) {
        let dir = tempfile::tempdir().unwrap();
        let this = process(shared, dir.path());
        this.clear().unwrap();
        assert_eq!(this.get_or_compute(&1, || 1), 1);
        assert_eq!(this.refresh(|| this.get_or_compute(&2, || 2)), 2);
        let third = process(shared, dir.path());
        assert_eq!(
            (third.get(&1), third.get(&2)),
            (Some(1), Some(2)),
            "{shared:?}"
        );
    }
}

/// The same race through an async call: its tiers' generations are read on a blocking thread
/// before the function's future runs, and its store's writes compare with them.
#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_by_another_process_during_an_async_computation_is_not_undone() {
    let server = server();
    for shared in every_shared(server.as_ref().map(|s| s.url()).as_deref()) {
        for how in EVERY {
            let dir = tempfile::tempdir().unwrap();
            process(shared, dir.path()).clear().unwrap();
            let (this, other) = (process(shared, dir.path()), process(shared, dir.path()));
            let got = this
                .get_or_compute_async(&1, || async {
                    invalidate(&other, how);
                    1
                })
                .await;
            assert_eq!(got, 1);
            assert_eq!(
                process(shared, dir.path()).get(&1),
                left(how),
                "{shared:?}, {how:?} during an async computation"
            );
        }
    }
}

/// Redis's generations by stripe: a forced refresh of key 1 while another process inserts a key
/// of the same stripe (found by the layout's formula) is stored, while the same insert of key 1
/// itself refuses it. The stripe's record of the keys that moved it is kept by a Lua script.
#[cfg(feature = "redis")]
#[test]
fn a_refresh_is_not_lost_in_redis_to_another_processs_insert_of_another_key_of_its_stripe() {
    let Some(server) = server() else { return };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let (this, other) = (
        process(Shared::Redis(&url), dir.path()),
        process(Shared::Redis(&url), dir.path()),
    );
    let stripe = |key: u32| {
        let redis_key = cacher::RedisBackend::new(cacher::RedisOptions::new(&url))
            .unwrap()
            .redis_key("app::foreign", None, &this.key_of(&key).unwrap());
        let hash = blake3::hash(redis_key.as_bytes());
        u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap()) % 4096
    };
    let neighbour = (2..).find(|&key| stripe(key) == stripe(1)).unwrap();
    for (key, stored) in [(neighbour, true), (1, false)] {
        this.insert(&1, 1).unwrap();
        let got = this.refresh(|| {
            this.get_or_compute(&1, || {
                other.insert(&key, 7).unwrap();
                2
            })
        });
        assert_eq!(got, 2);
        let held = process(Shared::Redis(&url), dir.path()).get(&1);
        let want = if stored { Some(2) } else { Some(7) };
        assert_eq!(
            held, want,
            "insert({key}) by another process during a refresh of 1"
        );
    }
}

/// The role of a child process ([`the_other_process`]): `(<Files|Store>, <Remove|Insert|Clear|Refresh>)`.
const ROLE: &str = "CACHER_TEST_FOREIGN_ROLE";
const DIR: &str = "CACHER_TEST_FOREIGN_DIR";

/// A child's part: the other process's invalidation of key 1, in a process of its own. A no-op
/// when run as a test.
#[test]
fn the_other_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var(DIR).unwrap());
    let shared = [Shared::Files, Shared::Store];
    let (shared, how) = shared
        .into_iter()
        .flat_map(|shared| EVERY.map(|how| (shared, how)))
        .find(|pair| format!("{pair:?}") == role)
        .unwrap();
    invalidate(&process(shared, &dir), how);
    println!("RESULT invalidated=1");
}

/// The race with the other process a real one (a child that opens the directory or store
/// itself): two `StoreBackend`s of one process share its LMDB environment, so only a second
/// process checks that the store's write transactions order the invalidation and the store as
/// they must across processes (and the file locks, which a process's two handles of a file
/// contend for as two processes do).
#[test]
fn an_invalidation_by_a_real_other_process_during_a_computation_is_not_undone() {
    for shared in [Shared::Files, Shared::Store] {
        for how in EVERY {
            let dir = tempfile::tempdir().unwrap();
            let this = process(shared, dir.path());
            let got = this.get_or_compute(&1, || {
                let envs = [
                    (ROLE, format!("{:?}", (shared, how))),
                    (DIR, dir.path().display().to_string()),
                ];
                let child = spawn_self(&test_name!(the_other_process), &envs);
                assert_eq!(child_results(child), [("invalidated".into(), "1".into())]);
                1
            });
            assert_eq!(got, 1);
            assert_eq!(
                process(shared, dir.path()).get(&1),
                left(how),
                "{shared:?}, {how:?} by another process during a computation"
            );
        }
    }
}
