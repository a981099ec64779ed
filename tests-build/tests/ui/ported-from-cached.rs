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

// `time` with `time_refresh`: an idle time, one error at `time_refresh`, with `time`'s value.
#[cached(time = 600, time_refresh = true)]
fn idle(n: u64) -> u64 {
    n
}

// `name` names `cached`'s static: here the companion is the way to the cache.
#[cached(name = "SQUARES")]
fn named(n: u64) -> u64 {
    n * n
}

// `option = true` keeps `None` out of `cached`'s cache: what does that here.
#[cached(option = true)]
fn found(n: u64) -> Option<u64> {
    Some(n)
}

// The other attributes of `cached`: what `#[cached]` writes instead, with their values.
#[once(time = 10)]
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

// `cached`'s README: a Redis cache by its type, with a lifetime and a directory carried over.
#[io_cached(
    map_error = r##"|e| e"##,
    ty = "cached::AsyncRedisCache<u64, String>",
    create = r##" { AsyncRedisCache::new("prefix", 1).build().await.unwrap() } "##
)]
fn redis_by_type(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[io_cached(disk = true, time = 30, disk_dir = "/tmp/cached", map_error = r##"|e| e"##)]
fn on_disk_for_a_while(n: u64) -> Result<u64, String> {
    Ok(n)
}

// Before its 0.50, `cached` wrote the cache type `type = …`, a keyword: told as `ty` is, and
// `cached`'s README's Redis cache of that time still carries over as one.
#[cached(type = "SizedCache<u64, u64>", create = "{ SizedCache::with_size(10) }")]
fn built_before_0_50(n: u64) -> u64 {
    n
}

#[io_cached(
    map_error = r##"|e| e"##,
    type = "AsyncRedisCache<u64, String>",
    create = r##" { AsyncRedisCache::new("prefix", 1).build().await.unwrap() } "##
)]
fn redis_by_type_before_0_50(n: u64) -> Result<u64, String> {
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
    idle(1);
    named(1);
    found(1);
    let _ = redis_by_type(1);
    let _ = on_disk_for_a_while(1);
    built_before_0_50(1);
    let _ = redis_by_type_before_0_50(1);
}
