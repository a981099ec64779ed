//! When an entry stops being served, as one policy over the one clock: the fixed `ttl` (or the
//! entry's own, from `ttl_fn`), the `stale_while_revalidate` and `stale_if_error` windows after
//! it, and `time_to_idle`.

use std::time::Duration;

use crate::clock::Clock;
use crate::entry::Stamp;

/// How long entries are served, and how.
///
/// Age is measured from the entry's recorded creation time with the cache's [`Clock`].
/// An entry dated in the future (another machine's clock ran ahead) counts as new, unless it is
/// more than one ttl ahead, which no honest clock skew explains: then it is expired. A last use
/// dated more than one idle window ahead is idle, for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TtlPolicy {
    /// The ttl of entries without one of their own; `None`: they never age.
    ttl: Option<u64>,
    stale_while_revalidate: u64,
    stale_if_error: u64,
    time_to_idle: Option<u64>,
}

/// Whether, and how, an entry may be served. The one place that says "this value is stale":
/// the miss path acts on it, and reports what it served from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Within its ttl (and idle window): served.
    Fresh,
    /// Past its ttl, within `stale_while_revalidate`: served at once while one refresh runs in
    /// the background.
    Revalidate,
    /// Past its ttl, within the `stale_if_error` grace: served only when the function fails
    /// (or failed within the error backoff).
    Stale,
    /// Too old (or idle too long) to serve.
    Expired,
}

impl TtlPolicy {
    /// Entries live for `ttl` (`None`: until evicted, unless they have a ttl of their own).
    #[must_use]
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl: ttl.map(as_ms),
            ..Self::default()
        }
    }

    /// After its ttl, an entry may still be served for `grace` when the function returns `Err`
    /// (with a warning), as requests-cache's `stale_if_error`.
    #[must_use]
    pub(crate) fn stale_if_error(mut self, grace: Duration) -> Self {
        self.stale_if_error = as_ms(grace);
        self
    }

    /// After its ttl, an entry is served for `window` while it is refreshed in the background.
    #[must_use]
    pub(crate) fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = as_ms(window);
        self
    }

    /// An entry unused for `idle` is expired, whatever its ttl.
    #[must_use]
    pub(crate) fn time_to_idle(mut self, idle: Option<Duration>) -> Self {
        self.time_to_idle = idle.map(as_ms);
        self
    }

    /// Classifies an entry as seen at `now_ms` (ms since the epoch).
    #[must_use]
    pub(crate) fn freshness(&self, stamp: Stamp, now_ms: u64) -> Freshness {
        // A use dated more than the idle window ahead (a clock ahead) is no honest skew: idle,
        // as an entry made more than its ttl ahead is expired below.
        if let Some(idle) = self.time_to_idle
            && (now_ms.saturating_sub(stamp.touched_ms) >= idle
                || stamp.touched_ms.saturating_sub(now_ms) > idle)
        {
            return Freshness::Expired;
        }
        let Some(ttl) = stamp.ttl_ms.or(self.ttl) else {
            return Freshness::Fresh;
        };
        let created_ms = stamp.created_ms;
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
        } else if age < ttl.saturating_add(self.stale_while_revalidate) {
            Freshness::Revalidate
        } else if age < ttl.saturating_add(self.stale_if_error) {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }

    /// When no read accepts the entry any more (ms since the epoch), for backends with an expiry
    /// of their own; `None`: never.
    #[must_use]
    pub(crate) fn expires_ms(&self, stamp: Stamp) -> Option<u64> {
        let grace = self.stale_while_revalidate.max(self.stale_if_error);
        let aged = (stamp.ttl_ms.or(self.ttl))
            .map(|ttl| stamp.created_ms.saturating_add(ttl).saturating_add(grace));
        let idle = self
            .time_to_idle
            .map(|idle| stamp.touched_ms.saturating_add(idle));
        match (aged, idle) {
            (Some(a), Some(i)) => Some(a.min(i)),
            (a, i) => a.or(i),
        }
    }

    /// Whether a use at `now_ms` should be recorded: with a `time_to_idle`, once a quarter of the
    /// idle window has passed since the last recorded use, so that a hot entry costs one store
    /// in memory per quarter window, not one per hit, and never idles out while in use there.
    #[must_use]
    pub(crate) fn touch_due(&self, stamp: Stamp, now_ms: u64) -> bool {
        self.time_to_idle
            .is_some_and(|idle| now_ms.saturating_sub(stamp.touched_ms) >= (idle / 4).max(1))
    }

    /// Whether the time changes anything about an entry with `stamp`: its freshness (a ttl, its
    /// own or the cache's, or an idle time) or the use a read records (an idle time).
    #[must_use]
    pub(crate) fn reads_clock(&self, stamp: Stamp) -> bool {
        self.time_to_idle.is_some() || stamp.ttl_ms.or(self.ttl).is_some()
    }

    /// The time an entry with `stamp` is judged at: `clock`'s, or `0` when the time changes
    /// nothing about it ([`reads_clock`](Self::reads_clock)), without reading the clock.
    pub(crate) fn now_ms(&self, stamp: Stamp, clock: &Clock) -> u64 {
        if self.reads_clock(stamp) {
            clock.now_ms()
        } else {
            0
        }
    }

    /// Whether entries can age at all (without, the memory hit reads no clock).
    #[must_use]
    pub(crate) fn ages(&self) -> bool {
        self.ttl.is_some() || self.time_to_idle.is_some()
    }
}

