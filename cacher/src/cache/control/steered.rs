//! A call that took a control ([`Mode`](super::Mode)): the steps of what it asks, around the
//! ordinary call's miss (`Cache::compute_steered` for a blocking call; for an async one, the
//! engine's start, a bypass's own future (`drive::bypass_async`), and the driver's loop, which
//! invalidates for a forced refresh, reports the origin and awaits a zero-ttl refresh's
//! removal). A call a `lookup`
//! observes goes its ordinary way, its key hashed once, its origin told.

use std::hash::Hash;
#[cfg(feature = "tokio")]
use std::sync::Arc;

use super::report;
use crate::cache::Cache;
#[cfg(feature = "tokio")]
use crate::cache::call::{Call, Owned};
use crate::cache::flight::Flights;
use crate::cache::inner::{Inner, Shared};
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
    fn stored_nowhere(inner: &Inner<K, V>, goal: Goal, value: &V) -> bool {
        goal == Goal::Refresh && inner.discards(value)
    }

    /// After a controlled call's miss for `goal`, which gave `value` if it computed one: a
    /// refreshed value stored nowhere (its own ttl zero) removes the entry it was asked to
    /// replace. A timed key form's only.
    #[cold]
    pub(in crate::cache) fn stored_nowhere_removed<Q>(&self, goal: Goal, key: &Q, value: Option<&V>)
    where
        Q: KeyRef<K> + ?Sized,
    {
        if let Some(value) = value
            && Self::stored_nowhere(&self.inner, goal, value)
            && let Err(e) = self.remove_key(key)
        {
            self.inner.shared.report("all", "remove", &e);
        }
    }

    /// After an async call's miss for `goal`, which computed `value`, on the cache `inner`: as
    /// the blocking call does ([`stored_nowhere_removed`](Self::stored_nowhere_removed)), a
    /// refreshed value stored nowhere removes the entry it replaces — here the removal, for the
    /// async driver to run on a blocking thread ([`removed_async`]: tier I/O, and a wait for a
    /// store under way), under the persistent key the call made. None otherwise, and always for
    /// an untimed key form, which compiles none of it (only a timed form's refreshed value can
    /// be stored nowhere).
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn refresh_removal<Q>(
        inner: &Arc<Inner<K, V>>,
        goal: Goal,
        value: &V,
        call: &Call<'_, Q>,
    ) -> Option<Removal>
    where
        Q: KeyRef<K> + ?Sized,
    {
        match Q::TIMED {
            true if Self::stored_nowhere(inner, goal, value) => Some(Self::removal(inner, call)),
            true | false => None,
        }
    }

    /// [`refresh_removal`](Self::refresh_removal)'s removal of the key its refresh stored
    /// nowhere, under the persistent key `call` made (`Miss::new` makes it for a persistent
    /// form on a cache with tiers). Boxed under the key form's `PERSISTENT`, so that a
    /// memory-only one compiles no tier's removal.
    #[cfg(feature = "tokio")]
    fn removal<Q>(inner: &Arc<Inner<K, V>>, call: &Call<'_, Q>) -> Removal
    where
        Q: KeyRef<K> + ?Sized,
    {
        let made = call.made();
        let cache = Cache {
            inner: Arc::clone(inner),
        };
        let key = call.key.to_key();
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

/// A refresh's removal of the entry it was asked to replace, made by
/// [`Cache::refresh_removal`] for [`removed_async`].
#[cfg(feature = "tokio")]
pub(in crate::cache) type Removal = Box<dyn FnOnce() -> crate::Result<()> + Send>;

/// `removal` run on a blocking thread, its error reported as `shared`'s: awaited by the async
/// driver's untyped loop (`drive::driver`), so that no typed future holds a state for it.
#[cfg(feature = "tokio")]
pub(in crate::cache) fn removed_async(
    shared: &Shared,
    removal: Removal,
) -> crate::future::BoxFuture<'_, ()> {
    Box::pin(async move {
        if let Err(e) = crate::future::blocking(removal).await {
            shared.report("all", "remove", &e);
        }
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

/// Whether a forced refresh of the key whose flight hash is `hash` is made from user code
/// that this thread runs while it stores that very key (a key's or value's `Clone` or
/// `Serialize`): it could not wait for that store, which would then land over its value. Said;
/// the refresh then runs the function as a bypass does, storing nothing.
#[cold]
pub(in crate::cache) fn refresh_within_own_store(
    flights: &Flights,
    shared: &Shared,
    hash: u64,
) -> bool {
    let within = flights.generations().storing_here(Some(hash));
    if within {
        tracing::warn!(
            namespace = shared.namespace(),
            "refresh made from a key's or value's Clone or Serialize while the cache runs it to \
             store that key: the function runs, and its value is not stored (refresh after the \
             call returns instead)"
        );
    }
    within
}

/// A forced refresh's start: the key whose flight hash is `hash` invalidated, as `insert` does,
/// so that a computation already under way stores nothing over the refreshed value. Untyped, as
/// [`bypassed`].
#[cold]
pub(in crate::cache) fn refreshing(flights: &Flights, shared: &Shared, hash: u64) {
    flights.invalidate(hash, shared.store_wait());
}
