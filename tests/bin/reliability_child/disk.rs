//! The modes of the store and cross-process single-flight suites (`reliability::store`,
//! `reliability::flight`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use cacher_tests::reliability::{
    CRASH_NAMESPACE, FLIGHT_NAMESPACE, SMALL_MAX, SMALL_MIN, check_derived_value, derived_value,
    disk_cache, store_cache,
};

use super::{arg, say, write_until_killed};

/// `store-crash-writer <dir> <seed>`: writes large entries into a store until killed.
pub fn store_crash_writer(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let seed: u64 = arg(args, 1, "seed")?;
    let cache = store_cache::<String>(&dir, CRASH_NAMESPACE);
    write_until_killed(&cache, seed, false)
}

/// Waits for the parent's go: the file `go` in `dir`.
fn wait_for_go(dir: &Path) {
    while !dir.join("go").exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `flight <dir> <file|store> <threads> <keys> <compute_ms>`: every thread asks for every key
/// (each starting elsewhere), once the parent says go; prints the keys this process computed.
pub fn flight(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let backend: String = arg(args, 1, "backend")?;
    let threads: u64 = arg(args, 2, "threads")?;
    let keys: u64 = arg(args, 3, "keys")?;
    let compute = Duration::from_millis(arg(args, 4, "compute_ms")?);
    let cache = disk_cache::<u64>(&dir.join("cache"), FLIGHT_NAMESPACE, &backend);
    let computed = Mutex::new(Vec::new());
    let wrong = Mutex::new(Vec::new());
    say("ready");
    wait_for_go(&dir);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (cache, computed, wrong) = (&cache, &computed, &wrong);
            scope.spawn(move || {
                for i in 0..keys {
                    let key = (i + t * keys / threads) % keys;
                    let name = key.to_string();
                    let value = cache.get_or_compute(&key, || {
                        computed.lock().unwrap().push(key);
                        std::thread::sleep(compute);
                        derived_value(&name, 0, SMALL_MIN, SMALL_MAX)
                    });
                    if let Err(why) = check_derived_value(&name, &value, SMALL_MIN, SMALL_MAX) {
                        wrong.lock().unwrap().push(why);
                    }
                }
            });
        }
    });
    let computed = computed.into_inner().unwrap();
    let list: Vec<String> = computed.iter().map(u64::to_string).collect();
    say(&format!("COMPUTED {}", list.join(" ")));
    match wrong.into_inner().unwrap().first() {
        Some(why) => Err(why.clone()),
        None => Ok(()),
    }
}

/// `rate <dir> <count> <interval_ms>`: `count` starts through a machine-wide `RateLimiter::file`
/// named "api"; prints `START <wall ms>` after each.
pub fn rate(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let count: u64 = arg(args, 1, "count")?;
    let interval = Duration::from_millis(arg(args, 2, "interval_ms")?);
    let limiter = cacher::RateLimiter::file(&dir, "api", interval);
    say("ready");
    wait_for_go(&dir);
    for _ in 0..count {
        limiter.acquire();
        say(&format!("START {}", cacher::Clock::system().now_ms()));
    }
    Ok(())
}
