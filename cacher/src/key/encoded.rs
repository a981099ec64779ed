//! [`Encoded`]: a key kept as its canonical text, for `#[cached(key = …)]`, whose expression's
//! type the cache's static cannot name.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Serialize, Serializer};

use super::{KeyRef, canonical};

/// A key kept as the [canonical text](super) of a value: the key type of a `#[cached]` function
/// with `key = …`, whatever the expression's type. Two values are the same key exactly when
/// their canonical texts are equal, which is when their persistent keys are.
///
/// The cost: each call serialises the expression's value to its canonical text (one allocation,
/// a hit included), where a function keyed by its arguments allocates nothing on a hit.
///
/// The plain-store methods take any serializable value for it: `fetch_cache().remove(&(url,
/// "/posts"))`. Nothing checks that value's type against the expression's: a value of another
/// type is another key (an integer literal is an `i32`: write `1u32`). `#[cached]`'s
/// `key_type = "…"` gives a typed key instead.
///
/// # Examples
///
/// ```
/// use cacher::Cache;
/// use cacher::key::Encoded;
///
/// let cache: Cache<Encoded, u32> = Cache::builder().build().unwrap();
/// cache.insert(&("https://a", 7), 1).unwrap();
/// assert_eq!(cache.get(&("https://a".to_string(), 7)), Some(1));
/// assert_eq!(cache.get(&("https://b", 7)), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Encoded(Box<str>);

impl Encoded {
    /// The canonical text, or one that equals no other when the value failed to serialize (such
    /// a call is never served from memory, nor its value kept there; the persistent tiers report
    /// the error).
    fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        static FAILED: AtomicU64 = AtomicU64::new(0);
        match canonical(value, &[]) {
            Ok(text) => Self(text.into()),
            Err(_) => Self(format!("\0{}", FAILED.fetch_add(1, Ordering::Relaxed)).into()),
        }
    }

    /// Whether `key` is an `Encoded` of a value that failed to serialize: a key no call finds
    /// again (each such call's text is its own), which the memory tier must not keep (every call
    /// would leave one more entry there for good).
    /// Not generic: a cache's key is given as `&dyn Any` (compiled once, not per key type).
    pub(crate) fn unfindable(key: &dyn std::any::Any) -> bool {
        match key.downcast_ref::<Self>() {
            Some(encoded) => encoded.0.starts_with('\0'),
            None => false,
        }
    }

    /// The canonical text.
    ///
    /// ```
    /// let cache: cacher::Cache<cacher::key::Encoded, u32> = cacher::Cache::builder().build().unwrap();
    /// assert_eq!(cache.key_of(&("/a", 1u32)).unwrap(), "(v2)%2Fa_1");
    /// // Untyped: an integer literal is an `i32`, another key than the `u32` 1.
    /// assert_eq!(cache.key_of(&("/a", 1)).unwrap(), "(v2)%2Fa_1i32");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never used to name an entry (the form a key is looked up by is serialized instead), since no
/// `Encoded` is made but from a value's text; as its text, for the bound of the cache.
impl Serialize for Encoded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A value standing for its [`Encoded`] key: hashed and compared by its canonical text, made
/// once, and serialized as itself. `PERSISTENT` and `TIMED` as [`KeyRef::PERSISTENT`] and
/// [`KeyRef::TIMED`] (false for a `#[cached]` function whose cache has only the memory tier, or
/// ages no entry).
#[doc(hidden)]
pub struct ByValue<'v, T: ?Sized, const PERSISTENT: bool = true, const TIMED: bool = true> {
    value: &'v T,
    encoded: Encoded,
}

impl<'v, T: Serialize + ?Sized, const PERSISTENT: bool, const TIMED: bool>
    ByValue<'v, T, PERSISTENT, TIMED>
{
    /// Encodes `value` once.
    pub fn new(value: &'v T) -> Self {
        Self {
            value,
            encoded: Encoded::of(value),
        }
    }
}

impl<T: ?Sized, const PERSISTENT: bool, const TIMED: bool> Hash
    for ByValue<'_, T, PERSISTENT, TIMED>
{
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.encoded.hash(state);
    }
}

impl<T: Serialize + ?Sized, const PERSISTENT: bool, const TIMED: bool> Serialize
    for ByValue<'_, T, PERSISTENT, TIMED>
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: Serialize + ?Sized, const PERSISTENT: bool, const TIMED: bool> KeyRef<Encoded>
    for ByValue<'_, T, PERSISTENT, TIMED>
{
    const PERSISTENT: bool = PERSISTENT;
    const TIMED: bool = TIMED;

    fn is_key(&self, key: &Encoded) -> bool {
        self.encoded == *key
    }
    fn to_key(&self) -> Encoded {
        self.encoded.clone()
    }
}

/// Any serializable value, for an [`Encoded`] key (by its text).
impl<T: Serialize + ?Sized> super::AsKey<Encoded, super::form::Encode> for T {
    fn hash_key<H: Hasher>(&self, state: &mut H) {
        Encoded::of(self).hash(state);
    }
    fn is_key(&self, key: &Encoded) -> bool {
        Encoded::of(self) == *key
    }
    fn to_key(&self) -> Encoded {
        Encoded::of(self)
    }
}
