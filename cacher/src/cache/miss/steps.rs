//! What the async driver asks of a miss: it performs the steps itself (its I/O awaits), and
//! hands each answer back here, to the core.

use std::hash::Hash;

use super::shell::{park, tier_of};
use super::{Miss, Step, log};
use crate::backend::PersistentBackend;
use crate::cache::flight::{Flight, Outcome};
use crate::cache::generation::Handed;
use crate::entry::{Entry, EntryKey};
use crate::error::Result;
use crate::future::OwnedKey;
use crate::key::KeyRef;

/// The writes a dropped call left ([`Miss::unwritten`]), owned, to make after it.
pub(in crate::cache) struct Unwritten<V> {
    /// The persistent tiers to write, in order.
    pub(in crate::cache) tiers: Vec<usize>,
    pub(in crate::cache) key: OwnedKey,
    pub(in crate::cache) entry: Entry<V>,
    /// The call's store, still counted as under way: end it with
    /// [`Generations::end`](crate::cache::generation::Generations::end) once written.
    pub(in crate::cache) store: Handed,
}

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// What to do next.
    #[inline]
    pub(in crate::cache) fn next(&mut self) -> Step<'a> {
        self.core.next(&mut self.shell)
    }

    /// Persistent tier `tier` and the identity of the call's entry, for [`Step::Read`] and
    /// [`Step::Write`].
    pub(in crate::cache) fn tier(
        &self,
        tier: usize,
    ) -> (&'a dyn PersistentBackend<V>, EntryKey<'a>) {
        tier_of(self.shell.inner, self.shell.call, self.core.key, tier)
    }

    /// The entry to write, for [`Step::Write`].
    pub(in crate::cache) fn entry(&self) -> &Entry<V> {
        match &self.shell.entry {
            Some(entry) => entry,
            None => log::out_of_step("writes are planned with their entry"),
        }
    }

    /// The flight to wait for, for [`Step::Wait`].
    pub(in crate::cache) fn flight(&self) -> &Flight<V> {
        match &self.shell.flight {
            Some(flight) => flight,
            None => log::out_of_step("waits are planned with their flight"),
        }
    }

    /// A persistent tier's answer to [`Step::Read`].
    #[inline]
    pub(in crate::cache) fn read(&mut self, answer: Result<Option<Entry<V>>>) {
        let answer = park(&mut self.shell.entry, answer);
        self.core.read(answer, &mut self.shell);
    }

    /// The writes this call had yet to make when its future was dropped among them, to make
    /// after it (`drive.rs`): else the tiers after the one under way would keep an older value
    /// behind the one the memory tier (and the tiers before) already serve. `None` when the call
    /// was not writing.
    pub(in crate::cache) fn unwritten(&mut self) -> Option<Unwritten<V>> {
        let entry = self.shell.entry.take()?;
        let (tiers, store) = self.core.unwritten()?;
        let (_, key) = self.tier(tiers[0]);
        Some(Unwritten {
            key: OwnedKey::of(&key),
            tiers,
            entry,
            store,
        })
    }

    /// How writing to a persistent tier went.
    pub(in crate::cache) fn wrote(&mut self, result: Result<()>) {
        self.core.wrote(result, &mut self.shell);
    }

    /// How the wait for another caller ended.
    pub(in crate::cache) fn waited(&mut self, outcome: Outcome<V>) {
        let waited = self.shell.waited(outcome);
        self.core.waited(waited, &mut self.shell);
    }

    /// How taking the cross-process lock went.
    pub(in crate::cache) fn locked(
        &mut self,
        locked: Result<Option<crate::lock::FlightGuard<'a>>>,
    ) {
        self.core.locked(locked, &mut self.shell);
    }
}
