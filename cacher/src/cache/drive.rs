//! The two drivers of the miss path: each performs the steps [`Miss`] asks for, one blocking and
//! one async, and decides nothing.
//!
//! Each tier operation runs in a `tracing` span at debug level (`cacher.read`, `cacher.write`:
//! `namespace`, `tier`), and the function in one (`cacher.compute`: `namespace`), whose time
//! the cache's counters take (exported as `cacher_compute_seconds` with the `metrics` feature).

#[cfg(feature = "tokio")]
use std::collections::VecDeque;
use std::hash::Hash;
#[cfg(feature = "tokio")]
use std::ops::ControlFlow;
#[cfg(feature = "tokio")]
use std::sync::{Arc, Mutex, PoisonError};
#[cfg(feature = "metrics")]
use std::time::Instant;

#[cfg(feature = "tokio")]
use tracing::Instrument as _;

#[cfg(feature = "tokio")]
use super::inner::Inner;
use super::inner::Shared;
use super::miss::{Miss, Step};
#[cfg(feature = "tokio")]
use super::miss::{Planned, Writes, no_tiers};
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
/// store's writes run together on a blocking thread that holds it ([`write_all`]).
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
    // How the writes of the store under way went, in the order the core asks for them.
    let mut wrote = VecDeque::new();
    let mut failure = None;
    loop {
        match miss.next() {
            Step::Read(tier) => read_async(miss, tier).await,
            Step::Write(_) => write_async(cache, miss, &mut wrote).await,
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
                    Ok(value) => miss.computed_async(value).await,
                    Err(error) => match miss.failed_async(error) {
                        ControlFlow::Break(result) => return result,
                        ControlFlow::Continue(error) => failure = Some(error),
                    },
                }
            }
            Step::Done => return miss.end(failure),
        }
    }
}

/// [`run_async`]'s read of persistent tier `tier`. None for a memory-only key form, whose
/// tiers' code is then not compiled (`KeyRef::PERSISTENT`).
#[cfg(feature = "tokio")]
async fn read_async<K, V, Q>(miss: &mut Miss<'_, K, V, Q>, tier: usize)
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let true = Q::PERSISTENT else { no_tiers() };
    let (backend, key) = miss.tier(tier);
    let span = tier_span("cacher.read", key.namespace, backend.name());
    let answer = backend.get_async(&key).instrument(span).await;
    miss.read(answer);
}

/// [`run_async`]'s next write: the store's writes made together on the first
/// ([`write_all`]), how each went kept in `wrote` for the core, in its order. None for a
/// memory-only key form, as [`read_async`].
#[cfg(feature = "tokio")]
async fn write_async<K, V, Q>(
    cache: &Arc<Inner<K, V>>,
    miss: &mut Miss<'_, K, V, Q>,
    wrote: &mut VecDeque<crate::Result<()>>,
) where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let true = Q::PERSISTENT else { no_tiers() };
    if wrote.is_empty() {
        let writes = miss.writes();
        let (entry, results) = write_all(cache, writes).await;
        miss.put_entry(entry);
        *wrote = results;
    }
    miss.wrote(wrote.pop_front().expect("a result for each write"));
}

/// Makes a store's writes ([`Miss::writes`]) on a blocking thread, one after the other, through
/// each tier's blocking `insert` (and `remove`, after a write it refuses): the entry back, and
/// how each went. They end whether or not the caller's future is polled or kept: a future
/// dropped among them (a timeout, a cancelled task) does not leave the tiers after the drop
/// point with the older value behind the one memory serves, and an invalidation that waits for
/// the store, on the thread that would poll it, does not wait out its bound and then find the
/// value written after it. The store stays counted as under way until they end; the failures
/// of writes whose caller is gone are logged and counted by the job ([`Delivery`]).
#[cfg(feature = "tokio")]
async fn write_all<K, V>(
    cache: &Arc<Inner<K, V>>,
    writes: Writes<V>,
) -> (Entry<V>, VecDeque<crate::Result<()>>)
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let delivery = Arc::new(Mutex::new(Delivery::Awaited));
    let mut job = Job {
        cache: Arc::clone(cache),
        writes: Some(writes),
        delivery: Arc::clone(&delivery),
    };
    let awaiting = Awaiting {
        cache: Arc::clone(cache),
        delivery,
    };
    let span = tracing::Span::current();
    crate::future::blocking(move || {
        let _entered = span.enter();
        job.run();
    })
    .await;
    awaiting.take()
}

/// How a store's writes went, on their way from the job that made them to the call.
#[cfg(feature = "tokio")]
enum Delivery<V> {
    /// Not made yet, the call awaiting them.
    Awaited,
    Made(Wrote<V>),
    /// The call is gone (its future dropped): the job reports its failures itself.
    Gone,
}

/// A store's writes made: the entry back, and how each tier's write went.
#[cfg(feature = "tokio")]
struct Wrote<V> {
    entry: Entry<V>,
    results: VecDeque<crate::Result<()>>,
    tiers: Vec<usize>,
    fill: bool,
    /// Whether a tier before them (the memory tier) took the value.
    stored: bool,
}

