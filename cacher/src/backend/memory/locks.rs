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
//! ([`OTHER_LOCK_WAIT`](crate::reentry::OTHER_LOCK_WAIT)): another thread may hold it while its
//! own user code waits for a shard this thread holds, and neither lock would ever come. After
//! the bound the lookup is a miss and the store is skipped, as above. The rule is
//! `reentry.rs`'s, which the flights' stripes follow too.

use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

use super::shard::Shard;
use super::tier::Locked;
use crate::reentry::{UserCode, Wait, bounded};

impl Locked {
    /// The shard, for reading; `None` from user code run under a shard's lock when the lock is
    /// not free at once (this shard's) or within
    /// [`OTHER_LOCK_WAIT`](crate::reentry::OTHER_LOCK_WAIT) (another's; see the module's doc). A poisoned lock is taken as it is: a panic in a key's `Eq` or a value's
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
