//! Entries past their ttl, and uses to record: the one place that decides a stale value is
//! served — within `stale_while_revalidate` (claiming one background refresh), or while the
//! function backs off after a failure — and that records a use for `time_to_idle`.
//!
//! A lookup report says `Origin::Stale` exactly when [`Core::served_stale`] ran: the stale
//! values served at once here, and the `stale_if_error` fallback of a failed function (not a
//! fresh entry that the look for it found in a tier: a hit).

use super::{Core, Goal, Pass, Phase, Slot, Values, log};
use crate::cache::claim::Ticket;
use crate::cache::origin::Origin;
use crate::entry::Stamp;
use crate::error::Result;
use crate::policy::Freshness;

/// What came of a failed call's fallback ([`Timed::fallback`](super::values::Timed::fallback);
/// `Missing` for a key form whose cache ages no entry, which has no [`Values::timed`]).
pub(in crate::cache) enum Fallback {
    /// Made the call's value.
    Served,
    /// Kept, but the key's stripe was invalidated since and the memory tier no longer holds the
    /// key past its ttl: it may have been removed or replaced, and is not served.
    Doubtful,
    /// None kept.
    Missing,
}

/// How a failed function's call goes on ([`Core::failed`]).
pub(in crate::cache) enum Failed {
    /// With the function's error.
    Error,
    /// With a stale value, in the value slot.
    Stale,
    /// Looking in the persistent tiers for what they hold for the key now (its doubtful fallback
    /// read from one, or evicted from memory): the steps go on, and end with a value or none
    /// (then the function's error).
    Recheck,
}

impl<'a> Core<'a> {
    /// An entry past its ttl (`Revalidate` or `Stale`, its value at `from`), found on the call's
    /// first look. Served at once within `stale_while_revalidate` when the call's function can
    /// run in the background (which this call then does, unless a refresh of the key is under
    /// way or the function is backing off), or within either window while the function backs
    /// off after a failure; otherwise kept as the fallback if the function fails.
    /// `stamp` is the entry's times when it was read from a persistent tier.
    pub(super) fn past_ttl(
        &mut self,
        from: Slot,
        freshness: Freshness,
        stamp: Option<Stamp>,
        v: &mut dyn Values<'a>,
    ) {
        let shared = self.shared;
        if self.goal != Goal::Compute {
            return v.discard(from);
        }
        let backing_off = shared.outages.backing_off(self.hash, shared.clock.now_ms());
        match freshness {
            Freshness::Revalidate if self.detach => {
                if !backing_off {
                    self.refresh = shared.refreshing.claim(self.hash, self.generation);
                }
                self.serve_stale(from, v);
            }
            _ if backing_off => {
                log::backing_off(shared.namespace());
                self.serve_stale(from, v);
            }
            _ => {
                let kept = match v.timed() {
                    Some(timed) => timed.keep_stale(from),
                    None => {
                        v.discard(from);
                        false
                    }
                };
                if kept {
                    self.early = from == Slot::Value;
                    self.stale_stamp = stamp;
                }
            }
        }
    }

    /// Whether the fallback kept may be served as of the generation's note: not an early one,
    /// which is looked for in the memory tier as after an invalidation (one between the lookup
    /// and the generation's note — from another thread, or the key's `Hash` where a call runs
    /// it again for its flight — left the generation as the call noted it), nor one read from
    /// a tier that outlived its window while the function ran (the memory tier's answer and the
    /// tiers' are judged now).
    pub(super) fn fallback_current(&self) -> bool {
        let shared = self.shared;
        !self.early
            && self.stale_stamp.is_none_or(|stamp| {
                let now_ms = shared.ttl.now_ms(stamp, &shared.clock);
                !matches!(shared.ttl.freshness(stamp, now_ms), Freshness::Expired)
            })
    }

