//! The miss path, once: everything after the memory tier had no fresh entry — read the
//! persistent tiers, join the key's flight, take the cross-process lock, run the function, store,
//! fill the earlier tiers, report — as a state machine whose decisions do no I/O.
//!
//! [`Core::next`] says what to do ([`Step`]), and what came of it is handed back (`read`,
//! `wrote`, `waited`, `locked`, `computed`, `failed`). Blocking, the core performs the steps
//! itself through the shell (`block.rs`, [`Core::advance`]: the tier operations of
//! `tier_io.rs`, the waits, the lock), so that the blocking driver (`drive.rs`, a copy per
//! function) is only the function's run; the async driver (`drive/driver.rs`) awaits them. The
//! decisions between the steps (fresh? stale but servable? who leads? store or not?) live here
//! only, so both drivers make them the same way, and a new step is written once.
//!
//! The machine is in two halves. [`Core`] decides, and depends on neither the key nor the value
//! type: it is compiled once, in cacher. The values themselves (the memory's answer, the entry
//! read or to write, the stale fallback, the flight and its leader, what an insert displaced)
//! are held by a small typed shell ([`Miss`], `shell.rs`) that does the typed operations (look
//! up memory, join the flight, insert, hand the value to the waiters) when the core asks through
//! the object-safe [`Values`]: only the shell is compiled per cache type.
//!
//! In-process work (the memory tier, the flights, the counters) is done here; what may wait (a
//! backend, another caller, a lock, the function, the rate limiter) is a step.

pub(super) mod ahead;
mod block;
mod log;
mod others;
mod outcome;
mod seen;
mod shell;
mod stale;
#[cfg(feature = "tokio")]
mod steps;
mod store;
#[cfg(test)]
mod tests;
mod tier;
mod values;

pub(super) use self::{shell::Miss, stale::Failed, stale::Fallback, values::Values};
#[cfg(feature = "tokio")]
pub(super) use self::{steps::Writes, store::Planned, tier::no_tiers};
use values::tiers_of;

use std::sync::Arc;
use std::time::Duration;

use super::claim::Ticket;
use super::flight::{Flight, Leader};
use super::generation::{Generation, Generations, Storing, Watched};
use super::inner::{Age, Shared};
use super::origin::Origin;
use crate::backend::{Absence, Displaced, Generation as TierGeneration};
use crate::entry::Stamp;
use crate::error::{Error, Result};
use crate::lock::{FlightGuard, FlightLock};
use crate::policy::{Freshness, RateLimiter};

/// What the caller wants of the miss path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    /// A plain `get`: read the tiers; the "function" is that there is no value.
    Get,
    /// `get_or_compute`: read, then single-flight, lock, compute, store.
    Compute,
    /// `insert`: the "function" returns the given value; store it in every tier.
    Store,
    /// `refresh`: compute now and store, whatever the tiers hold.
    Refresh,
    /// A background refresh (`stale_while_revalidate`): compute and store, unless invalidated.
    Revalidate,
    /// `peek`: a lookup that counts no hit and fills no tier.
    Peek,
}

impl Goal {
    /// Whether the call runs the user's function (and so waits for the rate limiter).
    fn computes(self) -> bool {
        matches!(self, Goal::Compute | Goal::Refresh | Goal::Revalidate)
    }

    /// Whether running the function counts as a miss: a call's, or a `get` that found nothing
    /// (a background refresh's failure counts as an error instead; `insert` and `peek` count
    /// none).
    fn counts_miss(self) -> bool {
        matches!(self, Goal::Compute | Goal::Refresh | Goal::Get)
    }
}

/// What the driver is to do next.
pub(super) enum Step<'a> {
    /// Read the entry from persistent tier `n`; answer with [`Miss::read`].
    Read(usize),
    /// Write the shell's entry to persistent tier `n`; answer with [`Miss::wrote`].
    Write(usize),
    /// Wait, at most the duration, for the flight of another caller computing this key
    /// ([`Core::flight`]); answer with [`Core::waited_for`].
    Wait(Duration),
    /// Take the cross-process lock of this name; answer with [`Core::locked`].
    Lock(&'a dyn FlightLock, &'a str),
    /// Read the generations of the key in the persistent tiers before this one that were not
    /// read yet: before the function runs (all of them), or before a later tier is read (those
    /// that missed, which its hit would fill); answer with [`Miss::seen`].
    Generations(usize),
    /// Wait for the rate limiter if there is one, run the function, and answer with
    /// [`Miss::computed`] or [`Miss::failed`].
    Compute(Option<&'a RateLimiter>),
    /// The call's value is ready: [`Miss::value`].
    Done,
}

