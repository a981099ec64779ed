//! The end of the miss path: the function's value is stored in every tier (or not, when the key
//! was invalidated meanwhile), its failure served from a stale entry when allowed, and the value
//! handed to the waiters.

use std::hash::Hash;

use super::{Goal, Miss, State};
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::key::KeyRef;

impl<K, V, Q> Miss<'_, K, V, Q>
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
        if self.goal == Goal::Compute {
            inner.stats.miss();
        }
        let Some(storing) = inner.flights.begin_store(self.hash, self.generation) else {
            // Invalidated while it was computed: its callers get it, the tiers keep what the
            // invalidation left.
            return self.finish(value);
        };
        self.storing = Some(storing);
        let created_ms = inner.clock.now_ms();
        if let Some(memory) = &inner.memory {
            memory.insert(self.call.key.to_key(), value.clone(), created_ms);
            self.stored = true;
        }
        let upto = if self.key.is_some() {
            inner.backends.len()
        } else {
            0
        };
        self.state = State::Write {
            entry: Entry { value, created_ms },
            tier: 0,
            upto,
            fill: false,
        };
    }

    /// The function failed: its error, or an expired entry if `stale_if_error` allows. Either way
    /// the flight fails, so that a waiter runs its own function rather than take this fallback.
    pub(in crate::cache) fn failed<E>(&mut self, error: E) -> Result<V, E> {
        let inner = self.inner;
        if self.goal != Goal::Store {
            inner.stats.miss();
        }
        self.state = State::Over;
        drop(self.leader.take());
        // An entry removed or replaced since the call started is not served either.
        let current = inner.flights.generation(self.hash) == self.generation;
        match self.stale.take().filter(|_| current) {
            Some(value) => {
                inner.stats.stale_served();
                tracing::warn!(
                    namespace = %inner.namespace(),
                    "the function failed; serving an expired entry (stale_if_error)"
                );
                Ok(value)
            }
            None => Err(error),
        }
    }

    /// How writing to a persistent tier went.
    pub(in crate::cache) fn wrote(&mut self, result: Result<()>) {
        let State::Write { tier, fill, .. } = &mut self.state else {
            unreachable!("answers follow their step")
        };
        let (at, fill) = (*tier, *fill);
        *tier += 1;
        let Err(e) = result else {
            self.stored |= !fill;
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
            unreachable!("called on the last write")
        };
        if !fill && self.stored {
            self.inner.stats.store();
        }
        self.finish(entry.value);
    }

    /// The call has its value: hand it to the waiters, release the lock.
    #[inline]
    pub(super) fn finish(&mut self, value: V) {
        if let Some(leader) = self.leader.take() {
            leader.complete(value.clone());
        }
        self.storing = None;
        self.held = None;
        self.state = State::Done(value);
    }

    /// The first failure to store the value, for `insert`.
    pub(in crate::cache) fn store_error(self) -> Option<Error> {
        self.store_error
    }
}
