//! The embedded store under `kill -9`: a child writing large entries into one store is killed at
//! random moments, over and over. Afterwards the store opens, and every key is its exact value
//! (a whole entry the child wrote) or a miss that is recomputed and stored.
//!
//! Default: 20 kills. `CACHER_LONG_TESTS=1`: 200.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cacher_tests::reliability::{
    BIG_MAX, BIG_MIN, CRASH_KEYS, CRASH_NAMESPACE, Rng, check_derived_value, crash_key,
    derived_value, seed_from_time, store_cache,
};
use cacher_tests::{Reaper, long_tests};

#[test]
fn a_store_killed_at_any_moment_serves_only_whole_entries() {
    let seed = std::env::var("CACHER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(seed_from_time);
    println!("store crash: seed {seed} (replay with CACHER_CRASH_SEED={seed})");
    let kills = if long_tests() { 200 } else { 20 };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed);
    let (mut hits, mut misses) = (0, 0);
    for round in 0..kills {
        let mut child = Reaper(
            Command::new(env!("CARGO_BIN_EXE_reliability-child"))
                .arg("store-crash-writer")
                .arg(dir.path())
                .arg((seed ^ round).to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "round {round}");
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
    }
    // A new process (here: this one) opens the store and reads every key.
    let cache = store_cache::<String>(dir.path(), CRASH_NAMESPACE);
    for i in 0..CRASH_KEYS + 3 {
        let key = crash_key(i);
        match cache.get(&key) {
            Some(value) => {
                check_derived_value(&key, &value, BIG_MIN, BIG_MAX)
                    .unwrap_or_else(|why| panic!("{key}: {why}"));
                hits += 1;
            }
            None => {
                misses += 1;
                let value = derived_value(&key, 1, BIG_MIN, BIG_MAX);
                assert_eq!(cache.get_or_compute(&key, || value.clone()), value);
                assert_eq!(cache.get(&key), Some(value));
            }
        }
    }
    assert_eq!(cache.stats().errors, 0, "{:?}", cache.stats());
    assert!(
        hits > 0,
        "the writer never got an entry in over {kills} rounds"
    );
    println!("store crash: {kills} kills, {hits} whole entries, {misses} misses, 0 wrong");
}
