//! What the blocking driver and the cache ask of a miss ([`Miss`]): its steps up to the
//! function's run, the function's outcome handed in, and what the call ended with — its value,
//! origin, a background refresh to start, the store's failure.

use std::hash::Hash;

use super::{Failed, Miss, log};
use crate::cache::claim::Ticket;
use crate::error::Error;
use crate::key::KeyRef;

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// The function's value: store it, unless the key was invalidated while it was computed.
    #[inline]
    pub(in crate::cache) fn computed(&mut self, value: V) {
        self.shell.value = Some(value);
        self.core.computed(&mut self.shell);
    }

    /// The function failed: the value to serve instead, an expired entry if `stale_if_error`
    /// allows (looked for again in the persistent tiers, blocking, when its key's stripe was
    /// invalidated); `None` to return the function's error. Not generic over the error (the
    /// driver pairs the two): one copy per cache type and key form, not one more per error type
    /// and one for every infallible function (compile time).
    pub(in crate::cache) fn failed(&mut self) -> Option<V> {
        match self.core.failed(&mut self.shell) {
            Failed::Stale => Some(self.value()),
            Failed::Error => None,
            Failed::Recheck => {
                // Reads, then `Step::Done`: the value if a tier held one.
                let _done = self.core.advance(&mut self.shell);
                self.shell.value.take()
            }
        }
    }

    /// The call's value, at [`Step::Done`](super::Step::Done).
    #[inline]
    pub(in crate::cache) fn value(&mut self) -> V {
        match self.shell.value.take() {
            Some(value) => value,
            None => log::out_of_step("the value is ready when the core says so"),
        }
    }

    /// The persistent key the call made, for a later call of the same key ([`Call::again`](crate::cache::call::Call::again)).
    pub(in crate::cache) fn made(&self) -> Option<crate::cache::call::Made> {
        self.shell.call.made()
    }

    /// The background refresh this call claimed, if any: its caller hands it the function.
    pub(in crate::cache) fn take_refresh(&mut self) -> Option<Ticket> {
        self.core.take_refresh()
    }

    /// A background refresh, claimed by `ticket`, failed: the stale entry stays, the function
    /// backs off, and the claim is let go.
    pub(in crate::cache) fn refresh_failed(&self, ticket: Ticket) {
        self.core.refresh_failed(ticket);
    }

    /// Whether `insert`'s value went unstored because its own ttl is zero.
    pub(in crate::cache) fn discarded(&self) -> bool {
        self.core.discarded()
    }

    /// The first failure to store the value, for `insert`.
    pub(in crate::cache) fn store_error(&mut self) -> Option<Error> {
        self.core.store_error.take()
    }
}
