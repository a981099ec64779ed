//! [`Cache`]: a keyer, an optional memory tier, persistent tiers, and policies.

mod builder;
mod call;
mod flight;
mod stats;
mod wrap;

pub use self::builder::{CacheBuilder, DEFAULT_WAIT_TIMEOUT};
pub use self::stats::CacheStats;
pub use self::wrap::{CachedFn, TryCachedFn};

use std::convert::Infallible;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hashbrown::DefaultHashBuilder;

use self::call::Call;
use self::flight::{Flights, Outcome, Role};
use self::stats::Counters;
use crate::backend::{Backend, MemoryBackend};
use crate::clock::Clock;
use crate::entry::{Entry, EntryKey};
use crate::error::{Error, Result};
use crate::key::Keyer;
use crate::key_ref::KeyRef;
use crate::lock::{FlightGuard, FlightLock};
use crate::policy::{Freshness, RateLimiter, TtlPolicy};

/// Caches the values of a function of `K`, in memory, on disk, or both.
///
/// A `Cache` is cheap to clone (clones share everything) and is used three ways:
/// 1. around a function: [`wrap`](Self::wrap) / [`try_wrap`](Self::try_wrap), or the
///    `#[cached]` attribute, which builds one per function;
/// 2. [`get_or_compute`](Self::get_or_compute) and [`try_get_or_compute`](Self::try_get_or_compute)
///    (and their `_async` forms with the `tokio` feature);
/// 3. as a plain store: [`get`](Self::get), [`try_get`](Self::try_get), [`insert`](Self::insert),
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

pub(crate) struct Inner<K, V> {
    namespace: String,
    version: Option<String>,
    arg_names: &'static [&'static str],
    keyer: Box<dyn Keyer>,
    memory: Option<MemoryBackend<K, V>>,
    backends: Vec<Box<dyn Backend<V>>>,
    ttl: Option<TtlPolicy>,
    rate_limiter: Option<RateLimiter>,
    flight_lock: Option<Box<dyn FlightLock>>,
    clock: Clock,
    wait_timeout: Duration,
    stats: Counters,
    flights: Flights<K, V>,
    hasher: DefaultHashBuilder,
}

/// What a lookup found.
enum Found<V> {
    Fresh(V),
    /// Only an entry past its ttl, servable if the function fails.
    Stale(Option<V>),
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

