//! The two drivers of the miss path: each performs the steps [`Miss`] asks for, one blocking and
//! one async, and decides nothing.
//!
//! Each tier operation runs in a `tracing` span at debug level (`cacher.read`, `cacher.write`:
//! `namespace`, `tier`), and the function in one (`cacher.compute`: `namespace`), whose time
//! the cache's counters take (exported as `cacher_compute_seconds` with the `metrics` feature).

use std::hash::Hash;
#[cfg(feature = "tokio")]
use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::time::Instant;

#[cfg(feature = "tokio")]
use tracing::Instrument as _;

#[cfg(feature = "tokio")]
use super::inner::Inner;
use super::inner::Shared;
#[cfg(feature = "tokio")]
use super::miss::Unwritten;
use super::miss::{Miss, Step};
use super::stats::Counters;
use crate::backend::PersistentBackend;
use crate::entry::{Entry, EntryKey};
use crate::key::KeyRef;
use crate::policy::RateLimiter;

/// Runs `miss` to its end, blocking: the call's value, or the function's error. `compute` is
/// taken when the function runs; left in place otherwise (a stale value served while it
/// refreshes in the background, for the caller to hand on).
pub(super) fn run<K, V, Q, E>(
    miss: &mut Miss<'_, K, V, Q>,
    compute: &mut Option<impl FnOnce() -> Result<V, E>>,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    loop {
        // The tiers, the flight and the lock are the core's (`Core::advance`): only the
        // function's run is here, per function.
        let Step::Compute(limiter) = miss.advance() else {
            return Ok(miss.value());
        };
        let started = Started::new(limiter, miss.inner());
        let compute = compute.take().expect("the miss path computes at most once");
        let result = compute();
        started.stop(miss.inner());
        match result {
            Ok(value) => miss.computed(value),
            Err(error) => return miss.failed(error),
        }
    }
}

/// Runs `miss` to its end without blocking the executor. `cache` is the cache `miss` is on: a
/// call dropped among its writes (its future dropped at an await) hands the writes it had yet
/// to make to a blocking thread that holds the cache ([`Rest`]).
#[cfg(feature = "tokio")]
pub(super) async fn run_async<K, V, Q, E, Fut>(
    cache: &Arc<Inner<K, V>>,
    miss: &mut Miss<'_, K, V, Q>,
    compute: &mut Option<impl FnOnce() -> Fut>,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
    Fut: std::future::Future<Output = Result<V, E>>,
{
    let guard = OnDrop { cache, miss };
    let miss = &mut *guard.miss;
    loop {
        match miss.next() {
            Step::Read(tier) => {
                let (backend, key) = miss.tier(tier);
                let span = tier_span("cacher.read", key.namespace, backend.name());
                let answer = backend.get_async(&key).instrument(span).await;
                miss.read(answer);
            }
            Step::Write(tier) => {
                let (backend, key) = miss.tier(tier);
                let span = tier_span("cacher.write", key.namespace, backend.name());
                let result = (backend.insert_async(&key, miss.entry()))
                    .instrument(span)
                    .await;
                if forgets(&result) {
                    forget_async(cache, tier, &key).await;
                }
                miss.wrote(result);
            }
            Step::Wait(bound) => {
                let outcome = miss.flight().wait_async(bound).await;
                miss.waited(outcome);
            }
            Step::Lock(lock, name) => miss.locked(lock.lock_async(name).await),
            Step::Compute(limiter) => {
                if let Some(limiter) = limiter {
                    limiter.acquire_async().await;
                }
                let compute = compute.take().expect("the miss path computes at most once");
                let inner = miss.inner();
                let span = compute_span(inner.namespace());
                let timer = Timer::start();
                let result = compute().instrument(span).await;
                timer.stop(&inner.stats);
                match result {
                    Ok(value) => miss.computed(value),
                    Err(error) => return miss.failed(error),
                }
            }
            Step::Done => return Ok(miss.value()),
        }
    }
}

/// The async driver's hold on its call: dropped with the driver's future, it hands the writes
/// the call had yet to make (if it was among them) to [`Rest`].
#[cfg(feature = "tokio")]
struct OnDrop<'m, 'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    cache: &'m Arc<Inner<K, V>>,
    miss: &'m mut Miss<'a, K, V, Q>,
}

