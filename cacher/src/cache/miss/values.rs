//! What the core asks of the typed shell ([`Values`]).

use super::{Absence, Fallback, Found, Slot};
use crate::backend::{Displaced, Generation as TierGeneration};
use crate::cache::flight::{Flight, Leader, Role};
use crate::cache::tier_io::Put;
use crate::entry::Stamp;
use crate::error::Result;
use std::ops::Range;

/// Each persistent tier's generation, or its failure; `None` for a tier down.
pub(in crate::cache) type Read = Vec<Option<Result<TierGeneration>>>;

/// The typed half of a miss: it holds the call's values and does what needs their types, when
/// the core asks. Object-safe, so that the core is compiled once (a `dyn` call per typed
/// operation).
pub(in crate::cache) trait Values<'a> {
    /// Moves the value at `from` into the value slot, as the call's, and hands it to the flight's
    /// waiters if this call leads one, `leader` (cloned only if it has waiters).
    fn finish(&mut self, from: Slot, leader: Option<Leader<'a>>);
    /// Drops what `slot` holds.
    fn discard(&mut self, slot: Slot);
    /// The memory tier's answer (out of line), its value kept in the value slot; `Absent`
    /// without a lookup when `missing` (what a lookup found) is still so.
    fn lookup(&mut self, missing: Option<Absence>) -> Found;
    /// Joins the key's flight, as its leader or as a waiter.
    fn join(&mut self, hash: u64) -> Role<'a>;
    /// Makes the entry to write of the value at `from`, with `stamp`'s times and `expires_ms`.
    fn set_entry(&mut self, from: Slot, stamp: Stamp, expires_ms: Option<u64>);
    /// Inserts the entry's value into the memory tier if `admits()` under its lock (what it
    /// displaced kept in `displaced`, for the core to drop once the store ended): `None` without
    /// one, else whether skipped. `hash` is the key's, the flight's (the cache hashes as its
    /// memory tier does).
    fn insert_memory(
        &mut self,
        hash: u64,
        admits: &dyn Fn() -> bool,
        displaced: &mut Option<Displaced>,
    ) -> Option<bool>;
    /// Takes the value `flight`'s leader handed over into the value slot: whether it had one.
    fn take_handed(&mut self, flight: &Flight) -> bool;
    /// The persistent tiers' operations; `None` for a memory-only key form
    /// (`KeyRef::PERSISTENT` false), which then compiles none of them: its core asks for no
    /// tier ([`tiers_of`]).
    fn tiers(&mut self) -> Option<&mut dyn Tiers<'a>>;
    /// The operations of expiry; `None` for a key form whose cache ages no entry
    /// (`KeyRef::TIMED` false), which then compiles none of them: no entry of it is stale, no
    /// value has a ttl of its own, no use is due (the core does without, [`Timed`]).
    fn timed(&mut self) -> Option<&mut dyn Timed>;
}

/// What the core asks of the typed shell about the persistent tiers ([`Values::tiers`]).
pub(in crate::cache) trait Tiers<'a> {
    /// The cross-process lock's name for the persistent `key`: a tier's operation, as only a
    /// key that a persistent tier shares is locked (compiled only for a form with tiers).
    fn lock_name(&self, key: &'a str) -> &'a str;
    /// Persistent tier `tier`'s name.
    fn tier_name(&self, tier: usize) -> &'static str;
    /// Persistent tier `tier`'s evictions so far.
    fn tier_evictions(&self, tier: usize) -> u64;
    /// Reads (blocking) and keeps the entry under `key` in persistent tier `tier`: its times.
    fn read(&mut self, tier: usize, key: Option<&'a str>) -> Result<Option<Stamp>>;
    /// Writes the entry under `key` to persistent tier `tier`, blocking, as `put` says, or takes
    /// the key out when an invalidation `went_on` without the store.
    fn write(
        &mut self,
        tier: usize,
        key: Option<&'a str>,
        put: Put,
        went_on: &dyn Fn() -> bool,
    ) -> Result<bool>;
    /// Reads (blocking) each persistent tier's generation of the entry under `key`, but the
    /// tiers in `down` (bit `i` for tier `i`); a forced refresh's (`refresh`) moved first
    /// (`PersistentBackend::begin_refresh`).
    fn generations(
        &mut self,
        key: Option<&'a str>,
        down: u64,
        refresh: bool,
        tiers: Range<usize>,
    ) -> Read;
}

/// What the core asks of the typed shell about expiry ([`Values::timed`]).
pub(in crate::cache) trait Timed {
    /// Keeps the value at `from` as the fallback of a failed function, unless one is kept (then
    /// drops it): whether it kept it.
    fn keep_stale(&mut self, from: Slot) -> bool;
    /// The value slot's own ttl (`ttl_fn`) in milliseconds.
    fn ttl_ms(&self) -> Option<u64>;
    /// Records a use of the memory entry (`time_to_idle`).
    fn touch_memory(&self, now_ms: u64);
    /// Makes the fallback the value: the kept one if it is `current` (no invalidation since it
    /// was read, still within its window), else (if `look`) the memory tier's entry past its
    /// ttl; else it is doubtful.
    fn fallback(&mut self, current: bool, look: bool) -> Fallback;
}

/// The persistent tiers' operations of `v`, asked of a miss that has tiers.
pub(in crate::cache) fn tiers_of<'v, 'a>(v: &'v mut dyn Values<'a>) -> &'v mut dyn Tiers<'a> {
    match v.tiers() {
        Some(tiers) => tiers,
        None => super::tier::no_tiers(),
    }
}