    fn from_inner(inner: Inner<K, V>) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The value for `key`: from the cache when a fresh entry exists, otherwise from `compute`,
    /// which is then stored.
    #[inline]
    pub fn get_or_compute<Q>(&self, key: &Q, compute: impl FnOnce() -> V) -> V
    where
        Q: KeyRef<K> + ?Sized,
    {
        match self.try_get_or_compute(key, || Ok::<V, Infallible>(compute())) {
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
    #[inline]
    pub fn try_get_or_compute<Q, E>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + ?Sized,
    {
        let inner = &*self.inner;
        // The hot path, a fresh entry in the memory tier, is kept small enough to inline: no
        // `Call`, no persistent key, no flight.
        let memory = match inner.lookup_memory(key) {
            Ok(value) => return Ok(inner.hit(value)),
            Err(stale) => stale,
        };
        inner.get_or_compute_slow(key, compute, memory)
    }

    /// Async [`get_or_compute`](Self::get_or_compute): single-flight across tasks and threads,
    /// and the rate limiter waits without blocking the executor.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn get_or_compute_async<Q, Fut>(&self, key: &Q, compute: impl FnOnce() -> Fut) -> V
    where
        Q: KeyRef<K> + Sync + ?Sized,
        Fut: std::future::Future<Output = V>,
    {
        let compute = || async { Ok::<V, Infallible>(compute().await) };
        match self.try_get_or_compute_async(key, compute).await {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Async [`try_get_or_compute`](Self::try_get_or_compute).
    ///
    /// # Errors
    /// The function's error.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn try_get_or_compute_async<Q, E, Fut>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + Sync + ?Sized,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let inner = &*self.inner;
        let call = Call::new(key);
        let mut compute = Some(compute);
        loop {
            let stale = match inner.lookup_async(&call, true).await {
                Found::Fresh(value) => return Ok(inner.hit(value)),
                Found::Stale(stale) => stale,
            };
            let role = inner.flights.join(inner.hasher.hash_one(key), key);
            let leader = match role {
                Role::Leader(leader) => Some(leader),
                Role::Waiter(flight) => match flight.wait_async(inner.wait_timeout).await {
                    Outcome::Value(value) => return Ok(inner.hit(value)),
                    Outcome::Failed => continue,
                    Outcome::TimedOut => {
                        inner.warn_wait_timeout();
                        None
                    }
                },
            };
            let lock_name = inner.lock_name(&call);
            let mut _held = None;
            if leader.is_some() {
                let found = match inner.lookup_async(&call, false).await {
                    Found::Fresh(value) => Err(value),
                    Found::Stale(_) => inner.lock_flight_async(&call, lock_name.as_deref()).await,
                };
                match found {
                    Ok(held) => _held = held,
                    Err(value) => {
                        if let Some(leader) = leader {
                            leader.complete(value.clone());
                        }
                        return Ok(inner.hit(value));
                    }
                }
            }
            let compute = compute.take().expect("a caller computes at most once");
            if let Some(limiter) = &inner.rate_limiter {
                limiter.acquire_async().await;
            }
            let result = compute().await;
            let value = inner.computed_async(&call, result, stale).await?;
            if let Some(leader) = leader {
                leader.complete(value.clone());
            }
            return Ok(value);
        }
    }

    /// Wraps `function` so that calling the wrapper caches it (the seed's
    /// `MemoryBackend(fn=fetch_from_api)`).
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

    /// The fresh cached value for `key`, if any.
    pub fn get<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Option<V> {
        let inner = &*self.inner;
        let found = match inner.lookup_memory(key) {
            Ok(value) => return Some(inner.hit(value)),
            Err(stale) => inner.lookup_persistent(&Call::new(key), stale, true),
        };
        match found {
            Found::Fresh(value) => Some(self.inner.hit(value)),
            Found::Stale(_) => {
                Counters::add(&self.inner.stats.misses);
                None
            }
        }
    }

    /// The fresh cached value for `key`.
    ///
    /// # Errors
    /// [`Error::Missing`] when there is none (the seed's `error_on_missing`).
    pub fn try_get<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Result<V> {
        self.get(key).ok_or(Error::Missing)
    }

    /// Stores `value` for `key` in every tier. A tier that fails is logged and counted; use
    /// [`try_insert`](Self::try_insert) to get the error.
    pub fn insert<Q: KeyRef<K> + ?Sized>(&self, key: &Q, value: V) {
        self.inner.store(&Call::new(key), value);
    }

    /// Stores `value` for `key` in every tier.
    ///
    /// # Errors
    /// The first tier's failure (the other tiers are still written).
    pub fn try_insert<Q: KeyRef<K> + ?Sized>(&self, key: &Q, value: V) -> Result<()> {
        match self.inner.store(&Call::new(key), value).1 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Removes the entry for `key` from every tier (invalidates it).
    ///
    /// # Errors
    /// The first tier's failure (the other tiers are still cleared of the key).
    #[doc(alias = "invalidate")]
    pub fn remove<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Result<()> {
        let inner = &*self.inner;
        if let Some(memory) = &inner.memory {
            memory.remove(key);
        }
        let call = Call::new(key);
        let mut first = None;
        if !inner.backends.is_empty() {
            let key = call.persistent_key(inner)?;
            let entry_key = inner.entry_key(key);
            for backend in &inner.backends {
                if let Err(e) = backend.remove(&entry_key) {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Removes every entry of this cache's namespace from every tier; entries of other
    /// namespaces sharing a directory are left alone.
    ///
    /// # Errors
    /// The first tier's failure (the other tiers are still cleared).
    pub fn clear(&self) -> Result<()> {
        let inner = &*self.inner;
        if let Some(memory) = &inner.memory {
            memory.clear();
        }
        let mut first = None;
        for backend in &inner.backends {
            if let Err(e) = backend.clear(&inner.namespace) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Counts of hits, misses, stores and errors.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        self.inner.stats.snapshot()
    }

    /// Sets every count of [`stats`](Self::stats) back to zero.
    pub fn reset_stats(&self) {
        self.inner.stats.reset();
    }

    /// The key that persistent tiers store `key` under (the keyer's output).
    ///
    /// # Errors
    /// [`Error::Key`] when `key` cannot be serialised.
    pub fn key_of<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Result<String> {
        Call::new(key)
            .persistent_key(&self.inner)
            .map(str::to_owned)
    }

    /// The file that holds (or would hold) the entry for `key`, in the first tier that stores
    /// files.
    pub fn path_of<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Option<PathBuf> {
        let inner = &*self.inner;
        let call = Call::new(key);
        let entry_key = inner.entry_key(call.persistent_key(inner).ok()?);
        inner.backends.iter().find_map(|b| b.path(&entry_key))
    }

    /// The namespace entries are recorded under.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }
}

impl<K, V> Inner<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Everything after a memory lookup that found no fresh entry: the persistent tiers, then
    /// single-flight and the function. `memory` is that lookup's answer (a stale value or none),
    /// used for the first round instead of asking the memory tier again.
    #[inline(never)]
    fn get_or_compute_slow<Q, E>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
        memory: Option<V>,
    ) -> Result<V, E>
    where
        Q: KeyRef<K> + ?Sized,
    {
        let call = Call::new(key);
        let mut compute = Some(compute);
        let mut memory = Some(memory);
        loop {
            let found = match memory.take() {
                Some(stale) => self.lookup_persistent(&call, stale, true),
                None => self.lookup(&call, true),
            };
            let stale = match found {
                Found::Fresh(value) => return Ok(self.hit(value)),
                Found::Stale(stale) => stale,
            };
            match self.flights.join(self.hasher.hash_one(key), key) {
                Role::Leader(leader) => {
                    // Another leader may have stored the value between our lookup and now.
                    if let Found::Fresh(value) = self.lookup(&call, false) {
                        leader.complete(value.clone());
                        return Ok(self.hit(value));
                    }
                    // Across processes too, when a lock is configured; it is released (dropped)
                    // after the value is stored.
                    let lock_name = self.lock_name(&call);
                    let _held = match self.lock_flight(&call, lock_name.as_deref()) {
                        Ok(held) => held,
                        Err(value) => {
                            leader.complete(value.clone());
                            return Ok(self.hit(value));
                        }
                    };
                    let compute = compute.take().expect("a caller computes at most once");
                    if let Some(limiter) = &self.rate_limiter {
                        limiter.acquire();
                    }
                    let result = self.computed(&call, compute(), stale)?;
                    leader.complete(result.clone());
                    return Ok(result);
                }
                Role::Waiter(flight) => match flight.wait(self.wait_timeout) {
                    Outcome::Value(value) => return Ok(self.hit(value)),
                    Outcome::Failed => continue,
                    Outcome::TimedOut => {
                        self.warn_wait_timeout();
                        let compute = compute.take().expect("a caller computes at most once");
                        if let Some(limiter) = &self.rate_limiter {
                            limiter.acquire();
                        }
                        return self.computed(&call, compute(), stale);
                    }
                },
            }
        }
    }

    /// The cross-process lock's name for this call: the namespace and the persistent key.
    fn lock_name<Q: KeyRef<K> + ?Sized>(&self, call: &Call<'_, Q>) -> Option<String> {
        self.flight_lock.as_ref()?;
        let key = self.persistent_key(call, false)?;
        Some(format!("{}:{key}", self.namespace))
    }

    /// Takes the cross-process lock (when there is one), then looks again: `Err(value)` when the
    /// previous holder stored it meanwhile. A lock that fails or a wait that runs out is reported
    /// and the caller computes without it.
    fn lock_flight<'a, Q: KeyRef<K> + ?Sized>(
        &'a self,
        call: &Call<'_, Q>,
        name: Option<&str>,
    ) -> Result<Option<FlightGuard<'a>>, V> {
        let (Some(lock), Some(name)) = (&self.flight_lock, name) else {
            return Ok(None);
        };
        self.after_lock(lock.lock(name), || self.lookup(call, false))
    }

    #[cfg(feature = "tokio")]
    async fn lock_flight_async<'a, Q: KeyRef<K> + Sync + ?Sized>(
        &'a self,
        call: &Call<'_, Q>,
        name: Option<&'a str>,
    ) -> Result<Option<FlightGuard<'a>>, V> {
        let (Some(lock), Some(name)) = (&self.flight_lock, name) else {
            return Ok(None);
        };
        let locked = lock.lock_async(name).await;
        if locked.as_ref().is_ok_and(Option::is_some) {
            if let Found::Fresh(value) = self.lookup_async(call, false).await {
                return Err(value);
            }
        }
        self.after_lock(locked, || Found::Stale(None))
    }

    /// What follows taking the lock: look again when it was taken, warn when it was not.
    fn after_lock<'a>(
        &self,
        locked: Result<Option<FlightGuard<'a>>>,
        look: impl FnOnce() -> Found<V>,
    ) -> Result<Option<FlightGuard<'a>>, V> {
        match locked {
            Ok(Some(held)) => match look() {
                Found::Fresh(value) => Err(value),
                Found::Stale(_) => Ok(Some(held)),
            },
            Ok(None) => {
                tracing::warn!(
                    namespace = %self.namespace,
                    "waited for another process computing this key; computing it here"
                );
                Ok(None)
            }
            Err(e) => {
                self.report("lock", "lock", &e);
                Ok(None)
            }
        }
    }

    fn entry_key<'a>(&'a self, key: &'a str) -> EntryKey<'a> {
        EntryKey {
            namespace: &self.namespace,
            version: self.version.as_deref(),
            key,
            type_name: std::any::type_name::<V>(),
        }
    }

    fn freshness(&self, created_ms: u64) -> Freshness {
        match &self.ttl {
            None => Freshness::Fresh,
            Some(ttl) => ttl.freshness(created_ms, self.clock.now_millis()),
        }
    }

    #[inline]
    fn hit(&self, value: V) -> V {
        self.stats.hits.add();
        value
    }

    /// Logs a backend failure and counts it; the caller carries on as if it were a miss.
    fn report(&self, backend: &str, op: &str, error: &Error) {
        Counters::add(&self.stats.errors);
        tracing::warn!(
            namespace = %self.namespace,
            backend,
            "cache {op} failed, carrying on without it: {error}"
        );
    }

    fn warn_wait_timeout(&self) {
        tracing::warn!(
            namespace = %self.namespace,
            "waited {:?} for another caller computing this key; computing it here",
            self.wait_timeout
        );
    }

    /// The memory tier's answer: a fresh value, or else a stale one (or none), after which the
    /// persistent tiers must be asked.
    #[inline(always)]
    fn lookup_memory<Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Result<V, Option<V>> {
        let Some(memory) = &self.memory else {
            return Err(None);
        };
        match memory.get_hashed(memory.hash(key), key) {
            // Without a ttl every entry is fresh: no clock to read, and the hit inlines whole.
            Some((value, _)) if self.ttl.is_none() => Ok(value),
            Some((value, created)) => self.classify(value, created),
            None => Err(None),
        }
    }

    /// A memory entry under a ttl: fresh, stale or expired.
    #[inline(never)]
    fn classify(&self, value: V, created_ms: u64) -> Result<V, Option<V>> {
        match self.freshness(created_ms) {
            Freshness::Fresh => Ok(value),
            Freshness::Stale => Err(Some(value)),
            Freshness::Expired => Err(None),
        }
    }

    /// Classifies one persistent tier's answer: the fresh entry, or `None` after noting a stale
    /// value or reporting an error.
    fn tier_answer(
        &self,
        backend: &dyn Backend<V>,
        answer: Result<Option<Entry<V>>>,
        stale: &mut Option<V>,
        report: bool,
    ) -> Option<Entry<V>> {
        match answer {
            Ok(Some(entry)) => match self.freshness(entry.created_ms) {
                Freshness::Fresh => return Some(entry),
                Freshness::Stale => {
                    stale.get_or_insert(entry.value);
                }
                Freshness::Expired => {}
            },
            Ok(None) => {}
            Err(e) if report => self.report(backend.name(), "read", &e),
            Err(_) => {}
        }
        None
    }

    fn lookup<Q: KeyRef<K> + ?Sized>(&self, call: &Call<'_, Q>, report: bool) -> Found<V> {
        match self.lookup_memory(call.key) {
            Ok(value) => Found::Fresh(value),
            Err(stale) => self.lookup_persistent(call, stale, report),
        }
    }

    /// The persistent tiers' answer, after the memory tier found no fresh entry (`stale` is
    /// what it found instead).
    fn lookup_persistent<Q: KeyRef<K> + ?Sized>(
        &self,
        call: &Call<'_, Q>,
        mut stale: Option<V>,
        report: bool,
    ) -> Found<V> {
        let Some(key) = self.persistent_key(call, report) else {
            return Found::Stale(stale);
        };
        let entry_key = self.entry_key(key);
        for (tier, backend) in self.backends.iter().enumerate() {
            let answer = backend.get(&entry_key);
            if let Some(entry) = self.tier_answer(&**backend, answer, &mut stale, report) {
                self.fill(call, &entry_key, tier, &entry);
                return Found::Fresh(entry.value);
            }
        }
        Found::Stale(stale)
    }

    #[cfg(feature = "tokio")]
    async fn lookup_async<Q>(&self, call: &Call<'_, Q>, report: bool) -> Found<V>
    where
        Q: KeyRef<K> + Sync + ?Sized,
    {
        let mut stale = match self.lookup_memory(call.key) {
            Ok(value) => return Found::Fresh(value),
            Err(stale) => stale,
        };
        let Some(key) = self.persistent_key(call, report) else {
            return Found::Stale(stale);
        };
        let entry_key = self.entry_key(key);
        for (tier, backend) in self.backends.iter().enumerate() {
            let answer = backend.get_async(&entry_key).await;
            if let Some(entry) = self.tier_answer(&**backend, answer, &mut stale, report) {
                self.fill_memory(call, &entry);
                for earlier in &self.backends[..tier] {
                    if let Err(e) = earlier.insert_async(&entry_key, &entry).await {
                        self.report(earlier.name(), "fill", &e);
                    }
                }
                return Found::Fresh(entry.value);
            }
        }
        Found::Stale(stale)
    }

    /// The persistent key, or `None` (reported) when there are no persistent tiers or the key
    /// cannot be made.
    fn persistent_key<'c, Q: KeyRef<K> + ?Sized>(
        &self,
        call: &'c Call<'_, Q>,
        report: bool,
    ) -> Option<&'c str> {
        if self.backends.is_empty() {
            return None;
        }
        match call.persistent_key(self) {
            Ok(key) => Some(key),
            Err(e) => {
                if report {
                    self.report("all", "key", &e);
                }
                None
            }
        }
    }

