//! The store's writers' gate: a lock file, `.cacher-locks/store-writer`, that a process holds
//! (shared by its threads) while it holds LMDB's writer mutex. That mutex has no timeout: a
//! process frozen mid-write (`SIGSTOP`, a debugger) made every other process's write, and so its
//! misses, wait for as long as it stayed frozen. The gate's lock is tried for a bounded time
//! (std's `File::try_lock`); past it, the write fails as a dead server's does (the call's value
//! is still returned, the tier left alone for the rest of the call). A holder that dies releases
//! it at once (the OS drops the locks of a closed file).
//!
//! The first thread of a process to write takes the file's lock; the threads that come while it
//! is held share it (LMDB's mutex orders them); the last one out releases it. A process waiting
//! for the gate holds a second lock file, `store-writer-next`, meanwhile; a process that writes
//! looks at it every [`SLICE`] (as its threads join a hold, or take the gate again), and when
//! another process waits, lets no more threads in: the last one out releases the gate, and the
//! next to take it waits [`HANDOFF`] first. Without that, a process writing from several threads
//! at once kept the gate without a break, and every other process's write failed at its bound
//! (and one writing back to back from two threads kept them out for up to 0.1 s).
//! A waiting process frozen (holding that file's lock) costs a process writing without a break
//! a pause of [`HANDOFF`] every [`SLICE`], not its writes.

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::lock::LOCK_DIR;

/// The gate's file in the lock folder.
const FILE: &str = "store-writer";

/// The file whose lock a process waiting for the gate holds.
const NEXT: &str = "store-writer-next";

/// How long a process's threads keep the gate, one joining another's hold, before they look
/// whether another process waits for it (and then every `SLICE`).
const SLICE: Duration = Duration::from_millis(10);

/// How long a process that let another in waits before it tries the gate again: longer than
/// the other's pause between two tries ([`MAX_PAUSE`]).
const HANDOFF: Duration = Duration::from_millis(5);

/// The longest pause between two tries of the gate's lock.
const MAX_PAUSE: Duration = Duration::from_millis(2);

/// A store's gate (one per open store in a process).
pub(super) struct Gate {
    dir: PathBuf,
    state: Mutex<State>,
    changed: Condvar,
}

/// The gate's files, open once.
struct Files {
    /// Locked while `holders > 0`.
    gate: File,
    /// Locked while a thread of this process waits for another process to leave the gate
    /// (where it could be opened).
    next: Option<File>,
}

#[derive(Default)]
struct State {
    files: Option<Files>,
    holders: usize,
    /// Whether a thread is trying the file's lock (the others wait for it).
    acquiring: bool,
    /// When the process last looked whether another process waits for the gate.
    looked: Option<Instant>,
    /// Another process waits: no thread joins the hold, the last one out releases the gate.
    yielding: bool,
    /// When the gate was released for another process, which the next to take it lets in.
    yielded: Option<Instant>,
    /// Threads waiting on `changed`: without any, a change notifies nobody (std's `notify_all`
    /// is a system call even then, one per write).
    waiting: usize,
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

    /// Wakes the threads waiting for a change of `state` (held), if any.
    fn notify(&self, state: &State) {
        if state.waiting > 0 {
            self.changed.notify_all();
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
            if state.holders > 0 && !state.yielding {
                if !another_waits(&mut state) {
                    state.holders += 1;
                    return Ok(Entered(self));
                }
                state.yielding = true;
            }
            if state.holders == 0 && !state.acquiring {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(bound));
            }
            state.waiting += 1;
            state = (self.changed.wait_timeout(state, left))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.waiting -= 1;
        }
        if state.yielded.is_none() && another_waits(&mut state) {
            state.yielded = Some(Instant::now());
        }
        state.acquiring = true;
        let files = state.files.take();
        let yielded = state.yielded.take();
        drop(state);
        if let Some(at) = yielded {
            let left = deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(HANDOFF.saturating_sub(at.elapsed()).min(left));
        }
        let (files, locked) = self.lock(files, (deadline, bound));
        let mut state = self.state();
        state.acquiring = false;
        state.files = files;
        self.notify(&state);
        locked?;
        state.holders = 1;
        Ok(Entered(self))
    }

    /// Takes the gate's lock (its files opened first if they are not) until `deadline`: the
    /// files, and whether it is locked.
    fn lock(
        &self,
        files: Option<Files>,
        (deadline, bound): (Instant, Duration),
    ) -> (Option<Files>, io::Result<()>) {
        let files = match files.map_or_else(|| self.open(), Ok) {
            Ok(files) => files,
            Err(e) => return (None, Err(e)),
        };
        let locked = match take(&files, deadline) {
            Ok(true) => Ok(()),
            Ok(false) => Err(timed_out(bound)),
            Err(e) => Err(e),
        };
        (Some(files), locked)
    }

    /// The gate's files, opened (made if missing) beneath the store's directory. Without the
    /// waiting file, the gate is taken as it was before there was one.
    fn open(&self) -> io::Result<Files> {
        Ok(Files {
            gate: crate::private_dir::open_file(&self.dir, LOCK_DIR, FILE)?,
            next: crate::private_dir::open_file(&self.dir, LOCK_DIR, NEXT).ok(),
        })
    }
}

/// Whether another process waits for the gate: looked at every [`SLICE`] (a clock read
/// otherwise), from the process's first write on.
fn another_waits(state: &mut State) -> bool {
    let now = Instant::now();
    let Some(at) = state.looked else {
        state.looked = Some(now);
        return false;
    };
    if now.duration_since(at) < SLICE {
        return false;
    }
    state.looked = Some(now);
    let Some(next) = state.files.as_ref().and_then(|files| files.next.as_ref()) else {
        return false;
    };
    match next.try_lock_shared() {
        Ok(()) => {
            let _ = next.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// Takes the gate's lock, trying again after a pause that doubles up to [`MAX_PAUSE`] until
/// `deadline`: whether it was taken. Meanwhile the waiting file's lock is held, when no other
/// process holds it, so that the process holding the gate lets this one in.
fn take(files: &Files, deadline: Instant) -> io::Result<bool> {
    let mut pause = Duration::from_micros(50);
    let mut next_held = false;
    let taken = loop {
        match files.gate.try_lock() {
            Ok(()) => break Ok(true),
            Err(TryLockError::Error(e)) => break Err(e),
            Err(TryLockError::WouldBlock) => {}
        }
        if let (false, Some(next)) = (next_held, &files.next) {
            next_held = next.try_lock().is_ok();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Ok(false);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    };
    if let (true, Some(next)) = (next_held, &files.next) {
        let _ = next.unlock();
    }
    taken
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.holders -= 1;
        if state.holders > 0 {
            return;
        }
        if let Some(files) = &state.files {
            let _ = files.gate.unlock();
        }
        if std::mem::take(&mut state.yielding) {
            state.yielded = Some(Instant::now());
            self.0.notify(&state);
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
