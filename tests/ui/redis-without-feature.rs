use cacher::cached;

#[cached(backend = "redis")]
fn redis_alone(n: u32) -> u32 {
    n
}

#[cached(backend = ["memory", "redis"], redis_url = "redis://127.0.0.1/")]
fn redis_tier(n: u32) -> u32 {
    n
}

#[cached(backend = "file", redis_url = "redis://127.0.0.1/")]
fn redis_url_without_redis(n: u32) -> u32 {
    n
}

fn main() {}
