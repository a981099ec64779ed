//! The two drivers of the miss path: each performs the steps [`Miss`] asks for, one blocking and
//! one async, and decides nothing.
//!
//! Each tier operation runs in a `tracing` span at debug level (`cacher.read`, `cacher.write`:
//! `namespace`, `tier`), and the function in one (`cacher.compute`: `namespace`), whose time
//! the cache's counters take (exported as `cacher_compute_seconds` with the `metrics` feature).

use std::hash::Hash;
#[cfg(feature = "metrics")]
use std::time::Instant;

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

use super::inner::Shared;
use super::miss::{Miss, Put, Step, down_in};
use super::stats::Counters;
use crate::backend::{Generation, PersistentBackend};
use crate::entry::{Entry, EntryKey};
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
            let started = Started::new(limiter, self.core.shared());
            self.core.running();
            let result = match compute.take() {
                Some(compute) => compute(),
                None => broken("the miss path computes at most once"),
            };
            started.stop(self.core.shared());
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

/// One tier's write of a store, for both drivers (the blocking `write_step`, the async job), as
/// `put` says: the call's value, or a later tier's entry as a fill; the key taken out instead
/// when an invalidation went on without the store (it may have cleared the tiers), and out again
/// when the write ended after one did. Whether the tier took the value.
pub(super) fn write_tier<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    (entry, put): (&Entry<V>, Put),
    went_on: &dyn Fn() -> bool,
) -> crate::Result<bool> {
    let forget = went_on();
    let wrote = match (forget, put) {
        (false, Put::Insert) => write(backend, key, entry, None),
        (false, Put::Since(seen)) => write(backend, key, entry, Some(seen)),
        (false, Put::Refresh(seen, began_ms)) => refreshed(backend, key, entry, (seen, began_ms)),
        (false, Put::Fill(seen)) => self::fill(backend, key, entry, seen),
        // Its generation unknown: a value computed before another process's invalidation
        // could land after it. The older entry it was to replace goes, as a failed write's
        // (`forget_on_failure`, and as there, a failed removal is not reported again: the
        // read's failure was): a forced refresh must not leave the value it replaces.
        (false, Put::Skip) => {
            let _ = backend.remove(key);
            Ok(false)
        }
        (true, _) => backend.remove(key).map(|()| false),
    };
    if !forget && went_on() {
        let _ = backend.remove(key);
    }
    wrote
}

/// The generations of `key` in the tiers `tiers`, but those `down` (`None`), for the blocking
/// driver; a forced refresh's (`refresh`) moved first.
pub(super) fn generations<V: 'static>(
    backends: &[Box<dyn PersistentBackend<V>>],
    key: &EntryKey<'_>,
    (down, refresh, tiers): (u64, bool, std::ops::Range<usize>),
) -> Vec<Option<crate::Result<Generation>>> {
    let mut read = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let backend = &backends[tier];
        read.push((!down_in(down, tier)).then(|| {
            let _span = tier_span("cacher.read", key.namespace, backend.name()).entered();
            // A forced refresh moves the key's generation first: what began before it stores
            // nothing over its value (a failed move: its value is stored in no such tier).
            match refresh {
                true => backend
                    .begin_refresh(key)
                    .and_then(|()| backend.generation(key)),
                false => backend.generation(key),
            }
        }));
    }
    read
}

/// Reads `key` from a tier, in the tier's span. Out of the drivers, which are a copy per cache
/// type, key form and function: this is one per value type (compile time). Entered rather than
/// `in_scope`, which would be one more copy for its closure.
pub(super) fn read<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
) -> crate::Result<Option<Entry<V>>> {
    let _span = tier_span("cacher.read", key.namespace, backend.name()).entered();
    backend.get(key)
}

/// Writes `entry` to a tier, in the tier's span; as [`read`]. A computed value (`since` its
/// generation then) only if no invalidation reached the tier since: refused, the tier keeps what
/// the invalidation left.
fn write<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    since: Option<Generation>,
) -> crate::Result<bool> {
    let _span = tier_span("cacher.write", key.namespace, backend.name()).entered();
    let wrote = match since {
        None => backend.insert(key, entry).map(|()| true),
        Some(seen) => backend.insert_since(key, entry, seen).inspect(|&stored| {
            if !stored {
                tracing::debug!("not stored: the key was invalidated in the tier meanwhile");
            }
        }),
    };
    forget_on_failure(backend, key, wrote)
}

