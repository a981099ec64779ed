//! The parts of a cache's build that name its value type ([`Typed`]), and the build's typed end
//! ([`Cache::finish`]): the only code of a build compiled once per cache type, a few lines. The
//! options and the memory tier ([`Settings`]) are checked and made into the cache's untyped parts
//! by code compiled once.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Settings;
use crate::backend::{MemoryBackend, PersistentBackend};
use crate::cache::Cache;
use crate::cache::inner::{Inner, TtlFn};
use crate::error::Result;

/// What a build needs of the value type: the persistent tiers, boxed for it, and `ttl_fn`. A
/// [`CacheBuilder`](super::CacheBuilder) holds it; a `#[cached]` function makes it beside its
/// [`Settings`]. Not part of the API.
#[doc(hidden)]
pub struct Typed<V> {
    pub(crate) persistent: Vec<Box<dyn PersistentBackend<V>>>,
    ttl_fn: Option<TtlFn<V>>,
}

impl<V> Typed<V> {
    /// No persistent tier, no `ttl_fn`: a constant, so that a `#[cached]` function's build
    /// makes it without a call (whose unwinding would drop the options made before it, in code
    /// compiled in each function).
    pub const NEW: Self = Self {
        persistent: Vec::new(),
        ttl_fn: None,
    };

    /// See [`CacheBuilder::ttl_fn`](super::CacheBuilder::ttl_fn).
    #[must_use]
    pub fn ttl_fn(
        mut self,
        ttl_fn: impl Fn(&V) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.ttl_fn = Some(Box::new(ttl_fn));
        self
    }
}

impl<K, V> Cache<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The cache of `settings` and `typed`: the untyped parts made by [`Settings::into_parts`]
    /// (which refuses what cannot work together), then typed. `PERSISTENT` false skips the
    /// persistent tiers' attach (and refuses any), `TIMED` false refuses a cache that ages entries
    /// (see [`CacheBuilder::build_for`](super::CacheBuilder::build_for)).
    ///
    /// A method of `Cache` rather than a function of this module: rustc puts a generic
    /// method's copies in the codegen unit of its `Self` type's module, beside the cache's other
    /// per-type code, where a function of its own was a unit of its own in a small crate of
    /// `#[cached]` functions (9 units → 8 for the crate of `benches/compile_time.py`, −14 M
    /// rustc instructions: docs/BENCHMARKS.md, session 27).
    #[allow(
        clippy::manual_map,
        clippy::redundant_pattern_matching,
        reason = "`Option::map` and `is_some` would each compile a function more per cache type"
    )]
    pub(crate) fn finish<const PERSISTENT: bool, const TIMED: bool>(
        settings: Settings,
        mut typed: Typed<V>,
    ) -> Result<Self> {
        // `typed` kept whole until the cache takes its parts, no early return, and no error made
        // here (a memory-only form given persistent tiers is refused by `into_parts`): each was a
        // drop on an unwinding path or a string, compiled per cache type (−31 M rustc
        // instructions for the 50-function crate of `benches/compile_time.py`, −18 M in one
        // codegen unit).
        let flags = (matches!(typed.ttl_fn, Some(_)), TIMED);
        let persistent = (typed.persistent.len(), PERSISTENT);
        // The checks, the tiers' attach and the untyped parts by one non-generic call. The attach
        // a closure (two functions per cache type: it and its call) only for a form with persistent
        // tiers; a memory-only form's is `attach_none`, compiled once.
        let made = match PERSISTENT {
            true => settings.into_parts(flags, persistent, &mut |(retention, want_dir)| {
                attach(&mut typed.persistent, retention, want_dir)
            }),
            false => settings.into_parts(flags, persistent, &mut attach_none),
        };
        match made {
            // Built in place, not through a constructor of `Cache` or `MemoryBackend` (a function
            // more each per cache type in a debug build).
            Ok((shared, memory, flights)) => Ok(Cache {
                inner: Arc::new(Inner {
                    shared,
                    memory: match memory {
                        Some(tier) => Some(MemoryBackend {
                            tier,
                            types: PhantomData,
                        }),
                        None => None,
                    },
                    backends: typed.persistent,
                    ttl_fn: typed.ttl_fn,
                    flights,
                }),
            }),
            Err(e) => Err(e),
        }
    }
}

/// [`Cache::finish`]'s attach without persistent tiers: none to ready, no directory for a lock.
fn attach_none(_: (Option<Duration>, bool)) -> Result<Option<PathBuf>> {
    Ok(None)
}

/// Readies the persistent tiers for the cache's `retention`, and finds the first one's
/// directory for the cross-process lock if `want_dir` (none was given). Generic over the value
/// type only, not the key: one copy per value type (compile time).
fn attach<V: 'static>(
    backends: &mut [Box<dyn PersistentBackend<V>>],
    retention: Option<Duration>,
    want_dir: bool,
) -> Result<Option<PathBuf>> {
    for backend in backends.iter_mut() {
        backend.attach(retention)?;
    }
    if want_dir {
        for backend in backends.iter() {
            if let Some(dir) = backend.lock_dir() {
                return Ok(Some(dir));
            }
        }
    }
    Ok(None)
}
