use std::marker::PhantomData;
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
/// Without any tier, the cache is memory only. A memory tier is always in front of persistent
/// ones, whatever the order of the calls.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cacher::{Cache, SeparateFileBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<(String, u32), Vec<String>> = Cache::builder()
///     // Identifies the function in entries and in hashed keys.
///     .namespace("app::fetch_posts")
///     // `endpoint=…_user_id=…` in readable keys.
///     .arg_names(&["endpoint", "user_id"])
///     // Memory in front of a file per entry.
///     .memory()
///     .backend(SeparateFileBackend::new(dir.path()))
///     // Time to live (TTL): one day.
///     .ttl(Duration::from_secs(24 * 60 * 60))
///     // At most one underlying call per second.
///     .rate_limit(Duration::from_secs(1))
///     .build()
///     .unwrap();
/// # let _ = cache;
/// ```
#[must_use]
pub struct CacheBuilder<K, V> {
    namespace: String,
    version: Option<String>,
    arg_names: &'static [&'static str],
    keyer: Box<dyn Keyer>,
    memory: bool,
    backends: Vec<Box<dyn PersistentBackend<V>>>,
    ttl: Option<Duration>,
    stale_if_error: Option<Duration>,
    rate_limit: Option<Duration>,
    rate_limiter: Option<RateLimiter>,
    flight_lock: Option<Box<dyn FlightLock>>,
    max_entries: Option<usize>,
    clock: Clock,
    wait_timeout: Duration,
    _key: PhantomData<fn(K)>,
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
            arg_names: &[],
            keyer: Box::new(ReadableKeyer),
            memory: false,
            backends: Vec::new(),
            ttl: None,
            stale_if_error: None,
            rate_limit: None,
            rate_limiter: None,
            flight_lock: None,
            max_entries: None,
            clock: Clock::system(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            _key: PhantomData,
        }
    }

    /// Names the cache (the function): recorded in every entry, part of hashed keys. Two caches
    /// sharing a directory or a Redis server need different namespaces. Default: `"default"`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// A salt: entries written under another version are misses, and get overwritten. Bump it
    /// when the function's output changes meaning.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
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

    /// Puts a memory tier in front: hits are served from process memory, typed, without
    /// reading a file or decoding.
    pub fn memory(mut self) -> Self {
        self.memory = true;
        self
    }

    /// Adds a persistent tier after those already added.
    pub fn backend(mut self, backend: impl PersistentBackend<V>) -> Self {
        self.backends.push(Box::new(backend));
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

    /// At most one underlying call start per `min_interval` (a limiter of this cache's own).
    pub fn rate_limit(mut self, min_interval: Duration) -> Self {
        self.rate_limit = Some(min_interval);
        self
    }

    /// Shares `limiter` with other caches calling the same API.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Single-flight across processes: before computing a missing key, this process's leader
    /// takes `lock` for the namespace and key, so that of all the processes missing it at once
    /// only one computes; the others wait (bounded by the lock), then read the stored value. Needs
    /// a persistent tier the processes share. See [`lock`](crate::lock).
    pub fn cross_process_lock(mut self, lock: impl FlightLock) -> Self {
        self.flight_lock = Some(Box::new(lock));
        self
    }

    /// Bounds the memory tier to `max_entries`, least recently used evicted first. File tiers
    /// take their own bound: [`SeparateFileBackend::max_entries`](crate::SeparateFileBackend::max_entries).
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = Some(max_entries);
        self
    }

    /// The clock for TTLs and this cache's rate limit (a mock one in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a caller waits for another caller computing the same key before running the
    /// function itself. Default: [`DEFAULT_WAIT_TIMEOUT`].
    pub fn wait_timeout(mut self, bound: Duration) -> Self {
        self.wait_timeout = bound;
        self
    }

    /// Makes the cache.
    ///
    /// # Errors
    /// [`Error::Config`] for options that cannot work together: `stale_if_error` without a
    /// `ttl`, both `rate_limit` and `rate_limiter`, `max_entries(0)`.
    pub fn build(self) -> Result<Cache<K, V>> {
        if self.stale_if_error.is_some() && self.ttl.is_none() {
            return Err(Error::Config(
                "stale_if_error needs a ttl: entries without one never go stale".into(),
            ));
        }
        if self.rate_limit.is_some() && self.rate_limiter.is_some() {
            return Err(Error::Config(
                "give either rate_limit (a limiter of the cache's own) or rate_limiter (a shared one), not both".into(),
            ));
        }
        if self.max_entries == Some(0) {
            return Err(Error::Config("max_entries must be at least 1".into()));
        }
        let memory = (self.memory || self.backends.is_empty()).then(|| match self.max_entries {
            Some(n) => MemoryBackend::new().max_entries(n),
            None => MemoryBackend::new(),
        });
        let ttl = self
            .ttl
            .map(|ttl| TtlPolicy::new(ttl).stale_if_error(self.stale_if_error.unwrap_or_default()));
        let rate_limiter = self.rate_limiter.or_else(|| {
            self.rate_limit
                .map(|interval| RateLimiter::new(interval).with_clock(self.clock.clone()))
        });
        // Backends with an expiry of their own keep entries exactly as long as a read could
        // still accept them.
        let retention = self
            .ttl
            .map(|ttl| ttl.saturating_add(self.stale_if_error.unwrap_or_default()));
        let mut backends = self.backends;
        for backend in &mut backends {
            backend.attach(retention)?;
        }
        Ok(Cache::from_inner(Inner {
            naming: Naming {
                namespace: self.namespace,
                version: self.version,
                arg_names: self.arg_names,
                keyer: self.keyer,
            },
            memory,
            backends,
            ttl,
            rate_limiter,
            flight_lock: self.flight_lock,
            clock: self.clock,
            wait_timeout: self.wait_timeout,
            stats: Default::default(),
            flights: super::flight::Flights::new(),
            hasher: Default::default(),
        }))
    }
}
