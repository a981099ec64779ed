//! Entries past their ttl, and uses to record: the one place that decides a stale value is
//! served — within `stale_while_revalidate` (claiming one background refresh), or while the
//! function backs off after a failure — and that records a use for `time_to_idle`.
//!
//! A lookup report says `Origin::Stale` exactly when [`Core::served_stale`] ran: the stale
//! values served at once here, and the `stale_if_error` fallback of a failed function (not a
//! fresh entry that the look for it found in a tier: a hit).

use super::{Core, Goal, Pass, Phase, Slot, Values, log};
use crate::cache::origin::Origin;
use crate::cache::refresh::Ticket;
use crate::entry::Stamp;
use crate::error::Result;
use crate::policy::Freshness;

/// What came of a failed call's fallback ([`Values::fallback`]).
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
    pub(super) fn past_ttl(&mut self, from: Slot, freshness: Freshness, v: &mut dyn Values<'a>) {
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
            _ => v.keep_stale(from),
        }
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
    /// (`time_to_idle`): in the memory tier under its read lock, and in the first persistent
    /// tier (that is up) if it holds the same write (at most once per quarter idle window, not
    /// once per hit).
    ///
    /// The persistent entry is read first and rewritten (with the use) only if it is the write
    /// the memory entry came from (the same creation time): the value this call read from memory
    /// may be older than the tier's (another process's write, or this one's `insert`, `remove`
    /// or `clear` since the read), and writing it back would bring the older value back.
    pub(super) fn touch(&mut self, stamp: Stamp, v: &mut dyn Values<'a>) {
        let shared = self.shared;
        shared.stats.hit("memory");
        self.origin = Origin::Hit;
        if self.memory {
            v.touch_memory(shared.clock.now_ms());
        }
        if self.key.is_none() {
            return self.finish(Slot::Value, v);
        }
        self.touching = Some(stamp.created_ms);
        self.phase = Phase::Read {
            tier: 0,
            pass: Pass::Touch,
        };
    }

    /// The first persistent tier's answer to the read of a use to record: the same write is
    /// rewritten with the use, holding the memory entry's value (two writes of one millisecond
    /// look the same: the tier then takes the value this process serves, never the reverse);
    /// anything else is left as it is. Memory keeps its entry.
    pub(super) fn read_touched(
        &mut self,
        tier: usize,
        answer: Result<Option<Stamp>>,
        v: &mut dyn Values<'a>,
    ) {
        let Some(created_ms) = self.touching.take() else {
            log::out_of_step("a touch keeps its value until it is written or served")
        };
        let shared = self.shared;
        match answer {
            Ok(Some(stamp)) if stamp.created_ms == created_ms => {
                let Some(storing) = self.generations.begin_store(self.hash, self.generation) else {
                    self.finish(Slot::Value, v);
                    return v.discard(Slot::Entry);
                };
                self.storing = Some(storing);
                let stamp = Stamp {
                    touched_ms: shared.clock.now_ms(),
                    ..stamp
                };
                v.set_entry(Slot::Value, stamp, shared.ttl.expires_ms(stamp));
                self.phase = Phase::Write {
                    tier,
                    upto: tier + 1,
                    fill: true,
                };
            }
            Ok(_) => {
                self.finish(Slot::Value, v);
                v.discard(Slot::Entry);
            }
            Err(e) => {
                self.note_failure(tier, &e);
                shared.report(v.tier_name(tier), "read", &e);
                self.finish(Slot::Value, v);
            }
        }
    }

    /// No persistent tier had the write whose use was to be recorded: the memory entry's value
    /// is the call's.
    pub(super) fn touched(&mut self, v: &mut dyn Values<'a>) {
        match self.touching.take() {
            Some(_) => self.finish(Slot::Value, v),
            None => log::out_of_step("a touch keeps its value until it is written or served"),
        }
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

    /// A background refresh failed: the stale entry stays, the function backs off.
    pub(super) fn refresh_failed(&self) {
        let shared = self.shared;
        shared.stats.error("refresh");
        shared.outages.failed(self.hash, shared.clock.now_ms());
        log::refresh_failed(shared.namespace());
    }
}
