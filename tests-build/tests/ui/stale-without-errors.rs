use cacher::cached;

// `stale_if_error` serves an expired entry when the function returns `Err`: a function that
// cannot fail would never use it.

#[cached(ttl = "1h", stale_if_error = "10m")]
fn square(n: u64) -> u64 {
    n * n
}

#[cached(ttl = "1h", stale_if_error = "10m")]
fn find(id: u32) -> Option<String> {
    (id == 1).then(|| "one".to_owned())
}

// `result = false` caches `Err` values: none is ever an error to the cache.
#[cached(ttl = "1h", stale_if_error = "10m", result = false)]
fn lookup(id: u32) -> Result<String, String> {
    Ok(id.to_string())
}

// A function that can fail uses it.
#[cached(ttl = "1h", stale_if_error = "10m")]
fn fetch(id: u32) -> Result<String, String> {
    Ok(id.to_string())
}

fn main() {
    let _ = square(1);
    let _ = find(1);
    let _ = lookup(1);
    let _ = fetch(1);
}
