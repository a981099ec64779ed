//! The statics a `#[cached]` function keeps its cache in once found: a plain function's
//! ([`FunctionSlot`]), and a method's or a generic function's, one cache per type
//! ([`PerType`]).
//!
//! Their cells are not generic: each holds its cache erased (a [`Found`], as the process's
//! registry holds it), so that their code — `OnceLock`'s initialisation, the per-type slots and
//! list — is compiled once, in cacher, rather than once per cache type (a typed
//! `OnceLock<&'static Cache<K, V>>` instantiated `get_or_init`, `call_once_force` and their
//! closures: ≈ 7 % of a crate of 50 `#[cached]` functions' build, docs/BENCHMARKS.md). Each
//! cache is checked to be of its static's types before it is kept ([`checked`]); the read
//! back to those types is then an unchecked cast ([`typed`], the one `unsafe` block here): a
//! checked `downcast_ref` on each call is a call through the vtable on every hit (+15
//! instructions, 141 → 156).

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::{OnceLock, PoisonError, RwLock};

use super::building::Building;
use super::{Build, Found, Site, find, leaked};
use crate::Cache;
use crate::callback::CallbackMut;

/// Where a `#[cached]` function without `self` keeps its cache once found: a `static` of the
/// function's, written once, at its first use ([`function_cache`]). A `OnceLock` rather than a
/// `LazyLock`, so that a refusal (a panic while finding the cache) is raised again by the next
/// call, rather than poisoning the static.
pub struct FunctionSlot<K, V> {
    /// A `&'static Cache<K, V>` once set ([`checked`]).
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
    typed(found)
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
    let build: Build<'_> = (TypeId::of::<Cache<K, V>>(), &leaked(init));
    first_use_erased(
        &slot.found,
        site,
        build,
        TypeId::of::<&'static Cache<K, V>>(),
    )
}

/// [`first_use`] without the types: the cell set (once, whatever the races) to the cache
/// [`find`] finds or makes with `build`, [`checked`] to be of the type `of`.
fn first_use_erased(
    cell: &'static OnceLock<Found>,
    site: fn() -> Site,
    build: Build<'_>,
    of: TypeId,
) -> Found {
    // Marked first: a build that calls the function again would wait on this very cell.
    let _building = Building::enter(std::ptr::from_ref(cell).addr(), &site);
    *cell.get_or_init(|| checked(find(&site(), None, build), of))
}

/// The caches of one method, one per `Self` type, or of a generic function, one per instance:
/// the static of a generic function (or of a method in a generic impl) is shared by all its
/// instances. Each is found by its [`type_key`](super::type_key): the first eight types' with
/// atomic loads and comparisons only (a hit writes nothing another thread reads), the others'
/// in a list behind a lock.
pub struct PerType<K, V> {
    /// Each a type's key and its `&'static Cache<K, V>` ([`checked`]).
    slots: [OnceLock<(TypeId, Found)>; SLOTS],
    /// The same, for the types past the slots.
    others: RwLock<Vec<(TypeId, Found)>>,
    types: PhantomData<fn() -> (K, V)>,
}

/// How many types a [`PerType`] finds without a lock.
const SLOTS: usize = 8;

impl<K, V> PerType<K, V> {
    /// No cache yet.
    #[allow(clippy::new_without_default)]
    #[must_use]
    pub const fn new() -> Self {
        PerType {
            slots: [const { OnceLock::new() }; SLOTS],
            others: RwLock::new(Vec::new()),
            types: PhantomData,
        }
    }
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> PerType<K, V> {
    /// The cache of the type whose [`type_key`](super::type_key) is `id`, found (at its first
    /// use) by `find`: a `&'static Cache<K, V>` as the registry keeps it.
    pub(super) fn get(&self, id: TypeId, find: impl FnOnce() -> Found) -> &'static Cache<K, V> {
        let mut find = Some(find);
        let mut find = |(): ()| (find.take().expect("called once"))();
        let of = TypeId::of::<&'static Cache<K, V>>();
        typed(per_type(&self.slots, &self.others, id, (of, &mut find)))
    }
}

