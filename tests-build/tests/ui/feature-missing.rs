use cacher::cached;

// cacher is built here without its optional features: each option that needs one gives one
// error, which names the feature.

#[cached(backend = ["memory", "redis"])]
fn in_redis(n: u32) -> u32 {
    n
}

#[cached(backend = "redis", redis_url = "redis://127.0.0.1:6379/", ttl = "1h")]
fn in_redis_only(n: u32) -> Result<u32, String> {
    Ok(n)
}

#[cached]
async fn without_tokio(n: u32) -> u32 {
    n
}

fn main() {
    let _ = in_redis(1);
    let _ = in_redis_only(1);
}
