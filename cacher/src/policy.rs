//! Policies: when an entry stops being served ([`TtlPolicy`], with its `stale_if_error` grace),
//! how many entries are kept (`max_entries`, least recently used evicted first), and how often the
//! underlying function may start ([`RateLimiter`]).

mod rate_limit;
mod ttl;

pub use self::rate_limit::RateLimiter;
pub use self::ttl::{Freshness, TtlPolicy};

/// Parses a duration as the `#[cached]` options write them: `"1d"`, `"90s"`, `"500ms"`,
/// `"1h 30m"` (humantime's syntax).
///
/// # Errors
/// [`Error::Config`](crate::Error::Config) naming the text when it does not parse.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(cacher::policy::parse_duration("1d").unwrap(), Duration::from_secs(86_400));
/// assert!(cacher::policy::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> crate::Result<std::time::Duration> {
    humantime::parse_duration(text)
        .map_err(|e| crate::Error::Config(format!("invalid duration {text:?}: {e}")))
}