    /// A hit in tier `tier` fills the memory tier and the tiers before it, keeping the entry's
    /// creation time.
    fn fill<Q: KeyRef<K> + ?Sized>(
        &self,
        call: &Call<'_, Q>,
        entry_key: &EntryKey<'_>,
        tier: usize,
        entry: &Entry<V>,
    ) {
        self.fill_memory(call, entry);
        for earlier in &self.backends[..tier] {
            if let Err(e) = earlier.insert(entry_key, entry) {
                self.report(earlier.name(), "fill", &e);
            }
        }
    }

    /// Copies a persistent tier's hit into the memory tier, keeping its creation time.
    fn fill_memory<Q: KeyRef<K> + ?Sized>(&self, call: &Call<'_, Q>, entry: &Entry<V>) {
        if let Some(memory) = &self.memory {
            memory.insert(call.key.to_key(), entry.value.clone(), entry.created_ms);
        }
    }

    /// Stores a computed value in every tier; gives the value back, with the first failure
    /// (already reported). The value moves through the entry the persistent tiers are given, so
    /// only the memory tier's copy is a clone.
    fn store<Q: KeyRef<K> + ?Sized>(&self, call: &Call<'_, Q>, value: V) -> (V, Option<Error>) {
        let created_ms = self.clock.now_millis();
        let mut first = None;
        if let Some(memory) = &self.memory {
            memory.insert(call.key.to_key(), value.clone(), created_ms);
        }
        let entry = Entry { value, created_ms };
        if let Some(key) = self.persistent_key(call, true) {
            let entry_key = self.entry_key(key);
            for backend in &self.backends {
                if let Err(e) = backend.insert(&entry_key, &entry) {
                    self.report(backend.name(), "write", &e);
                    first.get_or_insert(e);
                }
            }
        }
        Counters::add(&self.stats.stores);
        (entry.value, first)
    }

