//! [`Cache`]: a keyer, an optional memory tier, persistent tiers, and policies.

mod builder;
mod call;
mod claim;
mod compute;
mod control;
mod drive;
mod flight;
mod generation;
mod inner;
mod miss;
mod origin;
mod refresh;
mod stats;
mod tier_io;
mod wrap;

pub use self::builder::{CacheBuilder, DEFAULT_ERROR_BACKOFF, DEFAULT_WAIT_TIMEOUT, IntoBackend};
#[doc(hidden)]
pub use self::builder::{Settings, Typed};
pub use self::origin::{Lookup, Origin};
pub use self::stats::CacheStats;
pub use self::wrap::{CachedFn, TryCachedFn};

use std::convert::Infallible;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use self::call::Call;
use self::inner::{Inner, Memory};
use self::miss::ahead::{Ahead, reads_ahead};
use self::miss::{Goal, Miss};
use crate::error::Result;
use crate::key::{AsKey, Borrowed, KeyRef};

/// Caches the values of a function of `K`, in memory, on disk, or both.
///
/// A `Cache` is cheap to clone (clones share everything) and is used three ways:
/// 1. around a function: [`wrap`](Self::wrap) / [`try_wrap`](Self::try_wrap), or the
///    `#[cached]` attribute, which builds one per function;
/// 2. [`get_or_compute`](Self::get_or_compute) and [`try_get_or_compute`](Self::try_get_or_compute)
///    (and their `_async` forms with the `tokio` feature);
/// 3. as a plain store: [`get`](Self::get), [`insert`](Self::insert),
///    [`remove`](Self::remove).
///
/// What it promises:
/// - `Err` is never cached: the caller gets it, nothing is stored. A panic stores nothing and
///   poisons nothing.
/// - Concurrent callers of one missing key run the function once; the others wait (at most
///   [`wait_timeout`](CacheBuilder::wait_timeout)) and get its value. If it failed, one waiter
///   runs it again.
/// - A cache that cannot read or write still returns the function's value; the failure is a
///   `tracing` warning and a count in [`CacheStats::errors`].
///
/// # Examples
///
/// ```
/// use cacher::Cache;
///
/// let cache: Cache<u64, u64> = Cache::builder().build().unwrap();
/// let mut calls = 0;
/// let square = |n: u64, calls: &mut u32| { *calls += 1; n * n };
/// assert_eq!(cache.get_or_compute(&12, || square(12, &mut calls)), 144);
/// assert_eq!(cache.get_or_compute(&12, || square(12, &mut calls)), 144);
/// assert_eq!(calls, 1);
/// ```
pub struct Cache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for Cache<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Starts configuring a cache.
    pub fn builder() -> CacheBuilder<K, V> {
        CacheBuilder::new()
    }

    /// Everything after a memory lookup that found no fresh entry (`memory`), for `goal`: the
    /// call's value and its origin; `hash` is the key's [`flight_hash`](Inner::flight_hash). One
    /// copy per call shape serves misses, controls and `get`.
    #[inline(never)]
    fn miss<Q, E>(
        &self,
        (key, hash): (&Q, u64),
        compute: impl FnOnce() -> Result<V, E>,
        goal: Goal,
        memory: Memory<V>,
    ) -> (Result<V, E>, Origin)
    where
        Q: KeyRef<K> + ?Sized,
    {
        let inner = &*self.inner;
        let mut call = Call::new(key);
        // A memory-only key form compiles no read ahead: a branch on `Q::PERSISTENT` alone, which
        // the build skips (`KeyRef::PERSISTENT`).
        // One call of `Miss::new`, inlined (a copy of the call's state otherwise).
        let tiers = inner.tiers_for::<Q>();
        let mut miss = match Q::PERSISTENT {
            true if reads_ahead(tiers, goal, inner.memory.is_none()) => {
                match Miss::read_ahead(inner, &mut call, hash) {
                    Ahead::Hit(value) => return (Ok(value), Origin::Hit),
                    ahead => Miss::after(inner, &mut call, hash, goal, ahead),
                }
            }
            true | false => Miss::new(inner, &mut call, hash, goal, memory),
        };
        let result = miss.run(&mut Some(compute));
        (result, miss.core.origin())
    }

    /// Wraps `function` so that calling the wrapper caches it: the runtime form of `#[cached]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<(String, u32), String> = Cache::builder().build().unwrap();
    /// let fetch = cache.wrap(|(endpoint, user): &(String, u32)| format!("{endpoint}?user={user}"));
    /// assert_eq!(fetch.call(&("/posts".into(), 1)), "/posts?user=1");
    /// assert_eq!(fetch.cache().stats().misses, 1);
    /// ```
    pub fn wrap<F: Fn(&K) -> V>(self, function: F) -> CachedFn<K, V, F> {
        CachedFn::new(self, function)
    }

    /// Wraps a fallible `function`: `Ok` values are cached, errors are returned and not stored.
    pub fn try_wrap<E, F: Fn(&K) -> Result<V, E>>(self, function: F) -> TryCachedFn<K, V, F> {
        TryCachedFn::new(self, function)
    }

    /// The fresh cached value for `key`, if any. A hit in a persistent tier is copied into the
    /// tiers before it: the memory tier, and each persistent one that holds no entry for the key
    /// ([`PersistentBackend::fill`](crate::PersistentBackend::fill)).
    pub fn get<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q) -> Option<V> {
        let key = &Borrowed::<Q, K, M>::new(key);
        let inner = &*self.inner;
        let mut hash = 0;
        let memory = match inner.lookup_memory_inline(key, &mut hash) {
            Memory::Fresh(value) => {
                inner.shared.hit();
                return Some(value);
            }
            memory => memory,
        };
        // Not through `miss`: a store hit without a memory tier passed its value up one layer
        // more (≈ 55 instructions, ≈ 8 ns of a 200-byte hit).
        let call = &mut Call::new(key);
        let mut miss = match reads_ahead(inner.shared.tiers, Goal::Get, inner.memory.is_none()) {
            false => Miss::new(inner, call, hash, Goal::Get, memory),
            true => match Miss::read_ahead(inner, call, hash) {
                Ahead::Hit(value) => return Some(value),
                ahead => Miss::after(inner, call, hash, Goal::Get, ahead),
            },
        };
        // A plain lookup's "function" is that there is no value.
        miss.run(&mut Some(|| Err(()))).ok()
    }

    /// Stores `value` for `key` in every tier (primes the cache). A computation of `key` already under way will not
    /// store its (older) value over this one; a write of such a value already under way is
    /// waited for, then overwritten. A value whose own ttl ([`ttl_fn`](crate::CacheBuilder::ttl_fn))
    /// is zero is stored nowhere, and removes the key's older entry as [`remove`](Self::remove).
    ///
    /// # Errors
    /// The first tier's failure, also logged and counted in [`CacheStats::errors`] (the other
    /// tiers are still written), or [`Error::Key`](crate::Error::Key) when the key cannot be
    /// serialised for the persistent tiers (the memory tier still takes the value), or
    /// [`Error::Reentrant`](crate::Error::Reentrant) when made from a key's or value's `Clone`,
    /// `Eq` or `Serialize` that the cache runs as it stores or looks up the same key (nothing
    /// stored).
    #[doc(alias = "prime")]
    pub fn insert<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q, value: V) -> Result<()> {
        let key = &Borrowed::<Q, K, M>::new(key);
        let inner = &*self.inner;
        let hash = inner.flight_hash(key);
        if inner.flights.generations().storing_here(Some(hash)) {
            return Err(storing_here("insert"));
        }
        // The store invalidates the key, alone in its stripe (`Generations::begin_insert`).
        let mut call = Call::new(key);
        let mut miss = Miss::new(inner, &mut call, hash, Goal::Store, Memory::Absent);
        let Ok(_) = miss.run(&mut Some(|| Ok::<V, Infallible>(value)));
        if miss.discarded() {
            // A value that no read accepts (its own ttl is zero) replaces the older one all the
            // same. Asked of `ttl_fn` once, where the value is stored: a ttl that shrinks with
            // time is not seen above zero here and at zero there.
            drop(miss);
            return self.remove_key(key);
        }
        match miss.store_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Removes the entry for `key` from every tier (invalidates it). A computation of `key`
    /// under way will not store its value after this returns (its callers still get it), and a
    /// caller that comes after runs the function anew.
    ///
    /// # Errors
    /// The first tier's failure (the other tiers are still cleared of the key), or
    /// [`Error::Reentrant`](crate::Error::Reentrant) when made from a key's or value's `Clone`,
    /// `Eq` or `Serialize` that the cache runs as it stores or looks up the same key.
    #[doc(alias = "invalidate")]
    pub fn remove<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q) -> Result<()> {
        self.remove_key(&Borrowed::<Q, K, M>::new(key))
    }

    /// [`remove`](Self::remove) of a key in its lookup form.
    pub(crate) fn remove_key<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Result<()> {
        self.remove_call(&mut Call::new(key))
    }

    /// [`remove`](Self::remove) of a call's key, under the persistent key the call made if it
    /// made one (an owned key need not serialise as the form it was made from).
    #[allow(
        clippy::question_mark,
        reason = "`?` would compile its conversions once more per cache type"
    )]
    fn remove_call<Q: KeyRef<K> + ?Sized>(&self, call: &mut Call<'_, Q>) -> Result<()> {
        let (inner, key) = (&*self.inner, call.key);
        let hash = inner.flight_hash(key);
        if inner.flights.generations().storing_here(Some(hash)) {
            return Err(storing_here("remove"));
        }
        // No store of the key until every tier is cleared of it: a caller meanwhile may read the
        // old value from a tier not yet cleared, and must not put it back in one already cleared.
        let _removal = inner.flights.removal(hash, inner.shared.store_wait());
        // The tiers' loop generic over the value type only: fewer copies per cache type; none for
        // a memory-only key form.
        let tiers = inner.tiers_for::<Q>();
        let removed = match Q::PERSISTENT {
            true if tiers > 0 => {
                call.make_key(&inner.shared.naming);
                remove_from(
                    &inner.backends,
                    &inner.shared.naming,
                    call.persistent_key(),
                    call.args(),
                )
            }
            true | false => Ok(()),
        };
        // The memory tier last; it hands the value back, dropped once stores are let in again
        // (a value's `Drop` may use the cache) and every tier is rid of it (or a panic in it
        // would leave a tier that brings it back).
        // `match`es: `as_ref`, `map` and its closure are each a function more per cache type.
        #[allow(
            clippy::manual_map,
            reason = "`map` compiles two functions more per cache type"
        )]
        let taken = match &inner.memory {
            Some(memory) => Some(memory.take(key)),
            None => None,
        };
        let kept = matches!(&taken, Some(taken) if taken.kept());
        drop(_removal);
        drop(taken);
        match (removed, kept) {
            (Ok(()), true) => Err(kept_in_memory("remove")),
            (removed, _) => removed,
        }
    }

    /// Removes every entry of this cache's namespace from every tier; entries of other
    /// namespaces sharing a directory are left alone.
    ///
    /// # Errors
    /// The first tier's failure (the other tiers are still cleared), or
    /// [`Error::Reentrant`](crate::Error::Reentrant) when made from a key's or value's `Clone`,
    /// `Eq` or `Serialize` that the cache runs as it stores or looks up a key.
    pub fn clear(&self) -> Result<()> {
        let inner = &*self.inner;
        if inner.flights.generations().storing_here(None) {
            return Err(storing_here("clear"));
        }
        // No store until every tier is cleared (as in `remove_call`).
        let _removal = inner.flights.removal_all(inner.shared.store_wait());
        // The last tier first, as `remove_from`; the first tier's failure is the one reported.
        let mut first = None;
        for backend in inner.backends.iter().rev() {
            if let Err(e) = backend.clear(inner.shared.namespace()) {
                first = Some(e);
            }
        }
        // The memory tier last, its values dropped after, as in `remove_call`.
        #[allow(
            clippy::manual_map,
            reason = "`map` compiles two functions more per cache type"
        )]
        let taken = match &inner.memory {
            Some(memory) => Some(memory.clear()),
            None => None,
        };
        if matches!(&taken, Some(taken) if taken.kept()) {
            first.get_or_insert_with(|| kept_in_memory("clear"));
        }
        drop(_removal);
        drop(taken);
        first.map_or(Ok(()), Err)
    }

    /// How many entries the memory tier holds now (0 without one): its
    /// [`max_entries`](crate::MemoryBackend::max_entries) at most once concurrent writes are
    /// done (an insert counts its entry before it evicts another's). Entries past their ttl count
    /// until their key is stored again, removed, cleared or evicted. (Asked from a key's `Eq` or
    /// a value's `Clone` running under the tier's lock, it waits up to 100 ms for each other
    /// shard's lock, and does not count the entries of a shard whose lock does not come.) The
    /// persistent tiers' entries are listed by [`entries`](Self::entries) and the `cacher`
    /// command.
    ///
    /// ```
    /// use cacher::{Cache, MemoryBackend};
    ///
    /// let cache: Cache<u32, u32> =
    ///     Cache::builder().backend(MemoryBackend::new().max_entries(2)).build().unwrap();
    /// assert_eq!(cache.memory_len(), 0);
    /// for n in 0..3 {
    ///     cache.get_or_compute(&n, || n * 10);
    /// }
    /// assert_eq!(cache.memory_len(), 2); // the least recently used went
    /// cache.clear().unwrap();
    /// assert_eq!(cache.memory_len(), 0);
    /// ```
    #[must_use]
    pub fn memory_len(&self) -> usize {
        match &self.inner.memory {
            Some(memory) => memory.len(),
            None => 0,
        }
    }

    /// Counts of hits, misses, stores, errors, evictions and stale values served.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        self.inner.shared.stats.snapshot()
    }

    /// Sets every count of [`stats`](Self::stats) back to zero.
    pub fn reset_stats(&self) {
        self.inner.shared.stats.reset();
    }

    /// The namespace entries are recorded under.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.inner.shared.namespace()
    }

    /// Calls `visit` with each of this cache's entries (its namespace, any version) in its
    /// persistent tiers that can be listed ([`Listing`](crate::Listing): files, Redis), tier by
    /// tier, with their metadata — arguments, creation time, size — and without decoding a value,
    /// until `visit` returns [`ControlFlow::Break`](std::ops::ControlFlow::Break). The memory tier
    /// is not listed.
    ///
    /// # Errors
    /// A tier that cannot be listed at all (Redis down, directory unreadable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use cacher::{Cache, HashKeyer, SeparateFileBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let cache: Cache<u32, String> = Cache::builder()
    ///     .namespace("app::name")
    ///     .keyer(HashKeyer)
    ///     .backend(SeparateFileBackend::new(dir.path()))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(&7, "seven".to_owned()).unwrap();
    /// let mut args = Vec::new();
    /// cache
    ///     .entries(|listed| {
    ///         args.extend(listed.meta().and_then(|m| m.args.clone()));
    ///         ControlFlow::Continue(())
    ///     })
    ///     .unwrap();
    /// assert_eq!(args, ["(v2)7"]);
    /// ```
    pub fn entries(
        &self,
        mut visit: impl FnMut(crate::backend::Listed) -> std::ops::ControlFlow<()>,
    ) -> Result<()> {
        let namespace = self.namespace();
        let mut stopped = false;
        for listing in self.inner.backends.iter().filter_map(|b| b.listing()) {
            listing.list(&mut |listed| {
                if listed.meta().is_none_or(|m| m.namespace != namespace) {
                    return std::ops::ControlFlow::Continue(());
                }
                let flow = visit(listed);
                stopped = flow.is_break();
                flow
            })?;
            if stopped {
                break;
            }
        }
        Ok(())
    }
}

