//! The end of the miss path: the function's value is stored in every tier (or not, when the key
//! was invalidated meanwhile), its failure served from a stale entry when allowed, and the value
//! handed to the waiters.

use super::values::tiers_of;
use super::{Core, Failed, Fallback, Goal, Phase, Slot, Values, log};
#[cfg(feature = "tokio")]
use crate::cache::generation::Handed;
use crate::cache::generation::Storing;
#[cfg(feature = "tokio")]
use crate::cache::tier_io::Put;
use crate::entry::Stamp;
use crate::error::Result;

impl<'a> Core<'a> {
    /// The function's run begins (its limiter waited for): a miss, counted now, so that a run
    /// that panics or whose async caller is dropped is counted as one that returns; and its
    /// timing, when it is the user's function (not `get`'s "no value", nor `insert`'s value),
    /// whose time is exported when the run ends. A background refresh is not a miss (its
    /// failure counts as an error, `refresh_failed`); a `get` that found nothing is.
    pub(in crate::cache) fn running(&self) -> Option<crate::cache::stats::RunTimer<'a>> {
        let stats = &self.shared.stats;
        if self.goal.counts_miss() {
            stats.miss();
        }
        // `match`, not `then`: its closure was a call of its own on every miss.
        match self.goal.computes() {
            true => Some(stats.time_run()),
            false => None,
        }
    }

    /// The function's value (in the value slot): store it, unless the key was invalidated while
    /// it was computed (its callers still get it).
    pub(super) fn computed(&mut self, v: &mut dyn Values<'a>) {
        let shared = self.shared;
        if self.goal != Goal::Store {
            shared.outages.recovered(self.hash);
        }
        // A `ttl_fn` that panics costs the entry (as a zero ttl), not the caller's value. A
        // cache whose entries never age has no `ttl_fn` to ask (`timed`).
        let ttl_ms = match (shared.timed, v.timed()) {
            (true, Some(timed)) => timed.ttl_ms(),
            _ => None,
        };
        // A value whose own ttl is zero is its callers' only: no read would accept it.
        if ttl_ms == Some(0) {
            self.zero_ttl = true;
            return self.finish(Slot::Value, v);
        }
        let upto = if self.key.is_some() { self.tiers } else { 0 };
        // A value for the memory tier alone is not counted as a store under way: the memory
        // asks whether it may store it under the key's shard's lock (generation.rs).
        let counted = upto > 0 || !self.memory || matches!(self.goal, Goal::Store | Goal::Refresh);
        if counted {
            let Some(storing) = self.begin_store() else {
                // Invalidated while it was computed: its callers get it, the tiers keep what
                // the invalidation left.
                return self.finish(Slot::Value, v);
            };
            self.storing = Some(storing);
        }
        let stamp = self.stamp(ttl_ms, upto);
        v.set_entry(Slot::Value, stamp, shared.ttl.expires_ms(stamp));
        let (generations, hash, seen) = (self.generations, self.hash, self.generation);
        // A counted store is waited for by invalidations — unless one waited out its bound
        // meanwhile (a value's `Clone`, run before, that took longer: helper-116) and may have
        // cleared the tier already. Asked under the shard's lock, as the tiers' writes ask.
        let storing = self.storing.as_ref();
        let admits = move || match storing {
            Some(storing) => !storing.went_on(),
            None => generations.admits(hash, seen),
        };
        if let Some(skipped) = v.insert_memory(hash, &admits, &mut self.displaced) {
            if skipped && self.goal == Goal::Store {
                // From a key's `Eq` or a value's `Clone` under the key's shard lock: no tier is
                // written, and the insert says so (a computed value just goes unstored).
                self.store_error = Some(log::skipped_insert());
                return self.finish(Slot::Entry, v);
            }
            self.stored = !skipped;
        }
        self.phase = Phase::Write {
            tier: 0,
            upto,
            fill: false,
        };
        if upto == 0 {
            // No tier to write: done now, as the step loop would do next.
            self.written(v);
        }
    }

    /// The times of a computed entry with its own ttl `ttl_ms`, to be written up to tier `upto`.
    /// Read only by a cache whose entries age, and by the persistent tiers (whose entries record
    /// them): a memory-only cache without a ttl reads no clock.
    fn stamp(&self, ttl_ms: Option<u64>, upto: usize) -> Stamp {
        let shared = self.shared;
        let created_ms = if shared.timed || upto > 0 {
            shared.clock.now_ms()
        } else {
            0
        };
        Stamp {
            created_ms,
            ttl_ms,
            touched_ms: created_ms,
        }
    }

    /// The start of the store of the call's value: an `insert`'s stands all the same, stored
    /// alone in its stripe (not a refresh's: computed from a source that a removal since may
    /// have made out of date); any other only if nothing was invalidated since the call began,
    /// a forced refresh's alone in its stripe as an insert's (it joins no flight: a call that
    /// read the value it replaces must not copy it back after it).
    fn begin_store(&self) -> Option<Storing<'a>> {
        let (generations, mut wait) = (self.generations, self.shared.store_wait());
        if self.claim_waited {
            // Waited out without blocking already (the async driver): go on at once.
            wait = std::time::Duration::ZERO;
        }
        match self.goal {
            Goal::Store => Some(generations.begin_insert(self.hash, wait)),
            Goal::Refresh => match &self.watch {
                Some(watched) => generations.begin_refresh(watched, wait),
                None => None,
            },
            _ => generations.begin_store(self.hash, self.generation),
        }
    }

    /// The function failed: whether its value is an expired entry (`stale_if_error`, then in
    /// the value slot) rather than its error, or one is looked for in the persistent tiers.
    /// Either way the flight fails, so that a waiter runs its own function rather than take
    /// this fallback.
    pub(super) fn failed(&mut self, v: &mut dyn Values<'a>) -> Failed {
        let shared = self.shared;
        self.phase = Phase::Over;
        // An entry removed or replaced since the call started is not served either. The
        // generation is its stripe's: when it moved (perhaps for another key), a caller's
        // `get_or_compute` that kept a fallback asks the memory tier whether the key still has
        // an entry past its ttl, which is then the one served, else the persistent tiers.
        let current =
            self.generations.current(self.hash) == self.generation && self.fallback_current();
        let fallback = match v.timed() {
            Some(timed) => timed.fallback(current, self.goal == Goal::Compute),
            // No entry of an untimed key form is past its ttl: no fallback.
            None => {
                v.discard(Slot::Value);
                Fallback::Missing
            }
        };
        let stale = matches!(fallback, Fallback::Served);
        if stale {
            // Not called again for the error backoff: the stale value is served meanwhile (also
            // to the waiters, which learn of the failure next).
            shared.outages.failed(self.hash, shared.clock.now_ms());
        }
        // Given up: its waiters go round again.
        self.leader = None;
        if stale {
            self.served_stale();
            log::stale_if_error(shared.namespace());
            return Failed::Stale;
        }
        match self.recheck(&fallback) {
            true => Failed::Recheck,
            false => Failed::Error,
        }
    }

    /// How writing to a persistent tier went: whether it took the value, or its failure.
    pub(super) fn wrote(&mut self, result: Result<bool>, v: &mut dyn Values<'a>) {
        let Phase::Write {
            tier: at,
            upto,
            fill,
        } = self.phase
        else {
            log::out_of_step("answers follow their step")
        };
        self.phase = Phase::Write {
            tier: at + 1,
            upto,
            fill,
        };
        let shared = self.shared;
        let e = match result {
            Ok(took) => {
                self.stored |= !fill && took;
                let tiers = tiers_of(v);
                (shared.stats).evictions_total(at, tiers.tier_name(at), tiers.tier_evictions(at));
                return;
            }
            Err(e) => e,
        };
        self.note_failure(at, &e);
        let backend = tiers_of(v).tier_name(at);
        if fill {
            shared.report(backend, "fill", &e);
        } else {
            shared.report(backend, "write", &e);
            self.store_error.get_or_insert(e);
        }
    }

    /// The writes of the store under way, at its first write (`Step::Write`), as a
    /// [`Planned`]; `None` when no store is under way, or every tier left to write is down.
    #[cfg(feature = "tokio")]
    pub(super) fn writes(&mut self) -> Option<Planned> {
        let Phase::Write { tier, upto, fill } = self.phase else {
            return None;
        };
        let tiers: Vec<(usize, Put)> = (tier..upto)
            .filter(|&t| !self.is_down(t))
            .map(|t| (t, self.put(t)))
            .collect();
        match tiers.is_empty() {
            true => None,
            false => Some(Planned {
                tiers,
                fill,
                stored: self.stored,
                store: self.storing.take()?.hand_over(),
            }),
        }
    }

    /// Every planned write was made.
    pub(super) fn written(&mut self, v: &mut dyn Values<'a>) {
        let Phase::Write { fill, .. } = self.phase else {
            log::out_of_step("called on the last write")
        };
        self.phase = Phase::Over;
        if !fill && self.stored {
            self.shared.stats.store();
        }
        self.finish(Slot::Entry, v);
        // Every tier written, the store ended, the waiters answered.
        if let Some(displaced) = self.displaced.take()
            && let Some(panic) = displaced.release()
        {
            std::panic::resume_unwind(panic);
        }
    }

    /// The call has its value (at `from`): hand it to the waiters, release the lock.
    pub(super) fn finish(&mut self, from: Slot, v: &mut dyn Values<'a>) {
        // The store ends first: handing the value over takes the flight's stripe lock, which a
        // waiter's key `Eq` may hold while it asks for an invalidation of the key — one that
        // would wait for this store, whose end would wait for it (helper-115: 10 s).
        self.storing = None;
        v.finish(from, self.leader.take());
        self.held = None;
        self.phase = Phase::Done;
    }

    /// Whether `insert`'s value went unstored because its own ttl is zero (no read would accept
    /// it): the caller removes the older entry instead.
    pub(super) fn discarded(&self) -> bool {
        // Not whether some tier took it: an insert whose writes an invalidation took over
        // stored nothing either, and a removal then could take a later insert's value out.
        self.goal == Goal::Store && self.zero_ttl
    }
}

/// The writes of a store under way, as the core planned them ([`Core::writes`]).
#[cfg(feature = "tokio")]
pub(in crate::cache) struct Planned {
    /// The tiers it will ask for, in order: from the one asked for on, the tiers that are up;
    /// how each is written.
    pub(in crate::cache) tiers: Vec<(usize, Put)>,
    /// Whether they fill tiers with a value read from a later one (rather than store the
    /// call's): their failures are reported as fills.
    pub(in crate::cache) fill: bool,
    /// Whether a tier before them (the memory tier) took the value already, which a call
    /// dropped before its writes end counts as its store ([`Core::written`]).
    pub(in crate::cache) stored: bool,
    /// The call's store, handed over to whoever makes the writes, so that invalidations wait
    /// for them wherever they run; still counted as under way until it drops.
    pub(in crate::cache) store: Handed,
}

/// A value's own ttl in milliseconds, rounded up as every duration the user gives
/// ([`ceil_ms`](crate::clock::ceil_ms)): only a zero ttl is zero, "stored nowhere"
/// (compiled once, not per cache type).
pub(super) fn millis(ttl: Option<std::time::Duration>) -> Option<u64> {
    ttl.map(crate::clock::ceil_ms)
}