    /// The call's value is a stale entry, served at once.
    fn serve_stale(&mut self, from: Slot, v: &mut dyn Values<'a>) {
        self.served_stale();
        self.finish(from, v);
    }

    /// The call's value is a stale entry (served at once, or as the fallback of a failed
    /// function): counted, and reported as `Origin::Stale`, here only.
    pub(super) fn served_stale(&mut self) {
        self.origin = Origin::Stale;
        self.shared.stats.stale_served();
    }

    /// A fresh memory entry (its value in the value slot) whose use is due to be recorded
    /// (`time_to_idle`): recorded in the memory tier, under its read lock (at most once per
    /// quarter idle window, not once per hit), and served.
    ///
    /// Not in the persistent tiers: a use recorded there is a rewrite of the entry, which a file
    /// cannot make only if it still holds the write the use is of, in one step (and
    /// `PersistentBackend` has no such operation for the tiers that could) — another process's
    /// write landing between a check and the rewrite would be overwritten with the older value
    /// (docs/RELIABILITY.md, session 9). A persistent entry's idle window counts from its write.
    pub(super) fn touch(&mut self, v: &mut dyn Values<'a>) {
        let shared = self.shared;
        shared.stats.hit("memory");
        self.origin = Origin::Hit;
        if let (true, Some(timed)) = (self.memory, v.timed()) {
            timed.touch_memory(shared.clock.now_ms());
        }
        self.finish(Slot::Value, v);
    }

    /// A tier's answer to the look for a failed function's fallback ([`Failed::Recheck`]): an
    /// entry the tier holds for the key now, fresh or past its ttl but servable, is served as a
    /// call starting now would find it (a fresh one is a hit, not a stale value: `Origin::Hit`,
    /// neither counted nor logged as stale); never the doubtful one kept, which a removal may
    /// have taken out of every tier since, or a newer value replaced.
    pub(super) fn read_fallback(
        &mut self,
        tier: usize,
        answer: Result<Option<Stamp>>,
        v: &mut dyn Values<'a>,
    ) {
        let shared = self.shared;
        match answer {
            Ok(Some(stamp)) => {
                let now_ms = shared.ttl.now_ms(stamp, &shared.clock);
                let freshness = shared.ttl.freshness(stamp, now_ms);
                if !matches!(freshness, Freshness::Expired) {
                    shared.outages.failed(self.hash, shared.clock.now_ms());
                    if matches!(freshness, Freshness::Fresh) {
                        self.origin = Origin::Hit;
                    } else {
                        self.served_stale();
                        log::stale_if_error(shared.namespace());
                    }
                    return self.finish(Slot::Entry, v);
                }
                v.discard(Slot::Entry);
            }
            Ok(None) => {}
            Err(e) => self.note_failure(tier, &e),
        }
        self.phase = Phase::Read {
            tier: tier + 1,
            pass: Pass::Fallback,
        };
    }

    /// Whether a failed call with a doubtful fallback looks for it in the persistent tiers.
    pub(super) fn recheck(&mut self, fallback: &Fallback) -> bool {
        let look = matches!(fallback, Fallback::Doubtful) && self.key.is_some() && self.tiers > 0;
        if look {
            self.phase = Phase::Read {
                tier: 0,
                pass: Pass::Fallback,
            };
        }
        look
    }

    /// The background refresh this call claimed, if any: its caller hands it the function.
    pub(super) fn take_refresh(&mut self) -> Option<Ticket> {
        self.refresh.take()
    }

    /// A background refresh, claimed by `ticket`, failed: the stale entry stays, the function
    /// backs off. The claim is let go once the backoff has begun and before the failure is
    /// counted: whoever sees the count and calls past the backoff claims the next refresh.
    pub(super) fn refresh_failed(&self, ticket: Ticket) {
        let shared = self.shared;
        shared.outages.failed(self.hash, shared.clock.now_ms());
        drop(ticket);
        shared.stats.error("refresh");
        log::refresh_failed(shared.namespace());
    }
}
