use std::time::Duration;

use super::call::Naming;
use super::{Cache, inner::Inner};
use crate::backend::{MemoryBackend, PersistentBackend};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::key::{Keyer, ReadableKeyer};
use crate::lock::FlightLock;
use crate::policy::{RateLimiter, TtlPolicy};

/// How long a caller waits for another caller computing the same key before computing it
/// itself: long enough for any sane API call, short enough that a hung leader is survivable.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures a [`Cache`]; made by [`Cache::builder`]. Each call reads as the option it sets.
///
/// Backends are added with [`backend`](Self::backend), in the order they are asked: the memory
/// backend (at most one, always first) and persistent ones. Without any, the cache is memory
/// only.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::{Cache, MemoryBackend, RateLimiter, SeparateFileBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<(String, u32), Vec<String>> = Cache::builder()
///     // Identifies the function in entries and in hashed keys.
///     .namespace("app::fetch_posts")
///     // `endpoint=…_user_id=…` in readable keys.
///     .arg_names(&["endpoint", "user_id"])
///     // Memory (at most 10 000 entries) in front of a file per entry.
///     .backend(MemoryBackend::new().max_entries(10_000))
///     .backend(SeparateFileBackend::new(dir.path()))
///     // Time to live (TTL): one day.
///     .ttl(Duration::from_secs(24 * 60 * 60))
///     // At most one underlying call per second.
///     .rate_limit(RateLimiter::new(Duration::from_secs(1)))
///     .build()
///     .unwrap();
/// # let _ = cache;
/// ```
#[must_use]
pub struct CacheBuilder<K, V> {
    namespace: String,
    version: Option<String>,
    code: Option<String>,
    arg_names: &'static [&'static str],
    keyer: Box<dyn Keyer>,
    tiers: Tiers<K, V>,
    ttl: Option<Duration>,
    stale_if_error: Option<Duration>,
    rate_limiter: Option<RateLimiter>,
    flight_lock: Option<Box<dyn FlightLock>>,
    clock: Clock,
    wait_timeout: Duration,
}

/// The backends a builder was given, and the first mistake in giving them.
#[doc(hidden)]
pub struct Tiers<K, V> {
    memory: Option<MemoryBackend<K, V>>,
    persistent: Vec<Box<dyn PersistentBackend<V>>>,
    mistake: Option<&'static str>,
}

/// A backend [`CacheBuilder::backend`] takes: [`MemoryBackend`], or any [`PersistentBackend`].
/// (`Kind` only tells the two apart; it is inferred.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cacher backend",
    label = "give a `MemoryBackend`, or a type that implements `PersistentBackend<V>`"
)]
pub trait IntoBackend<K, V, Kind> {
    #[doc(hidden)]
    fn add_to(self, tiers: &mut Tiers<K, V>);
}

/// Only this crate implements [`IntoBackend`]: its method takes a type no other crate can name.
mod sealed {
    /// Tells [`IntoBackend`](super::IntoBackend)'s two implementations apart.
    pub enum Memory {}
    /// See [`Memory`].
    pub enum Persistent {}
}

impl<K, V> IntoBackend<K, V, sealed::Memory> for MemoryBackend<K, V> {
    fn add_to(self, tiers: &mut Tiers<K, V>) {
        if tiers.memory.is_some() {
            tiers
                .mistake
                .get_or_insert("a cache has at most one memory backend");
        } else if !tiers.persistent.is_empty() {
            tiers.mistake.get_or_insert(
                "the memory backend comes first: add it before the persistent backends",
            );
        }
        tiers.memory = Some(self);
    }
}

impl<K, V, B: PersistentBackend<V>> IntoBackend<K, V, sealed::Persistent> for B {
    fn add_to(self, tiers: &mut Tiers<K, V>) {
        tiers.persistent.push(Box::new(self));
    }
}

