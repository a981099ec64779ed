//! The async driver, its loop untyped: [`drive`] performs the steps a miss asks for (the awaits
//! of its tier reads and writes, waits, lock, rate limiter and the function's run), asking the
//! miss's core directly for what names no type and [`Drivable`], a vtable over the typed miss,
//! for the rest, so that its state machine is compiled once in cacher — not once per cache type
//! and key form, as it was while the loop held the typed miss itself (about 1 200 IR lines per
//! cache type in a debug build; compile time, issue 15).
//!
//! What names the types (the function's value, the tiers' typed futures, the call's result)
//! stays behind [`Driver`], small methods per cache type; the caller's future (one per cache
//! type already) holds the driver across the loop's await: the driver has no future of its own.

use std::collections::VecDeque;
use std::hash::Hash;
use std::sync::Arc;

use tracing::Instrument as _;

use super::job::write_all;
use super::relay::Turns;
use super::{Relay, Turned, compute_span};
use crate::cache::Cache;
use crate::cache::control::{Removal, removed_async, report};
use crate::cache::inner::Inner;
use crate::cache::miss::{Core, Miss, Step, Values, no_tiers};
use crate::cache::tier_io::{down_in, read_span};
use crate::future::BoxFuture;
use crate::key::KeyRef;

/// A miss, as the untyped loop [`drive`] sees it: its steps, and the answers it hands back.
///
/// What needs no type (the next step, a wait's or the lock's answer, the run's start) the loop
/// asks of the core itself ([`core`](Self::core)), not through a method here that forwards to
/// it: each would be a function more per cache type in a debug build (compile time).
trait Drivable<'a>: Send {
    /// The miss's core, and its typed shell for the core to act on.
    fn core(&mut self) -> (&mut Core<'a>, &mut dyn Values<'a>);
    /// [`Step::Read`]: the tier read and its answer handed in.
    fn read(&mut self, tier: usize) -> BoxFuture<'_, ()>;
    /// [`Step::Write`]: the next write of the store under way made, and how it went handed in.
    fn write(&mut self) -> BoxFuture<'_, ()>;
    /// [`Step::Generations`]: the tiers' generations read and handed in.
    fn generations(&mut self, upto: usize) -> BoxFuture<'_, ()>;
    /// The function's value, handed to the core once the run gave one.
    fn computed(&mut self);
    /// The function failed: `true` when the call has ended (its result kept), `false` when the
    /// tiers are looked at for a fallback first.
    fn failed(&mut self) -> bool;
    /// [`Step::Done`]: the call's result kept (its value, or `Err` when the function `failed`
    /// meanwhile and nothing took its place), and the removal to run when it was a forced
    /// refresh whose value is stored nowhere ([`Cache::refresh_removal`]).
    fn ended(&mut self, failed: bool) -> Option<Removal>;
}

/// [`drive`]'s future, boxed by a function that is not generic: its poll is then compiled
/// once, in cacher, not in each crate that calls it.
fn boxed<'m, 'a>(
    miss: &'m mut (dyn Drivable<'a> + 'm),
    turns: &'m Turns,
) -> crate::future::BoxFuture<'m, ()> {
    Box::pin(drive(miss, turns))
}

/// Runs `miss` to its end, asking for the function's run through `turns`; the call's result is
/// then kept by the miss's driver ([`Driver::result`]).
async fn drive<'a>(miss: &mut (dyn Drivable<'a> + '_), turns: &Turns) {
    // A forced refresh first invalidates the key, waiting for a store under way without
    // blocking the executor; its generation noted after, as its first step watches the key
    // (`Core::start`).
    if let Some((generations, hash, bound)) = miss.core().0.invalidation() {
        generations.invalidate_async(hash, bound).await;
    }
    let mut failed = false;
    loop {
        let (core, values) = miss.core();
        let limiter = match core.next(values) {
            Step::Read(tier) => {
                miss.read(tier).await;
                continue;
            }
            Step::Write(_) => {
                miss.write().await;
                continue;
            }
            Step::Wait(bound) => {
                let outcome = miss.core().0.flight().wait_async(bound).await;
                let (core, values) = miss.core();
                core.waited_for(outcome, values);
                continue;
            }
            Step::Lock(lock, name) => {
                let locked = lock.lock_async(name).await;
                let (core, values) = miss.core();
                core.locked(locked, values);
                continue;
            }
            Step::Generations(upto) => {
                miss.generations(upto).await;
                continue;
            }
            Step::Compute(limiter) => limiter,
            Step::Done => {
                // Awaited here, in the loop compiled once: no typed future has a state for it.
                let shared = core.shared();
                report_end(core);
                if let Some(removal) = miss.ended(failed) {
                    removed_async(shared, removal).await;
                }
                return;
            }
        };
        // The core asked once for the run (the vtable's call builds its pair): what the run's
        // end needs of it is known now.
        let (shared, claim) = (core.shared(), core.refresh_claim());
        if let Some(limiter) = limiter {
            limiter.acquire_async().await;
        }
        let run = core.running();
        let span = run.as_ref().map(|_| compute_span(shared.namespace()));
        let gave = turns.run(span).await;
        if let Some(run) = run {
            run.end();
        }
        if !gave {
            match miss.failed() {
                true => {
                    report_end(miss.core().0);
                    return;
                }
                false => failed = true,
            }
            continue;
        }
        if let Some((generations, hash, bound)) = claim {
            let settled = generations.claimable_async(hash, bound).await;
            miss.core().0.claim_settled(settled);
        }
        miss.computed();
    }
}

/// The origin of a call that a control steers or a `lookup` observes, reported at its end
/// ([`Core::steered`]): before a refresh's removal, as the blocking call does.
fn report_end(core: &Core<'_>) {
    if core.told() {
        report(core.shared().id(), core.origin());
    }
}