/// Why the tiers are being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first look of a round: failures are reported, a stale entry is kept as a fallback.
    First,
    /// Again after becoming the leader: another leader may have stored the value meanwhile.
    AfterJoin,
    /// Again after taking the cross-process lock: another process may have stored it.
    AfterLock,
    /// For a failed function's fallback, after the key's stripe was invalidated (`stale.rs`).
    Fallback,
}

/// Where the call is; its values are the shell's.
#[derive(Clone, Copy)]
enum Phase {
    /// Not started: the memory tier's answer, which the first [`Core::next`] acts on (so that
    /// the shell's constructor calls nothing, and the call is built in place).
    Start(Found),
    Read {
        tier: usize,
        pass: Pass,
    },
    /// Waiting for the flight the shell holds.
    Wait,
    Lock,
    Compute,
    /// Writing the shell's entry to the persistent tiers `tier..upto`: a computed value (`fill`
    /// false) or a later tier's hit copied into the earlier ones (`fill` true).
    Write {
        tier: usize,
        upto: usize,
        fill: bool,
    },
    /// The value is in the shell's value slot.
    Done,
    /// After `Done` was handed out.
    Over,
}

/// What the memory tier held for the key; its value, if any, is in the shell's value slot.
#[derive(Clone, Copy)]
pub(super) enum Found {
    /// A fresh entry: a hit.
    Fresh,
    /// A fresh entry whose use is due to be recorded (`time_to_idle`).
    Touch,
    /// An entry past its ttl, within `stale_while_revalidate`.
    Revalidate,
    /// An entry past its ttl, servable only if the function fails (`stale_if_error`).
    Stale,
    /// Nothing servable (or no memory tier).
    Absent,
    /// No entry at all, and what the lookup saw of it.
    Missing(Absence),
}

impl Found {
    /// What a held memory entry of `age` is to the core. `Fresh` and `Expired` are not reached:
    /// the lookup says those as [`Memory::Fresh`](super::inner::Memory::Fresh) and
    /// [`Memory::Absent`](super::inner::Memory::Absent).
    #[cfg_attr(not(debug_assertions), inline)]
    fn of(age: Age) -> Self {
        match age {
            Age::Fresh => Found::Fresh,
            Age::Touch => Found::Touch,
            Age::Revalidate => Found::Revalidate,
            Age::Stale => Found::Stale,
            Age::Expired => Found::Absent,
        }
    }
}

/// Which of the shell's slots holds the value the core acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// A value: the memory tier's answer, a waiter's, the function's, a touched entry's.
    Value,
    /// The entry read from a persistent tier, or to write.
    Entry,
    /// The fallback of a failed function: an entry past its ttl.
    Stale,
}

/// One call's way through the miss path: the decisions and their bookkeeping, no values.
pub(super) struct Core<'a> {
    shared: &'a Shared,
    generations: &'a Generations,
    /// The persistent tiers, and whether there is a memory tier.
    tiers: usize,
    memory: bool,
    /// The keyer's key of the persistent entry; `None` without persistent tiers or a key.
    key: Option<&'a str>,
    goal: Goal,
    phase: Phase,
    /// Whether the call's function may run in the background (`try_get_or_refresh`).
    detach: bool,
    /// The background refresh this call claimed, for its caller to start.
    refresh: Option<Ticket>,
    /// The key's hash, for the flights and their generations.
    hash: u64,
    /// The key's generation when the call started: a value is stored (or filled) only if no
    /// invalidation came since.
    generation: Generation,
    /// The persistent tiers' generations of the key, as far as read (`seen.rs`).
    seen: Vec<Option<TierGeneration>>,
    /// A store in progress, which invalidations of the key wait for.
    storing: Option<Storing<'a>>,
    /// A forced refresh's watch of its key's stripe, from its start ([`start`](Self::start)):
    /// which keys moved it since.
    watch: Option<Watched<'a>>,
    /// When a forced refresh began (ms, the cache's clock): a shared tier that refuses its value
    /// keeps no entry written before (`Put::Refresh`).
    began_ms: u64,
    /// The cross-process lock, released once the value is stored.
    held: Option<FlightGuard<'a>>,
    lock_name: Option<&'a str>,
    /// Whether some tier took the value.
    stored: bool,
    /// Whether the value's own ttl was zero (stored nowhere: `insert` removes the older entry).
    zero_ttl: bool,
    /// Whether the async driver waited out the bound for the stripe's claim already: a forced
    /// refresh's blocking claim then goes on at once, not on the executor's thread.
    pub(super) claim_waited: bool,
    /// Whether the call's origin is reported at its end, and a forced refresh's key
    /// invalidated before its first step: an async call's that a control steers or a `lookup`
    /// observes ([`steered`](Self::steered)).
    #[cfg(feature = "tokio")]
    told: bool,
    /// Where the value came from: recorded where each serving decision is made.
    origin: Origin,
    /// The memory tier's answer of this round if it had no entry at all: the look again after
    /// joining asks whether that is still so without the shard's lock.
    missing: Option<Absence>,
    /// The first failure to store (what `insert` returns).
    store_error: Option<Error>,
    /// Tiers (bit `i` for tier `i`) whose service failed during this call: a hung or dead server
    /// costs one timeout per call, not one per command. They are not written to again, and the
    /// cross-process lock is not taken.
    down: u64,
    // The flight, untyped: kept here rather than by the shell, so that joining, waiting and
    // giving up are compiled once, not once per cache type. Last, so dropped after the store
    // and the lock above.
    /// The flight a waiter waits for.
    flight: Option<Arc<Flight>>,
    /// The flight this call leads: dropped unfinished, it fails, and its waiters go round again.
    leader: Option<Leader<'a>>,
    /// What the memory tier's insert replaced or evicted: dropped once every tier is written and
    /// the store has ended (its panic resumed then), or with the call.
    displaced: Option<Displaced>,
    /// Whether the fallback the shell keeps is the memory tier's first answer, read before the
    /// generation was noted (which needs the key's hash): a removal in between is not seen by
    /// the generation.
    early: bool,
    /// The times of a fallback read from a persistent tier: it is served only if still within
    /// its window when the function fails (a function that fails slowly may outlast it).
    stale_stamp: Option<Stamp>,
}

