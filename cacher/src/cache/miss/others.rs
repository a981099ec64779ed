//! The other callers of a key: joining its flight (lead, or wait for the leader), how the wait
//! ended, and the cross-process lock a leader takes before computing.

use crate::backend::under_shard_lock;
use std::hash::Hash;

use super::{Miss, Pass, State, log};
use crate::cache::flight::{Outcome, Role};
use crate::error::Result;
use crate::key::KeyRef;
use crate::lock::FlightGuard;

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// Single-flight: lead the computation of this key, or wait for its leader.
    #[inline]
    pub(super) fn join(&mut self) {
        // From a key's `Eq` or a value's `Clone` running under a shard's lock, no flight is
        // joined: its leader may be waiting for that very lock.
        if under_shard_lock() {
            self.state = State::Compute;
            return;
        }
        match self.inner.flights.join(self.hash, self.call.key) {
            Role::Leader(leader) => {
                self.leader = Some(leader);
                self.look_again(Pass::AfterJoin);
            }
            Role::Waiter(flight) => self.state = State::Wait(flight),
        }
    }

    /// How the wait for another caller ended.
    #[inline]
    pub(in crate::cache) fn waited(&mut self, outcome: Outcome<V>) {
        let State::Wait(flight) = std::mem::replace(&mut self.state, State::Compute) else {
            log::out_of_step("answers follow their step")
        };
        match outcome {
            Outcome::Value(value) => self.serve_hit(value),
            // The leader failed: start again; one of the waiters leads the next attempt.
            Outcome::Failed => self.begin_round(self.inner.lookup_memory(self.call.key)),
            Outcome::TimedOut => {
                log::waited_too_long(self.inner.namespace(), self.inner.wait_timeout);
                flight.abandon();
            }
            Outcome::Reentrant => log::reentrant(self.inner.namespace()),
        }
    }

    /// The leader takes the cross-process lock, when there is one, before computing.
    #[inline]
    pub(super) fn plan_lock(&mut self) {
        let inner = self.inner;
        self.state = State::Compute;
        // A tier is down, or the flight this one replaced is stuck, perhaps holding the lock:
        // waiting for it would cost more than computing.
        let stuck = match &self.leader {
            Some(leader) => leader.after_abandoned(),
            None => false,
        };
        if self.down != 0 || stuck {
            return;
        }
        if let (Some(_), Some(key)) = (&inner.flight_lock, self.key) {
            self.lock_name = Some(self.call.lock_name(&inner.naming, key));
            self.state = State::Lock;
        }
    }

    /// How taking the cross-process lock went. Whatever happened, the caller computes unless the
    /// lock's previous holder stored the value: a lock that fails costs a duplicate call, never a
    /// failed one.
    #[inline]
    pub(in crate::cache) fn locked(&mut self, locked: Result<Option<FlightGuard<'a>>>) {
        self.state = State::Compute;
        match locked {
            Ok(Some(guard)) => {
                self.held = Some(guard);
                self.look_again(Pass::AfterLock);
            }
            Ok(None) => log::lock_waited(self.inner.namespace()),
            Err(e) => self.inner.report("lock", "lock", &e),
        }
    }
}
