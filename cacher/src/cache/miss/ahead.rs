//! A blocking lookup of a cache without a memory tier: its first persistent tier read before the
//! miss machine is built, and a fresh entry there served at once.
//!
//! Such a cache's every hit is a miss of the memory tier it does not have, and the machine's
//! first step is that very read: building the machine (its core, its shell, the step loop and
//! its answers) for a hit cost a store hit about a sixth of its instructions
//! (docs/BENCHMARKS.md, the store's eighth pass). The decision it takes here is the core's first
//! one, made the same way (the tier's entry, fresh by the ttl policy, is a hit of that tier);
//! any other answer (none, past its ttl, a failure) is handed to the machine as its first read,
//! which decides it as it decides every read — nothing is read twice. The async driver reads
//! every tier off the executor's threads, so it does not look ahead: it builds the machine
//! first, as before.

use std::hash::Hash;

use super::shell::Miss;
use super::tier::tier_of;
use super::{Found, Goal, Phase, log};
use crate::backend::PersistentBackend;
use crate::cache::call::Call;
use crate::cache::generation::Generation;
use crate::cache::inner::{Inner, Shared};
use crate::cache::tier_io;
use crate::entry::{Entry, EntryKey, Stamp};
use crate::error::Result;
use crate::key::KeyRef;
use crate::policy::Freshness;

/// What [`Miss::read_ahead`] found: a hit, or what the miss ([`Miss::after`]) starts from.
pub(in crate::cache) enum Ahead<V> {
    /// A fresh entry of the first persistent tier (counted as its hit).
    Hit(V),
    /// The generation noted before the key was made, and the first tier's answer, if the key
    /// could be made (else the miss reports why, and reads nothing).
    Read(Generation, Option<Result<Option<Entry<V>>>>),
}

/// Whether a blocking call reads the first persistent tier before its miss is built
/// ([`Miss::read_ahead`]): a call that looks up or computes, of a cache with persistent tiers
/// and no memory tier (`no_memory`). Not the memory lookup's `Absent`: a memory tier answers that
/// for an expired entry too, and its call must fill the memory tier from a persistent hit
/// (`Core::fill`), which a hit read ahead does not. Not generic.
#[inline]
pub(in crate::cache) fn reads_ahead(tiers: usize, goal: Goal, no_memory: bool) -> bool {
    no_memory && matches!(goal, Goal::Compute | Goal::Get) && tiers > 0
}

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Reads the first persistent tier, in the order [`new`](Self::new) keeps: the generation
    /// noted, then the persistent key made (user code), then the read. For a call that
    /// [`reads_ahead`].
    #[inline(never)]
    pub(in crate::cache) fn read_ahead(
        inner: &Inner<K, V>,
        call: &mut Call<'_, Q>,
        hash: u64,
    ) -> Ahead<V> {
        let generation = inner.flights.generations().current(hash);
        call.make_key(&inner.shared.naming);
        let call: &Call<'_, Q> = call;
        // A key that cannot be made is the miss's to report (once), not read with.
        let Ok(key) = call.persistent_key() else {
            return Ahead::Read(generation, None);
        };
        let (backend, entry_key) = tier_of(inner, call, Some(key), 0);
        first_read(&inner.shared, backend, &entry_key, generation)
    }

    /// The miss of a call whose first tier was read ahead (`ahead`, not a hit): the tier's
    /// answer is its first read's.
    pub(in crate::cache) fn after(
        inner: &'a Inner<K, V>,
        call: &'a mut Call<'_, Q>,
        hash: u64,
        goal: Goal,
        ahead: Ahead<V>,
    ) -> Self {
        let Ahead::Read(generation, answer) = ahead else {
            log::out_of_step("a hit read ahead is the call's value")
        };
        let mut miss = Self::built(inner, call, hash, generation, goal);
        miss.core.phase = Phase::Start(Found::Absent);
        miss.shell.ahead = answer;
        miss
    }
}

/// The first tier's answer for [`Miss::read_ahead`]: a hit if fresh. Generic over the value
/// type only (compile time).
fn first_read<V: 'static>(
    shared: &Shared,
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    generation: Generation,
) -> Ahead<V> {
    match tier_io::read(backend, key) {
        Ok(Some(entry)) if fresh(shared, entry.stamp()) => {
            shared.stats.hit(backend.name());
            Ahead::Hit(entry.value)
        }
        answer => Ahead::Read(generation, Some(answer)),
    }
}

/// Whether an entry written at `stamp` is fresh now: the core's first test of a tier's answer
/// (`Core::read`), by the same policy and clock.
fn fresh(shared: &Shared, stamp: Stamp) -> bool {
    let now_ms = shared.ttl.now_ms(stamp, &shared.clock);
    matches!(shared.ttl.freshness(stamp, now_ms), Freshness::Fresh)
}
