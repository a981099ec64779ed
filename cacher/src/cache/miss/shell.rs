//! The typed half of the miss path: [`Miss`] holds the call's values in slots and does the
//! operations that need their types (the memory tier, the flight; a tier's read or write through
//! [`Tiers`], the stale fallback and a use's record through [`Timed`], each only for a key form
//! that has them) when the core asks ([`Values`]); the drivers call it, and it hands each answer
//! to the core. The only part of the miss path compiled once per cache type: its methods are a
//! few lines each.
//!
//! Without `Option`'s helpers (`is_some`, `map`, `?`): each is one more function per cache type
//! in a debug build; a `match` is none.
#![allow(
    clippy::redundant_pattern_matching,
    reason = "`Option::is_some` would compile a function more per cache type"
)]

use std::hash::Hash;

use super::tier::{park, tier_of};
use super::values::{Tiers, Timed};
use super::{Core, Fallback, Found, Goal, Phase, Slot, Values, log, store::millis};
use crate::backend::{Absence, Displaced};

use crate::cache::call::Call;
use crate::cache::flight::{Flight, Leader, Role};
use crate::cache::generation::Generation;
use crate::cache::inner::{Age, Inner, Memory};
use crate::cache::tier_io::{self, Put};

use crate::cache::claim::Ticket;
use crate::entry::{Entry, Stamp};
use crate::error::Result;
use crate::key::KeyRef;

/// The values of one call's way through the miss path, and its core.
pub(in crate::cache) struct Shell<'a, K: Hash + Eq, V: Clone, Q: ?Sized> {
    pub(super) inner: &'a Inner<K, V>,
    pub(in crate::cache) call: &'a Call<'a, Q>,
    /// The value the core acts on: the memory tier's answer, a waiter's, the function's, a
    /// touched entry's, the call's once done.
    pub(super) value: Option<V>,
    /// The entry read from a persistent tier, or to write.
    pub(super) entry: Option<Entry<V>>,
    /// An entry past its ttl that `stale_if_error` may serve if the function fails (what the
    /// core knows of it: `Core::early`, `Core::stale_stamp`).
    stale: Option<V>,
    /// The first tier's answer, read before the machine was built ([`Miss::read_ahead`]): the
    /// first read's.
    pub(super) ahead: Option<Result<Option<Entry<V>>>>,
}

/// One call's way through the miss path: the core's decisions and the shell's values.
///
/// Dropped in this order: the core's claimed refresh, store and cross-process lock first, then
/// the leader (failing its flight if unfinished), what the memory insert displaced — after the
/// store has ended, since a value's `Drop` may use the cache —, and last the values.
///
/// The drivers reach the core itself for what needs no type (its steps, the run's start, the
/// origin): a method of `Miss` forwarding to it would be one function more per cache type in a
/// debug build (compile time).
pub(in crate::cache) struct Miss<'a, K: Hash + Eq, V: Clone, Q: ?Sized> {
    pub(in crate::cache) core: Core<'a>,
    pub(in crate::cache) shell: Shell<'a, K, V, Q>,
}

impl<'a, K, V, Q> Shell<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Keeps a memory lookup's value; what it found, for the core.
    #[inline]
    fn keep(&mut self, memory: Memory<V>) -> Found {
        match memory {
            Memory::Fresh(value) => {
                self.value = Some(value);
                Found::Fresh
            }
            Memory::Held(age, value) => {
                self.value = Some(value);
                Found::of(age)
            }
            Memory::Absent => Found::Absent,
            Memory::Missing(absence) => Found::Missing(absence),
        }
    }

    fn take(&mut self, from: Slot) -> V {
        let value = match from {
            Slot::Value => self.value.take(),
            Slot::Entry => match self.entry.take() {
                Some(entry) => Some(entry.value),
                None => None,
            },
            Slot::Stale => self.stale.take(),
        };
        match value {
            Some(value) => value,
            None => log::out_of_step("the core acts on values the shell holds"),
        }
    }
}