impl<'a> Core<'a> {
    /// Inlined into the shell's constructor, which then builds the call in place (a miss's
    /// speed: without, the whole struct is copied twice).
    #[cfg_attr(not(debug_assertions), inline)]
    fn new(
        shared: &'a Shared,
        generations: &'a Generations,
        (hash, generation): (u64, Generation),
        goal: Goal,
        (key, store_error): (Option<&'a str>, Option<Error>),
        (tiers, memory): (usize, bool),
    ) -> Self {
        Self {
            shared,
            generations,
            tiers,
            memory,
            key,
            goal,
            phase: Phase::Over,
            detach: false,
            refresh: None,
            hash,
            generation,
            seen: Vec::new(),
            storing: None,
            watch: None,
            began_ms: 0,
            held: None,
            lock_name: None,
            stored: false,
            zero_ttl: false,
            claim_waited: false,
            #[cfg(feature = "tokio")]
            #[cfg(feature = "tokio")]
            told: false,
            origin: Origin::Computed,
            missing: None,
            store_error,
            down: 0,
            flight: None,
            leader: None,
            displaced: None,
            early: false,
            stale_stamp: None,
        }
    }

    /// Where the call's value came from, once the driver has it.
    pub(in crate::cache) fn origin(&self) -> Origin {
        self.origin
    }

    /// What the call is for.
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn goal(&self) -> Goal {
        self.goal
    }

    /// Whether the call moves each shared tier's generation of the key before reading it: a
    /// forced refresh's, so that what began before it stores nothing over its value. Asked by
    /// both drivers' reads of the generations (`generations_step`, the async driver's).
    pub(in crate::cache) fn moves_generations(&self) -> bool {
        self.goal == Goal::Refresh
    }

    /// An async call that a control steers or a `lookup` observes: its origin reported by the
    /// async driver at its end ([`told`](Self::told)), and a forced refresh's invalidation of
    /// the key made the driver's first step ([`invalidation`](Self::invalidation); the blocking
    /// call does both itself, around its miss). In the driver's loop, compiled once, so that
    /// the typed engine has no await for them (compile time).
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn steered(&mut self) {
        self.told = true;
    }

    /// Whether the call's origin is reported at its end ([`steered`](Self::steered)).
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn told(&self) -> bool {
        self.told
    }

    /// The invalidation a forced refresh ([`steered`](Self::steered)) makes first, for the
    /// async driver's first step: the key's generations, its hash, and how long a store under
    /// way is waited for.
    #[cfg(feature = "tokio")]
    pub(in crate::cache) fn invalidation(&self) -> Option<(&'a Generations, u64, Duration)> {
        match self.told && self.goal == Goal::Refresh {
            true => Some((self.generations, self.hash, self.shared.store_wait())),
            false => None,
        }
    }

    /// The cache's untyped parts: the drivers' spans and compute timings name it.
    pub(in crate::cache) fn shared(&self) -> &'a Shared {
        self.shared
    }