/// [`PerType::get`] without the types: the cache of the type `id`, found by `find` (at most
/// once), [`checked`] to be of the type `of` before it is kept.
fn per_type(
    slots: &[OnceLock<(TypeId, Found)>; SLOTS],
    others: &RwLock<Vec<(TypeId, Found)>>,
    id: TypeId,
    (of, find): (TypeId, &mut dyn CallbackMut<(), Found>),
) -> Found {
    for slot in slots {
        // An empty slot is taken for this type; one another type took meanwhile is passed.
        // `find` returns the one cache of a type whatever the races: a type in two slots is
        // harmless.
        let (type_of, cache) = match slot.get() {
            Some(taken) => *taken,
            None => {
                // One this thread is taking (a build using a cache of this slot's) is passed
                // too: asked again, its `OnceLock` would wait for itself. Another type's cache
                // goes on in the next slot; the same type's meets its build's mark in the
                // registry, which panics naming it.
                let Some(_building) = Building::slot(std::ptr::from_ref(slot).addr()) else {
                    continue;
                };
                *slot.get_or_init(|| (id, checked(find.run_mut(()), of)))
            }
        };
        if type_of == id {
            return cache;
        }
    }
    let known = |others: &[(TypeId, Found)]| {
        others
            .iter()
            .find(|(type_of, _)| *type_of == id)
            .map(|(_, c)| *c)
    };
    if let Some(cache) = known(&others.read().unwrap_or_else(PoisonError::into_inner)) {
        return cache;
    }
    let cache = checked(find.run_mut(()), of);
    let mut others = others.write().unwrap_or_else(PoisonError::into_inner);
    if known(&others).is_none() {
        others.push((id, cache));
    }
    cache
}

/// `found`, once checked to be of the type `of` (a `&'static Cache<K, V>`'s `TypeId`): what a
/// slot or a [`PerType`] keeps, and [`typed`] relies on.
///
/// # Panics
/// When it is not (a cacher bug: the registry keeps each cache under its type's id).
fn checked(found: Found, of: TypeId) -> Found {
    assert!(
        (*found).type_id() == of,
        "a function's cache is of its static's types"
    );
    found
}

/// The cache `found` is, read back to its types without a check: `found` came from a cell of
/// a [`FunctionSlot<K, V>`] or a [`PerType<K, V>`], which hold only what [`checked`] found of
/// type `&'static Cache<K, V>`. Inlined even in a debug build: a cast, which as a function of
/// its own would be one more per cache type.
#[inline(always)]
fn typed<K: 'static, V: 'static>(found: Found) -> &'static Cache<K, V> {
    // SAFETY: `found` is a `&'static Cache<K, V>` behind `dyn Any` (see above: the cells are
    // private to this module, and set only to values `checked` against the slot's own types).
    // The cast is `downcast_ref`'s, without its check.
    #[allow(unsafe_code)]
    unsafe {
        *std::ptr::from_ref(found).cast::<&'static Cache<K, V>>()
    }
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
    /// its slot's. A build that makes one (a cacher bug) panics, and leaves the cell empty.
    #[test]
    fn a_slot_is_never_set_to_a_cache_of_other_types() {
        static CELL: OnceLock<Found> = OnceLock::new();
        fn other(_namespace: &str) -> Cache<u64, u64> {
            Cache::builder().build().unwrap()
        }
        let build: Build<'_> = (TypeId::of::<Cache<u64, u64>>(), &leaked(other));
        let of = TypeId::of::<&'static Cache<u32, String>>();
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            first_use_erased(&CELL, site, build, of)
        }));
        assert!(set.is_err(), "a cache of other types was accepted");
        assert!(CELL.get().is_none());
    }

    /// The same for a method's static: a cache of other types is never kept, in a slot or in
    /// the list past them, and the type it was offered for then gets its right one.
    #[test]
    fn a_per_type_static_never_keeps_a_cache_of_other_types() {
        static CACHES: PerType<u32, String> = PerType::new();
        fn leaked<K, V>() -> &'static Cache<K, V>
        where
            K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            Box::leak(Box::new(Cache::builder().build().unwrap()))
        }
        let other: &'static Cache<u64, u64> = leaked();
        let ids = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<i8>(),
            TypeId::of::<i16>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
            TypeId::of::<char>(),
        ];
        assert!(ids.len() > SLOTS, "past the slots too");
        for id in ids {
            let offered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                CACHES.get(id, || -> Found { Box::leak(Box::new(other)) });
            }));
            assert!(offered.is_err(), "a cache of other types was kept");
            let right: &'static Cache<u32, String> = leaked();
            let found = CACHES.get(id, || -> Found { Box::leak(Box::new(right)) });
            assert!(std::ptr::eq(found, right));
            assert!(std::ptr::eq(CACHES.get(id, || unreachable!()), right));
        }
    }
}
