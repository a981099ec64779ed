//! The `cached` crate's API by its own names — the methods of its `Cached` trait, its cache
//! types, its `Return` — so that code ported as it is gets, for each, one compile error (or, for
//! an import, a warning) that says what cacher calls it, rather than rustc's `no method named
//! cache_clear` or its advice to import the `cached` macro. None of it does anything: the
//! methods' bound is never met (a trait with no implementation, whose `on_unimplemented`
//! message is the advice), the types have nothing to build them with. Hidden from the docs;
//! `#[cached]`'s "Coming from the `cached` crate" has the table.

use std::marker::PhantomData;

use crate::Cache;

/// A marker trait per name of `cached`'s, never implemented: a method bound by it is an error
/// at each call, whose message is the advice.
macro_rules! advice {
    ($($name:ident => $message:literal,)*) => {$(
        #[doc(hidden)]
        #[diagnostic::on_unimplemented(message = $message, label = "`cached`'s name")]
        pub trait $name {}
    )*};
}

advice! {
    CacheGet => "cacher calls `cache_get` `get`: `fib_cache().get(&(n,))` (an owned copy of the value, `None` when absent or expired)",
    CacheGetMut => "cacher has no `cache_get_mut`: an entry's value is not changed in place; store the new one with `fib_cache().insert(&(n,), value)`",
    CacheGetOrSetWith => "cacher calls `cache_get_or_set_with` `get_or_compute`: `fib_cache().get_or_compute(&(n,), || value)`",
    CacheSet => "cacher calls `cache_set` `insert`: `fib_cache().insert(&(n,), value)` (a `Result`: a persistent tier may fail)",
    CacheRemove => "cacher calls `cache_remove` `remove`: `fib_cache().remove(&(n,))` (a `Result`: a persistent tier may fail)",
    CacheClear => "cacher calls `cache_clear` `clear`: `fib_cache().clear()` (a `Result`: a persistent tier may fail)",
    CacheReset => "cacher has no `cache_reset`: `fib_cache().clear()` empties the cache, `fib_cache().reset_stats()` its counts",
    CacheResetMetrics => "cacher calls `cache_reset_metrics` `reset_stats`: `fib_cache().reset_stats()`",
    CacheSize => "cacher calls `cache_size` `memory_len`: `fib_cache().memory_len()` (the memory tier's entries; `cacher ls` counts a persistent tier's)",
    CacheHits => "cacher counts hits in `stats`: `fib_cache().stats().hits`",
    CacheMisses => "cacher counts misses in `stats`: `fib_cache().stats().misses`",
    CacheCapacity => "cacher has no `cache_capacity`: the memory tier's bound is the attribute's `max_entries = 100` (or `Cache::builder().max_entries(100)`)",
    CacheLifespan => "cacher has no `cache_lifespan`: a cache's ttl is fixed when it is built (`#[cached(ttl = \"60s\")]`, `Cache::builder().ttl(…)`); a value's own ttl is `ttl_fn = path`",
    SizedCacheWithSize => "cacher has no `SizedCache`: write `#[cached(max_entries = 100)]`, or `Cache::builder().max_entries(100).build()`",
    TimedCacheWithLifespan => "cacher has no `TimedCache`: write `#[cached(ttl = \"60s\")]`, or `Cache::builder().ttl(Duration::from_secs(60)).build()`",
    TimedSizedCacheWithSizeAndLifespan => "cacher has no `TimedSizedCache`: write `#[cached(max_entries = 100, ttl = \"60s\")]`, or `Cache::builder().max_entries(100).ttl(Duration::from_secs(60)).build()`",
    UnboundCacheNew => "cacher has no `UnboundCache`: `#[cached]` without `max_entries` is unbounded, as `Cache::builder().build()` is",
}

/// `cached`'s `Cached` trait: the methods its caches have.
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `Cached` trait: a cache's methods are its own (`fib_cache().clear()`, `.remove(&(n,))`, `.stats().hits`, `.memory_len()`); remove this import"
)]
pub trait Cached {}