impl<'a, K, V, Q> Values<'a> for Shell<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    fn finish(&mut self, from: Slot, leader: Option<Leader<'a>>) {
        let value = self.take(from);
        if let Some(leader) = leader {
            leader.complete(&value);
        }
        self.value = Some(value);
    }

    fn discard(&mut self, slot: Slot) {
        match slot {
            Slot::Value => self.value = None,
            Slot::Entry => self.entry = None,
            Slot::Stale => self.stale = None,
        }
    }

    fn lookup(&mut self, missing: Option<Absence>) -> Found {
        // Whether the memory tier still has no entry where the lookup found none: no insert
        // into its shard since, a read of one counter and no lock. The tier's own test, not
        // through a typed method (one function more per cache type: compile time).
        let unchanged = match (missing, &self.inner.memory) {
            (Some(absence), Some(memory)) => memory.tier.still_absent(absence),
            _ => false,
        };
        // Else the shared table, out of line: a rare path since the count above.
        match unchanged {
            true => Found::Absent,
            false => self.keep(self.inner.lookup_memory(self.call.key, &mut 0)),
        }
    }

    fn join(&mut self, hash: u64) -> Role<'a> {
        self.inner.flights.join(hash, self.call.key)
    }

    fn set_entry(&mut self, from: Slot, stamp: Stamp, expires_ms: Option<u64>) {
        if let (Slot::Entry, Some(entry)) = (from, &mut self.entry) {
            entry.touched_ms = stamp.touched_ms;
            entry.expires_ms = expires_ms;
            return;
        }
        self.entry = Some(Entry {
            value: self.take(from),
            created_ms: stamp.created_ms,
            ttl_ms: stamp.ttl_ms,
            touched_ms: stamp.touched_ms,
            expires_ms,
        });
    }

    fn insert_memory(
        &mut self,
        hash: u64,
        admits: &dyn Fn() -> bool,
        displaced: &mut Option<Displaced>,
    ) -> Option<bool> {
        let (Some(memory), Some(entry)) = (&self.inner.memory, &self.entry) else {
            return None;
        };
        let key = self.call.key.to_key();
        if crate::key::Encoded::unfindable(&key) {
            // No call finds it again: kept, it would stay in the memory tier for good.
            return None;
        }
        let value = entry.value.clone();
        let inserted = memory.insert_if((hash, key), value, entry.stamp(), admits);
        Some(self.inner.shared.inserted(inserted, displaced))
    }

    fn take_handed(&mut self, flight: &Flight) -> bool {
        self.value = flight.value::<V>();
        matches!(self.value, Some(_))
    }

    // A `match` on the key form's constant alone, so that the build compiles the other trait's
    // methods only for a form that uses them (`KeyRef::PERSISTENT`, `KeyRef::TIMED`): a
    // memory-only form's core asks for no tier (`Inner::tiers_for`), an untimed form's for
    // nothing of expiry.
    fn tiers(&mut self) -> Option<&mut dyn Tiers<'a>> {
        match Q::PERSISTENT {
            true => Some(self),
            false => None,
        }
    }

    fn timed(&mut self) -> Option<&mut dyn Timed> {
        match Q::TIMED {
            true => Some(self),
            false => None,
        }
    }
}

impl<'a, K, V, Q> Tiers<'a> for Shell<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    fn lock_name(&self, key: &'a str) -> &'a str {
        self.call.lock_name(&self.inner.shared.naming, key)
    }

    fn tier_name(&self, tier: usize) -> &'static str {
        self.inner.backends[tier].name()
    }

    fn tier_evictions(&self, tier: usize) -> u64 {
        self.inner.backends[tier].evictions()
    }

    fn read(&mut self, tier: usize, key: Option<&'a str>) -> Result<Option<Stamp>> {
        if let (Some(answer), 0) = (self.ahead.take(), tier) {
            return park(&mut self.entry, answer);
        }
        let (backend, key) = tier_of(self.inner, self.call, key, tier);
        park(&mut self.entry, tier_io::read(backend, &key))
    }

    fn write(
        &mut self,
        tier: usize,
        key: Option<&'a str>,
        put: Put,
        went_on: &dyn Fn() -> bool,
    ) -> Result<bool> {
        let (backend, key) = tier_of(self.inner, self.call, key, tier);
        match &self.entry {
            Some(entry) => tier_io::write_tier(backend, &key, (entry, put), went_on),
            None => log::out_of_step("writes are planned with their entry"),
        }
    }

    fn generations(
        &mut self,
        key: Option<&'a str>,
        down: u64,
        refresh: bool,
        tiers: std::ops::Range<usize>,
    ) -> super::values::Read {
        let (_, key) = tier_of(self.inner, self.call, key, 0);
        tier_io::generations(&self.inner.backends, &key, (down, refresh, tiers))
    }
}

