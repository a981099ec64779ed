//! Stale-while-revalidate: the background refresh of an entry served past its ttl, and the
//! calls that may start one (`get_or_refresh`, `try_get_or_refresh` and their async forms).
//!
//! The miss path decides (a call within the window serves the stale value and, if no refresh of
//! the key is under way in this process, claims one: a [`Ticket`], `claim.rs`); this module
//! starts those calls (their engines, which leave the claim to the caller), and carries the
//! ticket and the function to where they run — a thread of the process's refresh pool
//! (`pool.rs`) for a blocking function, a task on the caller's tokio runtime for an async one —
//! and runs the miss path again there with the goal `Revalidate`: compute, then store unless
//! the key's stripe was invalidated since the stale value was read (the ticket keeps that
//! generation), as a computed value is. A failed refresh keeps the stale entry, is logged, and
//! starts the error backoff. A process that exits with a refresh in flight loses only that
//! refresh: tiers are written atomically.

use std::convert::Infallible;
use std::hash::Hash;
#[cfg(feature = "tokio")]
use std::sync::Arc;

use super::Cache;
use super::call::{Call, Made, Owned};
use super::claim::Ticket;
use super::control::{self, Mode};
#[cfg(feature = "tokio")]
use super::drive;
use super::inner::Memory;
use super::miss::Miss;
use super::origin::Origin;
use crate::key::{AsKey, Borrowed, KeyRef};
use pool::{Job, pool};

mod pool;

/// How a call of `try_get_or_refresh` starts ([`Cache::start`]).
enum Start<V> {
    /// A per-call control other than `lookup` steers it.
    Controlled(Mode),
    /// A fresh entry in the memory tier.
    Hit(V),
    /// The miss path, with what the memory tier found, the key's hash (hashed once), and
    /// whether a `lookup` observes it.
    Miss(Memory<V>, u64, bool),
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// What both drivers of `try_get_or_refresh` do before the miss path: follow a per-call
    /// control, serve a fresh memory hit, or go on to the miss, recording its origin when a
    /// `lookup` observes it.
    fn start<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Start<V> {
        let inner = &*self.inner;
        let observed = match control::take(inner.shared.id()) {
            Some(Mode::Lookup) => true,
            Some(mode) => return Start::Controlled(mode),
            None => false,
        };
        let mut hash = 0;
        match inner.lookup_memory(key, &mut hash) {
            Memory::Fresh(value) => {
                if observed {
                    control::report(inner.shared.id(), Origin::Hit);
                }
                inner.shared.hit();
                Start::Hit(value)
            }
            memory => Start::Miss(memory, hash, observed),
        }
    }

    /// As [`try_get_or_compute`](Self::try_get_or_compute), with a function that may outlive
    /// the call: under [`stale_while_revalidate`](crate::CacheBuilder::stale_while_revalidate),
    /// a call that finds an entry past its ttl but within the window returns it at once and hands
    /// `compute` to a background thread that refreshes the entry (one refresh per key at a
    /// time; a failed one keeps the stale entry and is logged). `get_or_compute`, whose function
    /// may borrow, computes in the caller instead.
    ///
    /// A refresh whose function hangs holds its thread, never another's refresh: each runs on
    /// a thread of its own (the process's refresh threads grow on demand, to 256). A cache has at
    /// most 16 refreshes under way at once; past them, a call in the window serves the stale
    /// value and leaves the refresh to a later call.
    ///
    /// # Errors
    /// The function's error, when it ran in the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Cache, Clock};
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache: Cache<u32, String> = Cache::builder()
    ///     .ttl(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(600))
    ///     .clock(clock)
    ///     .build()
    ///     .unwrap();
    /// let fetch = |v: &'static str| move || Ok::<_, std::io::Error>(v.to_owned());
    /// assert_eq!(cache.try_get_or_refresh(&1, fetch("old")).unwrap(), "old");
    /// mock.advance(Duration::from_secs(90));
    /// // Past the ttl, within the window: the stale value at once, a refresh in the background.
    /// assert_eq!(cache.try_get_or_refresh(&1, fetch("new")).unwrap(), "old");
    /// ```
    pub fn try_get_or_refresh<Q, M, E, F>(&self, key: &Q, compute: F) -> Result<V, E>
    where
        Q: AsKey<K, M> + ?Sized,
        F: FnOnce() -> Result<V, E> + Send + 'static,
        E: 'static,
    {
        self.__try_get_or_refresh(&Borrowed::<Q, K, M>::new(key), compute)
    }

