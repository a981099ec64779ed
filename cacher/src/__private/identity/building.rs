//! The caches this thread is building, so that a build that uses its own cache (its `clock`
//! function or `dir` expression calling the function, or its companion) panics saying so, where
//! it would wait for itself for ever: the function's static and the registry's cell are
//! `OnceLock`s, which a thread that initialises one and asks it again waits on.

use std::cell::RefCell;

use super::Site;

thread_local! {
    /// The addresses of the cells (a function's static, a registry cell) this thread is
    /// initialising, innermost last.
    static BUILDING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks the cell at `at` as being initialised by this thread until dropped.
pub(super) struct Building(Option<usize>);

impl Building {
    /// Marks `at`, the cell of the cache of the function at `site`.
    ///
    /// # Panics
    /// When this thread is initialising that cell already: the build uses its own cache.
    pub(super) fn enter(at: usize, site: &dyn Fn() -> Site) -> Self {
        let entered = BUILDING.try_with(|building| {
            let mut building = building.borrow_mut();
            let again = building.contains(&at);
            if !again {
                building.push(at);
            }
            again
        });
        match entered {
            Ok(false) => Self(Some(at)),
            Ok(true) => {
                let site = site();
                panic!(
                    "the cache of the #[cached] fn `{}::{}` is used while it is built: its `clock` \
                     function or `dir` expression calls the function or its companion, and would \
                     wait for its own build for ever; give the build what it needs without the cache",
                    site.module, site.function
                )
            }
            // A thread whose thread-locals are gone (a call from a thread-local's destructor):
            // nothing to mark with.
            Err(_) => Self(None),
        }
    }
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
