//! The cache of a function without `self`, as its companion `<name>_cache()` finds it: at each
//! call, not kept in a `static` of the companion's own.
//!
//! A `static`, and the `fn` items a `static`'s finder names, are compiled in the crate that
//! declares them whether or not anything calls them; closures in an `#[inline]` function are
//! compiled only where it is called. So the companion is `#[inline]`, gives its site as a
//! constant and its build as a function pointer (`memory_build` of its cache type, or a closure
//! that builds) and keeps nothing: a crate that never calls it compiles none of it but its type
//! check (about a tenth of the build of a crate of `#[cached]` functions; docs/BENCHMARKS.md,
//! sessions 17, 23 and 24). Its call looks the cache up here instead, in the calling thread's
//! own table once that thread found it (a hash of two words, no lock, nothing another thread
//! reads: a hit wrapped in the companion's `lookup` stays free of shared writes).

use std::any::TypeId;
use std::cell::{Cell, RefCell};

use hashbrown::HashMap;

use super::{Found, Init, Site, downcast, found_erased};
use crate::Cache;

/// A cache found, by the address of its site and its type.
type Known = ((usize, TypeId), Found);

thread_local! {
    /// The cache this thread's last companion call found: a companion called again and again
    /// (`f_cache().lookup(|| f(x))` around each call) finds it without a hash.
    static LAST: Cell<Option<Known>> = const { Cell::new(None) };

    /// The caches this thread's companion calls found, by the address of their site and their
    /// type: a site's address is its attribute's alone (two constants merged to one address
    /// are one value, and so one site); one attribute's site may have several addresses (a copy
    /// per codegen unit or crate), each found once through [`found_erased`].
    static FOUND: RefCell<HashMap<(usize, TypeId), Found>> = RefCell::new(HashMap::new());
}

/// The cache of the function at `site`, found in this process or built by `init` (as
/// [`function_cache`](super::function_cache) finds it at its first use): for a companion, which
/// keeps no `static` of its own.
///
/// # Panics
/// When the function cannot have a cache of its own (see [`Site`]'s refusals).
#[inline]
pub fn companion_cache<K, V>(site: &'static Site, init: Init<K, V>) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let id = (std::ptr::from_ref(site).addr(), Found::of::<K, V>());
    if let Some(known) = known(id) {
        return downcast(known);
    }
    let cache = found_erased(site, None, init);
    remember(id, cache);
    downcast(cache)
}

/// What this thread found for `id`, if it did: its last find first. Nothing from a thread whose
/// locals are gone (a companion called from another thread-local's destructor): the cache is
/// then found again.
fn known(id: (usize, TypeId)) -> Option<Found> {
    if let Ok(Some((last, found))) = LAST.try_with(Cell::get)
        && last == id
    {
        return Some(found);
    }
    let found = FOUND
        .try_with(|here| here.borrow().get(&id).copied())
        .ok()??;
    let _gone = LAST.try_with(|last| last.set(Some((id, found))));
    Some(found)
}

fn remember(id: (usize, TypeId), cache: Found) {
    let _gone = FOUND.try_with(|here| here.borrow_mut().insert(id, cache));
    let _gone = LAST.try_with(|last| last.set(Some((id, cache))));
}
