//! Freshness over time, on the mock clock: a ttl from the value, stale-while-revalidate with one
//! background refresh, sliding expiry (time-to-idle), outages that do not hammer the failing
//! function, over the memory and file tiers (Redis in `redis::freshness`), through the builder
//! and through `#[cached]`.

mod attribute;
mod combined;
mod idle;
mod memonly;
mod outage;
mod revalidate;
mod ttl_fn;

use std::time::{Duration, Instant};

/// Waits (real time, bounded) until `done` holds: for a background refresh, which runs on
/// another thread whatever the clock.
pub(crate) fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub(crate) const MIN: Duration = Duration::from_secs(60);
