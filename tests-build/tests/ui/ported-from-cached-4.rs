// Code ported from the `cached` crate's 4.x spellings: each mistake is one error, at its place,
// that says what to write here, with the values the code already had.
use cacher::{cached, concurrent_cached, once};

// `max_size` is `cached`'s entry count, but cacher's bytes on disk: `max_entries`, with its value.
#[cached(max_size = 1_000)]
fn bounded(n: u64) -> u64 {
    n
}

// `cached`'s `ttl` is a `Duration` expression in a string: the same duration, as text.
#[cached(ttl = "Duration::from_secs(3600)")]
fn hourly(n: u64) -> u64 {
    n
}

// A ttl restarted by each hit is an idle time: one error, at `refresh`, for both options.
#[cached(ttl_secs = 600, refresh = true)]
fn idle(n: u64) -> u64 {
    n
}

#[cached(ttl_millis = 500)]
fn brief(n: u64) -> u64 {
    n
}

// Caching `Err` too is `result = false` (not `cache_dir`, the nearest name).
#[cached(cache_err = true)]
fn fallible(n: u64) -> Result<u64, String> {
    Ok(n)
}

// `None` is cached here without a flag.
#[cached(cache_none = true)]
fn found(n: u64) -> Option<u64> {
    Some(n)
}

struct Api;

impl Api {
    // Methods need no flag.
    #[cached(in_impl = true)]
    fn get(&self, n: u64) -> u64 {
        n
    }
}

// A forced recompute is the companion's `refresh`.
#[cached(force_refresh = { n == 0 })]
fn forced(n: u64) -> u64 {
    n
}

// `convert` as a block, unquoted: the same one expression.
#[cached(key = "String", convert = { format!("{a}") })]
fn converted(a: u64) -> u64 {
    a
}

#[cached(sync_lock = "mutex")]
fn locked(n: u64) -> u64 {
    n
}

#[once(ttl_secs = 300)]
fn config() -> String {
    "config".to_string()
}

#[concurrent_cached(max_size = 10_000)]
fn sharded(n: u64) -> u64 {
    n
}

#[concurrent_cached(redis = true, ttl_secs = 300, map_error = |e| format!("{e:?}"))]
fn in_redis(n: u64) -> Result<u64, String> {
    Ok(n)
}

fn main() {
    // The functions still exist: their calls add no error.
    bounded(1);
    hourly(1);
    idle(1);
    brief(1);
    let _ = fallible(1);
    found(1);
    Api.get(1);
    forced(1);
    converted(1);
    locked(1);
    config();
    sharded(1);
    let _ = in_redis(1);
}