#[cfg(feature = "tokio")]
impl<K, V, Q> Drop for OnDrop<'_, '_, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    fn drop(&mut self) {
        if let Some(left) = self.miss.unwritten() {
            Rest::hand(Arc::clone(self.cache), left);
        }
    }
}

/// The writes of a store that a dropped async call left unmade: made on a blocking thread,
/// holding the store as under way (a `remove` waits for them, then removes what they wrote).
/// As a blocking call is never cut short between its writes, neither is a store once the
/// memory tier serves its value: a tier after the drop point would otherwise keep the older
/// value, served again once memory forgets the key. Made in `Drop`, so that a runtime shutting
/// down, which drops blocking work it has not started, has them made where it drops them.
#[cfg(feature = "tokio")]
struct Rest<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cache: Arc<Inner<K, V>>,
    left: Option<Unwritten<V>>,
}

#[cfg(feature = "tokio")]
impl<K, V> Rest<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn hand(cache: Arc<Inner<K, V>>, left: Unwritten<V>) {
        let rest = Self {
            cache,
            left: Some(left),
        };
        crate::future::detach(move || drop(rest));
    }
}

#[cfg(feature = "tokio")]
impl<K, V> Drop for Rest<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        let Some(left) = self.left.take() else {
            return;
        };
        let cache = &*self.cache;
        let key = left.key.borrow();
        for &tier in &left.tiers {
            let backend = &*cache.backends[tier];
            // A tier that panics costs its write, not the process (a panic in a drop that
            // unwinds would abort).
            let wrote = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write(backend, &key, &left.entry)
            }));
            match wrote {
                Ok(Ok(())) => {}
                Ok(Err(e)) => cache.report(backend.name(), "write", &e),
                Err(_) => tracing::warn!(tier = backend.name(), "a tier's write panicked"),
            }
        }
        cache.flights.generations().end(left.store);
    }
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

/// Writes `entry` to a tier, in the tier's span; as [`read`].
pub(super) fn write<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> crate::Result<()> {
    let _span = tier_span("cacher.write", key.namespace, backend.name()).entered();
    forget_on_failure(backend, key, backend.insert(key, entry))
}

/// A write that failed (a value the format refuses, a full disk) takes the key's older entry out
/// of the tier, which would otherwise be served in place of the value that replaced it
/// elsewhere. Not when the tier's service failed (a dead server): the removal would fail too,
/// after its own timeout, and the tier is not used again in this call.
fn forget_on_failure<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    result: crate::Result<()>,
) -> crate::Result<()> {
    if forgets(&result) {
        let _ = backend.remove(key);
    }
    result
}

/// Whether a write's `result` takes the key's older entry out of its tier
/// ([`forget_on_failure`]).
fn forgets(result: &crate::Result<()>) -> bool {
    matches!(result, Err(error) if !matches!(error, crate::Error::Backend { .. }))
}

/// [`forget_on_failure`]'s removal in the async driver: on a blocking thread, as the tiers' other
/// I/O, not the executor's. (If the call is dropped meanwhile, its unmade writes, this one
/// included, are made and forgotten again by [`Rest`].)
#[cfg(feature = "tokio")]
async fn forget_async<K, V>(cache: &Arc<Inner<K, V>>, tier: usize, key: &EntryKey<'_>)
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let (cache, key) = (Arc::clone(cache), crate::future::OwnedKey::of(key));
    let _ = crate::future::blocking(move || cache.backends[tier].remove(&key.borrow())).await;
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
