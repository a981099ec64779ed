//! `max_entries` and `max_size` for the file backend: an in-memory LRU index of this cache's
//! entries and their sizes, built by one listing at the first write, so that writes never list
//! the directory again (Django's file cache lists it on every set and takes 605 ms at 10,000
//! files).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// Clones share one state (a blocking task's copy of the backend, and the backend).
#[derive(Clone)]
pub(crate) struct DiskIndex {
    max_entries: Option<usize>,
    max_size: Option<u64>,
    state: Arc<Mutex<Option<State>>>,
    /// Entries evicted for the bounds since the index was made.
    evicted: Arc<AtomicU64>,
}

/// An entry as the index holds it: its recency, its size, and when the cache stops accepting
/// it (`None`: never, or not known — an entry found by the first listing).
struct Held {
    tick: u64,
    size: u64,
    expires_ms: Option<u64>,
}

/// A write of an entry: its size, and when the cache stops accepting it
/// ([`Entry::expires_ms`](crate::entry::Entry::expires_ms)).
#[derive(Clone, Copy)]
pub(crate) struct Written {
    pub(crate) size: u64,
    pub(crate) expires_ms: Option<u64>,
}

/// Entries by path relative to the cache directory (with their recency, size and end), and by
/// recency; the sizes' sum.
#[derive(Default)]
struct State {
    tick: u64,
    by_path: HashMap<String, Held>,
    by_tick: BTreeMap<u64, String>,
    /// In u128: the sizes `fstat` gives (sparse files) may add up past u64::MAX.
    bytes: u128,
    /// The latest time of a write seen (the cache's clock): a fill's entry is older than now.
    now_ms: u64,
}

impl State {
    /// `rel` becomes the most recent; its size and end become those `written`, when given.
    fn bump(&mut self, rel: &str, written: Option<Written>) {
        self.tick += 1;
        match self.by_path.get_mut(rel) {
            Some(held) => {
                self.by_tick.remove(&held.tick);
                held.tick = self.tick;
                if let Some(written) = written {
                    self.bytes = self.bytes - u128::from(held.size) + u128::from(written.size);
                    held.size = written.size;
                    held.expires_ms = written.expires_ms;
                }
            }
            None => {
                let (size, expires_ms) = written.map_or((0, None), |w| (w.size, w.expires_ms));
                self.bytes += u128::from(size);
                let held = Held {
                    tick: self.tick,
                    size,
                    expires_ms,
                };
                self.by_path.insert(rel.to_owned(), held);
            }
        }
        self.by_tick.insert(self.tick, rel.to_owned());
    }

    fn forget(&mut self, rel: &str) {
        if let Some(held) = self.by_path.remove(rel) {
            self.by_tick.remove(&held.tick);
            self.bytes -= u128::from(held.size);
        }
    }
}

impl DiskIndex {
    pub(crate) fn new() -> Self {
        Self {
            max_entries: None,
            max_size: None,
            state: Arc::new(Mutex::new(None)),
            evicted: Arc::default(),
        }
    }

    pub(crate) fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = Some(max_entries);
        self
    }

    pub(crate) fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The most entries kept.
    pub(crate) fn max_entries(&self) -> Option<usize> {
        self.max_entries
    }

    /// The most bytes kept.
    pub(crate) fn max_size(&self) -> Option<u64> {
        self.max_size
    }

    /// Entries evicted for the bounds since the index was made.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut Option<State>) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A hit: `rel` becomes the most recently used (once the index exists).
    pub(crate) fn touch(&self, rel: &str) {
        self.with_state(|state| {
            if let Some(state) = state {
                state.bump(rel, None);
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

    /// A read found no file at `rel`: another process removed it (`cacher clear`, `prune`, its
    /// `remove`), so it stops counting against the bounds — if `gone` still says so under the
    /// index's lock, which a write of `rel` recorded meanwhile took after its rename.
    pub(crate) fn forget_gone(&self, rel: &str, gone: impl FnOnce() -> bool) {
        self.with_state(|state| {
            if let Some(state) = state
                && state.by_path.contains_key(rel)
                && gone()
            {
                state.forget(rel);
            }
        });
    }

    /// `n` entries that an eviction removed (those already gone are not counted).
    pub(crate) fn count_evicted(&self, n: usize) {
        self.evicted.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A write to `rel` at `now_ms` (the cache's clock): at the first one, `list` gives this
    /// cache's entries, oldest first, with their sizes; records `rel` as the most recent, and
    /// returns the least recently used entries beyond the limits, which the caller deletes
    /// (outside the lock) and counts ([`count_evicted`](Self::count_evicted)) — each with
    /// whether it had expired by `now_ms`, which is no eviction (the bound cost nothing of use).
    pub(crate) fn record(
        &self,
        rel: &str,
        (written, now_ms): (Written, u64),
        list: impl FnOnce() -> Vec<(SystemTime, String, u64)>,
    ) -> Vec<(String, bool)> {
        self.with_state(|state| {
            let state = state.get_or_insert_with(|| {
                let mut state = State::default();
                for (_, rel, size) in list() {
                    let found = Written {
                        size,
                        expires_ms: None,
                    };
                    state.bump(&rel, Some(found));
                }
                state
            });
            state.bump(rel, Some(written));
            state.now_ms = state.now_ms.max(now_ms);
            let now_ms = state.now_ms;
            let mut evicted = Vec::new();
            let over = |state: &State| {
                self.max_entries
                    .is_some_and(|max| state.by_path.len() > max)
                    || self
                        .max_size
                        .is_some_and(|max| state.bytes > u128::from(max))
            };
            // The entry just written stays, even alone over `max_size`.
            while over(state) && state.by_path.len() > 1 {
                let Some((_, oldest)) = state.by_tick.pop_first() else {
                    break;
                };
                let expired = match state.by_path.remove(&oldest) {
                    Some(held) => {
                        state.bytes -= u128::from(held.size);
                        // Expired at its end, as a read judges it.
                        held.expires_ms.is_some_and(|end| end <= now_ms)
                    }
                    None => false,
                };
                evicted.push((oldest, expired));
            }
            evicted
        })
    }
}