    /// [`try_get_or_refresh`](Self::try_get_or_refresh) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    #[doc(hidden)]
    pub fn __try_get_or_refresh<Q, E, F>(&self, key: &Q, compute: F) -> Result<V, E>
    where
        Q: KeyRef<K> + ?Sized,
        F: FnOnce() -> Result<V, E> + Send + 'static,
        E: 'static,
    {
        let inner = &*self.inner;
        let (memory, hash, observed) = match self.start(key) {
            Start::Controlled(mode) => return self.compute_steered(Some(mode), key, compute),
            Start::Hit(value) => return Ok(value),
            Start::Miss(memory, hash, observed) => (memory, hash, observed),
        };
        let mut call = Call::new(key);
        let mut miss = Miss::detachable(inner, &mut call, hash, memory);
        let mut compute = Some(compute);
        let result = miss.run(&mut compute);
        if observed {
            control::report(inner.shared.id(), miss.core.origin());
        }
        if let (Some(ticket), Some(compute)) = (miss.take_refresh(), compute.take()) {
            let (cache, key, made) = (self.clone(), key.to_key(), miss.made());
            // Under the call's own key form's `PERSISTENT`: a memory-only one compiles no tier.
            let job: Job = match Q::PERSISTENT {
                true => Box::new(move || cache.revalidate::<E, true>(&key, made, ticket, compute)),
                false => {
                    Box::new(move || cache.revalidate::<E, false>(&key, made, ticket, compute))
                }
            };
            if !pool().submit(job) {
                tracing::warn!(
                    namespace = %self.namespace(),
                    "every refresh thread is busy; the entry stays stale until a later call"
                );
            }
        }
        result
    }

    /// [`try_get_or_refresh`](Self::try_get_or_refresh) for a function that cannot fail.
    pub fn get_or_refresh<Q, M, F>(&self, key: &Q, compute: F) -> V
    where
        Q: AsKey<K, M> + ?Sized,
        F: FnOnce() -> V + Send + 'static,
    {
        self.__get_or_refresh(&Borrowed::<Q, K, M>::new(key), compute)
    }

