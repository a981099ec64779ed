//! Another process invalidates a key (`remove`, `insert`, `clear`) while this process computes
//! its value: the value computed before the invalidation must not land in a tier the two
//! processes share after it, where every process would read it (issue 13's attack list,
//! session 14: within one process the key's generation refuses such a store; across processes
//! nothing did).
//!
//! Two caches over one directory stand for two processes: they share the directory's files or
//! store, not their memory, flights or generations. The other process's invalidation is made
//! from inside this process's function, so that it lands exactly between the lookup that missed
//! and the store of the value.

use cacher::{Cache, PersistentBackend, SeparateFileBackend, StoreBackend};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::test_name;

/// The shared tiers the race is run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shared {
    Files,
    Store,
}

/// What the other process does while this one computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invalidation {
    Remove,
    Insert,
    Clear,
}

/// A process's cache of the shared tier alone (no memory tier: every call reads the tier).
fn process(shared: Shared, dir: &std::path::Path) -> Cache<u32, u64> {
    let tier: Box<dyn FnOnce() -> Cache<u32, u64>> = match shared {
        Shared::Files => Box::new(|| tier(SeparateFileBackend::new(dir))),
        Shared::Store => Box::new(|| tier(StoreBackend::new(dir))),
    };
    tier()
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
    }
}

/// What the other invalidation leaves the key as, read by a third process.
fn left(how: Invalidation) -> Option<u64> {
    match how {
        Invalidation::Insert => Some(2),
        Invalidation::Remove | Invalidation::Clear => None,
    }
}

/// This process computes key 1 as 1 (its source read before the invalidation); the other
/// process invalidates the key meanwhile. `refresh` forces the computation.
fn race(shared: Shared, how: Invalidation, refresh: bool) {
    let dir = tempfile::tempdir().unwrap();
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
    for shared in [Shared::Files, Shared::Store] {
        race(shared, Invalidation::Remove, false);
    }
}

#[test]
fn an_insert_by_another_process_during_a_computation_is_not_overwritten_by_its_store() {
    for shared in [Shared::Files, Shared::Store] {
        race(shared, Invalidation::Insert, false);
    }
}

#[test]
fn a_clear_by_another_process_during_a_computation_is_not_undone_by_its_store() {
    for shared in [Shared::Files, Shared::Store] {
        race(shared, Invalidation::Clear, false);
    }
}

#[test]
fn an_invalidation_by_another_process_during_a_refresh_is_not_undone_by_its_store() {
    for shared in [Shared::Files, Shared::Store] {
        for how in [
            Invalidation::Remove,
            Invalidation::Insert,
            Invalidation::Clear,
        ] {
            race(shared, how, true);
        }
    }
}

/// The same, with no invalidation: the value is stored (the check refuses only what it must).
#[test]
fn a_computation_no_other_process_invalidated_is_stored_in_the_shared_tier() {
    for shared in [Shared::Files, Shared::Store] {
        let dir = tempfile::tempdir().unwrap();
        let this = process(shared, dir.path());
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
    for shared in [Shared::Files, Shared::Store] {
        for how in [
            Invalidation::Remove,
            Invalidation::Insert,
            Invalidation::Clear,
        ] {
            let dir = tempfile::tempdir().unwrap();
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

/// The role of a child process ([`the_other_process`]): `<Files|Store> <Remove|Insert|Clear>`.
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
    let hows = [
        Invalidation::Remove,
        Invalidation::Insert,
        Invalidation::Clear,
    ];
    let (shared, how) = shared
        .into_iter()
        .flat_map(|shared| hows.map(|how| (shared, how)))
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
        for how in [
            Invalidation::Remove,
            Invalidation::Insert,
            Invalidation::Clear,
        ] {
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
