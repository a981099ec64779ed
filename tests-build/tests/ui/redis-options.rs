use cacher::cached;

#[cached(backend = "file", redis_url = "redis://127.0.0.1/")]
fn redis_url_without_redis(n: u32) -> u32 {
    n
}

#[cached(backend = "redis", redis_url = "http://127.0.0.1:6379/")]
fn not_a_redis_url(n: u32) -> u32 {
    n
}

#[cached(backend = ["redis", "file"])]
fn file_after_redis(n: u32) -> u32 {
    n
}

fn main() {}