#[cfg(feature = "tokio")]
impl<V: 'static> Wrote<V> {
    /// Counts the writes as the call's core would have (`Core::wrote`, `Core::written`), for a
    /// call that is gone: a failure logged and counted in `stats().errors`, a tier's evictions
    /// in `stats().evictions`, the store in `stats().stores` (once, as for a call awaited).
    fn report<K>(&self, cache: &Inner<K, V>) {
        let op = if self.fill { "fill" } else { "write" };
        let mut stored = self.stored;
        for (&tier, result) in self.tiers.iter().zip(&self.results) {
            let backend = &cache.backends[tier];
            match result {
                Ok(()) => {
                    stored |= !self.fill;
                    (cache.stats).evictions_total(tier, backend.name(), backend.evictions());
                }
                Err(e) => cache.report(backend.name(), op, e),
            }
        }
        if !self.fill && stored {
            cache.stats.store();
        }
    }
}

/// The call's side of its store's [`Delivery`]: what it takes, or, dropped first, the mark that
/// it is gone (and the report of writes made meanwhile).
#[cfg(feature = "tokio")]
struct Awaiting<K, V: 'static> {
    cache: Arc<Inner<K, V>>,
    delivery: Arc<Mutex<Delivery<V>>>,
}

#[cfg(feature = "tokio")]
impl<K, V: 'static> Awaiting<K, V> {
    fn take(self) -> (Entry<V>, VecDeque<crate::Result<()>>) {
        match std::mem::replace(&mut *lock(&self.delivery), Delivery::Gone) {
            Delivery::Made(wrote) => (wrote.entry, wrote.results),
            _ => unreachable!("the writes are made once their job returns"),
        }
    }
}

#[cfg(feature = "tokio")]
impl<K, V: 'static> Drop for Awaiting<K, V> {
    fn drop(&mut self) {
        let delivery = std::mem::replace(&mut *lock(&self.delivery), Delivery::Gone);
        if let Delivery::Made(wrote) = delivery {
            wrote.report(&self.cache);
        }
    }
}

#[cfg(feature = "tokio")]
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A store's writes, made by [`run`](Self::run) — on a blocking thread, or by the call itself
/// when a runtime shutting down drops the job unrun (`future::blocking`) — or, if the call is
/// gone too, by its `Drop`.
#[cfg(feature = "tokio")]
struct Job<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cache: Arc<Inner<K, V>>,
    writes: Option<Writes<V>>,
    delivery: Arc<Mutex<Delivery<V>>>,
}

#[cfg(feature = "tokio")]
impl<K, V> Job<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Writes every tier, hands how each went to the call (or reports the failures, the call
    /// gone), then ends the store. A tier that panics does not keep the tiers after it from
    /// being written; its panic is resumed once they are.
    ///
    /// Unless an invalidation went on without the store meanwhile (it waited out its bound while
    /// these writes were queued, every blocking thread busy, or while a tier's write hung): it may
    /// have cleared the tiers already (those written before it gave up it clears after), so the
    /// key is taken out of the rest instead of written, and out of the one whose write ended
    /// after it — a removal is never a wrong value, a write after `remove` returned would be.
    fn run(&mut self) {
        let Some(writes) = self.writes.take() else {
            return;
        };
        let (cache, key) = (&*self.cache, writes.key.borrow());
        let generations = cache.flights.generations();
        let went_on = || generations.went_on(&writes.plan.store);
        let mut panicked = None;
        let results = (writes.plan.tiers.iter())
            .map(|&tier| {
                let backend = &*cache.backends[tier];
                let wrote = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    write_tier(backend, &key, (&writes.entry, writes.plan.fill), &went_on)
                }));
                wrote.unwrap_or_else(|panic| {
                    panicked.get_or_insert(panic);
                    Err(crate::Error::Config("the tier's write panicked".into()))
                })
            })
            .collect();
        let Writes { plan, entry, .. } = writes;
        let Planned {
            tiers,
            fill,
            stored,
            store,
        } = plan;
        let wrote = Wrote {
            entry,
            results,
            tiers,
            fill,
            stored,
        };
        let mut delivery = lock(&self.delivery);
        match *delivery {
            Delivery::Gone => {
                drop(delivery);
                wrote.report(cache);
            }
            _ => *delivery = Delivery::Made(wrote),
        }
        // The store ends once its outcome is known (as it would if this job panicked, or was
        // dropped unrun): an invalidation after the call's drop finds its failures counted.
        drop(store);
        if let Some(panic) = panicked {
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(feature = "tokio")]
impl<K, V> Drop for Job<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        if self.writes.is_some() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run()));
        }
    }
}

/// One tier's write of a store, for both drivers (the blocking `write_step`, the async job): the
/// call's value, or a later tier's entry as a fill; the key taken out instead when an
/// invalidation went on without the store (it may have cleared the tiers), and out again when
/// the write ended after one did.
pub(super) fn write_tier<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    (entry, fill): (&Entry<V>, bool),
    went_on: &dyn Fn() -> bool,
) -> crate::Result<()> {
    let forget = went_on();
    let wrote = match (forget, fill) {
        (false, false) => write(backend, key, entry),
        (false, true) => self::fill(backend, key, entry),
        (true, _) => backend.remove(key),
    };
    if !forget && went_on() {
        let _ = backend.remove(key);
    }
    wrote
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
fn write<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> crate::Result<()> {
    let _span = tier_span("cacher.write", key.namespace, backend.name()).entered();
    forget_on_failure(backend, key, backend.insert(key, entry))
}

/// Copies a later tier's entry into `backend` if it holds none for `key` (a fill, in the tier's
/// span), as [`write()`] does: not filled (the tier held one) is not a failure, and a failure
/// takes nothing out (the entry the tier holds, if any, was not replaced).
fn fill<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> crate::Result<()> {
    let _span = tier_span("cacher.fill", key.namespace, backend.name()).entered();
    backend.fill(key, entry).map(drop)
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
