//! Where a call's value came from: [`Origin`], and the value with it, [`Lookup`].

/// Where a call's value came from, as the cache's engine decided it.
///
/// Learnt with [`Cache::lookup`](crate::Cache::lookup) around an ordinary call, so that the
/// function's signature stays the same for every other caller.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, Origin};
///
/// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
/// let first = cache.lookup(|| cache.get_or_compute(&2, || 4));
/// assert_eq!(first.origin, Origin::Computed);
/// let second = cache.lookup(|| cache.get_or_compute(&2, || 4));
/// assert_eq!((second.value, second.origin), (4, Origin::Hit));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// A fresh entry of a tier, or the value another caller computed for the same key while
    /// this one waited (counted as a hit in [`CacheStats`](crate::CacheStats) too).
    Hit,
    /// An entry past its ttl: served at once within `stale_while_revalidate` (while one refresh
    /// runs in the background), or while the function backs off after a failure
    /// (`error_backoff`), or because the function failed (`stale_if_error`).
    Stale,
    /// This call ran the function (also under [`refresh`](crate::Cache::refresh) and
    /// [`bypass`](crate::Cache::bypass)), or the function failed and its error is returned.
    Computed,
}

impl Origin {
    /// Whether the value came from the cache (a hit or a stale entry), not from the function.
    ///
    /// ```
    /// assert!(cacher::Origin::Stale.is_cached());
    /// assert!(!cacher::Origin::Computed.is_cached());
    /// ```
    #[must_use]
    pub fn is_cached(self) -> bool {
        !matches!(self, Origin::Computed)
    }
}

/// A call's result and where its value came from: what [`Cache::lookup`](crate::Cache::lookup)
/// returns.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, Lookup, Origin};
///
/// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
/// let Lookup { value, origin } = cache.lookup(|| cache.get_or_compute(&1, || 10));
/// assert_eq!((value, origin), (10, Origin::Computed));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup<R> {
    /// What the call returned.
    pub value: R,
    /// Where its value came from.
    pub origin: Origin,
}
