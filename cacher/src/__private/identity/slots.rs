//! The statics a `#[cached]` function keeps its cache in once found: a plain function's
//! ([`FunctionSlot`]), and a method's or a generic function's, one cache per type
//! ([`PerType`]); and what they and the process's registry keep, a cache with its type erased
//! ([`Found`]).
//!
//! Their cells are not generic: each holds its cache erased, so that their code —
//! `OnceLock`'s initialisation, the per-type slots and list — is compiled once, in cacher,
//! rather than once per cache type (a typed `OnceLock<&'static Cache<K, V>>` instantiated
//! `get_or_init`, `call_once_force` and their closures: ≈ 7 % of a crate of 50 `#[cached]`
//! functions' build, docs/BENCHMARKS.md). Each cache is checked to be of its static's types
//! before it is kept ([`checked`]), and a static's types cannot change after (the statics are
//! invariant in them); the read back to those types is then an unchecked cast
//! ([`Found::typed`], the one `unsafe` block here): a checked `downcast_ref` on each call is a
//! call through the vtable on every hit (+15 instructions, 141 → 156).

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::{OnceLock, PoisonError, RwLock};

use super::building::Building;
use super::{Build, Init, Site, find};
use crate::Cache;
use crate::callback::CallbackMut;

/// A cache found, its type erased, as the process's registry and the statics keep it: a
/// `Cache<K, V>` built into a leaked place ([`built`](Self::built), the only way to make one),
/// behind `dyn Any` as the `MaybeUninit<Cache<K, V>>` it was written into — whose vtable has no
/// drop to compile (a cache that is never dropped), and whose address is the cache's own (a hit
/// reads it with no load more than a typed static's).
#[derive(Clone, Copy)]
pub(super) struct Found(&'static (dyn Any + Send + Sync));

impl Found {
    /// The cache `init` builds for `namespace` and `site`'s names and options, leaked: built
    /// into its leaked place, so that no unwind edge drops it; a build that panics (a `clock` or
    /// `dir` of the user's) leaks that place, a pointer's size, each time.
    pub(super) fn built<K, V>(init: &Init<K, V>, namespace: &str, site: &Site) -> Self
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let place: &'static mut MaybeUninit<Cache<K, V>> =
            Box::leak(Box::new(MaybeUninit::uninit()));
        place.write((init.0)(namespace, site.names, site.options));
        Self(place)
    }

    /// The type of a found `Cache<K, V>`: what [`is`](Self::is) compares, and what the registry
    /// knows a cache by.
    pub(super) fn of<K: 'static, V: 'static>() -> TypeId {
        TypeId::of::<MaybeUninit<Cache<K, V>>>()
    }

    /// Whether it is of the type `of` ([`of`](Self::of)), asked through the vtable.
    fn is(self, of: TypeId) -> bool {
        (*self.0).type_id() == of
    }

    /// The cache, if it is a `Cache<K, V>`.
    pub(super) fn cache<K: 'static, V: 'static>(self) -> Option<&'static Cache<K, V>> {
        match self.is(Self::of::<K, V>()) {
            true => Some(self.typed()),
            false => None,
        }
    }

    /// The cache, read back to its types without a check: the caller checked that it is a
    /// `Cache<K, V>` ([`cache`](Self::cache), or [`checked`] when a static kept it). Inlined
    /// even in a debug build: a cast, which as a function of its own would be one more per
    /// cache type.
    #[inline(always)]
    fn typed<K: 'static, V: 'static>(self) -> &'static Cache<K, V> {
        let place = std::ptr::from_ref(self.0).cast::<MaybeUninit<Cache<K, V>>>();
        // SAFETY: every `Found` is made by `built`, which wrote its cache before making it
        // (the place is initialised, and leaked: `'static`); the caller checked that its
        // concrete type is `MaybeUninit<Cache<K, V>>` (see above): `Found::cache` at the call,
        // or a static when it kept it, whose `K` and `V` cannot change since (the statics are
        // invariant in them: a subtype's static is not a supertype's). The cast is
        // `downcast_ref`'s without its check, then `assume_init_ref`.
        #[allow(unsafe_code)]
        unsafe {
            (*place).assume_init_ref()
        }
    }
}

/// A static's key and value types, invariant (neither a sub- nor a supertype of them).
type Invariant<K, V> = PhantomData<fn((K, V)) -> (K, V)>;

