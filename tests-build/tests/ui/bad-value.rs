use cacher::cached;

#[cached(backend = "fiel")]
fn backend_typo(n: u32) -> u32 {
    n
}

#[cached(backend = "file", formatter = "yaml")]
fn unknown_formatter(n: u32) -> u32 {
    n
}

#[cached(backend = "file", keyer = "sha256")]
fn unknown_keyer(n: u32) -> u32 {
    n
}

#[cached(backend = file)]
fn backend_not_a_string(n: u32) -> u32 {
    n
}

#[cached(max_entries = 0)]
fn no_entries(n: u32) -> u32 {
    n
}

#[cached(max_entries = "100")]
fn entries_as_string(n: u32) -> u32 {
    n
}

#[cached(backend = "file", version = 1.5)]
fn float_version(n: u32) -> u32 {
    n
}

#[cached(backend = "file", durable = "yes")]
fn durable_string(n: u32) -> u32 {
    n
}

#[cached(backend = "file", filename_fn = "shard")]
fn filename_fn_string(n: u32) -> u32 {
    n
}

#[cached(backend = "file", cache_dir = "")]
fn empty_cache_dir(n: u32) -> u32 {
    n
}

#[cached(backend = "redis", redis_url = "http://127.0.0.1:6379/")]
fn not_a_redis_url(n: u32) -> u32 {
    n
}

fn main() {}