    /// The first step after the memory tier's answer (`found`).
    fn start(&mut self, found: Found, v: &mut dyn Values<'a>) {
        match self.goal {
            // A forced refresh, its key invalidated by its driver first, watches its stripe from
            // now on: its generation is the watch's, so that its own invalidation does not
            // refuse its store, and those of other keys of its stripe do not either.
            Goal::Refresh => {
                let watched = self.generations.watch(self.hash);
                self.generation = watched.generation();
                self.watch = Some(watched);
                self.began_ms = self.shared.clock.now_ms();
                self.phase = Phase::Compute;
            }
            Goal::Store | Goal::Revalidate => self.phase = Phase::Compute,
            Goal::Get | Goal::Compute | Goal::Peek => self.begin_round(found, v),
        }
    }

    /// A hit of `tier` (`"memory"`, or `"flight"`: another caller's computation waited for):
    /// counted, and recorded as the call's origin.
    fn serve_hit(&mut self, tier: &'static str, v: &mut dyn Values<'a>) {
        self.origin = Origin::Hit;
        self.shared.stats.hit(tier);
        self.finish(Slot::Value, v);
    }

    /// The first of a round's looks, after the memory tier's answer.
    fn begin_round(&mut self, found: Found, v: &mut dyn Values<'a>) {
        v.discard(Slot::Stale);
        (self.early, self.stale_stamp) = (false, None);
        self.missing = None;
        self.phase = Phase::Read {
            tier: 0,
            pass: Pass::First,
        };
        match found {
            // A peek counts no hit and records no use.
            Found::Fresh | Found::Touch if self.goal == Goal::Peek => self.finish(Slot::Value, v),
            Found::Fresh => self.serve_hit("memory", v),
            Found::Touch => self.touch(v),
            Found::Revalidate => self.past_ttl(Slot::Value, Freshness::Revalidate, None, v),
            Found::Stale => self.past_ttl(Slot::Value, Freshness::Stale, None, v),
            Found::Missing(absence) => self.missing = Some(absence),
            Found::Absent => {}
        }
    }

    /// A look again (after joining or locking): the memory tier, then the persistent tiers.
    fn look_again(&mut self, pass: Pass, v: &mut dyn Values<'a>) {
        // A key the memory tier had no entry for, in a shard that has had no insert since, is
        // still not there: nothing to look up (nor a lock to take) on most misses.
        match v.lookup(self.missing) {
            Found::Fresh | Found::Touch => self.serve_hit("memory", v),
            Found::Revalidate | Found::Stale | Found::Absent | Found::Missing(_) => {
                v.discard(Slot::Value);
                self.phase = Phase::Read { tier: 0, pass }
            }
        }
    }

