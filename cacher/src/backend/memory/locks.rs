//! How the shards are locked, and what user code run under a shard's lock may do.
//!
//! A key's `Eq` and a value's `Clone` run under their shard's lock (a table cannot be searched
//! without the key's `Eq`). If that code looks into the same tier, a lookup that waited for the
//! lock could wait forever: this thread may hold that very lock for writing (an insert's `Eq`),
//! or for reading while a writer queues behind it, so that another reader waits behind the
//! writer, which waits for this thread. So while such code runs ([`UserCode`]), a lookup only
//! tries the lock ([`Locked::read_shard`]) and answers as a miss if it is held. Inserts and
//! stores of what such code computed are skipped if the lock is held ([`Locked::write_shard_or_skip`]);
//! `insert`, `remove` and `clear` still wait for it: from a key's `Eq` or a value's `Clone` they
//! are not supported.

use std::cell::Cell;
use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use super::{Locked, Shard};

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
    /// User code about to run under `shard`'s lock.
    #[inline]
    pub(super) fn enter<K, V>(shard: &Locked<K, V>) -> Self {
        let depth = DEPTH.get();
        if depth < TRACKED {
            let mut held = HELD.get();
            held[depth] = std::ptr::from_ref(shard).addr();
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

    /// Whether this thread holds `shard`'s lock while running user code under it.
    #[inline]
    fn holds<K, V>(shard: &Locked<K, V>) -> bool {
        let depth = DEPTH.get();
        let address = std::ptr::from_ref(shard).addr();
        depth > TRACKED || HELD.get()[..depth].contains(&address)
    }
}

impl Drop for UserCode {
    #[inline]
    fn drop(&mut self) {
        DEPTH.set(DEPTH.get() - 1);
    }
}

impl<K, V> Locked<K, V> {
    /// The shard, for reading; `None` from user code run under a shard's lock when the lock is
    /// not free at once (see the module's doc). A poisoned lock is taken as it is: a panic in a
    /// key's `Eq` or a value's `Clone` leaves the table whole.
    #[inline]
    pub(super) fn read_shard(&self) -> Option<RwLockReadGuard<'_, Shard<K, V>>> {
        if !UserCode::running() || !UserCode::holds(self) {
            return Some(self.lock.read().unwrap_or_else(PoisonError::into_inner));
        }
        match self.lock.try_read() {
            Ok(shard) => Some(shard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The shard, for writing a value computed or read elsewhere, which may go unstored: as
    /// [`read_shard`](Self::read_shard), `None` from user code run under a shard's lock when the
    /// lock is not free at once.
    #[inline]
    pub(super) fn write_shard_or_skip(&self) -> Option<RwLockWriteGuard<'_, Shard<K, V>>> {
        if !UserCode::running() || !UserCode::holds(self) {
            return Some(self.write_shard());
        }
        match self.lock.try_write() {
            Ok(shard) => Some(shard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The shard, for writing (a poisoned lock taken as it is).
    #[inline]
    pub(super) fn write_shard(&self) -> RwLockWriteGuard<'_, Shard<K, V>> {
        self.lock.write().unwrap_or_else(PoisonError::into_inner)
    }
}
