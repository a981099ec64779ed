//! A call that took a control ([`Mode`](super::Mode)): the steps of what it asks, around the
//! ordinary call's miss (`Cache::compute_steered` for a blocking call, the async engine's plan
//! for an async one). A call a `lookup` observes goes its ordinary way, its key hashed once,
//! its origin told.

use std::hash::Hash;

use super::report;
use crate::cache::Cache;
#[cfg(feature = "tokio")]
use crate::cache::call::{Call, Owned};
#[cfg(feature = "tokio")]
use crate::cache::drive::Turns;
use crate::cache::flight::Flights;
use crate::cache::inner::Shared;
use crate::cache::miss::Goal;
use crate::cache::origin::Origin;
use crate::key::KeyRef;

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Whether a controlled call for `goal` that computed `value` stored it nowhere: a refreshed
    /// value whose own ttl is zero (`ttl_fn`), which still replaces the entry the refresh was
    /// asked to replace (both drivers remove it).
    fn stored_nowhere(&self, goal: Goal, value: Option<&V>) -> bool {
        // A `match`: `is_some_and` and its closure are two functions more per cache type.
        match (goal, value) {
            (Goal::Refresh, Some(value)) => self.inner.discards(value),
            _ => false,
        }
    }

    /// After a controlled call's miss for `goal`, which gave `value` if it computed one: a
    /// refreshed value stored nowhere (its own ttl zero) removes the entry it was asked to
    /// replace. A timed key form's only.
    #[cold]
    pub(in crate::cache) fn stored_nowhere_removed<Q>(&self, goal: Goal, key: &Q, value: Option<&V>)
    where
        Q: KeyRef<K> + ?Sized,
    {
        if self.stored_nowhere(goal, value)
            && let Err(e) = self.remove_key(key)
        {
            self.inner.shared.report("all", "remove", &e);
        }
    }

    /// After an async controlled call's run for `goal`, whose value (if it computed one) is
    /// `value`: as the blocking call does
    /// ([`stored_nowhere_removed`](Self::stored_nowhere_removed)), a refreshed value stored
    /// nowhere removes the entry it replaces, the removal (tier I/O, and a wait for a store under
    /// way) on a blocking thread, under the persistent key `call` made. A timed form's only
    /// ([`refreshed_boxed`](Self::refreshed_boxed)).
    #[cfg(feature = "tokio")]
    async fn refreshed_async<Q>(&self, goal: Goal, value: Option<&V>, call: &mut Call<'_, Q>)
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let removal = match self.stored_nowhere(goal, value) {
            true => Some(self.removal(call)),
            false => None,
        };
        if let Some(removal) = removal {
            let removed = crate::future::blocking(removal).await;
            if let Err(e) = removed {
                inner.shared.report("all", "remove", &e);
            }
        }
    }

    /// [`refreshed_async`](Self::refreshed_async)'s future, boxed under `KeyRef::TIMED`: only a
    /// timed form's refreshed value can be stored nowhere, and an untimed form compiles none of
    /// it (a guard around the `.await` would not keep its state machine out: what follows an
    /// `.await` is reached from its resume point). None for an untimed form.
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn refreshed_boxed<'f, Q>(
        &'f self,
        goal: Goal,
        value: Option<&'f V>,
        call: &'f mut Call<'_, Q>,
    ) -> Option<crate::future::BoxFuture<'f, ()>>
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        match Q::TIMED {
            true => Some(Box::pin(self.refreshed_async(goal, value, call))),
            false => None,
        }
    }

    /// [`refreshed_async`](Self::refreshed_async)'s removal of the key its refresh stored
    /// nowhere, to run on a blocking thread, under the persistent key `call` made (made now if
    /// the cache has persistent tiers). Boxed under the key form's `PERSISTENT`, so that a
    /// memory-only one compiles no tier's removal (what follows an `.await` is not behind a
    /// branch before it).
    #[cfg(feature = "tokio")]
    fn removal<Q>(&self, call: &mut Call<'_, Q>) -> Box<dyn FnOnce() -> crate::Result<()> + Send>
    where
        Q: KeyRef<K> + ?Sized,
    {
        let inner = &*self.inner;
        let made = match Q::PERSISTENT {
            true if inner.shared.tiers > 0 => {
                call.make_key(&inner.shared.naming);
                call.made()
            }
            true | false => None,
        };
        let (cache, key) = (self.clone(), call.key.to_key());
        match Q::PERSISTENT {
            true => {
                Box::new(move || cache.remove_call(&mut Call::again(&Owned::<K, true>(&key), made)))
            }
            false => Box::new(move || {
                cache.remove_call(&mut Call::again(&Owned::<K, false>(&key), made))
            }),
        }
    }
}

/// A bypassing async call's run: `limiter` waited for, then the function, asked for through
/// `relay`'s turns: whether it gave a value (the relay's; `false`: it failed, and the caller's
/// future has its error); `cache`'s `lookup`, if one observes it, told it computed. Untyped,
/// and boxed here: its poll is compiled once, in cacher, not in each crate whose async call
/// awaits it.
#[cfg(feature = "tokio")]
pub(in crate::cache) fn bypassed_async<'a>(
    limiter: Option<&'a crate::RateLimiter>,
    cache: usize,
    turns: &'a Turns,
) -> crate::future::BoxFuture<'a, bool> {
    Box::pin(async move {
        if let Some(limiter) = limiter {
            limiter.acquire_async().await;
        }
        let gave = turns.run(None).await;
        report(cache, Origin::Computed);
        gave
    })
}

/// A bypassing call's start, before its function runs: the limiter waited for (it protects the
/// service the function calls, cached or not), the call reported computed. Of the cache's
/// untyped parts alone: a method of `Cache` would be a function per cache type (compile time).
#[cold]
pub(in crate::cache) fn bypassed(shared: &Shared) {
    if let Some(limiter) = &shared.rate_limiter {
        limiter.acquire();
    }
    report(shared.id(), Origin::Computed);
}

/// A forced refresh's start: the key whose flight hash is `hash` invalidated, as `insert` does,
/// so that a computation already under way stores nothing over the refreshed value. Untyped, as
/// [`bypassed`].
#[cold]
pub(in crate::cache) fn refreshing(flights: &Flights, shared: &Shared, hash: u64) {
    flights.invalidate(hash, shared.store_wait());
}
