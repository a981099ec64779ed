use std::sync::Arc;
use std::time::Duration;

use cacher::cached;

// `stale_while_revalidate` and `error_backoff` need what they act on.

#[cached(stale_while_revalidate = "10m")]
fn no_ttl(n: u64) -> u64 {
    n
}

#[cached(ttl = "1h", error_backoff = "30s")]
fn nothing_stale(n: u64) -> Result<u64, String> {
    Ok(n)
}

// The background refresh owns copies of the arguments: it cannot borrow.

#[cached(ttl = "1h", stale_while_revalidate = "10m")]
fn converted(name: Option<&str>) -> String {
    name.unwrap_or_default().to_owned()
}

#[cached(ttl = "1h", stale_while_revalidate = "10m")]
fn skipped_reference(id: u32, #[cached(skip)] client: &String) -> String {
    format!("{client}{id}")
}

struct Api;

impl Api {
    #[cached(ttl = "1h", stale_while_revalidate = "10m")]
    fn method(&self, id: u32) -> String {
        id.to_string()
    }
}

// `ttl_fn` and `clock` name functions of one type each.

// Seconds as a number: a ttl must be a `Duration` (or an `Option` of one).
fn wrong_ttl(value: &u64) -> u64 {
    *value
}

#[cached(ttl_fn = wrong_ttl)]
fn wrong_ttl_fn(n: u64) -> u64 {
    n
}

#[cached(ttl = "1h", clock = 42)]
fn not_a_path(n: u64) -> u64 {
    n
}

fn wrong_clock() -> std::time::Instant {
    std::time::Instant::now()
}

#[cached(ttl = "1h", clock = wrong_clock)]
fn wrong_clock_fn(n: u64) -> u64 {
    n
}

// A clock that nothing reads: a memory-only cache without a ttl or a rate limit.

fn test_clock() -> cacher::Clock {
    cacher::Clock::mock().0
}

#[cached(clock = test_clock)]
fn clock_unread(n: u64) -> u64 {
    n
}

// Other libraries' names get the option's.

#[cached(ttl = "1h", refresh = "10m")]
fn renamed(n: u64) -> u64 {
    n
}

// What works: owned and borrowed arguments, an `Arc` skipped; a ttl from `ttl_fn` alone.

fn own_ttl(value: &u64) -> Option<Duration> {
    Some(Duration::from_secs(*value))
}

#[cached(ttl_fn = own_ttl, stale_while_revalidate = "10m", stale_if_error = "1h", error_backoff = "0s")]
fn refreshed(id: u32, path: &str, #[cached(skip)] client: Arc<String>) -> Result<u64, String> {
    Ok(u64::from(id) + path.len() as u64 + client.len() as u64)
}

fn main() {
    let _ = no_ttl(1);
    let _ = nothing_stale(1);
    let _ = converted(None);
    let _ = skipped_reference(1, &String::new());
    let _ = Api.method(1);
    let _ = wrong_ttl_fn(1);
    let _ = not_a_path(1);
    let _ = clock_unread(1);
    let _ = renamed(1);
    let _ = refreshed(1, "/", Arc::new(String::new()));
}
