// Code ported from the `cached` crate's 1.x and 2.x spellings, whose `ttl` is whole seconds:
// each mistake is one error, at its place, that says what to write here, with the ttl carried
// over as a duration (never dropped, which would make the entries live for ever).
use cacher::{cached, concurrent_cached, once};

// A ttl restarted by each hit is an idle time of the same length: one error, at `refresh`.
#[cached(ttl = 60, refresh = true)]
fn idle(n: u64) -> u64 {
    n
}

#[once(ttl = 10)]
fn config() -> String {
    "config".to_string()
}

#[concurrent_cached(redis = true, ttl = 30, map_error = r##"|e| format!("{e:?}")"##)]
fn in_redis(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[concurrent_cached(disk = true, ttl = 3600, refresh = true, map_error = r##"|e| e"##)]
fn on_disk(n: u64) -> Result<u64, String> {
    Ok(n)
}

fn main() {
    // The functions still exist: their calls add no error.
    idle(1);
    config();
    let _ = in_redis(1);
    let _ = on_disk(1);
}