impl<K, V> CacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(super) fn new() -> Self {
        Self {
            namespace: "default".to_owned(),
            version: None,
            code: None,
            arg_names: &[],
            keyer: Box::new(ReadableKeyer),
            tiers: Tiers {
                memory: None,
                persistent: Vec::new(),
                mistake: None,
            },
            ttl: None,
            stale_if_error: None,
            rate_limiter: None,
            flight_lock: None,
            clock: Clock::system(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }

    /// Names the cache (the function): recorded in every entry, part of hashed keys and of Redis
    /// keys. Two caches sharing a directory or a Redis server need different namespaces; a cache
    /// whose namespace stays the same keeps its entries across refactors (`#[cached]`'s
    /// `namespace = "…"`). Default: `"default"`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// A salt: entries written under another version are misses, and get overwritten. Bump it
    /// when the function's output changes meaning. Each version has keys of its own (a
    /// `v=<version>/` directory, a `v=<version>:` Redis prefix); see also
    /// [`code_hash`](Self::code_hash), which `#[cached]` sets instead when it has no `version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The fingerprint of the code that computes the values, recorded in every persistent entry:
    /// an entry recorded with another is a miss, and is overwritten in place. `#[cached]` gives
    /// a hash of the function's tokens (unless the function has a `version`). Unlike
    /// [`version`](Self::version), it is part of neither keys nor file names: the entries of an
    /// edited function replace those of the code before it, rather than piling up beside them.
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::{Cache, SeparateFileBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let cache = |code: &str| -> Cache<u32, u32> {
    ///     Cache::builder()
    ///         .namespace("app::double")
    ///         .code_hash(code)
    ///         .backend(SeparateFileBackend::new(dir.path()))
    ///         .build()
    ///         .unwrap()
    /// };
    /// cache("x * 2").insert(&21, 42).unwrap();
    /// assert_eq!(cache("x * 2").get(&21), Some(42));
    /// // Computed by other code: a miss.
    /// assert_eq!(cache("x + x + 1").get(&21), None);
    /// ```
    pub fn code_hash(mut self, fingerprint: impl Into<String>) -> Self {
        self.code = Some(fingerprint.into());
        self
    }

    /// The names of the key's elements, shown by the readable keyer as `name=value`. Used only
    /// when the key is a tuple of that many elements.
    pub fn arg_names(mut self, names: &'static [&'static str]) -> Self {
        self.arg_names = names;
        self
    }

    /// How keys become names: [`ReadableKeyer`] (default) or [`HashKeyer`](crate::HashKeyer).
    pub fn keyer(mut self, keyer: impl Keyer) -> Self {
        self.keyer = Box::new(keyer);
        self
    }

    /// Adds a backend after those already added: the [`MemoryBackend`] (typed values in process
    /// memory, at most one, and first), or a [`PersistentBackend`] such as
    /// [`SeparateFileBackend`](crate::SeparateFileBackend). A hit in a later backend is copied
    /// into the earlier ones.
    pub fn backend<Kind>(mut self, backend: impl IntoBackend<K, V, Kind>) -> Self {
        backend.add_to(&mut self.tiers);
        self
    }

    /// Entries older than `ttl` are misses.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// After its ttl an entry may still be served for `grace` when the function returns `Err`.
    /// Needs a [`ttl`](Self::ttl).
    pub fn stale_if_error(mut self, grace: Duration) -> Self {
        self.stale_if_error = Some(grace);
        self
    }

    /// Limits how often the function starts: a [`RateLimiter`] of this cache's own, or a clone
    /// of one shared with other caches calling the same API.
    pub fn rate_limit(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Single-flight across processes: before computing a missing key, this process's leader
    /// takes `lock` for the namespace and key, so that of all the processes missing it at once
    /// only one computes; the others wait (bounded by the lock), then read the stored value. Needs
    /// a persistent backend the processes share. See [`lock`](crate::lock).
    pub fn cross_process_lock(mut self, lock: impl FlightLock) -> Self {
        self.flight_lock = Some(Box::new(lock));
        self
    }

    /// The clock for ttls (a mock one in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a caller waits for another caller computing the same key before running the
    /// function itself. Default: [`DEFAULT_WAIT_TIMEOUT`]. `Duration::MAX` waits as long as the
    /// leader takes (in practice: a century).
    pub fn wait_timeout(mut self, bound: Duration) -> Self {
        // Any longer and `Instant + bound` would overflow.
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
        self.wait_timeout = bound.min(CENTURY);
        self
    }

    /// Makes the cache.
    ///
    /// # Errors
    /// [`Error::Config`] for options that cannot work together: `stale_if_error` without a
    /// `ttl`, a ttl of zero, `max_entries(0)` on a backend, two memory backends or one after a
    /// persistent backend.
    pub fn build(self) -> Result<Cache<K, V>> {
        self.check()?;
        let Tiers {
            memory,
            persistent: mut backends,
            ..
        } = self.tiers;
        // Backends with an expiry of their own keep entries exactly as long as a read could
        // still accept them.
        let retention = self
            .ttl
            .map(|ttl| ttl.saturating_add(self.stale_if_error.unwrap_or_default()));
        for backend in &mut backends {
            backend.attach(retention)?;
        }
        let memory = memory.or_else(|| backends.is_empty().then(MemoryBackend::new));
        let ttl = self
            .ttl
            .map(|ttl| TtlPolicy::new(ttl).stale_if_error(self.stale_if_error.unwrap_or_default()));
        let stats = super::stats::Counters::new(&self.namespace);
        Ok(Cache::from_inner(Inner {
            naming: Naming {
                namespace: self.namespace,
                version: self.version,
                code: self.code,
                arg_names: self.arg_names,
                keyer: self.keyer,
            },
            memory,
            backends,
            ttl,
            rate_limiter: self.rate_limiter,
            flight_lock: self.flight_lock,
            clock: self.clock,
            wait_timeout: self.wait_timeout,
            stats,
            flights: super::flight::Flights::new(),
            hasher: Default::default(),
        }))
    }

    /// The rules that span several options.
    fn check(&self) -> Result<()> {
        let refuse = |why: &str| Err(Error::Config(why.into()));
        if let Some(mistake) = self.tiers.mistake {
            return refuse(mistake);
        }
        if self.stale_if_error.is_some() && self.ttl.is_none() {
            return refuse("stale_if_error needs a ttl: entries without one never go stale");
        }
        if self.ttl == Some(Duration::ZERO) {
            return refuse("a ttl of zero would make every entry a miss: give a positive ttl");
        }
        let memory_bound = self
            .tiers
            .memory
            .as_ref()
            .and_then(MemoryBackend::max_entries_bound);
        if memory_bound == Some(0) {
            return refuse("max_entries must be at least 1");
        }
        Ok(())
    }
}
