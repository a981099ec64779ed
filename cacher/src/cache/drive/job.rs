//! The async driver's store: its writes made together on a blocking thread, which end whether
//! or not the call's future is still polled ([`write_all`]).

use std::collections::VecDeque;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use crate::cache::inner::Inner;
use crate::cache::miss::{Planned, Writes};
use crate::cache::tier_io::{Put, write_tier};
use crate::entry::Entry;

/// Makes a store's writes ([`Miss::writes`](crate::cache::miss::Miss::writes)) on a blocking
/// thread, one after the other, as [`write_tier`] makes each (a `remove` instead, or after, where
/// a failed write, a refused forced refresh or an invalidation that went on says so): the entry
/// back, and how each went. They end whether or not the caller's future is
/// polled or kept: a future dropped among them (a timeout, a cancelled task) does not leave the
/// tiers after the drop point with the older value behind the one memory serves, and an
/// invalidation that waits for the store, on the thread that would poll it, does not wait out its
/// bound and then find the value written after it. The store stays counted as under way until they
/// end; the failures of writes whose caller is gone are logged and counted by the job
/// ([`Delivery`]).
pub(super) async fn write_all<K, V>(
    cache: &Arc<Inner<K, V>>,
    writes: Writes<V>,
) -> (Entry<V>, VecDeque<crate::Result<bool>>)
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
enum Delivery<V> {
    /// Not made yet, the call awaiting them.
    Awaited,
    Made(Wrote<V>),
    /// The call is gone (its future dropped): the job reports its failures itself.
    Gone,
}

/// A store's writes made: the entry back, and how each tier's write went.
struct Wrote<V> {
    entry: Entry<V>,
    results: VecDeque<crate::Result<bool>>,
    tiers: Vec<(usize, Put)>,
    fill: bool,
    /// Whether a tier before them (the memory tier) took the value.
    stored: bool,
}

impl<V: 'static> Wrote<V> {
    /// Counts the writes as the call's core would have (`Core::wrote`, `Core::written`), for a
    /// call that is gone: a failure logged and counted in `stats().errors`, a tier's evictions
    /// in `stats().evictions`, the store in `stats().stores` (once, as for a call awaited).
    fn report<K>(&self, cache: &Inner<K, V>) {
        let op = if self.fill { "fill" } else { "write" };
        let mut stored = self.stored;
        for (&(tier, _), result) in self.tiers.iter().zip(&self.results) {
            let backend = &cache.backends[tier];
            match result {
                Ok(took) => {
                    stored |= !self.fill && *took;
                    (cache.shared.stats).evictions_total(tier, backend.name(), backend.evictions());
                }
                Err(e) => cache.shared.report(backend.name(), op, e),
            }
        }
        if !self.fill && stored {
            cache.shared.stats.store();
        }
    }
}

/// The call's side of its store's [`Delivery`]: what it takes, or, dropped first, the mark that
/// it is gone (and the report of writes made meanwhile).
struct Awaiting<K, V: 'static> {
    cache: Arc<Inner<K, V>>,
    delivery: Arc<Mutex<Delivery<V>>>,
}

impl<K, V: 'static> Awaiting<K, V> {
    fn take(self) -> (Entry<V>, VecDeque<crate::Result<bool>>) {
        match std::mem::replace(&mut *lock(&self.delivery), Delivery::Gone) {
            Delivery::Made(wrote) => (wrote.entry, wrote.results),
            _ => unreachable!("the writes are made once their job returns"),
        }
    }
}

impl<K, V: 'static> Drop for Awaiting<K, V> {
    fn drop(&mut self) {
        let delivery = std::mem::replace(&mut *lock(&self.delivery), Delivery::Gone);
        if let Delivery::Made(wrote) = delivery {
            wrote.report(&self.cache);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A store's writes, made by [`run`](Self::run) — on a blocking thread, or by the call itself
/// when a runtime shutting down drops the job unrun (`future::blocking`) — or, if the call is
/// gone too, by its `Drop`.
struct Job<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cache: Arc<Inner<K, V>>,
    writes: Option<Writes<V>>,
    delivery: Arc<Mutex<Delivery<V>>>,
}

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
    /// these writes were queued, every blocking thread busy, or while a tier's write hung): it
    /// clears or writes every tier itself, so the rest are not written, and the key is taken out
    /// of the one whose write ended after it — a write after `remove` returned would be a wrong
    /// value.
    fn run(&mut self) {
        let Some(writes) = self.writes.take() else {
            return;
        };
        let (cache, key) = (&*self.cache, writes.key.borrow());
        // The store is this thread's while it writes: a value's `Serialize` that calls the
        // cache is told so.
        let _mine = writes.plan.store.on_this_thread();
        let generations = cache.flights.generations();
        let went_on = || generations.went_on(&writes.plan.store);
        let mut panicked = None;
        let results = (writes.plan.tiers.iter())
            .map(|&(tier, put)| {
                let backend = &*cache.backends[tier];
                let wrote = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    write_tier(backend, &key, (&writes.entry, put), &went_on)
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
