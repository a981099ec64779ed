//! `max_entries` for the file backend: an in-memory LRU index of the directory, built by one
//! listing at the first write, so that writes never list the directory again (Django's file cache
//! lists it on every set and takes 605 ms at 10,000 files).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::path::TEMP_PREFIX;

pub(crate) struct DiskIndex {
    max_entries: usize,
    state: Mutex<Option<State>>,
}

#[derive(Default)]
struct State {
    tick: u64,
    by_path: HashMap<PathBuf, u64>,
    by_tick: BTreeMap<u64, PathBuf>,
}

impl State {
    fn bump(&mut self, path: &Path) {
        self.tick += 1;
        if let Some(old) = self.by_path.insert(path.to_path_buf(), self.tick) {
            self.by_tick.remove(&old);
        }
        self.by_tick.insert(self.tick, path.to_path_buf());
    }

    fn forget(&mut self, path: &Path) {
        if let Some(tick) = self.by_path.remove(path) {
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

    /// The most files kept.
    pub(crate) fn max_entries(&self) -> usize {
        self.max_entries
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut Option<State>) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A hit: `path` becomes the most recently used (once the index exists).
    pub(crate) fn touch(&self, path: &Path) {
        self.with_state(|state| {
            if let Some(state) = state {
                state.bump(path);
            }
        });
    }

    pub(crate) fn forget(&self, path: &Path) {
        self.with_state(|state| {
            if let Some(state) = state {
                state.forget(path);
            }
        });
    }

    /// A write: records `path`, then deletes the least recently used files beyond the limit.
    pub(crate) fn record(&self, dir: &Path, path: &Path) {
        let evicted = self.with_state(|state| {
            let state = state.get_or_insert_with(|| scan(dir));
            state.bump(path);
            let mut evicted = Vec::new();
            while state.by_path.len() > self.max_entries {
                let Some((_, oldest)) = state.by_tick.pop_first() else {
                    break;
                };
                state.by_path.remove(&oldest);
                evicted.push(oldest);
            }
            evicted
        });
        // Delete outside the lock; a file already gone is fine.
        for path in evicted {
            let _ = fs::remove_file(path);
        }
    }
}

/// Lists the entry files under `dir`, oldest modification first.
fn scan(dir: &Path) -> State {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for item in entries.flatten() {
            let Ok(file_type) = item.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                pending.push(item.path());
            } else if file_type.is_file()
                && !item.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            {
                let modified = item
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                files.push((modified, item.path()));
            }
        }
    }
    files.sort();
    let mut state = State::default();
    for (_, path) in files {
        state.bump(&path);
    }
    state
}