/// The error of an `insert`, `remove` or `clear` (`what`) made from user code that the cache
/// runs while this thread stores the same key (any key, for `clear`; a key's or value's
/// `Clone`, a value's `Serialize`): it would wait for that store, which cannot end before it
/// returns, and the store's older value would then land after it. Refused, nothing changed.
#[cold]
fn storing_here(what: &str) -> crate::Error {
    crate::Error::Reentrant(format!(
        "{what} made from a key's or value's Clone or Serialize while the cache runs it to store \
         a value: refused, nothing changed ({what} after the call returns instead)"
    ))
}

/// The error of a `remove` or `clear` (`what`) that left the memory tier as it was: made from a
/// key's `Eq` or a value's `Clone`, which the cache runs under the lock it needed.
#[cold]
fn kept_in_memory(what: &str) -> crate::Error {
    crate::Error::Reentrant(format!(
        "{what} made from a key's Eq or a value's Clone while the cache runs it under the key's \
         shard lock: the memory tier still holds the entry ({what} after the lookup returns \
         instead)"
    ))
}

/// Removes the entry under the persistent `key` (or its error) from every tier: the first
/// failure (the other tiers are still cleared).
#[allow(
    clippy::question_mark,
    reason = "`?` would compile its conversions once more per value type"
)]
fn remove_from<V: 'static>(
    backends: &[Box<dyn crate::backend::PersistentBackend<V>>],
    naming: &call::Naming,
    key: Result<&str>,
    args: Option<&str>,
) -> Result<()> {
    let key = match key {
        Ok(key) => key,
        Err(e) => return Err(e),
    };
    let entry_key = &naming.entry_key::<V>(key, args);
    // The last tier first: another process that reads a tier before its removal then fills the
    // earlier tiers before theirs, which their generations refuse (or which they take out).
    // First to last, it could read the far tier's value after the near tier's removal and fill
    // it in there for good.
    let mut first = None;
    for backend in backends.iter().rev() {
        if let Err(e) = backend.remove(entry_key) {
            first = Some(e);
        }
    }
    first.map_or(Ok(()), Err)
}

impl<K, V> fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Cache")
            .field("namespace", &inner.shared.naming.namespace)
            .field("version", &inner.shared.naming.version)
            .field("keyer", &inner.shared.naming.keyer)
            .field("memory", &inner.memory.is_some())
            .field("persistent_tiers", &inner.shared.tiers)
            .field("ttl", &inner.shared.ttl)
            .field("ttl_fn", &inner.ttl_fn.is_some())
            .field("rate_limiter", &inner.shared.rate_limiter)
            .finish_non_exhaustive()
    }
}
