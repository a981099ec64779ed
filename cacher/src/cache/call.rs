//! One call's key: the borrowed key it was made with, and the persistent key made from it at most
//! once, and only when a persistent tier is asked (a memory hit never serialises the key).
//!
//! The persistent key is made through `&mut` ([`Call::make_key`]), before the call is shared with
//! its miss: a plain field, where a `OnceLock` filled on first use cost a persistent hit two
//! atomic operations (≈ 4 % of a store hit).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::entry::EntryKey;
use crate::error::Result;
use crate::key::{self, AsKey, Borrowed, KeyError, KeyRef, Keyer};

/// What names a cache's entries: its namespace, version and code fingerprint, the key's argument names, and the
/// keyer that turns the canonical encoding of a key into the persistent key.
pub(super) struct Naming {
    pub(super) namespace: String,
    pub(super) version: Option<String>,
    /// The fingerprint of the code that computes values, recorded in entries.
    pub(super) code: Option<String>,
    pub(super) arg_names: &'static [&'static str],
    pub(super) keyer: Box<dyn Keyer>,
}

impl Naming {
    /// The persistent key of `key`, with the canonical text it was made from unless that is the
    /// key itself (most keys: one text made, not two).
    fn key_of<K, Q: KeyRef<K> + ?Sized>(&self, key: &Q) -> Made {
        match key::canonical(key, self.arg_names) {
            Ok(canonical) => Ok(self.key_from(canonical)),
            Err(e) => Err(e),
        }
    }

    /// The persistent key of a key's canonical text (compiled once, not per key form).
    fn key_from(&self, canonical: String) -> (String, Option<String>) {
        if self.keyer.keeps(&canonical) {
            return (canonical, None);
        }
        let key = self
            .keyer
            .key(&self.namespace, self.version.as_deref(), &canonical);
        (key, Some(canonical))
    }

    /// The identity an entry of `V` stored under `key` records; `args`, the arguments' canonical
    /// text, is recorded for listings.
    pub(super) fn entry_key<'a, V>(&'a self, key: &'a str, args: Option<&'a str>) -> EntryKey<'a> {
        EntryKey {
            namespace: &self.namespace,
            version: self.version.as_deref(),
            key,
            args,
            type_name: std::any::type_name::<V>(),
            code: self.code.as_deref(),
        }
    }
}

/// A call's persistent key and the canonical text it was made from (`None`: the key itself), or
/// why it could not be made.
pub(super) type Made = Result<(String, Option<String>), KeyError>;

/// One call's key. Its lock name is a `OnceLock`, not a `OnceCell`, so that async calls holding
/// it across an `.await` stay `Send`.
pub(super) struct Call<'q, Q: ?Sized> {
    pub(super) key: &'q Q,
    keys: Keys,
}

/// What a call makes of its key, once: the part of [`Call`] that does not depend on the key's
/// type, whose methods ([`Call`] derefs to it) are compiled once, not per key form.
pub(super) struct Keys {
    /// The keyer's key and the canonical text it was made from, once [`Call::make_key`] made it.
    persistent: Option<Made>,
    lock_name: OnceLock<String>,
}

impl<Q: ?Sized> std::ops::Deref for Call<'_, Q> {
    type Target = Keys;

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn deref(&self) -> &Keys {
        &self.keys
    }
}

impl<'q, Q: ?Sized> Call<'q, Q> {
    pub(super) fn new(key: &'q Q) -> Self {
        Self {
            key,
            keys: Keys {
                persistent: None,
                lock_name: OnceLock::new(),
            },
        }
    }

    /// A later call of the same key, made with its owned form (a background refresh), which
    /// takes the persistent key that the first call `made`: an owned key need not serialise as
    /// the form it was made from (an `Encoded` key serialises as its text, not as the value).
    pub(super) fn again(key: &'q Q, made: Option<Made>) -> Self {
        let mut call = Self::new(key);
        call.keys.persistent = made;
        call
    }

    /// Makes the keyer's key, unless it was made ([`again`](Self::again)): before
    /// [`persistent_key`](Keys::persistent_key), [`args`](Keys::args) or [`made`](Keys::made)
    /// are asked, and before the call is shared.
    pub(super) fn make_key<K>(&mut self, naming: &Naming)
    where
        Q: KeyRef<K>,
    {
        if self.keys.persistent.is_none() {
            self.keys.persistent = Some(naming.key_of(self.key));
        }
    }
}

impl Keys {
    /// The keyer's key for this call, which [`Call::make_key`] made (compiled once, not per key
    /// form).
    pub(super) fn persistent_key(&self) -> Result<&str> {
        match &self.persistent {
            Some(Ok((key, _))) => Ok(key),
            Some(Err(error)) => Err(error.clone().into()),
            None => unreachable!("a call's key is made before it is asked"),
        }
    }

    /// The persistent key, if it was made, for [`Call::again`].
    pub(super) fn made(&self) -> Option<Made> {
        self.persistent.clone()
    }

    /// The arguments' canonical text, once [`Call::make_key`] made it.
    pub(super) fn args(&self) -> Option<&str> {
        match &self.persistent {
            Some(Ok((key, canonical))) => Some(canonical.as_deref().unwrap_or(key)),
            _ => None,
        }
    }

    /// The cross-process lock's name for this call: the namespace and the persistent key.
    pub(super) fn lock_name(&self, naming: &Naming, key: &str) -> &str {
        self.lock_name
            .get_or_init(|| format!("{}:{key}", naming.namespace))
    }
}

/// The owned key of a later call of a key (a background refresh, an async refresh's removal),
/// looked up as itself, and saying what the first call's key form said ([`KeyRef::PERSISTENT`],
/// `PERSISTENT`): a later call of a memory-only form compiles no persistent tier's code either.
pub(super) struct Owned<'k, K, const PERSISTENT: bool>(pub(super) &'k K);

impl<K: std::hash::Hash, const PERSISTENT: bool> std::hash::Hash for Owned<'_, K, PERSISTENT> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<K: serde::Serialize, const PERSISTENT: bool> serde::Serialize for Owned<'_, K, PERSISTENT> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<K, const PERSISTENT: bool> KeyRef<K> for Owned<'_, K, PERSISTENT>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize,
{
    const PERSISTENT: bool = PERSISTENT;

    fn is_key(&self, key: &K) -> bool {
        self.0 == key
    }

    fn to_key(&self) -> K {
        self.0.clone()
    }
}

/// The persistent key and file a call of `key` has, without a call.
impl<K, V> super::Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The key that persistent tiers store `key` under (the keyer's output).
    ///
    /// # Errors
    /// [`Error::Key`](crate::Error::Key) when `key` cannot be serialised.
    pub fn key_of<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q) -> Result<String> {
        let key = &Borrowed::<Q, K, M>::new(key);
        let mut call = Call::new(key);
        call.make_key(&self.inner.shared.naming);
        call.persistent_key().map(str::to_owned)
    }

    /// The file that holds (or would hold) the entry for `key`, in the first tier that stores
    /// files.
    pub fn path_of<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q) -> Option<PathBuf> {
        let key = &Borrowed::<Q, K, M>::new(key);
        let inner = &*self.inner;
        let mut call = Call::new(key);
        call.make_key(&inner.shared.naming);
        let entry_key = inner
            .shared
            .naming
            .entry_key::<V>(call.persistent_key().ok()?, call.args());
        inner.backends.iter().find_map(|b| b.path_of(&entry_key))
    }
}
