//! `max_entries` for the file backend: an in-memory LRU index of this cache's entries, built by
//! one listing at the first write, so that writes never list the directory again (Django's file
//! cache lists it on every set and takes 605 ms at 10,000 files).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

pub(crate) struct DiskIndex {
    max_entries: usize,
    state: Mutex<Option<State>>,
}

/// Entries by path relative to the cache directory, and by recency.
#[derive(Default)]
struct State {
    tick: u64,
    by_path: HashMap<String, u64>,
    by_tick: BTreeMap<u64, String>,
}

impl State {
    fn bump(&mut self, rel: &str) {
        self.tick += 1;
        match self.by_path.get_mut(rel) {
            Some(tick) => {
                self.by_tick.remove(tick);
                *tick = self.tick;
            }
            None => {
                self.by_path.insert(rel.to_owned(), self.tick);
            }
        }
        self.by_tick.insert(self.tick, rel.to_owned());
    }

    fn forget(&mut self, rel: &str) {
        if let Some(tick) = self.by_path.remove(rel) {
            self.by_tick.remove(&tick);
        }
    }
}

impl DiskIndex {
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            state: Mutex::new(None),
        }
    }

    /// The most entries kept.
    pub(crate) fn max_entries(&self) -> usize {
        self.max_entries
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut Option<State>) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A hit: `rel` becomes the most recently used (once the index exists).
    pub(crate) fn touch(&self, rel: &str) {
        self.with_state(|state| {
            if let Some(state) = state {
                state.bump(rel);
            }
        });
    }

    pub(crate) fn forget(&self, rel: &str) {
        self.with_state(|state| {
            if let Some(state) = state {
                state.forget(rel);
            }
        });
    }

    /// A write of `rel`: at the first one, `list` gives this cache's entries, oldest first;
    /// records `rel` as the most recent, and returns the least recently used entries beyond the
    /// limit, which the caller deletes (outside the lock).
    pub(crate) fn record(
        &self,
        rel: &str,
        list: impl FnOnce() -> Vec<(SystemTime, String)>,
    ) -> Vec<String> {
        self.with_state(|state| {
            let state = state.get_or_insert_with(|| {
                let mut state = State::default();
                for (_, rel) in list() {
                    state.bump(&rel);
                }
                state
            });
            state.bump(rel);
            let mut evicted = Vec::new();
            while state.by_path.len() > self.max_entries {
                let Some((_, oldest)) = state.by_tick.pop_first() else {
                    break;
                };
                state.by_path.remove(&oldest);
                evicted.push(oldest);
            }
            evicted
        })
    }
}
