//! What the core asks of the typed shell ([`Values`]).

use std::ops::Range;
use std::time::Duration;

use super::{Absence, Fallback, Found, Put, Slot, Waited};
use crate::backend::Generation as TierGeneration;
use crate::entry::Stamp;
use crate::error::Result;

/// Each persistent tier's generation, or its failure; `None` for a tier down.
pub(in crate::cache) type Read = Vec<Option<Result<TierGeneration>>>;

/// The typed half of a miss: it holds the call's values and does what needs their types, when
/// the core asks. Object-safe, so that the core is compiled once (a `dyn` call per typed
/// operation).
pub(in crate::cache) trait Values<'a> {
    /// Moves the value at `from` into the value slot, as the call's, and hands it to the flight's
    /// waiters if this call leads one (cloned only if it has waiters).
    fn finish(&mut self, from: Slot);
    /// Drops what `slot` holds.
    fn discard(&mut self, slot: Slot);
    /// Keeps the value at `from` as the fallback of a failed function, unless one is kept.
    fn keep_stale(&mut self, from: Slot);
    /// Drops the fallback.
    fn drop_stale(&mut self);
    /// The memory tier's answer (out of line), its value kept in the value slot; `Absent`
    /// without a lookup when `missing` (what a lookup found) is still so.
    fn lookup(&mut self, missing: Option<Absence>) -> Found;
    /// Joins the key's flight: `Some` as its leader (whether its flight replaced one a waiter
    /// gave up on), `None` as a waiter (the flight kept for [`Step::Wait`](super::Step::Wait)).
    fn join(&mut self, hash: u64) -> Option<bool>;
    /// The cross-process lock's name for the persistent `key`.
    fn lock_name(&self, key: &'a str) -> &'a str;
    /// The value slot's own ttl (`ttl_fn`) in milliseconds.
    fn ttl_ms(&self) -> Option<u64>;
    /// Records a use of the memory entry (`time_to_idle`).
    fn touch_memory(&self, now_ms: u64);
    /// Makes the entry to write of the value at `from`, with `stamp`'s times and `expires_ms`.
    fn set_entry(&mut self, from: Slot, stamp: Stamp, expires_ms: Option<u64>);
    /// Inserts the entry's value into the memory tier if `admits()` under its lock (what it
    /// displaced kept for [`release`](Self::release)): `None` without one, else whether skipped.
    /// `hash` is the key's, the flight's (the cache hashes as its memory tier does).
    fn insert_memory(&mut self, hash: u64, admits: &dyn Fn() -> bool) -> Option<bool>;
    /// Makes the fallback the value: the kept one if the generation is `current` (and it came
    /// after it), else (if `look`) the memory tier's entry past its ttl; else it is doubtful.
    fn fallback(&mut self, current: bool, look: bool) -> Fallback;
    /// Gives up leading the flight: its waiters go round again.
    fn drop_leader(&mut self);
    /// Drops what the memory insert displaced, resuming the panic of its `Drop`.
    fn release(&mut self);
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
    /// tiers in `down` (bit `i` for tier `i`).
    fn generations(&mut self, key: Option<&'a str>, down: u64, tiers: Range<usize>) -> Read;
    /// Waits, blocking, at most `bound` for the flight this call joined.
    fn wait(&mut self, bound: Duration) -> Waited;
    /// Marks the flight this call waited for as past its deadline.
    fn abandon(&mut self);
}
