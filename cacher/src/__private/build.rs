//! The cache a `#[cached]` function builds at its first use: the start of its builder (the
//! parts every function has) and the build, each compiled once per cache type rather than in
//! every function.

use crate::{Cache, CacheBuilder};

/// The start of a `#[cached]` function's builder: its namespace, the names of its key's
/// arguments, and the memory tier unless `memory` is false (bounded by `max_entries`). One
/// function per cache type, rather than the same chain of calls compiled in each function
/// (compile time).
pub fn builder<K, V>(
    namespace: &str,
    arg_names: &'static [&'static str],
    memory: bool,
    max_entries: Option<usize>,
) -> CacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let memory = match (memory, max_entries) {
        (false, _) => None,
        (true, Some(n)) => Some(crate::MemoryBackend::new().max_entries(n)),
        (true, None) => Some(crate::MemoryBackend::new()),
    };
    CacheBuilder::named(namespace, arg_names, memory)
}

/// Builds a cache whose options the attribute already validated; `PERSISTENT` is false for a
/// cache with the memory tier only (whose build then compiles no persistent tier's code),
/// `TIMED` false for one that ages no entry (no ttl, `ttl_fn` or idle time), as the function's
/// key form says ([`KeyRef::TIMED`](crate::KeyRef::TIMED)).
///
/// # Panics
/// When the runtime refuses a combination the attribute let through — a bug in `#[cached]`.
pub fn build<K, V, const PERSISTENT: bool, const TIMED: bool>(
    builder: CacheBuilder<K, V>,
) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    match builder.build_for::<PERSISTENT, TIMED>() {
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

/// Adds `tier` to a `#[cached]` function's builder, asking of the value only what
/// `require_stored_value` asks (the attribute spans both at the return type): a value no tier
/// can store is that one error, where `CacheBuilder::backend` added the backend's own bounds
/// (`Send`, `Sync`) as more errors at the same place.
pub fn add_tier<K, V: super::StoredValue>(
    mut builder: CacheBuilder<K, V>,
    tier: impl Tier,
) -> CacheBuilder<K, V> {
    builder.tiers.persistent.push(tier.boxed());
    builder
}
