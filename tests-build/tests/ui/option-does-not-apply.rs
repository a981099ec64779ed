use cacher::cached;

// The default backend is memory, which stores typed values: no formatter.
#[cached(formatter = "json")]
fn formatter_by_default(n: u32) -> u32 {
    n
}

#[cached(backend = "memory", formatter = "bincode")]
fn formatter_with_memory(n: u32) -> u32 {
    n
}

#[cached(keyer = "hash")]
fn keyer_with_memory(n: u32) -> u32 {
    n
}

#[cached(cache_dir = ".cache/api")]
fn cache_dir_with_memory(n: u32) -> u32 {
    n
}

#[cached(filename_fn = shard)]
fn filename_fn_with_memory(n: u32) -> u32 {
    n
}

#[cached(backend = "file", redis_url = "redis://127.0.0.1/")]
fn redis_url_without_redis(n: u32) -> u32 {
    n
}

// A Redis server bounds itself: with no memory or file tier, `max_entries` would do nothing.
#[cached(backend = "redis", max_entries = 100)]
fn max_entries_with_redis_alone(n: u32) -> u32 {
    n
}

// Entries without a ttl never go stale: `stale_if_error` would do nothing.
#[cached(backend = "file", stale_if_error = "1h")]
fn stale_if_error_without_ttl(endpoint: &str) -> Result<String, std::io::Error> {
    Ok(endpoint.to_owned())
}

fn shard(key: &str) -> String {
    format!("{}/{key}.json", &key[..4])
}

fn main() {}
