//! What every `Listing` promises, asserted of one backend (the file, store and Redis backends'
//! tests run it).

use std::ops::ControlFlow;

use cacher::backend::Listed;
use cacher::entry::{Entry, EntryKey};
use cacher::{Listing, PersistentBackend};

/// `cacher prune` removes what it listed as expired: an entry written over it since (a fresh
/// value of the same key, created later, as a process that recomputed it writes it) is left by
/// `Listing::remove_listed`, and one still as listed is removed.
///
/// # Panics
/// When the backend fails, or removes the entry written over, or leaves the one as listed.
pub fn an_entry_written_over_since_it_was_listed_is_left<B>(backend: &B)
where
    B: Listing + PersistentBackend<u8>,
{
    let key = EntryKey {
        namespace: "app::listed",
        version: None,
        key: "k",
        args: None,
        type_name: "u8",
        code: None,
    };
    // Created at given times, as two processes a second apart would write them.
    let insert = |created_ms| backend.insert(&key, &Entry::new(1, created_ms)).unwrap();
    let listed = || {
        let mut all: Vec<Listed> = Vec::new();
        let found = &mut |listed| {
            all.push(listed);
            ControlFlow::Continue(())
        };
        backend.list(found).unwrap();
        all.retain(|listed| listed.meta().is_some());
        assert_eq!(all.len(), 1, "{all:?}");
        all.pop().unwrap()
    };
    insert(1_000);
    let old = listed();
    insert(2_000);
    assert!(!backend.remove_listed(&old).unwrap(), "written over: left");
    assert!(backend.read_at(&old.location).unwrap().is_some());
    assert!(
        backend.remove_listed(&listed()).unwrap(),
        "as listed: removed"
    );
    assert!(backend.read_at(&old.location).unwrap().is_none());
}
