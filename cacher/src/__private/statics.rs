//! The statics a `#[cached]` function keeps its cache in, named through its key and value types:
//! `<(K, V) as Statics>::Function`. A value that cannot be kept (an `Rc`, a `RefCell`) is then
//! the value's one error, [`CachedValue`]'s, rather than two more of the static's `Sync`, which
//! list cacher's private types.

use super::{CachedValue, FunctionSlot, PerType};

/// The statics of a function whose key is `K` and value `V`, the pair.
pub trait Statics {
    /// A function's: its cache, once found.
    type Function;
    /// A method's: its cache per `Self` type.
    type Method;
}

impl<K: Send + Sync + 'static, V: CachedValue> Statics for (K, V) {
    type Function = FunctionSlot<K, V>;
    type Method = PerType<K, V>;
}