    /// What to do next.
    pub(in crate::cache) fn next(&mut self, v: &mut dyn Values<'a>) -> Step<'a> {
        let shared = self.shared;
        loop {
            match self.phase {
                Phase::Start(found) => self.start(found, v),
                // Without a persistent key (a memory-only cache) no tier is read, nor is one
                // asked whether it is down.
                Phase::Read { tier, pass } => match self.key {
                    Some(_) if tier < self.tiers && self.is_down(tier) => {
                        self.phase = Phase::Read {
                            tier: tier + 1,
                            pass,
                        };
                    }
                    Some(_) if tier < self.tiers => {
                        return self.reads_before(tier, pass).unwrap_or(Step::Read(tier));
                    }
                    _ => self.read_all(pass, v),
                },
                Phase::Write { tier, upto, fill } if tier < upto && self.is_down(tier) => {
                    self.phase = Phase::Write {
                        tier: tier + 1,
                        upto,
                        fill,
                    };
                }
                Phase::Write { tier, upto, .. } if tier < upto => return Step::Write(tier),
                Phase::Write { .. } => self.written(v),
                Phase::Wait => return Step::Wait(shared.wait_timeout),
                Phase::Lock => match (shared.flight_lock.as_deref(), self.lock_name) {
                    (Some(lock), Some(name)) => return Step::Lock(lock, name),
                    _ => log::out_of_step("locks are planned only with one, named"),
                },
                Phase::Compute => {
                    if let Some(step) = self.reads_generations() {
                        return step;
                    }
                    // `if`s and `match`es rather than `Option`'s combinators in this machine.
                    let limiter = match &shared.rate_limiter {
                        Some(limiter) if self.goal.computes() => Some(limiter),
                        _ => None,
                    };
                    return Step::Compute(limiter);
                }
                Phase::Done => {
                    self.phase = Phase::Over;
                    return Step::Done;
                }
                Phase::Over => log::out_of_step("a driver stops at Step::Done"),
            }
        }
    }

    /// A persistent tier's answer to [`Step::Read`]: the times of the entry it had (which the
    /// shell holds), or none, or its failure.
    pub(super) fn read(&mut self, answer: Result<Option<Stamp>>, v: &mut dyn Values<'a>) {
        let Phase::Read { tier, pass } = self.phase else {
            log::out_of_step("answers follow their step")
        };
        match pass {
            Pass::Fallback => return self.read_fallback(tier, answer, v),
            Pass::First | Pass::AfterJoin | Pass::AfterLock => {}
        }
        let shared = self.shared;
        match answer {
            Ok(Some(stamp)) => {
                // Read once for the freshness and the use to record; not at all if nothing ages.
                let now_ms = shared.ttl.now_ms(stamp, &shared.clock);
                match shared.ttl.freshness(stamp, now_ms) {
                    Freshness::Fresh => return self.found(stamp, tier, now_ms, v),
                    past @ (Freshness::Revalidate | Freshness::Stale) if pass == Pass::First => {
                        self.past_ttl(Slot::Entry, past, Some(stamp), v);
                        if matches!(self.phase, Phase::Done) {
                            return;
                        }
                    }
                    Freshness::Revalidate | Freshness::Stale | Freshness::Expired => {
                        v.discard(Slot::Entry)
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                // A later look of this round does not report a failure the first look did; a
                // service failure is new (its tier was not down, or it would not be read).
                let new = pass == Pass::First || e.is_service_failure();
                self.note_failure(tier, &e);
                if new {
                    shared.report(tiers_of(v).tier_name(tier), "read", &e);
                }
            }
        }
        self.phase = Phase::Read {
            tier: tier + 1,
            pass,
        };
    }

    /// A fresh entry in persistent tier `tier`: fill the memory tier and the tiers before it,
    /// keeping its creation time, so that a ttl counts from when the value was computed.
    fn found(&mut self, mut stamp: Stamp, tier: usize, now_ms: u64, v: &mut dyn Values<'a>) {
        let shared = self.shared;
        if self.goal == Goal::Peek {
            return self.finish(Slot::Entry, v);
        }
        shared.stats.hit(tiers_of(v).tier_name(tier));
        self.origin = Origin::Hit;
        // A use due to be recorded (`time_to_idle`) is recorded in the tiers it fills, not
        // written back to `tier` (see `stale.rs`'s `touch`).
        if shared.ttl.touch_due(stamp, now_ms) {
            stamp.touched_ms = now_ms;
        }
        self.fill(stamp, tier, v);
    }

    /// Copies the entry into the memory tier and the persistent tiers before `upto`, if no
    /// invalidation came since the call started. Not into the memory of a cache that ages
    /// nothing (`KeyRef::TIMED`) when the entry has a ttl of its own (another process's
    /// `ttl_fn`): that tier's lookups read no clock, and would serve it past its ttl for good.
    fn fill(&mut self, stamp: Stamp, upto: usize, v: &mut dyn Values<'a>) {
        let memory = self.memory && (self.shared.timed || stamp.ttl_ms.is_none());
        if upto == 0 && !memory {
            // Nothing to copy it into: no store begins, none for an invalidation to wait for.
            return self.finish(Slot::Entry, v);
        }
        let Some(storing) = self.generations.begin_store(self.hash, self.generation) else {
            return self.finish(Slot::Entry, v);
        };
        self.storing = Some(storing);
        v.set_entry(Slot::Entry, stamp, self.shared.ttl.expires_ms(stamp));
        if memory {
            // As a computed value's store: not once an invalidation went on without it.
            let storing = self.storing.as_ref();
            let admits = move || storing.is_none_or(|storing| !storing.went_on());
            v.insert_memory(self.hash, &admits, &mut self.displaced);
        }
        self.phase = Phase::Write {
            tier: 0,
            upto,
            fill: true,
        };
    }

    /// Every tier was read and none had a fresh entry.
    fn read_all(&mut self, pass: Pass, v: &mut dyn Values<'a>) {
        match (pass, self.goal) {
            (Pass::First, Goal::Compute) => self.join(v),
            (Pass::AfterJoin, _) => self.plan_lock(v),
            (Pass::First, _) | (Pass::AfterLock, _) => self.phase = Phase::Compute,
            // No tier holds a fallback: the function's error.
            (Pass::Fallback, _) => self.phase = Phase::Done,
        }
    }
}
