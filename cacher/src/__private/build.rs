//! The cache a `#[cached]` function builds at its first use: its options and memory tier set
//! without its types ([`settings`], then [`Settings`]' setters), the parts that name the value
//! type beside them ([`Typed`]), and the build, the only step compiled once per cache type; or,
//! for a memory-only function whose options are data ([`Opt`]), all of it by [`memory_build`]
//! (no build written per function).

use std::time::Duration;

use crate::Cache;
use crate::cache::{Settings, Typed};

/// The start of a `#[cached]` function's options: its namespace, the names of its key's
/// arguments, and the memory tier unless `memory` is false (bounded by the `MaxEntries` among
/// `options`, its site's). Not generic: a function's options are set by code compiled once in
/// cacher, not once per cache type (compile time).
pub fn settings(
    namespace: &str,
    arg_names: &'static [&'static str],
    memory: bool,
    options: &[Opt],
) -> Settings {
    let max_entries = options.iter().find_map(|option| match option {
        Opt::MaxEntries(n) => Some(*n),
        _ => None,
    });
    let memory = memory.then(|| {
        let mut tier = crate::backend::Tier::new();
        if let Some(n) = max_entries {
            tier.bounded(n);
        }
        tier
    });
    Settings::named(namespace, arg_names, memory)
}

/// An option of a `#[cached]` function that is data or a function, which the expansion writes
/// as a constant: durations as seconds and nanoseconds, `clock` as its function. Only the
/// options given are listed (most functions give none: [`NO_OPTIONS`]). Set by [`with_options`]
/// for every function; a function with the memory tier alone and no other option (no `ttl_fn`,
/// `version`, `keyer`, persistent tier) is built from them alone by [`memory_build`], one
/// function per cache type, where each function compiled a build of its own (compile time,
/// docs/BENCHMARKS.md).
#[derive(Clone, Copy)]
pub enum Opt {
    /// `max_entries` of the memory tier.
    MaxEntries(usize),
    /// `ttl`.
    Ttl(u64, u32),
    /// `stale_if_error`.
    StaleIfError(u64, u32),
    /// `stale_while_revalidate`.
    StaleWhileRevalidate(u64, u32),
    /// `time_to_idle`.
    TimeToIdle(u64, u32),
    /// `error_backoff`.
    ErrorBackoff(u64, u32),
    /// `clock`: the function that gives the cache its clock, called at the build.
    Clock(fn() -> crate::Clock),
    /// `rate_limit`.
    RateLimit(u64, u32),
}

/// No [`Opt`]: the options of a function that gives none.
pub const NO_OPTIONS: &[Opt] = &[];

/// `settings` with `options` set, in their order: every `#[cached]` function's durations and
/// clock, whether its build is [`memory_build`]'s or its own (one mapping of the options to
/// `Settings`' setters). A memory tier's bound is [`settings`]' (`MaxEntries` is skipped here).
/// Not generic.
pub fn with_options(mut settings: Settings, options: &[Opt]) -> Settings {
    let duration = |secs, nanos| Duration::new(secs, nanos);
    for option in options {
        settings = match *option {
            Opt::MaxEntries(_) => settings,
            Opt::Ttl(secs, nanos) => settings.ttl(duration(secs, nanos)),
            Opt::StaleIfError(secs, nanos) => settings.stale_if_error(duration(secs, nanos)),
            Opt::StaleWhileRevalidate(secs, nanos) => {
                settings.stale_while_revalidate(duration(secs, nanos))
            }
            Opt::TimeToIdle(secs, nanos) => settings.time_to_idle(duration(secs, nanos)),
            Opt::ErrorBackoff(secs, nanos) => settings.error_backoff(duration(secs, nanos)),
            Opt::Clock(clock) => settings.clock(clock()),
            Opt::RateLimit(secs, nanos) => settings.rate_limit_every(duration(secs, nanos)),
        };
    }
    settings
}

/// The cache of a memory-only function whose options are all [`Opt`]s: one function per cache
/// type (and `TIMED`), not one per `#[cached]` function.
///
/// # Panics
/// As [`build`].
pub fn memory_build<K, V, const TIMED: bool>(
    namespace: &str,
    names: &'static [&'static str],
    options: &[Opt],
) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let settings = with_options(settings(namespace, names, true, options), options);
    build::<K, V, false, TIMED>(settings, Typed::NEW)
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
    match Cache::<K, V>::finish::<PERSISTENT, TIMED>(settings, typed) {
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
