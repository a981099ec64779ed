//! Policies: when an entry stops being served (the builder's `ttl`, with its `stale_if_error`
//! grace), how many entries a backend keeps (its `max_entries`, least recently used evicted
//! first), and how often the underlying function may start ([`RateLimiter`]).

mod rate_limit;
mod ttl;

pub use self::rate_limit::RateLimiter;
pub(crate) use self::ttl::{Freshness, TtlPolicy};
