//! The drivers of the miss path, which decide nothing: the blocking one, [`Miss::run`], runs the
//! function when the core's steps (performed by the core itself, `miss/block.rs`) come to it;
//! the async one (`driver.rs`) awaits every step the core asks for, and `driven.rs`, `relay.rs`
//! and `bypass.rs` are the async call's futures.
//!
//! The function runs in a `tracing` span at debug level (`cacher.compute`: `namespace`), whose
//! time the cache's counters take (exported as `cacher_compute_seconds` with the `metrics`
//! feature); each tier operation has its own (`tier_io.rs`).

use std::hash::Hash;

#[cfg(feature = "tokio")]
mod bypass;
#[cfg(feature = "tokio")]
mod driven;
#[cfg(feature = "tokio")]
mod driver;
#[cfg(feature = "tokio")]
mod job;
#[cfg(feature = "tokio")]
mod relay;
#[cfg(feature = "tokio")]
pub(super) use self::bypass::bypass_async;
#[cfg(feature = "tokio")]
pub(super) use self::driven::{Begun, driven};
#[cfg(feature = "tokio")]
pub(super) use self::driver::Driver;
#[cfg(feature = "tokio")]
pub(super) use self::relay::{Relay, Turned};

use super::miss::{Core, Miss, Step};
use super::stats::RunTimer;
use crate::key::KeyRef;
use crate::policy::RateLimiter;

impl<K, V, Q> Miss<'_, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Runs the miss to its end, blocking: the call's value, or the function's error. `compute`
    /// is taken when the function runs; left in place otherwise (a stale value served while it
    /// refreshes in the background, for the caller to hand on).
    ///
    /// A method of the miss it drives (written here, beside the async driver's steps): rustc
    /// puts a generic method's copies in the codegen unit of its `Self` type's module, beside
    /// the shell's, where a function of this module left a small unit of its own to merge. The
    /// crate of `benches/compile_time.py` went from 9 codegen units to 6 (−62.5 M rustc
    /// instructions; +0.1 M in one unit: docs/BENCHMARKS.md, session 28).
    pub(super) fn run<E>(
        &mut self,
        compute: &mut Option<impl FnOnce() -> Result<V, E>>,
    ) -> Result<V, E> {
        loop {
            // The tiers, the flight and the lock are the core's (`Core::advance`): only the
            // function's run is here, per function.
            let Step::Compute(limiter) = self.core.advance(&mut self.shell) else {
                return Ok(self.value());
            };
            let started = Started::new(limiter, &self.core);
            let result = match compute.take() {
                Some(compute) => compute(),
                None => broken("the miss path computes at most once"),
            };
            started.stop();
            match result {
                Ok(value) => self.computed(value),
                Err(error) => {
                    return match self.failed() {
                        Some(value) => Ok(value),
                        None => Err(error),
                    };
                }
            }
        }
    }
}

/// A broken promise of the drivers' own (`what` should have held): a bug of the cache. Not
/// `expect`, which is one more function per cache type or value type in a debug build (compile
/// time).
#[cold]
#[track_caller]
pub(in crate::cache) fn broken(what: &str) -> ! {
    panic!("{what}")
}

/// The span of the function's run (one call site for every cache type).
fn compute_span(namespace: &str) -> tracing::Span {
    tracing::debug_span!("cacher.compute", namespace)
}

/// The function's run begun, blocking: the rate limiter waited for, the run counted
/// ([`Core::running`](super::miss::Core::running)), and for the user's function, its span
/// entered and its time taken. Compiled once, not per function.
struct Started<'a> {
    run: Option<(tracing::span::EnteredSpan, RunTimer<'a>)>,
}

impl<'a> Started<'a> {
    fn new(limiter: Option<&RateLimiter>, core: &Core<'a>) -> Self {
        if let Some(limiter) = limiter {
            limiter.acquire();
        }
        match core.running() {
            Some(run) => {
                let span = compute_span(core.shared().namespace());
                Self {
                    run: Some((span.entered(), run)),
                }
            }
            None => Self { run: None },
        }
    }

    /// The function returned: its span left, its time to the counters.
    fn stop(self) {
        if let Some((span, run)) = self.run {
            drop(span);
            run.end();
        }
    }
}
