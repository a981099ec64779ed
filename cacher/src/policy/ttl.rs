//! When an entry stops being served: the builder's `ttl` and `stale_if_error`, as one policy.

use std::time::Duration;

/// Entries older than `ttl` are misses.
///
/// Age is measured from the entry's recorded creation time with the cache's [`Clock`](crate::Clock).
/// An entry dated in the future (another machine's clock ran ahead) counts as new, unless it is
/// more than one ttl ahead, which no honest clock skew explains: then it is expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtlPolicy {
    ttl: Duration,
    stale_if_error: Duration,
}

/// Whether an entry may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Within its ttl: served.
    Fresh,
    /// Past its ttl but within the `stale_if_error` grace: served only when the function fails.
    Stale,
    /// Too old to serve.
    Expired,
}

impl TtlPolicy {
    /// Entries live for `ttl`.
    #[must_use]
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            stale_if_error: Duration::ZERO,
        }
    }

    /// After its ttl, an entry may still be served for `grace` when the function returns `Err`
    /// (with a warning), as requests-cache's `stale_if_error`.
    #[must_use]
    pub(crate) fn stale_if_error(mut self, grace: Duration) -> Self {
        self.stale_if_error = grace;
        self
    }

    /// Classifies an entry created at `created_ms` as seen at `now_ms` (both ms since the epoch).
    #[must_use]
    pub(crate) fn freshness(&self, created_ms: u64, now_ms: u64) -> Freshness {
        let ttl = as_ms(self.ttl);
        if created_ms > now_ms {
            return if created_ms - now_ms > ttl {
                Freshness::Expired
            } else {
                Freshness::Fresh
            };
        }
        let age = now_ms - created_ms;
        if age < ttl {
            Freshness::Fresh
        } else if age < ttl.saturating_add(as_ms(self.stale_if_error)) {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }
}

fn as_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Freshness, TtlPolicy};

    #[test]
    fn fresh_then_stale_then_expired() {
        let ttl = TtlPolicy::new(Duration::from_secs(60)).stale_if_error(Duration::from_secs(600));
        assert_eq!(ttl.freshness(1_000, 1_000 + 59_999), Freshness::Fresh);
        assert_eq!(ttl.freshness(1_000, 1_000 + 60_000), Freshness::Stale);
        assert_eq!(ttl.freshness(1_000, 1_000 + 660_000), Freshness::Expired);
    }

    #[test]
    fn an_entry_from_the_future_is_new_within_one_ttl() {
        let ttl = TtlPolicy::new(Duration::from_secs(60));
        assert_eq!(ttl.freshness(1_000 + 60_000, 1_000), Freshness::Fresh);
        assert_eq!(ttl.freshness(1_000 + 60_001, 1_000), Freshness::Expired);
    }
}