/// A forced refresh's write, as a computed value's ([`write()`]). Refused — the key moved in
/// the tier since the refresh began: a later refresh, another process's, or more moves of other
/// keys than the tier tells apart (`backend::generation::Moves`) — the entry the refresh was
/// asked to replace is taken out rather than left to be served, by every process, after the
/// refresh returned its value (helper-110): an entry written before the millisecond the refresh
/// began in (or unreadable). One written since (an insert's, a later refresh's, another
/// process's that began later: "the one that began last stands") stays, and so does one of the
/// refresh's own millisecond, which cannot be told from them.
fn refreshed<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    (seen, began_ms): (Generation, u64),
) -> crate::Result<bool> {
    let wrote = write(backend, key, entry, Some(seen));
    if let Ok(false) = wrote {
        let stays = match backend.get(key) {
            Ok(None) => true,
            Ok(Some(found)) => found.created_ms >= began_ms,
            // The tier's service failed (a dead server): a removal would wait out its own
            // timeout and fail too, as `forget_on_failure` says.
            Err(crate::Error::Backend { .. }) => true,
            Err(_) => false,
        };
        if !stays {
            let _ = backend.remove(key);
        }
    }
    wrote
}

/// Copies a later tier's entry into `backend` if it holds none for `key` (a fill, in the tier's
/// span), as [`write()`] does: not filled (the tier held one) is not a failure, and a failure
/// takes nothing out (the entry the tier holds, if any, was not replaced).
fn fill<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    since: Generation,
) -> crate::Result<bool> {
    let _span = tier_span("cacher.fill", key.namespace, backend.name()).entered();
    backend.fill(key, entry, since)
}

/// A write that failed (a value the format refuses, a full disk) takes the key's older entry out
/// of the tier, which would otherwise be served in place of the value that replaced it
/// elsewhere. Not when the tier's service failed (a dead server): the removal would fail too,
/// after its own timeout, and the tier is not used again in this call.
fn forget_on_failure<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    result: crate::Result<bool>,
) -> crate::Result<bool> {
    if let Err(error) = &result
        && !matches!(error, crate::Error::Backend { .. })
    {
        let _ = backend.remove(key);
    }
    result
}

/// The span of the function's run (one call site for every cache type).
fn compute_span(namespace: &str) -> tracing::Span {
    tracing::debug_span!("cacher.compute", namespace)
}

/// The span of one tier operation.
fn tier_span(name: &'static str, namespace: &str, tier: &'static str) -> tracing::Span {
    match name {
        "cacher.read" => tracing::debug_span!("cacher.read", namespace, tier),
        _ => tracing::debug_span!("cacher.write", namespace, tier),
    }
}

/// The function's run begun, blocking: the rate limiter waited for, its span entered, its
/// timer started. Compiled once, not per function.
struct Started {
    span: tracing::span::EnteredSpan,
    timer: Timer,
}

impl Started {
    fn new(limiter: Option<&RateLimiter>, shared: &Shared) -> Self {
        if let Some(limiter) = limiter {
            limiter.acquire();
        }
        let span = compute_span(shared.namespace());
        let timer = Timer::start();
        Self {
            span: span.entered(),
            timer,
        }
    }

    /// Its span left, its time to the counters.
    fn stop(self, shared: &Shared) {
        drop(self.span);
        self.timer.stop(&shared.stats);
    }
}

/// How long the function took, for the exported histogram: without the `metrics` feature nothing
/// takes it, and no clock is read.
struct Timer {
    #[cfg(feature = "metrics")]
    started: Instant,
}

impl Timer {
    #[inline]
    fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: Instant::now(),
        }
    }

    /// Hands the time taken to the counters (which export it with the `metrics` feature, and
    /// drop it without).
    #[inline]
    fn stop(self, stats: &Counters) {
        #[cfg(feature = "metrics")]
        let took = self.started.elapsed();
        #[cfg(not(feature = "metrics"))]
        let took = std::time::Duration::ZERO;
        stats.computed(took);
    }
}
