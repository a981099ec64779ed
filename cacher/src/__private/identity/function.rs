//! The static of a function without `self` ([`FunctionSlot`]): its cache, once found.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::OnceLock;

use super::building::Building;
use super::{Found, Site, found_erased};
use crate::Cache;
use crate::callback::Callback;

/// Where a `#[cached]` function without `self` keeps its cache once found: a `static` of the
/// function's, written once, at its first use ([`function_cache`]). A `OnceLock` rather than a
/// `LazyLock`, so that a refusal (a panic while finding the cache) is raised again by the next
/// call, rather than poisoning the static.
///
/// Its cell is not generic (the cache's reference held erased, as the process's registry holds
/// it): `OnceLock<&'static Cache<K, V>>` compiled its initialisation (`get_or_init`,
/// `call_once_force` and their closures, ≈ 330 lines of LLVM IR) once per cache type; this one
/// is compiled once, in cacher.
pub struct FunctionSlot<K, V> {
    /// Always a `&'static Cache<K, V>` once set: [`first_use`] checks its type before it is set.
    found: OnceLock<Found>,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> FunctionSlot<K, V> {
    /// No cache yet.
    #[allow(clippy::new_without_default)]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            found: OnceLock::new(),
            types: PhantomData,
        }
    }
}

/// The cache of a function without `self`, kept in the function's `slot` once found; at its
/// first use, found (or built by `init`, given the namespace) where [`Site`] says.
///
/// Generic over the cache's types only, and given `site` and `init` as function pointers: each
/// `#[cached]` function shares one copy of this code with every other function whose key and
/// value types are the same, rather than instantiating its own (compile time;
/// see docs/BENCHMARKS.md). The first use goes through the non-generic `find`.
///
/// # Panics
/// When the function cannot have a cache of its own (see [`Site`]'s refusals).
#[inline]
pub fn function_cache<K, V>(
    slot: &'static FunctionSlot<K, V>,
    site: fn() -> Site,
    init: fn(&str) -> Cache<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let found: &'static (dyn Any + Send + Sync) = match slot.found.get() {
        Some(found) => *found,
        None => first_use(slot, site, init),
    };
    // SAFETY: `found` is a `&'static Cache<K, V>` behind `dyn Any`: the slot's cell is private
    // to this module, and `first_use_erased` sets it only to a value whose `TypeId` it checked
    // to be `&'static Cache<K, V>`'s (`first_use` gives it, from the slot's own types). The cast
    // is `downcast_ref`'s, without its check on every call (a call through the vtable, on
    // each hit of the function).
    #[allow(unsafe_code)]
    unsafe {
        *std::ptr::from_ref(found).cast::<&'static Cache<K, V>>()
    }
}

/// [`function_cache`]'s first use, out of line: the call of a found cache is then its slot's
/// load and nothing more.
#[cold]
#[inline(never)]
fn first_use<K, V>(
    slot: &'static FunctionSlot<K, V>,
    site: fn() -> Site,
    init: fn(&str) -> Cache<K, V>,
) -> Found
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let find = |(): ()| found_erased(site, None, init);
    let of = TypeId::of::<&'static Cache<K, V>>();
    first_use_erased(&slot.found, site, of, &find)
}

/// [`first_use`] without the types: the cell set (once, whatever the races) to what `find`
/// gives, which must be of the type `of`.
fn first_use_erased(
    cell: &'static OnceLock<Found>,
    site: fn() -> Site,
    of: TypeId,
    find: &dyn Callback<(), Found>,
) -> Found {
    // Marked first: a build that calls the function again would wait on this very cell.
    let _building = Building::enter(std::ptr::from_ref(cell).addr(), &site);
    *cell.get_or_init(|| {
        let found = find.run(());
        assert!(
            (*found).type_id() == of,
            "a function's cache is of its function's types"
        );
        found
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn site() -> Site {
        Site {
            marker: "app::slot::lookup::__CacherSite",
            module: "app::slot",
            function: "lookup",
            location: "src/slot.rs:1:1#0",
            persistent: false,
            package: "my-app",
            pinned: None,
        }
    }

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn init(_namespace: &str) -> Cache<u32, String> {
        BUILT.fetch_add(1, Ordering::SeqCst);
        Cache::builder().build().unwrap()
    }

    /// The slot's cache is built once, at the first call, and every call after gets that one
    /// (the cast from the erased cell gives back the cache that was put in it).
    #[test]
    fn a_functions_slot_serves_the_cache_built_at_its_first_use() {
        static SLOT: FunctionSlot<u32, String> = FunctionSlot::new();
        let first = function_cache(&SLOT, site, init);
        assert_eq!(first.get_or_compute(&1, || "one".to_owned()), "one");
        for _ in 0..3 {
            let again = function_cache(&SLOT, site, init);
            assert!(std::ptr::eq(first, again));
            assert_eq!(again.get(&1).as_deref(), Some("one"));
        }
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
    }

    /// What the unchecked cast relies on: a cell is never set to a cache of other types than
    /// its slot's. A find that gives one panics, and leaves the cell empty.
    #[test]
    fn a_slot_is_never_set_to_a_cache_of_other_types() {
        static CELL: OnceLock<Found> = OnceLock::new();
        let other: &'static Cache<u64, u64> =
            Box::leak(Box::new(Cache::builder().build().unwrap()));
        let other: Found = Box::leak(Box::new(other));
        let of = TypeId::of::<&'static Cache<u32, String>>();
        let find = |(): ()| other;
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            first_use_erased(&CELL, site, of, &find)
        }));
        assert!(set.is_err(), "a cache of other types was accepted");
        assert!(CELL.get().is_none());
    }
}
