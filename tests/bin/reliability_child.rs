//! The child process of the reliability suites (`tests/integration/reliability/`), which start it
//! by the path Cargo gives them (`CARGO_BIN_EXE_reliability-child`). Not a tool for people.
//!
//! Modes:
//! - `crash-writer <dir> <seed> <format> <durable> <sharded>`: writes large entries in a loop
//!   until it is killed; reads some back and checks them on the way. Prints `ready` when its
//!   cache is built, and `WRONG <why>` (then exits with 3) if it ever reads a wrong value.
//! - `worker <dir> <seed> <threads> <calls> <keys> <format> <durable> <sharded>`: `threads`
//!   threads each make `calls` calls over `keys` overlapping keys, checking every value; prints
//!   one line `RESULT …` with its counts (failed inserts and removes among them).
//! - `hang <dir> <key>`: starts computing `key` and never finishes (prints `computing` first).
//! - `refresh <dir>`: two minutes later (a mock clock), calls the two stale entries of
//!   `refresh_cache`: `fresh`'s refresh is held until its call returned, then lands on disk;
//!   `inflight`'s never ends, and the process exits with it in flight. Prints `RESULT …`.
//! - `store-crash-writer <dir> <seed>`: `crash-writer` on a `StoreBackend`.
//! - `flight <dir> <file|store> <threads> <keys> <compute_ms>`: every thread asks for every key
//!   once the file `<dir>/go` exists; prints `COMPUTED <keys…>`, those this process computed.
//! - `rate <dir> <count> <interval_ms>`: `count` call starts through `RateLimiter::file`, once
//!   `<dir>/go` exists; prints `START <wall ms>` after each.

