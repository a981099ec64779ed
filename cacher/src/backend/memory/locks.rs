//! How the shards are locked, and what user code run under a shard's lock may do.
//!
//! A key's `Eq` and a value's `Clone` run under their shard's lock (a table cannot be searched
//! without the key's `Eq`). If that code looks into the same tier, a lookup that waited for the
//! lock could wait forever: this thread may hold that very lock for writing (an insert's `Eq`),
//! or for reading while a writer queues behind it, so that another reader waits behind the
//! writer, which waits for this thread. So while such code runs ([`UserCode`]), a lookup only
//! tries the lock ([`Locked::read_shard`]) and answers as a miss if it is held. Inserts, stores
//! of what such code computed and removals (`remove`, `clear`) are skipped if the lock is held
//! ([`Locked::write_shard_or_skip`]): an `insert`, `remove` or `clear` from a key's `Eq` or a
//! value's `Clone` then returns an error saying the memory tier was left as it was.
//!
//! The lock of another shard (or another cache's) is waited for, but not without a bound
//! ([`OTHER_SHARD_WAIT`]): another thread may hold it while its own user code waits for a shard
//! this thread holds, and neither lock would ever come. After the bound the lookup is a miss and
//! the store is skipped, as above.

use std::cell::Cell;
use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::{Duration, Instant};

use super::shard::Shard;
use super::tier::Locked;

/// How long user code run under a shard's lock waits for the lock of a shard it does not hold.
const OTHER_SHARD_WAIT: Duration = Duration::from_millis(100);

/// Shards whose lock this thread holds while user code runs under it, innermost last; deeper
/// nesting than this counts every shard as held.
const TRACKED: usize = 4;

thread_local! {
    /// How many pieces of user code this thread runs under a shard's lock, nested.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The addresses of their shards' locks, the first [`TRACKED`].
    static HELD: Cell<[usize; TRACKED]> = const { Cell::new([0; TRACKED]) };
}

/// User code (a key's `Eq`, a value's `Clone`) running under a shard's lock, while it lives.
pub(super) struct UserCode(());

impl UserCode {
    /// User code about to run under the lock at `address` ([`Locked::address`]): not generic,
    /// compiled once.
    pub(super) fn enter(address: usize) -> Self {
        let depth = DEPTH.get();
        if depth < TRACKED {
            let mut held = HELD.get();
            held[depth] = address;
            HELD.set(held);
        }
        DEPTH.set(depth + 1);
        Self(())
    }

    /// Whether this thread is running user code under some shard's lock (further up its stack).
    #[inline]
    pub(crate) fn running() -> bool {
        DEPTH.get() != 0
    }

    /// Whether this thread holds the lock at `address` while running user code under it: not
    /// generic, compiled once.
    fn holds(address: usize) -> bool {
        let depth = DEPTH.get();
        depth > TRACKED || HELD.get()[..depth].contains(&address)
    }
}

impl Drop for UserCode {
    #[inline]
    fn drop(&mut self) {
        DEPTH.set(DEPTH.get() - 1);
    }
}

/// The guard `$attempt` gets, tried again while `$wait` (a [`Wait`]) allows (a poisoned lock
/// taken as it is); `None` if it does not come. A macro: the read and the write guard are two
/// types.
macro_rules! bounded {
    ($wait:expr, $attempt:expr) => {{
        let mut wait = $wait;
        loop {
            match $attempt {
                Ok(guard) => break Some(guard),
                Err(TryLockError::Poisoned(poisoned)) => break Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) if wait.again() => {}
                Err(TryLockError::WouldBlock) => break None,
            }
        }
    }};
}

impl Locked {
    /// The shard, for reading; `None` from user code run under a shard's lock when the lock is
    /// not free at once (this shard's) or within [`OTHER_SHARD_WAIT`] (another's; see the
    /// module's doc). A poisoned lock is taken as it is: a panic in a key's `Eq` or a value's
    /// `Clone` leaves the table whole.
    ///
    /// Inline whole in optimised builds, its bounded wait out of line: left to LLVM's inliner,
    /// the whole lock was inlined or not by where codegen units happened to split the crate
    /// (a miss's two lock calls came and went with unrelated changes, ±40 instructions).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn read_shard(&self) -> Option<RwLockReadGuard<'_, Shard>> {
        if !UserCode::running() {
            return Some(self.lock.read().unwrap_or_else(PoisonError::into_inner));
        }
        self.read_shard_bounded()
    }

    /// [`read_shard`](Self::read_shard) from user code run under a shard's lock.
    #[cold]
    #[inline(never)]
    fn read_shard_bounded(&self) -> Option<RwLockReadGuard<'_, Shard>> {
        bounded!(Wait::for_lock_of(self.held_here()), self.lock.try_read())
    }

    /// The shard, for writing a value computed or read elsewhere, which may go unstored, or for a
    /// removal, which may leave the shard as it was (and say so): as
    /// [`read_shard`](Self::read_shard), `None` from user code run under a shard's lock when the
    /// lock does not come.
    ///
    /// Inline in optimised builds, as `read_shard`.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn write_shard_or_skip(&self) -> Option<RwLockWriteGuard<'_, Shard>> {
        if !UserCode::running() {
            return Some(self.write_shard());
        }
        self.write_shard_bounded()
    }

    /// [`write_shard_or_skip`](Self::write_shard_or_skip) from user code run under a shard's
    /// lock.
    #[cold]
    #[inline(never)]
    fn write_shard_bounded(&self) -> Option<RwLockWriteGuard<'_, Shard>> {
        bounded!(Wait::for_lock_of(self.held_here()), self.lock.try_write())
    }

    /// Whether this thread runs user code under this shard's lock.
    fn held_here(&self) -> bool {
        UserCode::holds(self.address())
    }

    /// The address by which [`UserCode`] knows this shard's lock.
    #[inline]
    pub(super) fn address(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// The shard, for writing (a poisoned lock taken as it is).
    #[inline]
    pub(super) fn write_shard(&self) -> RwLockWriteGuard<'_, Shard> {
        self.lock.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The bounded wait of user code for a shard's lock: none for a shard this thread holds (it
/// would never come), up to [`OTHER_SHARD_WAIT`] for another. Not generic: compiled once.
struct Wait {
    /// When the wait ends; `None` until the first retry (no clock read if the lock is free).
    until: Option<Instant>,
    held: bool,
    tries: u32,
}

impl Wait {
    fn for_lock_of(held: bool) -> Self {
        Self {
            until: None,
            held,
            tries: 0,
        }
    }

    /// Waits a little before the next try; false once the bound has passed.
    fn again(&mut self) -> bool {
        if self.held {
            return false;
        }
        let until = *self
            .until
            .get_or_insert_with(|| Instant::now() + OTHER_SHARD_WAIT);
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
