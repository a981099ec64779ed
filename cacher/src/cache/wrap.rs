use std::fmt;
use std::hash::Hash;

use super::Cache;

/// A function whose calls go through a [`Cache`]; made by [`Cache::wrap`].
pub struct CachedFn<K, V, F> {
    cache: Cache<K, V>,
    function: F,
}

/// A fallible function whose `Ok` values go through a [`Cache`]; made by [`Cache::try_wrap`].
pub struct TryCachedFn<K, V, F> {
    cache: Cache<K, V>,
    function: F,
}

impl<K, V, F> CachedFn<K, V, F>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Fn(&K) -> V,
{
    pub(super) fn new(cache: Cache<K, V>, function: F) -> Self {
        Self { cache, function }
    }

    /// Calls the function through the cache.
    pub fn call(&self, args: &K) -> V {
        self.cache.get_or_compute(args, || (self.function)(args))
    }

    /// The cache behind the function (for stats, clear, remove).
    pub fn cache(&self) -> &Cache<K, V> {
        &self.cache
    }
}

impl<K, V, E, F> TryCachedFn<K, V, F>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Fn(&K) -> Result<V, E>,
{
    pub(super) fn new(cache: Cache<K, V>, function: F) -> Self {
        Self { cache, function }
    }

    /// Calls the function through the cache; an `Err` is returned and not stored.
    ///
    /// # Errors
    /// The function's error.
    pub fn call(&self, args: &K) -> Result<V, E> {
        self.cache
            .try_get_or_compute(args, || (self.function)(args))
    }

    /// The cache behind the function (for stats, clear, remove).
    pub fn cache(&self) -> &Cache<K, V> {
        &self.cache
    }
}

impl<K, V, F> fmt::Debug for CachedFn<K, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedFn")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<K, V, F> fmt::Debug for TryCachedFn<K, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryCachedFn")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}