/// `cached`'s `Return<T>` (`with_cached_flag = true`).
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `Return`: a `#[cached]` function returns its own type; `fib_cache().lookup(|| fib(n))` gives the value and its `Origin`"
)]
pub struct Return<T>(PhantomData<T>);

/// `cached`'s `SizedCache`.
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `SizedCache`: write `#[cached(max_entries = 100)]`, or `Cache::builder().max_entries(100).build()`"
)]
pub struct SizedCache<K, V>(PhantomData<(K, V)>);

/// `cached`'s `TimedCache`.
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `TimedCache`: write `#[cached(ttl = \"60s\")]`, or `Cache::builder().ttl(Duration::from_secs(60)).build()`"
)]
pub struct TimedCache<K, V>(PhantomData<(K, V)>);

/// `cached`'s `TimedSizedCache`.
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `TimedSizedCache`: write `#[cached(max_entries = 100, ttl = \"60s\")]`, or `Cache::builder().max_entries(100).ttl(…).build()`"
)]
pub struct TimedSizedCache<K, V>(PhantomData<(K, V)>);

/// `cached`'s `UnboundCache`.
#[doc(hidden)]
#[deprecated(
    note = "cacher has no `UnboundCache`: `#[cached]` without `max_entries` is unbounded, as `Cache::builder().build()` is"
)]
pub struct UnboundCache<K, V>(PhantomData<(K, V)>);

/// Each of the types' constructors, an error that says what to write.
#[allow(deprecated)]
mod constructors {
    use super::*;

    impl<K, V> SizedCache<K, V> {
        #[doc(hidden)]
        pub fn with_size(_size: usize) -> Self
        where
            Self: SizedCacheWithSize,
        {
            unreachable!("never implemented")
        }
    }

    impl<K, V> TimedCache<K, V> {
        #[doc(hidden)]
        pub fn with_lifespan(_seconds: u64) -> Self
        where
            Self: TimedCacheWithLifespan,
        {
            unreachable!("never implemented")
        }
    }

    impl<K, V> TimedSizedCache<K, V> {
        #[doc(hidden)]
        pub fn with_size_and_lifespan(_size: usize, _seconds: u64) -> Self
        where
            Self: TimedSizedCacheWithSizeAndLifespan,
        {
            unreachable!("never implemented")
        }
    }

    impl<K, V> UnboundCache<K, V> {
        #[doc(hidden)]
        pub fn new() -> Self
        where
            Self: UnboundCacheNew,
        {
            unreachable!("never implemented")
        }
    }
}

/// The methods of `cached`'s `Cached` trait on a cache (a `#[cached]` function's companion),
/// each an error that says what cacher calls it. Their arguments are taken as anything, so that
/// the advice is the only error a call gets.
impl<K, V> Cache<K, V> {
    #[doc(hidden)]
    pub fn cache_get<Q: ?Sized>(&self, _key: &Q) -> Option<&V>
    where
        Self: CacheGet,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_get_mut<Q: ?Sized>(&self, _key: &Q) -> Option<&mut V>
    where
        Self: CacheGetMut,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_get_or_set_with<Q, F>(&self, _key: Q, _f: F) -> &V
    where
        Self: CacheGetOrSetWith,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_set<Q, W>(&self, _key: Q, _value: W) -> Option<V>
    where
        Self: CacheSet,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_remove<Q: ?Sized>(&self, _key: &Q) -> Option<V>
    where
        Self: CacheRemove,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_clear(&self)
    where
        Self: CacheClear,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_reset(&self)
    where
        Self: CacheReset,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_reset_metrics(&self)
    where
        Self: CacheResetMetrics,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_size(&self) -> usize
    where
        Self: CacheSize,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_hits(&self) -> Option<u64>
    where
        Self: CacheHits,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_misses(&self) -> Option<u64>
    where
        Self: CacheMisses,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_capacity(&self) -> Option<usize>
    where
        Self: CacheCapacity,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_lifespan(&self) -> Option<u64>
    where
        Self: CacheLifespan,
    {
        unreachable!("never implemented")
    }

    #[doc(hidden)]
    pub fn cache_set_lifespan(&self, _seconds: u64) -> Option<u64>
    where
        Self: CacheLifespan,
    {
        unreachable!("never implemented")
    }
}
