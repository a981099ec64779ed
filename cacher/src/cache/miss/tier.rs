//! A persistent tier as the miss path reaches it: the tier and the identity of a call's entry
//! in it, an entry read kept in the shell's slot, and the refusal of a tier asked of a
//! memory-only key form (whose tiers' code is not compiled: `KeyRef::PERSISTENT`).

use super::{Core, log};
use crate::backend::PersistentBackend;
use crate::cache::call::Call;
use crate::cache::inner::Inner;
use crate::cache::tier_io::{bit, down_in};
use crate::entry::{Entry, EntryKey, Stamp};
use crate::error::{Error, Result};

impl Core<'_> {
    /// A tier whose service failed (not a corrupt entry, which a write repairs) is down for
    /// the rest of the call.
    pub(super) fn note_failure(&mut self, tier: usize, error: &Error) {
        if error.is_service_failure() {
            self.down |= bit(tier);
        }
    }

    pub(super) fn is_down(&self, tier: usize) -> bool {
        down_in(self.down, tier)
    }
}

/// Persistent tier `tier` and the identity of the entry under the persistent `key`.
pub(super) fn tier_of<'a, K, V: 'static, Q: ?Sized>(
    inner: &'a Inner<K, V>,
    call: &'a Call<'a, Q>,
    key: Option<&'a str>,
    tier: usize,
) -> (&'a dyn PersistentBackend<V>, EntryKey<'a>) {
    let Some(key) = key else {
        log::out_of_step("tiers are read and written only with a persistent key")
    };
    let entry_key = inner.shared.naming.entry_key::<V>(key, call.args());
    (&*inner.backends[tier], entry_key)
}

/// A tier asked of a memory-only key form's miss, which has none.
#[cold]
pub(in crate::cache) fn no_tiers() -> ! {
    log::out_of_step("a memory-only key form's core asks for no tier")
}

/// Keeps a tier's entry in the shell's slot, and hands its times to the core. Generic over the
/// value type only.
pub(super) fn park<V>(
    slot: &mut Option<Entry<V>>,
    answer: Result<Option<Entry<V>>>,
) -> Result<Option<Stamp>> {
    match answer {
        Ok(Some(entry)) => {
            let stamp = entry.stamp();
            *slot = Some(entry);
            Ok(Some(stamp))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    }
}
