//! Looking a key up by a borrowed form, so that a hit allocates nothing.
//!
//! A `#[cached]` function taking `(endpoint: &str, user_id: u32)` stores its entries under an
//! owned key (`String`, `u32`) but looks them up with the borrowed arguments it was called with.
//! [`KeyRef`] is that borrowed form: it hashes, compares and serialises exactly like the owned
//! key, and makes one only when an entry is stored.

use std::hash::Hash;

use serde::Serialize;

/// A borrowed form of the key type `K`.
///
/// Implementations must keep three promises, on which the cache's correctness rests:
/// `hash(self) == hash(&self.to_key())`, `self.is_key(k) == (self.to_key() == *k)`, and
/// `self` serialises exactly as `self.to_key()` does (the persistent key comes from it).
///
/// Every key type is a `KeyRef` of itself, and `str` is one of `String`.
///
/// # Examples
///
/// ```
/// use cacher::Cache;
///
/// let cache: Cache<String, usize> = Cache::builder().build().unwrap();
/// // Look up by &str: no String is made on a hit.
/// assert_eq!(cache.get_or_compute("hello", || 5), 5);
/// assert_eq!(cache.get("hello"), Some(5));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a lookup form of a `{K}` key",
    label = "not the key, nor `str` for a `String` key",
    note = "the methods of `Cache` take any form of the key that `get` takes (`AsKey`): the key, `&str` for `String`, a tuple with borrowed parts (`&(\"/a\", 1)` for `(String, u32)`)"
)]
pub trait KeyRef<K>: Hash + Serialize {
    /// Whether a call with this form may reach a persistent tier. `false` only for the key of a
    /// `#[cached]` function whose cache has none (`__private::Args<_, false>`): such a call's
    /// miss path is compiled without the persistent tiers' code (their reads, writes and the
    /// key's canonical encoding), which its build then does not pay for. A cache with a
    /// persistent tier refuses such a key at its first miss or removal (a panic: the attribute
    /// never makes one for it). Not part of the API: do not override it.
    #[doc(hidden)]
    const PERSISTENT: bool = true;

    /// Whether a call with this form may reach a cache that ages its entries (a ttl, a `ttl_fn`
    /// or an idle time). `false` only for the key of a `#[cached]` function whose cache has none
    /// (`__private::Args<_, _, false>`): such a call's paths are compiled without the code of
    /// expiry (an entry's age, the stale fallbacks, a value's own ttl), as for
    /// [`PERSISTENT`](Self::PERSISTENT). Unlike it, nothing checks it at the lookup (that test
    /// is what it saves): the function's cache is built refusing a ttl, a `ttl_fn` or an idle
    /// time, and a timed cache given such a key would serve its memory entries as fresh. Not
    /// part of the API: do not override it.
    #[doc(hidden)]
    const TIMED: bool = true;

    /// Whether `key` is the owned form of `self`.
    fn is_key(&self, key: &K) -> bool;
    /// The owned key, made when an entry is stored.
    fn to_key(&self) -> K;
}

impl<K: Hash + Eq + Clone + Serialize> KeyRef<K> for K {
    fn is_key(&self, key: &K) -> bool {
        self == key
    }

    fn to_key(&self) -> K {
        self.clone()
    }
}

// Not listed in the errors of other forms, whose note says what to pass.
#[diagnostic::do_not_recommend]
impl KeyRef<String> for str {
    fn is_key(&self, key: &String) -> bool {
        self == key
    }

    fn to_key(&self) -> String {
        self.to_owned()
    }
}
