//! The cache a `#[cached]` function builds at its first use: its options and memory tier set
//! without its types ([`settings`], then [`Settings`]' setters), the parts that name the value
//! type beside them ([`Typed`]), and the build, the only step compiled once per cache type.

use crate::Cache;
use crate::cache::{Settings, Typed};

/// The start of a `#[cached]` function's options: its namespace, the names of its key's
/// arguments, and the memory tier unless `memory` is false (bounded by `max_entries`). Not
/// generic: a function's options are set by code compiled once in cacher, not once per cache
/// type (compile time).
pub fn settings(
    namespace: &str,
    arg_names: &'static [&'static str],
    memory: bool,
    max_entries: Option<usize>,
) -> Settings {
    let memory = memory.then(|| {
        let mut tier = crate::backend::Tier::new();
        if let Some(n) = max_entries {
            tier.bounded(n);
        }
        tier
    });
    Settings::named(namespace, arg_names, memory)
}

/// Builds a cache whose options the attribute already validated; `PERSISTENT` is false for a
/// cache with the memory tier only (whose build then compiles no persistent tier's code),
/// `TIMED` false for one that ages no entry (no ttl, `ttl_fn` or idle time), as the function's
/// key form says ([`KeyRef::TIMED`](crate::KeyRef::TIMED)).
///
/// # Panics
/// When the runtime refuses a combination the attribute let through — a bug in `#[cached]`.
pub fn build<K, V, const PERSISTENT: bool, const TIMED: bool>(
    settings: Settings,
    typed: Typed<V>,
) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    match crate::cache::finish::<K, V, PERSISTENT, TIMED>(settings, typed) {
        Ok(cache) => cache,
        Err(e) => refused(&e),
    }
}

/// [`build`]'s panic, compiled once rather than in a closure per cache type.
#[cold]
fn refused(e: &crate::Error) -> ! {
    panic!("#[cached] produced an invalid cache (a cacher bug): {e}")
}

/// A persistent tier of a `#[cached]` function ([`add_tier`]).
pub trait Tier {
    /// The tier, boxed for values of type `V`.
    fn boxed<V: super::StoredValue>(self) -> Box<dyn crate::PersistentBackend<V>>;
}

impl<F: crate::format::Formatter> Tier for crate::SeparateFileBackend<F> {
    fn boxed<V: super::StoredValue>(self) -> Box<dyn crate::PersistentBackend<V>> {
        Box::new(self)
    }
}

impl<F: crate::format::Formatter> Tier for crate::StoreBackend<F> {
    fn boxed<V: super::StoredValue>(self) -> Box<dyn crate::PersistentBackend<V>> {
        Box::new(self)
    }
}

#[cfg(feature = "redis")]
impl<F: crate::format::Formatter> Tier for crate::RedisBackend<F> {
    fn boxed<V: super::StoredValue>(self) -> Box<dyn crate::PersistentBackend<V>> {
        Box::new(self)
    }
}

/// Adds `tier` to a `#[cached]` function's typed parts, asking of the value only what
/// `require_stored_value` asks (the attribute spans both at the return type): a value no tier
/// can store is that one error, where `CacheBuilder::backend` added the backend's own bounds
/// (`Send`, `Sync`) as more errors at the same place.
pub fn add_tier<V: super::StoredValue>(mut typed: Typed<V>, tier: impl Tier) -> Typed<V> {
    typed.persistent.push(tier.boxed());
    typed
}
