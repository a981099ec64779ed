//! The claims of background refreshes (stale-while-revalidate): at most one per key in a
//! process, and [`REFRESHES_PER_CACHE`] per cache. The miss path claims one when it serves a
//! stale value (`Core`'s goal `Revalidate` runs it, `refresh.rs` carries it to a thread or a
//! task); the claim ends when its [`Ticket`] drops.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::generation::Generation;

/// Refreshes of one cache under way at once at most (running or waiting for a thread): past it,
/// a call in the window serves the stale value and claims none, so a function that hangs holds
/// this many of the process's refresh threads, and the next call after one ends claims again.
const REFRESHES_PER_CACHE: usize = 16;

/// The keys (by flight hash) of one cache with a refresh under way in this process.
#[derive(Default)]
pub(super) struct Refreshing(Arc<Mutex<HashSet<u64>>>);

impl Refreshing {
    /// Claims the refresh of `hash`, unless one is under way, or the cache's
    /// [`REFRESHES_PER_CACHE`] are.
    pub(super) fn claim(&self, hash: u64, generation: Generation) -> Option<Ticket> {
        let mut claimed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if claimed.len() >= REFRESHES_PER_CACHE {
            return None;
        }
        claimed.insert(hash).then(|| Ticket {
            hash,
            generation,
            claims: Arc::clone(&self.0),
        })
    }
}

/// One claimed refresh: the key's hash, its generation when the stale value was read. Dropping it
/// (the refresh done, failed, or skipped) lets the next call claim a refresh again.
pub(super) struct Ticket {
    pub(super) hash: u64,
    pub(super) generation: Generation,
    claims: Arc<Mutex<HashSet<u64>>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut claimed = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        claimed.remove(&self.hash);
    }
}
