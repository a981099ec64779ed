// Code ported from the `cached` crate as it is: each mistake is one error, at its place, that
// says what to write here, with the values the code already had.
use cacher::{cached, io_cached, once};

// `cached`'s key type and its `convert`: one error, at `convert`, with both in one option.
#[cached(key = "String", convert = r#"{ format!("{}", a) }"#)]
fn converted(a: u64) -> u64 {
    a
}

// `convert` alone: the expression it should be.
#[cached(convert = r#"{ a.to_lowercase() }"#)]
fn lowered(a: &str) -> usize {
    a.len()
}

// `time` in seconds and `size` in entries: the same values, in cacher's options.
#[cached(time = 3600, size = 100)]
fn timed(n: u64) -> u64 {
    n
}

// `ty` and `create` say one thing (a cache built by hand): one error.
#[cached(ty = "SizedCache<u64, u64>", create = "{ SizedCache::with_size(10) }")]
fn built(n: u64) -> u64 {
    n
}

// The other attributes of `cached`: what `#[cached]` writes instead.
#[once(time = 60)]
fn config() -> String {
    "config".to_string()
}

#[io_cached(disk = true, map_error = r##"|e| e"##)]
fn on_disk(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[io_cached(redis = true, map_error = r##"|e| e"##)]
fn in_redis(n: u64) -> Result<u64, String> {
    Ok(n)
}

fn main() {
    // The functions still exist: their calls add no error.
    converted(1);
    lowered("a");
    timed(1);
    built(1);
    config();
    let _ = on_disk(1);
    let _ = in_redis(1);
}
