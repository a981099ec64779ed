//! User code that cacher runs under one of its own locks — a key's `Eq` and `Clone` under a
//! memory shard's lock or a flight stripe's, a value's `Clone` — and what a call of the cache
//! from it may do.
//!
//! Such code may call the cache (the same one, or another). Waiting for a lock this thread
//! already holds would never end, and waiting for another thread's could end only when that
//! thread's own user code, waiting for a lock this one holds, gave up. So while user code runs
//! ([`UserCode`]), a lock of cacher's is only tried: not at all when this thread holds it, and
//! for at most [`OTHER_LOCK_WAIT`] when another does ([`Wait`], [`bounded`]). What the caller
//! does without it is its own (a memory lookup is a miss; a flight not joined computes alone).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How long user code run under one of cacher's locks waits for another such lock, which it does
/// not hold.
pub(crate) const OTHER_LOCK_WAIT: Duration = Duration::from_millis(100);

/// Locks this thread holds while user code runs under them, innermost last; deeper nesting than
/// this counts every lock as held.
const TRACKED: usize = 4;

/// What this thread runs under cacher's locks: one thread-local, so that entering and leaving
/// are one access each (a miss enters once, for its flight's key).
struct Running {
    /// How many pieces of user code run under one of cacher's locks, nested.
    depth: Cell<usize>,
    /// The addresses of their locks, the first [`TRACKED`].
    held: [Cell<usize>; TRACKED],
}

thread_local! {
    static RUNNING: Running = const {
        Running {
            depth: Cell::new(0),
            held: [const { Cell::new(0) }; TRACKED],
        }
    };
}

/// User code (a key's `Eq`, `Clone` or `Drop`, a value's `Clone`) running under one of cacher's
/// locks, while it lives.
pub(crate) struct UserCode(());

impl UserCode {
    /// User code about to run under the lock at `address` (the lock's own address): not
    /// generic, compiled once.
    pub(crate) fn enter(address: usize) -> Self {
        RUNNING.with(|running| {
            let depth = running.depth.get();
            if depth < TRACKED {
                running.held[depth].set(address);
            }
            running.depth.set(depth + 1);
        });
        Self(())
    }

    /// Whether this thread is running user code under one of cacher's locks (further up its
    /// stack).
    #[inline]
    pub(crate) fn running() -> bool {
        RUNNING.with(|running| running.depth.get() != 0)
    }

    /// Whether this thread holds the lock at `address` while running user code under it: not
    /// generic, compiled once.
    pub(crate) fn holds(address: usize) -> bool {
        RUNNING.with(|running| {
            let depth = running.depth.get();
            let held = &running.held[..depth.min(TRACKED)];
            depth > TRACKED || held.iter().any(|lock| lock.get() == address)
        })
    }
}

impl Drop for UserCode {
    #[inline]
    fn drop(&mut self) {
        RUNNING.with(|running| running.depth.set(running.depth.get() - 1));
    }
}

/// The guard `$attempt` gets, tried again while `$wait` (a [`Wait`]) allows (a poisoned lock
/// taken as it is); `None` if it does not come. A macro: a `Mutex`'s guard and an `RwLock`'s
/// read and write guards are three types.
macro_rules! bounded {
    ($wait:expr, $attempt:expr) => {{
        let mut wait = $wait;
        loop {
            match $attempt {
                Ok(guard) => break Some(guard),
                Err(::std::sync::TryLockError::Poisoned(poisoned)) => {
                    break Some(poisoned.into_inner());
                }
                Err(::std::sync::TryLockError::WouldBlock) if wait.again() => {}
                Err(::std::sync::TryLockError::WouldBlock) => break None,
            }
        }
    }};
}

pub(crate) use bounded;

/// The bounded wait of user code for one of cacher's locks: none for a lock this thread holds
/// (it would never come), up to [`OTHER_LOCK_WAIT`] for another. Not generic: compiled once.
pub(crate) struct Wait {
    /// When the wait ends; `None` until the first retry (no clock read if the lock is free).
    until: Option<Instant>,
    held: bool,
    tries: u32,
}

impl Wait {
    pub(crate) fn for_lock_of(held: bool) -> Self {
        Self {
            until: None,
            held,
            tries: 0,
        }
    }

    /// Waits a little before the next try; false once the bound has passed.
    pub(crate) fn again(&mut self) -> bool {
        if self.held {
            return false;
        }
        let until = *self
            .until
            .get_or_insert_with(|| Instant::now() + OTHER_LOCK_WAIT);
        if Instant::now() >= until {
            return false;
        }
        self.tries += 1;
        if self.tries < 16 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
        true
    }
}
