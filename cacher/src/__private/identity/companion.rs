//! The cache of a function without `self`, as its companion `<name>_cache()` finds it: at each
//! call, not kept in a `static` of the companion's own.
//!
//! A `static`, and the `fn` items a `static`'s finder names, are compiled in the crate that
//! declares them whether or not anything calls them; closures in an `#[inline]` function are
//! compiled only where it is called. So the companion is `#[inline]`, gives its site and its
//! build as closures, and keeps nothing: a crate that never calls it compiles none of it (about
//! a tenth of the build of a crate of `#[cached]` functions; docs/BENCHMARKS.md, session 17). Its
//! call looks the cache up here instead: a read lock and a hash of two words, once the cache is
//! found (`Cache`'s own calls then cost what they cost).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use super::{Site, downcast, found};
use crate::Cache;

/// The caches companions found, by the address of their site function and their type: a site
/// function's address is its attribute's alone (two functions compiled to one address are one
/// site: their code, and so the `Site` they return, is the same); one attribute's site may have
/// several addresses (a copy per codegen unit), each found once through [`found`].
static FOUND: LazyLock<RwLock<HashMap<(usize, TypeId), Found>>> = LazyLock::new(Default::default);

type Found = &'static (dyn Any + Send + Sync);

/// The cache of the function at `site`, found in this process or built by `init` (as
/// [`function_cache`](super::function_cache) finds it at its first use): for a companion, which
/// keeps no `static` of its own.
///
/// # Panics
/// When the function cannot have a cache of its own (see [`Site`]'s refusals).
pub fn companion_cache<K, V>(
    site: fn() -> Site,
    init: fn(&str) -> Cache<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let id = (site as usize, TypeId::of::<Cache<K, V>>());
    let known = FOUND
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .copied();
    if let Some(known) = known {
        return downcast(known);
    }
    let cache = found(site, None, init);
    let erased: Found = cache;
    (FOUND.write().unwrap_or_else(PoisonError::into_inner)).insert(id, erased);
    cache
}
