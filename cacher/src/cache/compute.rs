//! The computing methods of [`Cache`]: the value of a key, from the cache or from the function
//! (`get_or_compute` and its fallible and async forms). Each takes any form of the key
//! ([`AsKey`], as [`Cache::get`] does) and hands it, as a lookup form, to its hidden twin, which
//! `#[cached]` calls with its own form (`KeyRef::PERSISTENT` and `KeyRef::TIMED` kept).

use std::convert::Infallible;
#[cfg(feature = "tokio")]
use std::future::Future;
use std::hash::Hash;
#[cfg(feature = "tokio")]
use std::sync::Arc;

use super::Cache;
#[cfg(feature = "tokio")]
use super::call::Call;
use super::control::{self, Mode};
#[cfg(feature = "tokio")]
use super::drive;
use super::inner::Memory;
use super::miss::Goal;
#[cfg(feature = "tokio")]
use super::miss::Miss;
use super::origin::Origin;
#[cfg(feature = "tokio")]
use crate::callback::Spend;
use crate::key::{AsKey, Borrowed, KeyRef};

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value for `key`: from the cache when a fresh entry exists, otherwise from `compute`,
    /// which is then stored.
    ///
    /// `key` is any form of the key that [`get`](Self::get) takes ([`AsKey`]): the key itself,
    /// a `str` for a `String`, a tuple with borrowed parts (`&("/a", 1)` for a key
    /// `(String, u32)`). The rule that relates the form to the key, `M`, is inferred: a
    /// turbofish leaves it `_` (`try_get_or_compute::<_, _, E>`). The key type is not inferred
    /// from `key` (any serializable value is a form of an [`Encoded`](crate::key::Encoded)
    /// key): give the cache's type where it is made, as below.
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<(String, u32), String> = Cache::builder().build().unwrap();
    /// let endpoint: &str = "/posts";
    /// let got = cache.get_or_compute(&(endpoint, 1), || format!("{endpoint}?user=1"));
    /// assert_eq!(got, "/posts?user=1");
    /// assert_eq!(cache.get(&(endpoint, 1)).as_deref(), Some("/posts?user=1"));
    /// ```
    #[inline]
    pub fn get_or_compute<Q, M>(&self, key: &Q, compute: impl FnOnce() -> V) -> V
    where
        Q: AsKey<K, M> + ?Sized,
    {
        self.__get_or_compute(&Borrowed::<Q, K, M>::new(key), compute)
    }

    /// [`get_or_compute`](Self::get_or_compute) of a key in its lookup form, as `#[cached]`
    /// passes it (its `KeyRef::PERSISTENT` and `KeyRef::TIMED` kept). Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __get_or_compute<Q>(&self, key: &Q, compute: impl FnOnce() -> V) -> V
    where
        Q: KeyRef<K> + ?Sized,
    {
        // Straight to the body that `__try_get_or_compute` calls: through it, one function more
        // per cache type in a debug build (compile time).
        let mode = control::take(self.inner.shared.id());
        match self.compute_steered(mode, key, || Ok::<V, Infallible>(compute())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// As [`get_or_compute`](Self::get_or_compute) for a fallible function: `Ok` is stored,
    /// `Err` is returned and never stored — unless `stale_if_error` allows serving an expired
    /// entry instead.
    ///
    /// # Errors
    /// The function's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u64, u32> = Cache::builder().build().unwrap();
    /// // The form's rule `M` is inferred: a turbofish that names the error leaves it `_`.
    /// let got = cache.try_get_or_compute::<_, _, std::num::ParseIntError>(&1, || "7".parse());
    /// assert_eq!(got, Ok(7));
    /// ```
    #[inline]
    pub fn try_get_or_compute<Q, M, E>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        Q: AsKey<K, M> + ?Sized,
    {
        self.__try_get_or_compute(&Borrowed::<Q, K, M>::new(key), compute)
    }

    /// [`try_get_or_compute`](Self::try_get_or_compute) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    // Inlined into each caller in optimised builds: a hit is then a few loads in the caller, not
    // a call. Only `#[inline]` in builds with debug assertions (the dev profile), where forcing
    // it would compile the lookup into every `#[cached]` function (compile time).
    #[doc(hidden)]
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __try_get_or_compute<Q, E>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + ?Sized,
    {
        self.compute_steered(control::take(self.inner.shared.id()), key, compute)
    }

    /// [`__try_get_or_compute`](Self::__try_get_or_compute) of a call that a control may steer
    /// (`mode`, taken by the caller): one body for the ordinary call and the steered one, so
    /// that a cache type compiles one caller of its miss, not a second in a `controlled` of
    /// its own (compile time).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[allow(
        clippy::redundant_pattern_matching,
        reason = "`is_some` is a call more in every cache type's copy"
    )]
    pub(super) fn compute_steered<Q, E>(
        &self,
        mode: Option<Mode>,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + ?Sized,
    {
        let inner = &*self.inner;
        // The key hashed once: the lookup's hash is the miss's.
        let mut hash = 0;
        let memory = match mode {
            // The hot path, a fresh entry in the memory tier, is kept small enough to inline: no
            // `Call`, no persistent key, no flight.
            None => match inner.lookup_memory_inline(key, &mut hash) {
                Memory::Fresh(value) => {
                    inner.shared.hit();
                    return Ok(value);
                }
                memory => memory,
            },
            // A `lookup` only observes the call: its ordinary way, its origin told (the lookup
            // out of line, as the miss path has it; sharing the plain call's arm cost every hit
            // a test of the mode: +7 instructions on a `#[cached]` hit).
            Some(Mode::Lookup) => match inner.lookup_memory(key, &mut hash) {
                Memory::Fresh(value) => {
                    control::report(inner.shared.id(), Origin::Hit);
                    inner.shared.hit();
                    return Ok(value);
                }
                memory => memory,
            },
            Some(Mode::Bypass) => {
                control::bypassed(&inner.shared);
                return compute();
            }
            // A forced refresh: the key invalidated first, as `insert` does, so that a
            // computation already under way stores nothing over this.
            Some(Mode::Refresh) => {
                hash = inner.flight_hash(key);
                if control::refresh_within_own_store(&inner.flights, &inner.shared, hash) {
                    control::bypassed(&inner.shared);
                    return compute();
                }
                control::refreshing(&inner.flights, &inner.shared, hash);
                Memory::Absent
            }
        };
        let goal = match mode {
            Some(Mode::Refresh) => Goal::Refresh,
            _ => Goal::Compute,
        };
        let (result, origin) = self.miss((key, hash), compute, goal, memory);
        // The `inner` at hand rather than `self.inner`'s `Deref`, and `if let` rather than
        // `is_some`: each a call less in every cache type's copy (compile time).
        if let Some(_) = mode {
            control::report(inner.shared.id(), origin);
            // Only a timed form's value can be stored nowhere: a test of `KeyRef::TIMED` alone,
            // so that an untimed one compiles no removal here.
            if Q::TIMED {
                #[allow(
                    clippy::manual_ok_err,
                    reason = "`as_ref().ok()` is two functions more per value type"
                )]
                let value = match &result {
                    Ok(value) => Some(value),
                    Err(_) => None,
                };
                self.stored_nowhere_removed(goal, key, value);
            }
        }
        result
    }

    /// Async [`get_or_compute`](Self::get_or_compute): single-flight across tasks and threads,
    /// and the rate limiter waits without blocking the executor.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn get_or_compute_async<Q, M, Fut>(&self, key: &Q, compute: impl FnOnce() -> Fut) -> V
    where
        Q: AsKey<K, M> + Sync + ?Sized,
        Fut: std::future::Future<Output = V>,
    {
        let key = &Borrowed::<Q, K, M>::new(key);
        self.__get_or_compute_async(key, compute).await
    }

    /// [`get_or_compute_async`](Self::get_or_compute_async) of a key in its lookup form, as
    /// [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    #[cfg(feature = "tokio")]
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __get_or_compute_async<'a, Q, Fut>(
        &'a self,
        key: &'a Q,
        compute: impl FnOnce() -> Fut,
    ) -> impl Future<Output = V>
    where
        Q: KeyRef<K> + Sync + ?Sized,
        Fut: Future<Output = V>,
    {
        // `FnOnce` only (`Spend`): no `call_once` shim per cache type.
        let spend = Spend;
        let begin = move || {
            spend.spend();
            self.begin_async(key)
        };
        drive::driven(begin, Some(compute), Ok::<V, Infallible>, infallible)
    }

    /// Async [`try_get_or_compute`](Self::try_get_or_compute).
    ///
    /// # Errors
    /// The function's error.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn try_get_or_compute_async<Q, M, E, Fut>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Q: AsKey<K, M> + Sync + ?Sized,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let key = &Borrowed::<Q, K, M>::new(key);
        self.__try_get_or_compute_async(key, compute).await
    }

    /// [`try_get_or_compute_async`](Self::try_get_or_compute_async) of a key in its lookup form,
    /// as [`__get_or_compute`](Self::__get_or_compute). Not part of the API.
    ///
    /// A future whose poll alone is compiled per function ([`drive::driven`]): the call's steps
    /// are [`begin_async`](Self::begin_async)'s, a copy per cache type.
    #[cfg(feature = "tokio")]
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __try_get_or_compute_async<'a, Q, E, Fut>(
        &'a self,
        key: &'a Q,
        compute: impl FnOnce() -> Fut,
    ) -> impl Future<Output = Result<V, E>>
    where
        Q: KeyRef<K> + Sync + ?Sized,
        Fut: Future<Output = Result<V, E>>,
    {
        // `FnOnce` only (`Spend`): no `call_once` shim per cache type.
        let spend = Spend;
        let begin = move || {
            spend.spend();
            self.begin_async(key)
        };
        let identity = std::convert::identity;
        drive::driven(begin, Some(compute), identity, identity)
    }

    /// The async call's start: a per-call control taken, or a fresh memory hit served, or the
    /// engine of its miss made ([`engine_async`](Self::engine_async)), or a bypass's run, which
    /// needs no typed engine ([`drive::bypass_async`]). Inline in optimised builds, as the
    /// blocking hit is: it is the async hit.
    #[cfg(feature = "tokio")]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn begin_async<'a, Q>(
        &'a self,
        key: &'a Q,
    ) -> drive::Begun<V, crate::future::BoxFuture<'a, bool>>
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let start = match control::take(inner.shared.id()) {
            Some(mode) => Err(mode),
            None => {
                let mut hash = 0;
                match inner.lookup_memory_inline(key, &mut hash) {
                    Memory::Fresh(value) => {
                        inner.shared.hit();
                        return drive::Begun::Done(value);
                    }
                    memory => Ok((memory, hash)),
                }
            }
        };
        let relay = Arc::new(drive::Relay::new());
        let engine = self.engine_or_bypass(key, start, &relay);
        drive::Begun::Engine(engine, relay)
    }

    /// The future of an async call's steps after its start (`Ok`: a miss, as
    /// [`engine_async`](Self::engine_async) takes it; `Err`: a per-call control), on `relay`:
    /// its engine, or a bypass's own future, which needs no typed engine
    /// ([`drive::bypass_async`]).
    #[cfg(feature = "tokio")]
    pub(super) fn engine_or_bypass<'a, Q>(
        &'a self,
        key: &'a Q,
        start: Result<(Memory<V>, u64), control::Mode>,
        relay: &Arc<drive::Relay<V>>,
    ) -> crate::future::BoxFuture<'a, bool>
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let start = match start {
            Ok(missed) => Ok(missed),
            Err(mode) => match mode.steer() {
                Some(control::Steer::Refresh)
                    if control::refresh_within_own_store(
                        &inner.flights,
                        &inner.shared,
                        inner.flight_hash(key),
                    ) =>
                {
                    return drive::bypass_async(&inner.shared, relay.clone());
                }
                Some(steer) => Err(steer),
                // The relay as `Arc<dyn Turned>`.
                None => return drive::bypass_async(&inner.shared, relay.clone()),
            },
        };
        // Boxed: the call's future, moved as a whole at each of its moves (a hit's included),
        // is then small, and `Driven`'s steps one copy per value type.
        let engine = self.engine_async(key, start, Arc::clone(relay));
        crate::future::pinned(Box::new(engine))
    }

    /// The async call's steps after its start (`Ok`: a miss, with what the memory tier found and
    /// the key's [`flight_hash`](super::inner::Inner::flight_hash); `Err`: a per-call control to
    /// follow), asking `relay` for the function's value and handing the
    /// call's back through it (the output: whether there is one, [`drive::Relay::hand_back`]):
    /// one engine, a copy per cache type and key form, for plain and controlled calls. Its one
    /// await is the driver's loop (compiled once): each await of a future is a state in every
    /// copy, reached or not (compile time).
    #[cfg(feature = "tokio")]
    pub(super) async fn engine_async<Q>(
        &self,
        key: &Q,
        start: Result<(Memory<V>, u64), control::Steer>,
        relay: Arc<drive::Relay<V>>,
    ) -> bool
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let (goal, memory, hash, told) = match start {
            Ok((memory, hash)) => (Goal::Compute, memory, hash, false),
            // A `lookup` only observes the call: its ordinary way (the key hashed once), its
            // origin told.
            Err(control::Steer::Lookup) => {
                let mut hash = 0;
                match inner.lookup_memory(key, &mut hash) {
                    Memory::Fresh(value) => {
                        control::report(inner.shared.id(), Origin::Hit);
                        inner.shared.hit();
                        return relay.hand_back(Ok(value));
                    }
                    memory => (Goal::Compute, memory, hash, true),
                }
            }
            // A forced refresh first invalidates the key: the driver's first step, waiting for
            // a store under way without blocking the executor (`Core::steered`).
            Err(control::Steer::Refresh) => {
                (Goal::Refresh, Memory::Absent, inner.flight_hash(key), true)
            }
        };
        let mut call = Call::new(key);
        let mut miss = Miss::new(inner, &mut call, hash, goal, memory);
        if told {
            miss.core.steered();
        }
        let mut driver = drive::Driver::new(&self.inner, &mut miss, &relay);
        driver.drive().await;
        relay.hand_back(driver.result())
    }
}

/// The value of a call whose function cannot fail.
#[cfg(feature = "tokio")]
fn infallible<V>(result: Result<V, Infallible>) -> V {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}
