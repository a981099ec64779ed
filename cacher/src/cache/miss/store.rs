//! The end of the miss path: the function's value is stored in every tier (or not, when the key
//! was invalidated meanwhile), its failure served from a stale entry when allowed, and the value
//! handed to the waiters.

use std::hash::Hash;

use super::{Goal, Miss, State, log};
use crate::cache::generation::Storing;
use crate::cache::inner::Memory;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::key::KeyRef;

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// The function's value: store it, unless the key was invalidated while it was computed (its
    /// callers still get it).
    #[inline]
    pub(in crate::cache) fn computed(&mut self, value: V) {
        let inner = self.inner;
        if self.goal.counts_miss() {
            inner.stats.miss();
        }
        if self.goal != Goal::Store {
            inner.outages.recovered(self.hash);
        }
        // A `ttl_fn` that panics costs the entry (as a zero ttl), not the caller's value.
        let ttl_ms = millis(inner.ttl_of(&value));
        // A value whose own ttl is zero is its callers' only: no read would accept it.
        if ttl_ms == Some(0) {
            return self.finish(value);
        }
        let Some(storing) = self.begin_store() else {
            // Invalidated while it was computed: its callers get it, the tiers keep what the
            // invalidation left.
            return self.finish(value);
        };
        self.storing = Some(storing);
        let upto = if self.key.is_some() {
            inner.backends.len()
        } else {
            0
        };
        // Times are read only by a cache whose entries age, and by the persistent tiers (whose
        // entries record them): a memory-only cache without a ttl reads no clock.
        let created_ms = if inner.timed || upto > 0 {
            inner.clock.now_ms()
        } else {
            0
        };
        let mut entry = Entry {
            value,
            created_ms,
            ttl_ms,
            touched_ms: created_ms,
            expires_ms: None,
        };
        entry.expires_ms = inner.ttl.expires_ms(entry.stamp());
        if let Some(memory) = &inner.memory {
            let inserted =
                memory.insert(self.call.key.to_key(), entry.value.clone(), entry.stamp());
            inner.stats.evicted("memory", inserted.evicted);
            self.displaced = inserted.displaced;
            if inserted.skipped && self.goal == Goal::Store {
                // From a key's `Eq` or a value's `Clone` under the key's shard lock: no tier is
                // written, and the insert says so (a computed value just goes unstored).
                self.store_error = Some(log::skipped_insert());
                return self.finish(entry.value);
            }
            self.stored = !inserted.skipped;
        }
        self.state = State::Write {
            entry,
            tier: 0,
            upto,
            fill: false,
        };
    }

    /// The start of the store of the call's value: an `insert`'s stands all the same, stored
    /// alone in its stripe (not a refresh's: computed from a source that a removal since may
    /// have made out of date); any other only if nothing was invalidated since the call began.
    fn begin_store(&self) -> Option<Storing<'a>> {
        let inner = self.inner;
        match self.goal {
            Goal::Store => Some(inner.flights.begin_insert(self.hash, inner.store_wait())),
            _ => inner.flights.begin_store(self.hash, self.generation),
        }
    }

    /// The function failed: its error, or an expired entry if `stale_if_error` allows. Either way
    /// the flight fails, so that a waiter runs its own function rather than take this fallback.
    pub(in crate::cache) fn failed<E>(&mut self, error: E) -> Result<V, E> {
        let inner = self.inner;
        // A failed background refresh is counted as an error (`refresh_failed`), not a miss.
        if self.goal.counts_miss() {
            inner.stats.miss();
        }
        self.state = State::Over;
        // An entry removed or replaced since the call started is not served either. The
        // generation is its stripe's: when it moved (perhaps for another key), a caller's
        // `get_or_compute` that kept a fallback asks the memory tier whether the key still has
        // an entry past its ttl, which is then the one served.
        let current = inner.flights.generation(self.hash) == self.generation;
        let stale = match (current, self.stale.is_some() && self.goal == Goal::Compute) {
            (true, _) => self.stale.take(),
            (false, true) => match inner.lookup_memory(self.call.key) {
                Memory::Stale(value) | Memory::Revalidate(value) => Some(value),
                _ => None,
            },
            (false, false) => None,
        };
        if stale.is_some() {
            // Not called again for the error backoff: the stale value is served meanwhile (also
            // to the waiters, which learn of the failure next).
            inner.outages.failed(self.hash, inner.clock.now_ms());
        }
        drop(self.leader.take());
        match stale {
            Some(value) => {
                self.served_stale();
                log::stale_if_error(inner.namespace());
                Ok(value)
            }
            None => Err(error),
        }
    }

    /// How writing to a persistent tier went.
    pub(in crate::cache) fn wrote(&mut self, result: Result<()>) {
        let State::Write { tier, fill, .. } = &mut self.state else {
            log::out_of_step("answers follow their step")
        };
        let (at, fill) = (*tier, *fill);
        *tier += 1;
        let Err(e) = result else {
            self.stored |= !fill;
            let backend = &self.inner.backends[at];
            (self.inner.stats).evictions_total(at, backend.name(), backend.evictions());
            return;
        };
        self.note_failure(at, &e);
        let backend = self.inner.backends[at].name();
        if fill {
            self.inner.report(backend, "fill", &e);
        } else {
            self.inner.report(backend, "write", &e);
            self.store_error.get_or_insert(e);
        }
    }

    /// Every planned write was made.
    #[inline]
    pub(super) fn written(&mut self) {
        let State::Write { entry, fill, .. } = std::mem::replace(&mut self.state, State::Over)
        else {
            log::out_of_step("called on the last write")
        };
        if !fill && self.stored {
            self.inner.stats.store();
        }
        self.finish(entry.value);
        // Every tier written, the store ended, the waiters answered.
        if let Some(displaced) = self.displaced.take()
            && let Some(panic) = displaced.release()
        {
            std::panic::resume_unwind(panic);
        }
    }

    /// The call has its value: hand it to the waiters, release the lock.
    #[inline]
    pub(super) fn finish(&mut self, value: V) {
        if let Some(leader) = self.leader.take() {
            leader.complete(&value);
        }
        self.storing = None;
        self.held = None;
        self.state = State::Done(value);
    }

    /// Whether `insert`'s value went unstored because its own ttl is zero (no read would accept
    /// it): the caller removes the older entry instead.
    pub(in crate::cache) fn discarded(&self) -> bool {
        self.goal == Goal::Store && !self.stored && self.store_error.is_none()
    }

    /// The first failure to store the value, for `insert`.
    pub(in crate::cache) fn store_error(self) -> Option<Error> {
        self.store_error
    }
}

/// A value's own ttl in milliseconds (compiled once, not per cache type).
fn millis(ttl: Option<std::time::Duration>) -> Option<u64> {
    let ttl = ttl?;
    Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}