/// Where a `#[cached]` function without `self` keeps its cache once found: a `static` of the
/// function's, written once, at its first use ([`function_cache`]). A `OnceLock` rather than a
/// `LazyLock`, so that a refusal (a panic while finding the cache) is raised again by the next
/// call, rather than poisoning the static.
///
/// Invariant in `K` and `V`: one static seen as two types (a subtype's, a supertype's, which
/// are two `TypeId`s) would serve the cache checked for one as the other.
///
/// ```compile_fail
/// use cacher::__private::FunctionSlot;
///
/// static SLOT: FunctionSlot<u32, for<'a> fn(&'a String)> = FunctionSlot::new();
/// let _wide: &'static FunctionSlot<u32, fn(&'static String)> = &SLOT;
/// ```
pub struct FunctionSlot<K, V> {
    /// A `Cache<K, V>` once set ([`checked`]).
    found: OnceLock<Found>,
    /// Invariant: `K` and `V` are the types `found` was checked for, never a sub- or supertype.
    types: Invariant<K, V>,
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
/// first use, found (or built by `init`, given the namespace and the site's names and options)
/// where [`Site`] says.
///
/// Generic over the cache's types only, and given `site` as a constant and `init` as a function
/// pointer (no function per `#[cached]` function makes either; a memory-only function's build
/// is `memory_build` of its cache type, reading the site's options): each `#[cached]` function
/// shares one copy of this code with every other function whose key and value types are the
/// same, rather than instantiating its own (compile time; see docs/BENCHMARKS.md). The first
/// use goes through the non-generic `find`.
///
/// # Panics
/// When the function cannot have a cache of its own (see [`Site`]'s refusals).
#[inline]
pub fn function_cache<K, V>(
    slot: &'static FunctionSlot<K, V>,
    site: &'static Site,
    init: Init<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let found = match slot.found.get() {
        Some(found) => *found,
        None => first_use(slot, site, init),
    };
    found.typed()
}

/// [`function_cache`]'s first use, out of line: the call of a found cache is then its slot's
/// load and nothing more.
#[cold]
#[inline(never)]
fn first_use<K, V>(
    slot: &'static FunctionSlot<K, V>,
    site: &'static Site,
    init: Init<K, V>,
) -> Found
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let build: Build<'_> = (Found::of::<K, V>(), &init);
    first_use_erased(&slot.found, site, build)
}

/// [`first_use`] without the types: the cell set (once, whatever the races) to the cache
/// [`find`] finds or makes with `build`, [`checked`] to be of the type the build names.
fn first_use_erased(cell: &'static OnceLock<Found>, site: &Site, build: Build<'_>) -> Found {
    // Marked first: a build that calls the function again would wait on this very cell.
    let _building = Building::enter(std::ptr::from_ref(cell).addr(), site);
    *cell.get_or_init(|| checked(find(site, None, build), build.0))
}