impl<'m, 'a, K, V, Q> Driver<'m, 'a, K, V, Q>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    /// The async driver of `miss`, which asks for the function's run through `relay`'s turns
    /// when the miss needs it, and takes the value from `relay` when the run gave one; `cache`
    /// is the cache `miss` is on: a store's writes run together on a blocking thread that holds
    /// it ([`write_all`]). The caller awaits [`drive`](Self::drive), then takes the call's
    /// [`result`](Self::result): there is no typed future of the driver's own (compile time),
    /// only the caller's, which holds this.
    pub(in crate::cache) fn new(
        cache: &'m Arc<Inner<K, V>>,
        miss: &'m mut Miss<'a, K, V, Q>,
        relay: &'m Relay<V>,
    ) -> Self {
        Self {
            cache,
            miss,
            relay,
            wrote: VecDeque::new(),
            ended: None,
        }
    }

    /// Runs the miss to its end without blocking the executor ([`drive`]'s loop, compiled once).
    pub(in crate::cache) fn drive(&mut self) -> crate::future::BoxFuture<'_, ()> {
        let turns = self.relay.turns();
        boxed(self, turns)
    }

    /// The call's result once [`drive`](Self::drive) ended: its value, or `Err` when the
    /// function failed and nothing took its place (the caller's future keeps the error,
    /// [`Driven`](super::driven::Driven)).
    pub(in crate::cache) fn result(self) -> Result<V, ()> {
        match self.ended {
            Some(result) => result,
            None => super::broken("a call that ended keeps its result"),
        }
    }
}

/// [`Drivable`] over a typed miss: its cache, the relay it asks the function's value through,
/// how the writes of the store under way went (in the order the core asks for them), and the
/// call's result once it ended.
pub(in crate::cache) struct Driver<'m, 'a, K: Hash + Eq, V: Clone, Q: ?Sized> {
    cache: &'m Arc<Inner<K, V>>,
    miss: &'m mut Miss<'a, K, V, Q>,
    relay: &'m Relay<V>,
    wrote: VecDeque<crate::Result<bool>>,
    ended: Option<Result<V, ()>>,
}

impl<'a, K, V, Q> Drivable<'a> for Driver<'_, 'a, K, V, Q>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    fn core(&mut self) -> (&mut Core<'a>, &mut dyn Values<'a>) {
        (&mut self.miss.core, &mut self.miss.shell)
    }

    // The three below box a future made only for a key form with persistent tiers: code after an
    // `.await` is reached from the future's resume point, not through a branch before it, so a
    // guard inside the future would still compile its state machine and poll (the tier's
    // blocking job, its task) for a memory-only key form; behind the branch on `Q::PERSISTENT`,
    // it is not. One allocation per step, beside its blocking job.
    fn read(&mut self, tier: usize) -> BoxFuture<'_, ()> {
        let true = Q::PERSISTENT else { no_tiers() };
        Box::pin(read_async(self.miss, tier))
    }

    fn write(&mut self) -> BoxFuture<'_, ()> {
        let true = Q::PERSISTENT else { no_tiers() };
        Box::pin(write_async(self.cache, self.miss, &mut self.wrote))
    }

    fn generations(&mut self, upto: usize) -> BoxFuture<'_, ()> {
        let true = Q::PERSISTENT else { no_tiers() };
        Box::pin(generations_async(self.cache, self.miss, upto))
    }

    fn computed(&mut self) {
        match self.relay.take() {
            Some(value) => self.miss.computed(value),
            None => super::broken("the function's value, once the run gave one"),
        }
    }

    fn failed(&mut self) -> bool {
        match self.miss.failed_async() {
            Some(result) => {
                self.ended = Some(result);
                true
            }
            None => false,
        }
    }

    fn ended(&mut self, failed: bool) -> Option<Removal> {
        let result = self.miss.end(failed);
        let removal = match &result {
            Ok(value) => {
                let (goal, call) = (self.miss.core.goal(), self.miss.shell.call);
                Cache::refresh_removal(self.cache, goal, value, call)
            }
            Err(()) => None,
        };
        self.ended = Some(result);
        removal
    }
}

/// [`Driver::read`]'s future: the tier's read, in its span.
async fn read_async<K, V, Q>(miss: &mut Miss<'_, K, V, Q>, tier: usize)
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + Sync + ?Sized,
{
    let (backend, key) = miss.tier(tier);
    let span = read_span(key.namespace, backend.name());
    let answer = backend.get_async(&key).instrument(span).await;
    miss.read(answer);
}

/// [`Driver::write`]'s future: the store's writes made together on the first ([`write_all`]),
/// how each went kept in `wrote` for the core, in its order.
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

/// [`Driver::generations`]' future: the generations of the tiers not read yet before `upto`
/// (each on a blocking thread, for a local tier).
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
    // A forced refresh moves the key's generation first, as the blocking driver does
    // (`tier_io::generations`).
    let refresh = miss.core.moves_generations();
    let mut read = Vec::with_capacity(upto - from);
    for (tier, backend) in cache.backends.iter().enumerate().take(upto).skip(from) {
        read.push(match down_in(down, tier) {
            false => {
                let span = read_span(key.namespace, backend.name());
                let moved = match refresh {
                    true => {
                        backend
                            .begin_refresh_async(&key)
                            .instrument(span.clone())
                            .await
                    }
                    false => Ok(()),
                };
                Some(match moved {
                    Ok(()) => backend.generation_async(&key).instrument(span).await,
                    Err(e) => Err(e),
                })
            }
            true => None,
        });
    }
    miss.seen(read);
}
