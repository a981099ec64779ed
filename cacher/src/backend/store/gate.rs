//! The store's writers' gate: a lock file, `.cacher-locks/store-writer`, that a process holds
//! (shared by its threads) while it holds LMDB's writer mutex. That mutex has no timeout: a
//! process frozen mid-write (`SIGSTOP`, a debugger) made every other process's write, and so its
//! misses, wait for as long as it stayed frozen. The gate's lock is tried for a bounded time
//! (std's `File::try_lock`); past it, the write fails as a dead server's does (the call's value
//! is still returned, the tier left alone for the rest of the call). A holder that dies releases
//! it at once (the OS drops the locks of a closed file).
//!
//! The first thread of a process to write takes the file's lock; the threads that come while it
//! is held share it (LMDB's mutex orders them); the last one out releases it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::lock::LOCK_DIR;

/// The gate's file in the lock folder.
const FILE: &str = "store-writer";

/// A store's gate (one per open store in a process).
pub(super) struct Gate {
    dir: PathBuf,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The gate's file, open once (its lock held while `holders > 0`).
    file: Option<File>,
    holders: usize,
    /// Whether a thread is trying the file's lock (the others wait for it).
    acquiring: bool,
}

/// The gate held by one writing thread, until dropped.
pub(super) struct Entered<'a>(&'a Gate);

impl Gate {
    pub(super) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters the gate, waiting at most `bound` for another process to leave it.
    ///
    /// # Errors
    /// `TimedOut` past the bound; the lock folder's or file's I/O failures.
    pub(super) fn enter(&self, bound: Duration) -> io::Result<Entered<'_>> {
        // `Duration::MAX` (no bound) is a century: `+` would overflow and panic.
        let deadline = crate::clock::deadline_after(bound);
        let mut state = self.state();
        loop {
            if state.holders > 0 {
                state.holders += 1;
                return Ok(Entered(self));
            }
            if !state.acquiring {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(bound));
            }
            state = (self.changed.wait_timeout(state, left))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.acquiring = true;
        let file = state.file.take();
        drop(state);
        let (file, locked) = self.lock(file, (deadline, bound));
        let mut state = self.state();
        state.acquiring = false;
        state.file = file;
        self.changed.notify_all();
        locked?;
        state.holders = 1;
        Ok(Entered(self))
    }

    /// Tries the file's lock (opened first if it is not) until `deadline`: the file, and whether
    /// it is locked.
    fn lock(
        &self,
        file: Option<File>,
        (deadline, bound): (Instant, Duration),
    ) -> (Option<File>, io::Result<()>) {
        let file = match file.map_or_else(|| self.open(), Ok) {
            Ok(file) => file,
            Err(e) => return (None, Err(e)),
        };
        let locked = match crate::private_dir::lock_until(&file, deadline) {
            Ok(true) => Ok(()),
            Ok(false) => Err(timed_out(bound)),
            Err(e) => Err(e),
        };
        (Some(file), locked)
    }

    /// The gate's file, opened (made if missing) beneath the store's directory.
    fn open(&self) -> io::Result<File> {
        crate::private_dir::open_file(&self.dir, LOCK_DIR, FILE)
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.holders -= 1;
        if state.holders == 0
            && let Some(file) = &state.file
        {
            let _ = file.unlock();
        }
    }
}

fn timed_out(bound: Duration) -> io::Error {
    let why =
        format!("another process held the store's writer lock past {bound:?} (frozen mid-write?)");
    io::Error::new(io::ErrorKind::TimedOut, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threads_of_a_process_share_the_gate_and_another_holder_bounds_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::new(dir.path());
        let first = gate.enter(Duration::from_secs(1)).unwrap();
        let second = gate.enter(Duration::ZERO).unwrap();
        // Another process's hold (a second open file of the same lock: the OS tells them
        // apart as it tells processes apart).
        drop((first, second));
        let other = Gate::new(dir.path());
        let held = other.enter(Duration::from_secs(1)).unwrap();
        let started = Instant::now();
        let refused = gate.enter(Duration::from_millis(50));
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(io::ErrorKind::TimedOut)
        );
        assert!(started.elapsed() < Duration::from_secs(5), "bounded");
        drop(held);
        assert!(gate.enter(Duration::from_secs(1)).is_ok(), "free again");
    }

    /// `Duration::MAX` is a wait as long as it takes. (Failed: `Instant::now() + bound`
    /// overflowed, and every write of a store so configured panicked.)
    #[test]
    fn a_bound_of_duration_max_is_no_bound() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::new(dir.path());
        let first = gate.enter(Duration::MAX).unwrap();
        drop(first);
        let other = Gate::new(dir.path());
        let held = other.enter(Duration::MAX).unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| gate.enter(Duration::MAX).map(drop));
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiter.is_finished(), "waits while another holds it");
            drop(held);
            assert!(waiter.join().unwrap().is_ok());
        });
    }
}