/// The caches of one method, one per `Self` type, or of a generic function, one per instance:
/// the static of a generic function (or of a method in a generic impl) is shared by all its
/// instances. Each is found by its [`type_key`](super::type_key): the first eight types' with
/// atomic loads and comparisons only (a hit writes nothing another thread reads), the others'
/// in a list behind a lock.
///
/// Invariant in `K` and `V`, as [`FunctionSlot`] is.
///
/// ```compile_fail
/// use cacher::__private::PerType;
///
/// static CACHES: PerType<u32, for<'a> fn(&'a String)> = PerType::new();
/// let _wide: &'static PerType<u32, fn(&'static String)> = &CACHES;
/// ```
pub struct PerType<K, V> {
    /// Each a type's key and its `Cache<K, V>` ([`checked`]).
    slots: [OnceLock<(TypeId, Found)>; SLOTS],
    /// The same, for the types past the slots.
    others: RwLock<Vec<(TypeId, Found)>>,
    /// Invariant, as [`FunctionSlot`]'s.
    types: Invariant<K, V>,
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
    /// use) by `find`: a `Cache<K, V>` as the registry keeps it.
    pub(super) fn get(&self, id: TypeId, find: impl FnOnce() -> Found) -> &'static Cache<K, V> {
        let mut find = Some(find);
        let mut find = |(): ()| (find.take().expect("called once"))();
        let of = Found::of::<K, V>();
        per_type(&self.slots, &self.others, id, (of, &mut find)).typed()
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

/// `found`, once checked to be of the type `of` ([`Found::of`], a `Cache<K, V>`'s): what a
/// slot or a [`PerType`] keeps, and [`Found::typed`] relies on.
///
/// # Panics
/// When it is not (a cacher bug: the registry keeps each cache under its type's id).
fn checked(found: Found, of: TypeId) -> Found {
    assert!(found.is(of), "a function's cache is of its static's types");
    found
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::__private::Opt;

    static SITE: Site = Site {
        marker: || "app::slot::lookup::__CacherSite",
        module: "app::slot",
        function: "lookup",
        location: "src/slot.rs:1:1#0",
        persistent: false,
        package: "my-app",
        pinned: None,
        names: &["id"],
        options: crate::__private::NO_OPTIONS,
    };

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn init(_namespace: &str, _names: &[&str], _options: &[Opt]) -> Cache<u32, String> {
        BUILT.fetch_add(1, Ordering::SeqCst);
        Cache::builder().build().unwrap()
    }

    /// The slot's cache is built once, at the first call, and every call after gets that one
    /// (the cast from the erased cell gives back the cache that was put in it).
    #[test]
    fn a_functions_slot_serves_the_cache_built_at_its_first_use() {
        static SLOT: FunctionSlot<u32, String> = FunctionSlot::new();
        let first = function_cache(&SLOT, &SITE, Init(init));
        assert_eq!(first.get_or_compute(&1, || "one".to_owned()), "one");
        for _ in 0..3 {
            let again = function_cache(&SLOT, &SITE, Init(init));
            assert!(std::ptr::eq(first, again));
            assert_eq!(again.get(&1).as_deref(), Some("one"));
        }
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
    }

    /// A build is given its site's names and options: what `memory_build` and a build the
    /// expansion writes set the cache from.
    #[test]
    fn a_build_is_given_its_sites_names_and_options() {
        fn checked(
            _namespace: &str,
            names: &'static [&'static str],
            options: &[Opt],
        ) -> Cache<u32, String> {
            assert_eq!(names, ["id"]);
            assert!(matches!(options, [Opt::Ttl(60, 0)]), "the site's options");
            Cache::builder().build().unwrap()
        }
        static TIMED: Site = Site {
            location: "src/slot.rs:7:1#2",
            options: &[Opt::Ttl(60, 0)],
            ..SITE
        };
        let built = Found::built(&Init(checked), "t", &TIMED);
        assert!(built.cache::<u32, String>().is_some());
    }

    /// What the unchecked cast relies on: a cell is never set to a cache of other types than
    /// its slot's. A build that makes a cache of other types than it names (a cacher bug)
    /// panics, and leaves the cell empty.
    #[test]
    fn a_slot_is_never_set_to_a_cache_of_other_types() {
        static CELL: OnceLock<Found> = OnceLock::new();
        fn other(_namespace: &str, _names: &[&str], _options: &[Opt]) -> Cache<u64, u64> {
            Cache::builder().build().unwrap()
        }
        // A site of its own: the registry holds nothing for it (the other tests' caches are
        // right ones, which `find` would give back without building).
        static APART: Site = Site {
            location: "src/slot.rs:9:1#1",
            ..SITE
        };
        let build: Build<'_> = (Found::of::<u32, String>(), &Init(other));
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            first_use_erased(&CELL, &APART, build)
        }));
        assert!(set.is_err(), "a cache of other types was accepted");
        assert!(CELL.get().is_none());
    }

    /// The same for a method's static: a cache of other types is never kept, in a slot or in
    /// the list past them, and the type it was offered for then gets its right one.
    #[test]
    fn a_per_type_static_never_keeps_a_cache_of_other_types() {
        static CACHES: PerType<u32, String> = PerType::new();
        fn other(_namespace: &str, _names: &[&str], _options: &[Opt]) -> Cache<u64, u64> {
            Cache::builder().build().unwrap()
        }
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
                CACHES.get(id, || Found::built(&Init(other), "other", &SITE));
            }));
            assert!(offered.is_err(), "a cache of other types was kept");
            let right = Found::built(&Init(init), "right", &SITE);
            let found = CACHES.get(id, || right);
            assert!(std::ptr::eq(found, right.cache::<u32, String>().unwrap()));
            assert!(std::ptr::eq(CACHES.get(id, || unreachable!()), found));
        }
    }
}
