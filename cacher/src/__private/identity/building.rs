//! The caches this thread is building, so that a build that uses its own cache (its `clock`
//! function or `dir` expression calling the function, or its companion) panics saying so, where
//! it would wait for itself for ever: the function's static, the registry's cell and a
//! [`PerType`](super::PerType)'s slot are `OnceLock`s, which a thread that initialises one and
//! asks it again waits on.

use std::cell::RefCell;

use super::{Site, Which, instance};

thread_local! {
    /// The addresses of the cells (a function's static, a registry cell, a per-type slot) this
    /// thread is initialising, innermost last.
    static BUILDING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks the cell at `at` as being initialised by this thread until dropped.
pub(super) struct Building(Option<usize>);

impl Building {
    /// Marks `at`, the cell of the cache of the function at `site`.
    ///
    /// # Panics
    /// When this thread is initialising that cell already: the build uses its own cache.
    pub(super) fn enter(at: usize, site: &Site) -> Self {
        Self::enter_instance(at, site, None)
    }

    /// Marks `at`, the cell of the cache of the function at `site`, of the instance `which` (a
    /// method's `Self` type, a generic function's arguments), which the panic names.
    ///
    /// # Panics
    /// As [`enter`](Self::enter).
    pub(super) fn enter_instance(at: usize, site: &Site, which: Option<Which>) -> Self {
        match Self::mark(at) {
            Some(building) => building,
            None => {
                let name = name(site, which);
                panic!(
                    "the cache of the #[cached] fn `{name}` is used while it is built: its `clock` \
                     function or `dir` expression calls the function or its companion, and would \
                     wait for its own build for ever; give the build what it needs without the cache"
                )
            }
        }
    }

    /// Marks `at`, a slot of a [`PerType`](super::PerType); `None` when this thread is
    /// initialising it already, for the cache of another type or of the same one (whose build
    /// then meets its own mark in the registry, and panics there, naming it).
    pub(super) fn slot(at: usize) -> Option<Self> {
        Self::mark(at)
    }

    /// Marks `at`, unless this thread marked it already.
    fn mark(at: usize) -> Option<Self> {
        let entered = BUILDING.try_with(|building| {
            let mut building = building.borrow_mut();
            let again = building.contains(&at);
            if !again {
                building.push(at);
            }
            again
        });
        match entered {
            Ok(false) => Some(Self(Some(at))),
            Ok(true) => None,
            // A thread whose thread-locals are gone (a call from a thread-local's destructor):
            // nothing to mark with.
            Err(_) => Some(Self(None)),
        }
    }
}

/// The function as its user wrote it: `my::api::fetch`, `my::Meter::read` for a method,
/// `my::price<my::Usd>` for a generic function's instance.
fn name(site: &Site, which: Option<Which>) -> String {
    let (self_type, arguments) = which.map_or((None, None), |(_, ty, args)| (ty, args));
    let mut name = site
        .path(self_type)
        .unwrap_or_else(|_| format!("{}::{}", site.module, site.function));
    if let Some(arguments) = arguments {
        name.push_str(&instance::label(arguments));
    }
    name
}

impl Drop for Building {
    fn drop(&mut self) {
        if let Some(at) = self.0 {
            let _ = BUILDING.try_with(|building| {
                let mut building = building.borrow_mut();
                if let Some(index) = building.iter().rposition(|&cell| cell == at) {
                    building.remove(index);
                }
            });
        }
    }
}
