//! A counter that threads add to without sharing a cache line: the hit, miss and store counts.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A count that many threads add to at once, counted where that is cheapest: one atomic shared
/// by all threads would be a cache line that two cores writing it at once pass back and forth on
/// every add, costing more than a memory hit or miss itself.
///
/// It is split into stripes on cache lines of their own. The first [`EXCLUSIVE`] stripes belong
/// each to one thread at a time (claimed on the thread's first add, released when it exits), which
/// adds to its stripe with a plain load and store, no locked instruction; threads beyond those
/// share the other stripes through `fetch_add`. The count is the sum of the stripes, less the sum
/// at the last reset (an owner's plain store could otherwise undo a reset that zeroed its stripe).
pub(crate) struct StripedCounter {
    /// Inline, like the memory tier's shards: no pointer to follow on an add.
    stripes: [Stripe; STRIPES],
    /// The sum of the stripes at the last reset.
    base: AtomicU64,
}

/// Stripes per counter: [`EXCLUSIVE`] owned by a thread, the rest shared.
const STRIPES: usize = 16;
/// Stripes that one thread at a time owns.
const EXCLUSIVE: usize = 12;

#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// Which stripe of every counter this thread adds to: below [`EXCLUSIVE`] one it owns.
/// `UNCLAIMED` until its first add.
const UNCLAIMED: usize = usize::MAX;

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Releases this thread's exclusive stripe when the thread exits.
    static RELEASE: Release = const { Release };
}

/// Which exclusive stripes are owned, by a live thread, right now.
static OWNED: Mutex<[bool; EXCLUSIVE]> = Mutex::new([false; EXCLUSIVE]);
/// Hands out the shared stripes round-robin.
static NEXT_SHARED: AtomicU64 = AtomicU64::new(0);

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let index = STRIPE.with(|s| s.replace(shared_stripe()));
        if index < EXCLUSIVE {
            // The mutex orders this thread's last plain store before the next owner's first
            // load.
            OWNED.lock().unwrap_or_else(|e| e.into_inner())[index] = false;
        }
    }
}

fn shared_stripe() -> usize {
    EXCLUSIVE + (NEXT_SHARED.fetch_add(1, Ordering::Relaxed) as usize) % (STRIPES - EXCLUSIVE)
}

/// Claims an exclusive stripe if one is free, else picks a shared one.
#[cold]
fn claim() -> usize {
    let mut owned = OWNED.lock().unwrap_or_else(|e| e.into_inner());
    let free = owned.iter().position(|taken| !taken);
    let index = match free {
        // Registering the release may fail while the thread is exiting: then stay shared.
        Some(index) if RELEASE.try_with(|_| ()).is_ok() => {
            owned[index] = true;
            index
        }
        _ => shared_stripe(),
    };
    drop(owned);
    STRIPE.with(|s| s.set(index));
    index
}

impl Default for StripedCounter {
    fn default() -> Self {
        Self {
            stripes: Default::default(),
            base: AtomicU64::new(0),
        }
    }
}

impl StripedCounter {
    /// Counts one.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn add(&self) {
        let index = STRIPE.with(Cell::get);
        if index < EXCLUSIVE {
            // This thread is the stripe's only writer: a plain load and store.
            let stripe = &self.stripes[index].0;
            stripe.store(
                stripe.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
        } else {
            self.add_shared(index);
        }
    }

    /// A thread without an exclusive stripe: claims one on its first add, else adds to a shared
    /// stripe atomically.
    #[cold]
    #[inline(never)]
    fn add_shared(&self, mut index: usize) {
        if index == UNCLAIMED {
            index = claim();
            if index < EXCLUSIVE {
                return self.add();
            }
        }
        self.stripes[index % STRIPES]
            .0
            .fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed)))
    }

    pub(crate) fn sum(&self) -> u64 {
        // The base first, then the stripes: Acquire, paired with the reset's Release, so that
        // the stripes read here are at least those the base was added up from, and the
        // difference never wraps (read the other way round, a reset in between did).
        let base = self.base.load(Ordering::Acquire);
        self.total().wrapping_sub(base)
    }

    pub(crate) fn reset(&self) {
        self.base.store(self.total(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{EXCLUSIVE, STRIPE, StripedCounter};

    #[test]
    fn adds_from_many_threads_all_count() {
        let counter = StripedCounter::default();
        // More threads than exclusive stripes, so shared stripes are used too.
        let threads = EXCLUSIVE * 2;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        counter.add();
                    }
                });
            }
        });
        assert_eq!(counter.sum(), threads as u64 * 10_000);
        counter.reset();
        assert_eq!(counter.sum(), 0);
        counter.add();
        assert_eq!(counter.sum(), 1);
    }

    #[test]
    fn a_sum_read_during_resets_never_exceeds_what_was_added() {
        // A reader that added up the stripes before a reset, then read the reset's base, took
        // the difference of a smaller total and a larger base: a count near u64::MAX.
        const ADDS: u64 = 2_000_000;
        let counter = StripedCounter::default();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..ADDS {
                    counter.add();
                }
                done.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    counter.reset();
                }
            });
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let sum = counter.sum();
                assert!(sum <= ADDS, "a sum of {sum} after {ADDS} adds");
            }
        });
    }

    #[test]
    fn stripes_are_reused_after_threads_exit() {
        let counter = StripedCounter::default();
        for _ in 0..EXCLUSIVE * 3 {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    counter.add();
                    // Each thread, once the previous ones have exited, gets an exclusive stripe.
                    assert!(STRIPE.with(Cell::get) < EXCLUSIVE);
                });
            });
        }
        assert_eq!(counter.sum(), EXCLUSIVE as u64 * 3);
    }
}