/// `d` in whole milliseconds, rounded up: a positive duration is never zero (which would expire
/// every entry at once).
fn as_ms(d: Duration) -> u64 {
    crate::clock::ceil_ms(d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Freshness, TtlPolicy};
    use crate::entry::Stamp;

    const MIN: u64 = 60_000;

    fn at(created_ms: u64) -> Stamp {
        Stamp {
            created_ms,
            ttl_ms: None,
            touched_ms: created_ms,
        }
    }

    /// A ttl or idle time under a millisecond counts as one (the policy counts whole
    /// milliseconds): truncated to zero, it made every entry a miss from its store on — the ttl
    /// of zero that the builder and `#[cached]` refuse, let through as `"500us"`.
    #[test]
    fn a_sub_millisecond_ttl_or_idle_time_is_one_millisecond_not_zero() {
        let half = Some(Duration::from_micros(500));
        for ttl in [
            TtlPolicy::new(half),
            TtlPolicy::new(None).time_to_idle(half),
        ] {
            assert_eq!(ttl.freshness(at(5_000), 5_000), Freshness::Fresh);
            assert_eq!(ttl.freshness(at(5_000), 5_001), Freshness::Expired);
        }
    }

    /// A read skips the clock when `reads_clock` says so: then no time changes the answers.
    #[test]
    fn without_reads_clock_no_time_changes_an_entry() {
        let secs = |s| Some(Duration::from_secs(s));
        let policies = [
            TtlPolicy::new(None),
            TtlPolicy::new(secs(60)),
            TtlPolicy::new(None).time_to_idle(secs(60)),
            TtlPolicy::new(None).stale_while_revalidate(Duration::from_secs(9)),
        ];
        let stamps = [
            at(5_000),
            Stamp {
                ttl_ms: Some(MIN),
                ..at(5_000)
            },
        ];
        for ttl in &policies {
            for stamp in stamps {
                if ttl.reads_clock(stamp) {
                    continue;
                }
                for now in [0, 4_999, 5_000, 5_000 + MIN, u64::MAX] {
                    assert_eq!(ttl.freshness(stamp, now), ttl.freshness(stamp, 0));
                    assert!(!ttl.touch_due(stamp, now));
                }
            }
        }
        assert!(!TtlPolicy::new(None).reads_clock(at(5_000)));
    }

    #[test]
    fn fresh_then_stale_then_expired() {
        let ttl =
            TtlPolicy::new(Some(Duration::from_secs(60))).stale_if_error(Duration::from_secs(600));
        assert_eq!(ttl.freshness(at(1_000), 1_000 + 59_999), Freshness::Fresh);
        assert_eq!(ttl.freshness(at(1_000), 1_000 + 60_000), Freshness::Stale);
        assert_eq!(
            ttl.freshness(at(1_000), 1_000 + 660_000),
            Freshness::Expired
        );
    }

    #[test]
    fn revalidate_comes_before_stale_if_error() {
        let ttl = TtlPolicy::new(Some(Duration::from_secs(60)))
            .stale_while_revalidate(Duration::from_secs(60))
            .stale_if_error(Duration::from_secs(600));
        assert_eq!(ttl.freshness(at(0), MIN), Freshness::Revalidate);
        assert_eq!(ttl.freshness(at(0), 2 * MIN), Freshness::Stale);
        assert_eq!(ttl.freshness(at(0), 11 * MIN), Freshness::Expired);
        assert_eq!(ttl.expires_ms(at(0)), Some(11 * MIN));
    }

    #[test]
    fn an_entry_ttl_overrides_the_fixed_one() {
        let ttl = TtlPolicy::new(Some(Duration::from_secs(60)));
        let long = Stamp {
            ttl_ms: Some(10 * MIN),
            ..at(0)
        };
        assert_eq!(ttl.freshness(long, 5 * MIN), Freshness::Fresh);
        assert_eq!(ttl.freshness(long, 10 * MIN), Freshness::Expired);
        let no_fixed = TtlPolicy::new(None);
        assert_eq!(no_fixed.freshness(at(0), u64::MAX / 2), Freshness::Fresh);
        assert_eq!(no_fixed.freshness(long, 10 * MIN), Freshness::Expired);
    }

    #[test]
    fn idle_entries_expire_and_touches_are_spaced() {
        let ttl = TtlPolicy::new(None).time_to_idle(Some(Duration::from_secs(60)));
        assert_eq!(ttl.freshness(at(0), MIN - 1), Freshness::Fresh);
        assert_eq!(ttl.freshness(at(0), MIN), Freshness::Expired);
        assert!(!ttl.touch_due(at(0), MIN / 4 - 1));
        assert!(ttl.touch_due(at(0), MIN / 4));
        assert_eq!(ttl.expires_ms(at(0)), Some(MIN));
    }

    #[test]
    fn an_entry_from_the_future_is_new_within_one_ttl() {
        let ttl = TtlPolicy::new(Some(Duration::from_secs(60)));
        assert_eq!(ttl.freshness(at(1_000 + 60_000), 1_000), Freshness::Fresh);
        assert_eq!(ttl.freshness(at(1_000 + 60_001), 1_000), Freshness::Expired);
    }
}
