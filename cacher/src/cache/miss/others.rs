//! The other callers of a key: joining its flight (lead, or wait for the leader), how the wait
//! ended, and the cross-process lock a leader takes before computing.

use crate::reentry::UserCode;

use super::{Core, Pass, Phase, Values, log};
use crate::cache::flight::{Flight, Outcome};
use crate::error::Result;
use crate::lock::FlightGuard;

/// How a wait for another caller ended (the flight's `Outcome` without its value, which the
/// shell keeps).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::cache) enum Waited {
    /// The leader's value, in the value slot.
    Value,
    /// The leader failed: try again.
    Failed,
    /// The bound passed.
    TimedOut,
    /// The leader is this very thread.
    Reentrant,
}

impl<'a> Core<'a> {
    /// Single-flight: lead the computation of this key, or wait for its leader.
    pub(super) fn join(&mut self, v: &mut dyn Values<'a>) {
        // From a key's `Eq` or `Clone`, or a value's `Clone`, running under one of cacher's
        // locks (a memory shard's, a flight stripe's), no flight is joined: its leader may be
        // waiting for that very lock, or this thread hold the stripe's (`reentry.rs`).
        if UserCode::running() {
            self.phase = Phase::Compute;
            return;
        }
        match v.join(self.hash).seat(&mut self.leader, &mut self.flight) {
            true => self.look_again(Pass::AfterJoin, v),
            false => self.phase = Phase::Wait,
        }
    }

    /// The flight to wait for, for [`Step::Wait`](super::Step::Wait).
    pub(in crate::cache) fn flight(&self) -> &Flight {
        match &self.flight {
            Some(flight) => flight,
            None => log::out_of_step("waits are planned with their flight"),
        }
    }

    /// How the wait for another caller ended, for [`Step::Wait`](super::Step::Wait): both
    /// drivers' answer.
    pub(in crate::cache) fn waited_for(&mut self, outcome: Outcome, v: &mut dyn Values<'a>) {
        let waited = self.outcome(outcome, v);
        self.waited(waited, v);
    }

    /// How a wait ended, the leader's value taken into the shell; the flight kept only for a
    /// wait that timed out (to abandon).
    fn outcome(&mut self, outcome: Outcome, v: &mut dyn Values<'a>) -> Waited {
        let waited = match outcome {
            Outcome::Value => match v.take_handed(self.flight()) {
                true => Waited::Value,
                false => Waited::Failed,
            },
            Outcome::Failed => Waited::Failed,
            Outcome::TimedOut => return Waited::TimedOut,
            Outcome::Reentrant => Waited::Reentrant,
        };
        self.flight = None;
        waited
    }

    /// How the wait for another caller ended.
    fn waited(&mut self, outcome: Waited, v: &mut dyn Values<'a>) {
        let Phase::Wait = self.phase else {
            log::out_of_step("answers follow their step")
        };
        self.phase = Phase::Compute;
        let shared = self.shared;
        match outcome {
            Waited::Value => self.serve_hit("flight", v),
            // The leader failed: start again; one of the waiters leads the next attempt.
            Waited::Failed => {
                let found = v.lookup(None);
                self.begin_round(found, v);
            }
            Waited::TimedOut => {
                log::waited_too_long(shared.namespace(), shared.wait_timeout);
                if let Some(flight) = self.flight.take() {
                    flight.abandon();
                }
            }
            Waited::Reentrant => log::reentrant(shared.namespace()),
        }
    }

    /// The leader takes the cross-process lock, when there is one, before computing.
    pub(super) fn plan_lock(&mut self, v: &mut dyn Values<'a>) {
        self.phase = Phase::Compute;
        // A tier is down, or a flight this one replaced (stuck, or begun before an
        // invalidation: perhaps this call's own caller) is under way, perhaps holding the lock:
        // waiting for it would cost more than computing, or never end.
        let stuck = matches!(&self.leader, Some(leader) if leader.replaced());
        if self.down != 0 || stuck {
            return;
        }
        if let (Some(_), Some(key)) = (&self.shared.flight_lock, self.key) {
            self.lock_name = Some(super::values::tiers_of(v).lock_name(key));
            self.phase = Phase::Lock;
        }
    }

    /// How taking the cross-process lock went. Whatever happened, the caller computes unless the
    /// lock's previous holder stored the value: a lock that fails costs a duplicate call, never a
    /// failed one.
    pub(in crate::cache) fn locked(
        &mut self,
        locked: Result<Option<FlightGuard<'a>>>,
        v: &mut dyn Values<'a>,
    ) {
        self.phase = Phase::Compute;
        match locked {
            Ok(Some(guard)) => {
                self.held = Some(guard);
                self.look_again(Pass::AfterLock, v);
            }
            Ok(None) => log::lock_waited(self.shared.namespace()),
            Err(e) => self.shared.report("lock", "lock", &e),
        }
    }
}
