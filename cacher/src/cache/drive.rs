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
use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::time::Instant;

#[cfg(feature = "tokio")]
use tracing::Instrument as _;

#[cfg(feature = "tokio")]
use crate::future::BoxFuture;

#[cfg(feature = "tokio")]
mod job;
#[cfg(feature = "tokio")]
mod relay;
#[cfg(feature = "tokio")]
use self::job::write_all;
#[cfg(feature = "tokio")]
pub(super) use self::relay::{Begun, Relay, driven};

#[cfg(feature = "tokio")]
use super::inner::Inner;
use super::inner::Shared;
#[cfg(feature = "tokio")]
use super::miss::no_tiers;
use super::miss::{Miss, Put, Step, down_in};
use super::stats::Counters;
use crate::backend::{Generation, PersistentBackend};
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

/// Runs `miss` to its end without blocking the executor, asking `relay` for the function's
/// value (`None` when it failed) when the miss needs it: `Err` when it failed and nothing took
/// its place (the caller's future keeps the error, [`Driven`](relay::Driven)). `cache` is the cache `miss` is
/// on: a store's writes run together on a blocking thread that holds it ([`write_all`]).
///
/// A copy per cache type and key form, not per function: the function's future is the caller's
/// ([`Driven`](relay::Driven)), not held here (compile time: held here, each async `#[cached]` function
/// compiled the whole driver). One loop, the tier steps' and the run's, not a loop of steps
/// awaited from another: one state machine per cache type rather than two. `wrote` keeps how
/// the writes of the store under way went, in the order the core asks for them.
#[cfg(feature = "tokio")]
pub(super) async fn run_async<K, V, Q>(
    cache: &Arc<Inner<K, V>>,
    miss: &mut Miss<'_, K, V, Q>,
    relay: &Relay<V>,
) -> Result<V, ()>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let (mut wrote, mut failure) = (VecDeque::new(), None);
    loop {
        let limiter = match miss.next() {
            Step::Read(tier) => {
                read_boxed(miss, tier).await;
                continue;
            }
            Step::Write(_) => {
                write_boxed(cache, miss, &mut wrote).await;
                continue;
            }
            Step::Wait(bound) => {
                let outcome = miss.flight().wait_async(bound).await;
                miss.waited(outcome);
                continue;
            }
            Step::Lock(lock, name) => {
                miss.locked(lock.lock_async(name).await);
                continue;
            }
            Step::Generations(upto) => {
                generations_boxed(cache, miss, upto).await;
                continue;
            }
            Step::Compute(limiter) => limiter,
            Step::Done => return miss.end(failure),
        };
        if let Some(limiter) = limiter {
            limiter.acquire_async().await;
        }
        let inner = miss.inner();
        let timer = Timer::start();
        let value = relay.run(Some(compute_span(inner.namespace()))).await;
        timer.stop(&inner.stats);
        match value {
            Some(value) => {
                if let Some((generations, hash, bound)) = miss.refresh_claim() {
                    let settled = generations.claimable_async(hash, bound).await;
                    miss.claim_settled(settled);
                }
                miss.computed(value);
            }
            None => match miss.failed_async(()) {
                ControlFlow::Break(result) => return result,
                ControlFlow::Continue(()) => failure = Some(()),
            },
        }
    }
}

/// [`run_async`]'s read of persistent tier `tier`, made only for a key form with persistent
/// tiers ([`read_boxed`]).
#[cfg(feature = "tokio")]
async fn read_async<K, V, Q>(miss: &mut Miss<'_, K, V, Q>, tier: usize)
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let (backend, key) = miss.tier(tier);
    let span = tier_span("cacher.read", key.namespace, backend.name());
    let answer = backend.get_async(&key).instrument(span).await;
    miss.read(answer);
}

/// [`run_async`]'s next write: the store's writes made together on the first
/// ([`write_all`]), how each went kept in `wrote` for the core, in its order; made only for a
/// key form with persistent tiers ([`write_boxed`]).
#[cfg(feature = "tokio")]
async fn write_async<K, V, Q>(
    cache: &Arc<Inner<K, V>>,
    miss: &mut Miss<'_, K, V, Q>,
    wrote: &mut VecDeque<crate::Result<bool>>,
) where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    if wrote.is_empty() {
        let (entry, results) = write_all(cache, miss.writes()).await;
        miss.put_entry(entry);
        *wrote = results;
    }
    miss.wrote(wrote.pop_front().expect("a result for each write"));
}

/// [`read_async`]'s future, boxed under the branch on `Q::PERSISTENT`: code after an `.await`
/// is reached from the future's resume point, not through a branch before it, so a guard in
/// [`run_async`] or in the read would still compile the read's state machine and poll (the
/// tier's blocking job, its task) for a memory-only key form; through the box's vtable, made
/// here, it is not. One allocation per read of a persistent tier, beside its blocking job.
#[cfg(feature = "tokio")]
fn read_boxed<'m, K, V, Q>(miss: &'m mut Miss<'_, K, V, Q>, tier: usize) -> BoxFuture<'m, ()>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let true = Q::PERSISTENT else { no_tiers() };
    Box::pin(read_async(miss, tier))
}

/// [`run_async`]'s read of the generations of the tiers not read yet before `upto` (each on a
/// blocking thread, for a local tier), made only for a key form with persistent tiers
/// ([`generations_boxed`]).
#[cfg(feature = "tokio")]
async fn generations_async<K, V, Q>(
    cache: &Arc<Inner<K, V>>,
    miss: &mut Miss<'_, K, V, Q>,
    upto: usize,
) where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let (down, key, from) = (miss.down(), miss.tier(0).1, miss.seen_len());
    let mut read = Vec::with_capacity(upto - from);
    for (tier, backend) in cache.backends.iter().enumerate().take(upto).skip(from) {
        read.push(match down_in(down, tier) {
            false => {
                let span = tier_span("cacher.read", key.namespace, backend.name());
                Some(backend.generation_async(&key).instrument(span).await)
            }
            true => None,
        });
    }
    miss.seen(read);
}

/// [`generations_async`]'s future, boxed under the branch on `Q::PERSISTENT`, as [`read_boxed`].
#[cfg(feature = "tokio")]
fn generations_boxed<'m, K, V, Q>(
    cache: &'m Arc<Inner<K, V>>,
    miss: &'m mut Miss<'_, K, V, Q>,
    upto: usize,
) -> BoxFuture<'m, ()>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let true = Q::PERSISTENT else { no_tiers() };
    Box::pin(generations_async(cache, miss, upto))
}

/// [`write_async`]'s future, boxed under the branch on `Q::PERSISTENT`, as [`read_boxed`].
#[cfg(feature = "tokio")]
fn write_boxed<'m, K, V, Q>(
    cache: &'m Arc<Inner<K, V>>,
    miss: &'m mut Miss<'_, K, V, Q>,
    wrote: &'m mut VecDeque<crate::Result<bool>>,
) -> BoxFuture<'m, ()>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let true = Q::PERSISTENT else { no_tiers() };
    Box::pin(write_async(cache, miss, wrote))
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
/// driver.
pub(super) fn generations<V: 'static>(
    backends: &[Box<dyn PersistentBackend<V>>],
    key: &EntryKey<'_>,
    (down, tiers): (u64, std::ops::Range<usize>),
) -> Vec<Option<crate::Result<Generation>>> {
    let mut read = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let backend = &backends[tier];
        read.push((!down_in(down, tier)).then(|| {
            let _span = tier_span("cacher.read", key.namespace, backend.name()).entered();
            backend.generation(key)
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
