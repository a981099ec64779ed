//! Outages that do not hammer the failing service: after the function failed for a key (a call
//! that fell back on a stale entry, or a background refresh), calls of that key serve the stale
//! entry without calling the function again for the error backoff.
//!
//! The record is per process, by the key's hash (a collision costs one call served stale that
//! could have been tried), bounded: past [`MAX_KEYS`] keys in backoff the oldest records go.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Keys remembered at most; a process with more keys failing at once calls the function for
/// some of them again, sooner.
const MAX_KEYS: usize = 4096;

/// When the function last failed, by key hash.
#[derive(Debug, Default)]
pub(crate) struct Outages {
    backoff_ms: u64,
    /// Whether any key failed since the record was last empty: spares the lock on every
    /// successful call while nothing fails.
    any: AtomicBool,
    failed: Mutex<HashMap<u64, u64>>,
}

impl Outages {
    /// Remembers failures for `backoff` (zero: never, every call tries the function).
    pub(crate) fn new(backoff: Duration) -> Self {
        Self {
            backoff_ms: crate::clock::ceil_ms(backoff),
            any: AtomicBool::new(false),
            failed: Mutex::default(),
        }
    }

    /// The function failed for `hash` at `now_ms`.
    pub(crate) fn failed(&self, hash: u64, now_ms: u64) {
        if self.backoff_ms == 0 {
            return;
        }
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.len() >= MAX_KEYS {
            failed.retain(|_, &mut at| self.within(at, now_ms));
            if failed.len() >= MAX_KEYS {
                failed.clear();
            }
        }
        failed.insert(hash, now_ms);
        self.any.store(true, Ordering::Release);
    }

    /// The function succeeded for `hash`: its outage is over. Inline: every computed value
    /// asks, and nearly always no key is backing off.
    #[inline]
    pub(crate) fn recovered(&self, hash: u64) {
        if self.any.load(Ordering::Acquire) {
            self.forget(hash);
        }
    }

    /// [`recovered`](Self::recovered) while some key is backing off.
    #[cold]
    fn forget(&self, hash: u64) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.remove(&hash);
        if failed.is_empty() {
            self.any.store(false, Ordering::Release);
        }
    }

    /// Whether `hash` failed less than the backoff before `now_ms`.
    pub(crate) fn backing_off(&self, hash: u64, now_ms: u64) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.get(&hash).is_some_and(|&at| self.within(at, now_ms))
    }

    /// Whether a failure at `at` is less than the backoff away from `now_ms`, on a wall clock
    /// that may have been set back since: a failure dated more than one backoff ahead is of
    /// another time (else the key would back off until the clock caught up, for as long as it
    /// was set back), as an entry dated more than its ttl ahead is expired.
    fn within(&self, at: u64, now_ms: u64) -> bool {
        match now_ms.checked_sub(at) {
            Some(elapsed) => elapsed < self.backoff_ms,
            None => at - now_ms < self.backoff_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Outages;

    #[test]
    fn a_failure_backs_off_for_its_interval_then_not() {
        let outages = Outages::new(Duration::from_secs(30));
        outages.failed(7, 1_000);
        assert!(outages.backing_off(7, 1_000 + 29_999));
        assert!(!outages.backing_off(7, 1_000 + 30_000));
        assert!(!outages.backing_off(8, 1_000));
        outages.recovered(7);
        assert!(!outages.backing_off(7, 1_001));
    }

    /// A backoff under a millisecond is one millisecond: truncated to zero, it meant "never
    /// back off" (every call of a failing key called the function), the opposite of a short one.
    #[test]
    fn a_sub_millisecond_backoff_backs_off_for_a_millisecond() {
        let outages = Outages::new(Duration::from_micros(500));
        outages.failed(7, 1_000);
        assert!(outages.backing_off(7, 1_000));
        assert!(!outages.backing_off(7, 1_001));
        let outages = Outages::new(Duration::from_micros(1_500));
        outages.failed(7, 1_000);
        assert!(outages.backing_off(7, 1_001), "1.5 ms is 2 ms, not 1");
    }

    #[test]
    fn zero_backoff_remembers_nothing() {
        let outages = Outages::new(Duration::ZERO);
        outages.failed(7, 1_000);
        assert!(!outages.backing_off(7, 1_000));
    }

    /// The wall clock set back a day after a failure: the key does not back off until the clock
    /// has caught up (a day of stale answers, the function never tried); set back less than a
    /// backoff, it still backs off.
    #[test]
    fn a_clock_set_back_does_not_hold_the_backoff_until_it_catches_up() {
        let day_ms = 86_400_000;
        let outages = Outages::new(Duration::from_secs(30));
        outages.failed(7, 2 * day_ms);
        assert!(outages.backing_off(7, 2 * day_ms - 10_000));
        assert!(!outages.backing_off(7, day_ms));
    }
}
