//! What the async driver asks of a miss: it performs the steps itself (its I/O awaits), and
//! hands the typed answers back here (a tier's read and write, the generations read, the
//! function's outcome); the untyped ones go to the core directly (a wait's, the lock's, a forced
//! refresh's claim, `refresh_claim` and `claim_settled` below).

use std::hash::Hash;
use std::time::Duration;

#[cfg(doc)]
use super::Step;
use super::store::Planned;
use super::tier::{park, tier_of};
use super::{Core, Failed, Goal, Miss, log};
use crate::backend::PersistentBackend;
use crate::cache::generation::Generations;
use crate::entry::{Entry, EntryKey};
use crate::error::Result;
use crate::future::OwnedKey;
use crate::key::KeyRef;

/// A store's writes ([`Miss::writes`]), owned, to make on a blocking thread.
pub(in crate::cache) struct Writes<V> {
    /// Which tiers, how, and the store they are of.
    pub(in crate::cache) plan: Planned,
    pub(in crate::cache) key: OwnedKey,
    pub(in crate::cache) entry: Entry<V>,
}

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Persistent tier `tier` and the identity of the call's entry, for the async driver's
    /// reads, generations and writes.
    pub(in crate::cache) fn tier(
        &self,
        tier: usize,
    ) -> (&'a dyn PersistentBackend<V>, EntryKey<'a>) {
        tier_of(self.shell.inner, self.shell.call, self.core.key, tier)
    }

    /// A persistent tier's answer to [`Step::Read`].
    #[inline]
    pub(in crate::cache) fn read(&mut self, answer: Result<Option<Entry<V>>>) {
        let answer = park(&mut self.shell.entry, answer);
        self.core.read(answer, &mut self.shell);
    }

    /// The writes of the store under way, at its first [`Step::Write`]: the entry (back with
    /// [`put_entry`](Self::put_entry)), the tiers the core will ask for, and the store, handed
    /// over (the core answers the steps with [`wrote`](Self::wrote) in that order).
    pub(in crate::cache) fn writes(&mut self) -> Writes<V> {
        let (Some(entry), Some(plan)) = (self.shell.entry.take(), self.core.writes()) else {
            log::out_of_step("writes are planned with their entry and store")
        };
        let (_, key) = self.tier(plan.tiers[0].0);
        Writes {
            plan,
            key: OwnedKey::of(&key),
            entry,
        }
    }

    /// The entry back from its writes.
    pub(in crate::cache) fn put_entry(&mut self, entry: Entry<V>) {
        self.shell.entry = Some(entry);
    }

    /// The function failed, in the async driver (which keeps its error): as
    /// [`failed`](Self::failed), but a look for the fallback in the persistent tiers is left to
    /// the driver's steps — `None` until [`end`](Self::end) — and the call's result is the
    /// stale value or `Err` (the function's error).
    pub(in crate::cache) fn failed_async(&mut self) -> Option<Result<V, ()>> {
        match self.core.failed(&mut self.shell) {
            Failed::Stale => Some(Ok(self.value())),
            Failed::Error => Some(Err(())),
            Failed::Recheck => None,
        }
    }

    /// The call's end, at [`Step::Done`]: its value, or `Err` when the function `failed` and
    /// the tiers looked at for a fallback held none.
    pub(in crate::cache) fn end(&mut self, failed: bool) -> Result<V, ()> {
        match (self.shell.value.take(), failed) {
            (Some(value), _) => Ok(value),
            (None, true) => Err(()),
            (None, false) => log::out_of_step("the value is ready when the core says so"),
        }
    }

    /// How writing to a persistent tier went.
    pub(in crate::cache) fn wrote(&mut self, result: Result<bool>) {
        self.core.wrote(result, &mut self.shell);
    }

    /// The tiers down for the rest of the call (bit `i` for tier `i`), whose generations are
    /// not read for [`Step::Generations`].
    pub(in crate::cache) fn down(&self) -> u64 {
        self.core.down
    }

    /// How many tiers' generations were read (those before it): where a [`Step::Generations`]
    /// reads from.
    pub(in crate::cache) fn seen_len(&self) -> usize {
        self.core.seen_len()
    }

    /// The tiers' generations, read for [`Step::Generations`].
    pub(in crate::cache) fn seen(&mut self, read: super::values::Read) {
        self.core.seen(read, &mut self.shell);
    }
}

impl<'a> Core<'a> {
    /// In the async driver, before the function's value is handed in: a forced refresh's
    /// store, alone in its stripe, first waits for the stripe's removals and stores under way,
    /// without blocking the executor (the core's own waits then find none, but for one begun
    /// in between). What to wait with (`Generations::claimable_async`), for a refresh; how it
    /// went goes to [`claim_settled`](Self::claim_settled). The wait is the driver's, so that
    /// its state machine is one for every cache type.
    pub(in crate::cache) fn refresh_claim(&self) -> Option<(&'a Generations, u64, Duration)> {
        // Not `bool::then`: its closure is one function more (compile time).
        if self.goal != Goal::Refresh {
            return None;
        }
        Some((self.generations, self.hash, self.shared.store_wait()))
    }

    /// Whether [`refresh_claim`](Self::refresh_claim)'s wait settled the stripe.
    pub(in crate::cache) fn claim_settled(&mut self, settled: bool) {
        self.claim_waited = !settled;
    }
}
