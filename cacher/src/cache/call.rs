use std::sync::OnceLock;

use super::Inner;
use crate::error::Result;
use crate::key::{self, KeyError};
use crate::key_ref::KeyRef;

/// One call's key, with the persistent key made at most once and only when a persistent tier is
/// asked (a memory hit never serialises the key). A `OnceLock`, not a `OnceCell`, so that async
/// calls holding it across an `.await` stay `Send`.
pub(super) struct Call<'q, Q: ?Sized> {
    pub(super) key: &'q Q,
    persistent: OnceLock<Result<String, KeyError>>,
}

impl<'q, Q: ?Sized> Call<'q, Q> {
    pub(super) fn new(key: &'q Q) -> Self {
        Self {
            key,
            persistent: OnceLock::new(),
        }
    }

    /// The keyer's key for this call.
    pub(super) fn persistent_key<K, V>(&self, inner: &Inner<K, V>) -> Result<&str>
    where
        Q: KeyRef<K>,
    {
        let made = self.persistent.get_or_init(|| {
            let canonical = key::canonical(self.key, inner.arg_names)?;
            Ok(inner
                .keyer
                .key(&inner.namespace, inner.version.as_deref(), &canonical))
        });
        match made {
            Ok(key) => Ok(key),
            Err(error) => Err(error.clone().into()),
        }
    }
}