    /// [`get_or_refresh`](Self::get_or_refresh) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    #[doc(hidden)]
    pub fn __get_or_refresh<Q, F>(&self, key: &Q, compute: F) -> V
    where
        Q: KeyRef<K> + ?Sized,
        F: FnOnce() -> V + Send + 'static,
    {
        match self.__try_get_or_refresh(key, move || Ok::<V, Infallible>(compute())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Async [`get_or_refresh`](Self::get_or_refresh).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn get_or_refresh_async<Q, M, F, Fut>(&self, key: &Q, compute: F) -> V
    where
        Q: AsKey<K, M> + Sync + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = V> + Send + 'static,
    {
        let key = &Borrowed::<Q, K, M>::new(key);
        self.__get_or_refresh_async(key, compute).await
    }

    /// [`get_or_refresh_async`](Self::get_or_refresh_async) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    #[cfg(feature = "tokio")]
    #[doc(hidden)]
    pub async fn __get_or_refresh_async<Q, F, Fut>(&self, key: &Q, compute: F) -> V
    where
        Q: KeyRef<K> + Sync + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = V> + Send + 'static,
    {
        let compute = move || async move { Ok::<V, Infallible>(compute().await) };
        match self.__try_get_or_refresh_async(key, compute).await {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// The background refresh: the miss path with the goal `Revalidate`, blocking, under the
    /// persistent key the caller `made` (the owned key may not serialise as its lookup form);
    /// `PERSISTENT` is the caller's key form's ([`Owned`]).
    fn revalidate<E, const PERSISTENT: bool>(
        &self,
        key: &K,
        made: Option<Made>,
        ticket: Ticket,
        compute: impl FnOnce() -> Result<V, E>,
    ) {
        let inner = &*self.inner;
        let key = Owned::<K, PERSISTENT>(key);
        let mut call = Call::again(&key, made);
        let mut miss = Miss::revalidate(inner, &mut call, &ticket);
        if miss.run(&mut Some(compute)).is_err() {
            miss.refresh_failed(ticket);
        }
    }

    /// Async [`try_get_or_refresh`](Self::try_get_or_refresh): the refresh is a task on the
    /// caller's tokio runtime (at most 16 of a cache under way at once, as there).
    ///
    /// # Errors
    /// The function's error, when it ran in the caller.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn try_get_or_refresh_async<Q, M, E, F, Fut>(
        &self,
        key: &Q,
        compute: F,
    ) -> Result<V, E>
    where
        Q: AsKey<K, M> + Sync + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<V, E>> + Send + 'static,
        E: Send + 'static,
    {
        let key = &Borrowed::<Q, K, M>::new(key);
        self.__try_get_or_refresh_async(key, compute).await
    }

    /// [`try_get_or_refresh_async`](Self::try_get_or_refresh_async) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    #[cfg(feature = "tokio")]
    #[doc(hidden)]
    pub async fn __try_get_or_refresh_async<Q, E, F, Fut>(
        &self,
        key: &Q,
        compute: F,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + Sync + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<V, E>> + Send + 'static,
        E: Send + 'static,
    {
        let (mut compute, mut refresh) = (Some(compute), None);
        let slot = &mut refresh;
        // The borrow moved in (not reborrowed): the engine keeps it to the call's end.
        let begin = move || {
            let slot = slot;
            self.begin_refresh_async(key, slot)
        };
        let identity = std::convert::identity;
        let result = drive::driven(begin, &mut compute, identity, identity).await;
        if let (Some((ticket, made)), Some(compute)) = (refresh, compute.take()) {
            let (cache, key) = (self.clone(), key.to_key());
            match tokio::runtime::Handle::try_current() {
                // As the blocking refresh, under the key form's `PERSISTENT`.
                Ok(runtime) => match Q::PERSISTENT {
                    true => drop(runtime.spawn(async move {
                        cache
                            .revalidate_async::<E, Fut, true>(&key, made, ticket, compute)
                            .await;
                    })),
                    false => drop(runtime.spawn(async move {
                        cache
                            .revalidate_async::<E, Fut, false>(&key, made, ticket, compute)
                            .await;
                    })),
                },
                Err(_) => tracing::warn!(
                    namespace = %self.namespace(),
                    "no tokio runtime to refresh on; the entry stays stale until a later call"
                ),
            }
        }
        result
    }

    /// [`__try_get_or_refresh_async`](Self::__try_get_or_refresh_async)'s start, as
    /// [`begin_async`](Self::begin_async)'s: its engine, a copy per cache type and key form,
    /// leaves in `refresh` the claim of a background refresh when it served a stale value.
    #[cfg(feature = "tokio")]
    fn begin_refresh_async<'a, Q>(
        &'a self,
        key: &'a Q,
        refresh: &'a mut Option<(Ticket, Option<Made>)>,
    ) -> drive::Begun<V, crate::future::BoxFuture<'a, bool>>
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let start = match self.start(key) {
            Start::Hit(value) => return drive::Begun::Done(value),
            Start::Controlled(mode) => Err(mode),
            Start::Miss(memory, hash, observed) => Ok((memory, hash, observed)),
        };
        let relay = Arc::new(drive::Relay::new());
        let engine = match start {
            Ok(missed) => {
                let engine = self.refresh_engine_async(key, missed, Arc::clone(&relay), refresh);
                crate::future::pinned(Box::new(engine))
            }
            // A control's call goes as `get_or_compute_async`'s does.
            Err(mode) => self.engine_or_bypass(key, Err(mode), &relay),
        };
        drive::Begun::Engine(engine, relay)
    }

    /// The steps of an async call of `try_get_or_refresh` after a miss (what the memory tier
    /// found, the key's hash, whether a `lookup` observes the call), its output as
    /// [`engine_async`](Self::engine_async)'s.
    #[cfg(feature = "tokio")]
    async fn refresh_engine_async<Q>(
        &self,
        key: &Q,
        (memory, hash, observed): (Memory<V>, u64, bool),
        relay: Arc<drive::Relay<V>>,
        refresh: &mut Option<(Ticket, Option<Made>)>,
    ) -> bool
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let mut call = Call::new(key);
        let mut miss = Miss::detachable(inner, &mut call, hash, memory);
        if observed {
            miss.core.steered();
        }
        let mut driver = drive::Driver::new(&self.inner, &mut miss, &relay);
        driver.drive().await;
        let result = driver.result();
        if let Some(ticket) = miss.take_refresh() {
            *refresh = Some((ticket, miss.made()));
        }
        relay.hand_back(result)
    }

    #[cfg(feature = "tokio")]
    async fn revalidate_async<E, Fut, const PERSISTENT: bool>(
        &self,
        key: &K,
        made: Option<Made>,
        ticket: Ticket,
        compute: impl FnOnce() -> Fut,
    ) where
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let relay = Arc::new(drive::Relay::new());
        let engine = self.revalidating::<PERSISTENT>(key, made, ticket, Arc::clone(&relay));
        let begin = move || drive::Begun::Engine(engine, relay);
        let id = std::convert::identity;
        let _ = drive::driven(begin, Some(compute), id, id).await;
    }

    /// [`revalidate_async`](Self::revalidate_async)'s steps: a copy per cache type.
    #[cfg(feature = "tokio")]
    async fn revalidating<const PERSISTENT: bool>(
        &self,
        key: &K,
        made: Option<Made>,
        ticket: Ticket,
        relay: Arc<drive::Relay<V>>,
    ) -> bool {
        let inner = &*self.inner;
        let key = Owned::<K, PERSISTENT>(key);
        let mut call = Call::again(&key, made);
        let mut miss = Miss::revalidate(inner, &mut call, &ticket);
        let mut driver = drive::Driver::new(&self.inner, &mut miss, &relay);
        driver.drive().await;
        let result = driver.result();
        if result.is_err() {
            miss.refresh_failed(ticket);
        }
        relay.hand_back(result)
    }
}