    /// Async [`store`](Self::store).
    #[cfg(feature = "tokio")]
    async fn store_async<Q: KeyRef<K> + Sync + ?Sized>(&self, call: &Call<'_, Q>, value: &V) {
        let created_ms = self.clock.now_millis();
        if let Some(memory) = &self.memory {
            memory.insert(call.key.to_key(), value.clone(), created_ms);
        }
        if let Some(key) = self.persistent_key(call, true) {
            let entry_key = self.entry_key(key);
            let entry = Entry {
                value: value.clone(),
                created_ms,
            };
            for backend in &self.backends {
                if let Err(e) = backend.insert_async(&entry_key, &entry).await {
                    self.report(backend.name(), "write", &e);
                }
            }
        }
        Counters::add(&self.stats.stores);
    }

    /// After the function ran: store `Ok`, or serve a stale value for `Err` when allowed.
    fn computed<Q: KeyRef<K> + ?Sized, E>(
        &self,
        call: &Call<'_, Q>,
        result: Result<V, E>,
        stale: Option<V>,
    ) -> Result<V, E> {
        Counters::add(&self.stats.misses);
        match result {
            Ok(value) => Ok(self.store(call, value).0),
            Err(error) => self.serve_stale(stale, error),
        }
    }

    #[cfg(feature = "tokio")]
    async fn computed_async<Q: KeyRef<K> + Sync + ?Sized, E>(
        &self,
        call: &Call<'_, Q>,
        result: Result<V, E>,
        stale: Option<V>,
    ) -> Result<V, E> {
        Counters::add(&self.stats.misses);
        match result {
            Ok(value) => {
                self.store_async(call, &value).await;
                Ok(value)
            }
            Err(error) => self.serve_stale(stale, error),
        }
    }

    fn serve_stale<E>(&self, stale: Option<V>, error: E) -> Result<V, E> {
        match stale {
            Some(value) => {
                Counters::add(&self.stats.stale_served);
                tracing::warn!(
                    namespace = %self.namespace,
                    "the function failed; serving an expired entry (stale_if_error)"
                );
                Ok(value)
            }
            None => Err(error),
        }
    }
}

impl<K, V> fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Cache")
            .field("namespace", &inner.namespace)
            .field("version", &inner.version)
            .field("keyer", &inner.keyer)
            .field("memory", &inner.memory.is_some())
            .field("persistent_tiers", &inner.backends.len())
            .field("ttl", &inner.ttl)
            .field("rate_limiter", &inner.rate_limiter)
            .finish_non_exhaustive()
    }
}
