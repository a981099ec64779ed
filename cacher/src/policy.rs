//! Policies: when an entry stops being served (the builder's `ttl` or the entry's own, its
//! `stale_while_revalidate` and `stale_if_error` windows, `time_to_idle`), how long a failing
//! function is left alone (the error backoff), how many entries a backend keeps (its
//! `max_entries`, least recently used evicted first), and how often the underlying function may
//! start ([`RateLimiter`]).

mod outage;
mod rate_limit;
mod ttl;

pub(crate) use self::outage::Outages;
pub use self::rate_limit::RateLimiter;
pub(crate) use self::ttl::{Freshness, TtlPolicy};