impl<'a, K, V, Q> Timed for Shell<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    fn keep_stale(&mut self, from: Slot) -> bool {
        let None = &self.stale else {
            self.discard(from);
            return false;
        };
        self.stale = Some(self.take(from));
        true
    }

    fn ttl_ms(&self) -> Option<u64> {
        match &self.value {
            Some(value) => millis(self.inner.ttl_of(value)),
            None => log::out_of_step("a ttl is asked of the function's value"),
        }
    }

    fn touch_memory(&self, now_ms: u64) {
        if let Some(memory) = &self.inner.memory {
            memory.touch(self.call.key, now_ms);
        }
    }

    fn fallback(&mut self, current: bool, look: bool) -> Fallback {
        let kept = matches!(self.stale, Some(_)) && look;
        self.value = match (current, kept) {
            (true, _) => self.stale.take(),
            (false, true) => match self.inner.lookup_memory(self.call.key, &mut 0) {
                Memory::Held(Age::Stale | Age::Revalidate, value) => Some(value),
                _ => None,
            },
            (false, false) => None,
        };
        match (matches!(self.value, Some(_)), kept) {
            (true, _) => Fallback::Served,
            (false, true) => Fallback::Doubtful,
            (false, false) => Fallback::Missing,
        }
    }
}

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Starts after a memory lookup that found no fresh entry (`memory` is what it found);
    /// `hash` is the key's [`flight_hash`](Inner::flight_hash). Always inlined in optimised
    /// builds: the call is then built in its caller's place, not copied there (LLVM's choice
    /// moved with changes elsewhere: +20 instructions a miss). What `detachable` and
    /// `revalidate` build too, setting a field after it (a read-ahead's miss is `built` apart):
    /// a wrapper of it would be a function more per cache type in a debug build (compile time).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(in crate::cache) fn new(
        inner: &'a Inner<K, V>,
        call: &'a mut Call<'_, Q>,
        hash: u64,
        goal: Goal,
        memory: Memory<V>,
    ) -> Self {
        // The generation is noted before the persistent key is made: that runs user code (the
        // key's `Serialize`, the keyer), and an invalidation from there came after the call's
        // memory lookup, so it must count as since the call started. (A forced refresh notes it
        // again as its first step watches the key, `Core::start`, after its own invalidation,
        // which takes such an invalidation in too: its value is computed after both.)
        let generation = inner.flights.generations().current(hash);
        // Made while the call is still this miss's alone (shared from here on).
        // A `match` on `Q::PERSISTENT` alone, which the build skips (`KeyRef::PERSISTENT`); a
        // memory-only form on a cache with tiers is refused by `built`, next.
        match Q::PERSISTENT {
            true if inner.shared.tiers > 0 => call.make_key(&inner.shared.naming),
            true | false => {}
        }
        let mut miss = Self::built(inner, call, hash, generation, goal);
        miss.core.phase = Phase::Start(miss.shell.keep(memory));
        miss
    }

    /// As [`new`](Self::new) for `get_or_compute` with a function that may run in the
    /// background: within `stale_while_revalidate` the call serves the stale value and claims a
    /// refresh ([`take_refresh`](Self::take_refresh)).
    pub(in crate::cache) fn detachable(
        inner: &'a Inner<K, V>,
        call: &'a mut Call<'_, Q>,
        hash: u64,
        memory: Memory<V>,
    ) -> Self {
        let mut miss = Self::new(inner, call, hash, Goal::Compute, memory);
        miss.core.detach = true;
        miss
    }

    /// The background refresh `ticket` claimed: it stores only if the key's generation is still
    /// the one the stale value was read under.
    pub(in crate::cache) fn revalidate(
        inner: &'a Inner<K, V>,
        call: &'a mut Call<'_, Q>,
        ticket: &Ticket,
    ) -> Self {
        let mut miss = Self::new(inner, call, ticket.hash, Goal::Revalidate, Memory::Absent);
        miss.core.generation = ticket.generation;
        miss
    }

    /// [`new`](Self::new) once the generation is noted and the key made. Inlined, so that the
    /// call is built in its caller's place rather than copied there.
    #[inline]
    pub(super) fn built(
        inner: &'a Inner<K, V>,
        call: &'a Call<'_, Q>,
        hash: u64,
        generation: Generation,
        goal: Goal,
    ) -> Self {
        let generations = inner.flights.generations();
        let tiers = (inner.tiers_for::<Q>(), matches!(inner.memory, Some(_)));
        // Without the keyer's code for a memory-only key form.
        let key = match Q::PERSISTENT {
            true => inner.persistent_key(call),
            false => (None, None),
        };
        Self {
            core: Core::new(
                &inner.shared,
                generations,
                (hash, generation),
                goal,
                key,
                tiers,
            ),
            shell: Shell {
                inner,
                call,
                value: None,
                entry: None,
                stale: None,
                ahead: None,
            },
        }
    }
}