#[path = "reliability_child/disk.rs"]
mod disk;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cacher_tests::reliability::{
    self as common, BIG_MAX, BIG_MIN, CRASH_KEYS, CRASH_NAMESPACE, Layout, PROCESSES_NAMESPACE,
    Rng, SMALL_MAX, SMALL_MIN, check_derived_value, crash_key, derived_value, file_cache,
    refresh_cache,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str);
    let result = match mode {
        Some("crash-writer") => crash_writer(&args[1..]),
        Some("worker") => worker(&args[1..]),
        Some("hang") => hang(&args[1..]),
        Some("refresh") => refresh(&args[1..]),
        Some("store-crash-writer") => disk::store_crash_writer(&args[1..]),
        Some("flight") => disk::flight(&args[1..]),
        Some("rate") => disk::rate(&args[1..]),
        _ => Err(format!("unknown mode in {args:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            println!("WRONG {message}");
            let _ = std::io::stdout().flush();
            ExitCode::from(3)
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T, String> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("bad or missing argument {i} ({what}) in {args:?}"))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Writes entries until killed.
fn crash_writer(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let seed: u64 = arg(args, 1, "seed")?;
    let layout = Layout::from_args(&args[2..]).ok_or("bad layout")?;
    let cache = file_cache::<String>(&dir, CRASH_NAMESPACE, layout);
    write_until_killed(&cache, seed, true)
}

/// The crash writers' loop, over any cache: reads (checking every value found) and writes large
/// derived values until the process is killed; with `strict`, a cache error ends it too.
fn write_until_killed(
    cache: &cacher::Cache<String, String>,
    seed: u64,
    strict: bool,
) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    say("ready");
    loop {
        let key = crash_key(rng.below(CRASH_KEYS));
        if rng.below(4) == 0 {
            if let Some(value) = cache.get(&key) {
                check_derived_value(&key, &value, BIG_MIN, BIG_MAX)?;
            }
        } else {
            let generation = rng.next_u64() >> 1;
            cache
                .insert(&key, derived_value(&key, generation, BIG_MIN, BIG_MAX))
                .map_err(|e| format!("insert {key}: {e}"))?;
        }
        let errors = cache.stats().errors;
        if strict && errors > 0 {
            return Err(format!("{errors} cache errors in the writer"));
        }
    }
}

/// Many calls from many threads; prints its counts.
fn worker(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let seed: u64 = arg(args, 1, "seed")?;
    let threads: u64 = arg(args, 2, "threads")?;
    let calls: u64 = arg(args, 3, "calls")?;
    let keys: u64 = arg(args, 4, "keys")?;
    let layout = Layout::from_args(&args[5..]).ok_or("bad layout")?;
    let cache = file_cache::<u64>(&dir, PROCESSES_NAMESPACE, layout);
    let wrong = AtomicU64::new(0);
    let computed = AtomicU64::new(0);
    let remove_errors = AtomicU64::new(0);
    let insert_errors = AtomicU64::new(0);
    let made = AtomicU64::new(0);
    let first_wrong = std::sync::Mutex::new(None::<String>);
    let check = |key: u64, value: &str| {
        if let Err(why) = check_derived_value(&key.to_string(), value, SMALL_MIN, SMALL_MAX) {
            wrong.fetch_add(1, Ordering::Relaxed);
            first_wrong.lock().unwrap().get_or_insert(why);
        }
    };
    let panics = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (cache, check, computed, made) = (&cache, &check, &computed, &made);
                let (remove_errors, insert_errors) = (&remove_errors, &insert_errors);
                scope.spawn(move || {
                    let mut rng = Rng::new(seed ^ common::mix(t + 1));
                    for _ in 0..calls {
                        let key = rng.below(keys);
                        let name = key.to_string();
                        made.fetch_add(1, Ordering::Relaxed);
                        match rng.below(100) {
                            0..80 => {
                                let value = cache.get_or_compute(&key, || {
                                    computed.fetch_add(1, Ordering::Relaxed);
                                    derived_value(&name, 0, SMALL_MIN, SMALL_MAX)
                                });
                                check(key, &value);
                            }
                            80..90 => {
                                let generation = rng.below(1000);
                                let value = derived_value(&name, generation, SMALL_MIN, SMALL_MAX);
                                if cache.insert(&key, value).is_err() {
                                    insert_errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            90..95 => {
                                if cache.remove(&key).is_err() {
                                    remove_errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            _ => {
                                if let Some(value) = cache.get(&key) {
                                    check(key, &value);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| u64::from(h.join().is_err()))
            .sum::<u64>()
    });
    let stats = cache.stats();
    say(&format!(
        "RESULT pid={} calls={} wrong={} errors={} insert_errors={} remove_errors={} computed={} hits={} misses={} panics={} first_wrong={}",
        std::process::id(),
        made.load(Ordering::Relaxed),
        wrong.load(Ordering::Relaxed),
        stats.errors,
        insert_errors.load(Ordering::Relaxed),
        remove_errors.load(Ordering::Relaxed),
        computed.load(Ordering::Relaxed),
        stats.hits,
        stats.misses,
        panics,
        first_wrong.lock().unwrap().as_deref().unwrap_or(""),
    ));
    Ok(())
}

/// Computes `key` forever, as a process that hangs (or is stopped) in the middle of a call.
fn hang(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let key: String = arg(args, 1, "key")?;
    let layout = Layout::from_args(&["json".into(), "0".into(), "0".into()]).ok_or("layout")?;
    let cache = file_cache::<String>(&dir, PROCESSES_NAMESPACE, layout);
    cache.get_or_compute(&key, || {
        say("computing");
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    });
    Err("the hanging computation returned".into())
}

/// Serves stale entries at once while their refresh runs in the background, and exits with one
/// refresh still in flight.
fn refresh(args: &[String]) -> Result<(), String> {
    let dir: PathBuf = arg(args, 0, "dir")?;
    let (clock, mock) = cacher::Clock::mock();
    mock.advance(Duration::from_secs(120)); // past the 60 s ttl, within the window
    let cache = refresh_cache(&dir, clock.clone());
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let got = cache.try_get_or_refresh("fresh", move || {
        // Held until the call has returned: the caller cannot have waited for it.
        held.recv_timeout(Duration::from_secs(20))
            .map_err(|e| e.to_string())?;
        let _ = done_tx.send(());
        Ok::<_, String>("new".to_owned())
    })?;
    say(&format!("RESULT fresh_answer={got}"));
    let got = cache.try_get_or_refresh("inflight", || -> Result<String, String> {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    })?;
    say(&format!("RESULT inflight_answer={got}"));
    release.send(()).map_err(|e| e.to_string())?;
    done.recv_timeout(Duration::from_secs(20))
        .map_err(|e| e.to_string())?;
    // The refresh's store follows its function: a reader of the disk alone sees it soon.
    let start = std::time::Instant::now();
    let disk = || refresh_cache(&dir, clock.clone()).get("fresh");
    while disk().as_deref() != Some("new") {
        if start.elapsed() > Duration::from_secs(20) {
            return Err("the refresh never reached the disk".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    say("RESULT on_disk=new");
    // Exits now, with the refresh of `inflight` running.
    Ok(())
}
