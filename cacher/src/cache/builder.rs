use std::marker::PhantomData;
use std::time::Duration;

mod settings;
mod typed;

pub use self::settings::Settings;
pub use self::typed::Typed;
use super::Cache;
use crate::backend::{MemoryBackend, PersistentBackend};
use crate::clock::Clock;
use crate::error::Result;
use crate::key::Keyer;
use crate::lock::FlightLock;
use crate::policy::RateLimiter;

/// How long a caller waits for another caller computing the same key before computing it
/// itself: long enough for any sane API call, short enough that a hung leader is survivable.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long, after the function failed for a key that had a stale entry to serve, calls of that
/// key serve it without calling the function again: see [`CacheBuilder::error_backoff`].
pub const DEFAULT_ERROR_BACKOFF: Duration = Duration::from_secs(30);

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
    /// The options, the memory tier among them: untyped.
    settings: Settings,
    /// The parts that name the value type: the persistent tiers and `ttl_fn`.
    typed: Typed<V>,
    keys: PhantomData<fn() -> K>,
}

/// A backend [`CacheBuilder::backend`] takes: [`MemoryBackend`], or any [`PersistentBackend`].
/// (`Kind` only tells the two apart; it is inferred.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cacher backend",
    label = "give a `MemoryBackend`, or a type that implements `PersistentBackend<V>`"
)]
pub trait IntoBackend<K, V, Kind> {
    #[doc(hidden)]
    fn add_to(self, builder: sealed::Parts<'_, V>);
}

/// Only this crate implements [`IntoBackend`]: its method takes a type no other crate can name
/// (`Parts`, though what it holds is reachable through `__private`).
mod sealed {
    use super::{Settings, Typed};

    /// Tells [`IntoBackend`](super::IntoBackend)'s two implementations apart.
    pub enum Memory {}
    /// See [`Memory`].
    pub enum Persistent {}

    /// What a backend is added to: the builder's options (the memory tier among them) and its
    /// value's parts (the persistent tiers).
    pub struct Parts<'a, V> {
        pub(super) settings: &'a mut Settings,
        pub(super) typed: &'a mut Typed<V>,
    }
}

impl<K, V> IntoBackend<K, V, sealed::Memory> for MemoryBackend<K, V> {
    fn add_to(self, builder: sealed::Parts<'_, V>) {
        let sealed::Parts { settings, typed } = builder;
        if settings.memory.is_some() {
            (settings.mistake).get_or_insert("a cache has at most one memory backend");
        } else if !typed.persistent.is_empty() {
            settings.mistake.get_or_insert(
                "the memory backend comes first: add it before the persistent backends",
            );
        }
        settings.memory = Some(self.tier);
    }
}

impl<K, V, B: PersistentBackend<V>> IntoBackend<K, V, sealed::Persistent> for B {
    fn add_to(self, builder: sealed::Parts<'_, V>) {
        builder.typed.persistent.push(Box::new(self));
    }
}

impl<K, V> CacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(super) fn new() -> Self {
        Self {
            settings: Settings::named("default", &[], None),
            typed: Typed::NEW,
            keys: PhantomData,
        }
    }

    /// Names the cache (the function): recorded in every entry, part of hashed keys and of Redis
    /// keys. Two caches sharing a directory or a Redis server need different namespaces; a cache
    /// whose namespace stays the same keeps its entries across refactors (`#[cached]`'s
    /// `namespace = "…"`). Default: `"default"`. A cache with persistent tiers refuses an empty
    /// one at [`build`](Self::build) ([`Error::Config`](crate::Error::Config)).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.settings = self.settings.namespace(namespace);
        self
    }

    /// A salt: entries written under another version are misses, and get overwritten. Bump it
    /// when the function's output changes meaning. Each version has keys of its own (a
    /// `v=<version>/` directory, a `v=<version>:` Redis prefix); see also
    /// [`code_hash`](Self::code_hash), which `#[cached]` sets instead when it has no `version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.settings = self.settings.version(version);
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
        self.settings = self.settings.code_hash(fingerprint);
        self
    }

    /// The names of the key's elements, shown by the readable keyer as `name=value`. Used only
    /// when the key is a tuple of that many elements.
    pub fn arg_names(mut self, names: &'static [&'static str]) -> Self {
        self.settings = self.settings.arg_names(names);
        self
    }

    /// How keys become names: [`ReadableKeyer`](crate::ReadableKeyer) (default) or
    /// [`HashKeyer`](crate::HashKeyer).
    pub fn keyer(mut self, keyer: impl Keyer) -> Self {
        self.settings = self.settings.keyer(keyer);
        self
    }

    /// Adds a backend after those already added: the [`MemoryBackend`] (typed values in process
    /// memory, at most one, and first), or a [`PersistentBackend`] such as
    /// [`SeparateFileBackend`](crate::SeparateFileBackend). A hit in a later backend is copied
    /// into the earlier ones.
    pub fn backend<Kind>(mut self, backend: impl IntoBackend<K, V, Kind>) -> Self {
        backend.add_to(sealed::Parts {
            settings: &mut self.settings,
            typed: &mut self.typed,
        });
        self
    }

    /// Entries older than `ttl` are misses.
    ///
    /// Every duration of the cache (`ttl`, [`ttl_fn`](Self::ttl_fn)'s, the stale windows,
    /// [`time_to_idle`](Self::time_to_idle), [`error_backoff`](Self::error_backoff), a
    /// [`RateLimiter`]'s interval) is counted in whole milliseconds, rounded **up**: 500 µs is
    /// 1 ms and 1.5 ms is 2 ms, so a positive duration is never taken for zero (which would
    /// mean "expired at once", "stored nowhere" or "off"); `Duration::MAX` is for ever.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.settings = self.settings.ttl(ttl);
        self
    }

    /// A ttl from the value: `ttl_fn(&value)` is the entry's own ttl (a token's `expires_in`,
    /// an HTTP `max-age`), stored with the entry and honoured by every tier (Redis's expiry
    /// too); `None` keeps the fixed [`ttl`](Self::ttl) (or no expiry without one). A value whose
    /// ttl is zero is returned and not stored; a positive one under a millisecond is one
    /// millisecond (rounded up, as every duration: [`ttl`](Self::ttl)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Cache, Clock};
    ///
    /// #[derive(Clone)]
    /// struct Token { secret: String, expires_in: u64 }
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache: Cache<String, Token> = Cache::builder()
    ///     // Default for values that say nothing: one hour.
    ///     .ttl(Duration::from_secs(3600))
    ///     // A token is cached for as long as it is valid.
    ///     .ttl_fn(|token: &Token| Some(Duration::from_secs(token.expires_in)))
    ///     .clock(clock)
    ///     .build()
    ///     .unwrap();
    /// let token = || Token { secret: "s".into(), expires_in: 60 };
    /// cache.get_or_compute("api", token);
    /// mock.advance(Duration::from_secs(61));
    /// assert!(cache.get("api").is_none()); // its own 60 s, not the hour
    /// ```
    pub fn ttl_fn(
        mut self,
        ttl_fn: impl Fn(&V) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.typed = self.typed.ttl_fn(ttl_fn);
        self
    }

    /// After its ttl an entry may still be served for `grace` when the function returns `Err`,
    /// and then, for the [`error_backoff`](Self::error_backoff), without calling the function
    /// again. Needs a [`ttl`](Self::ttl) (or a [`ttl_fn`](Self::ttl_fn)).
    pub fn stale_if_error(mut self, grace: Duration) -> Self {
        self.settings = self.settings.stale_if_error(grace);
        self
    }

    /// After its ttl an entry is served at once for `window` while one refresh per key runs in
    /// the background — with [`Cache::try_get_or_refresh`] (and `#[cached]`), whose function
    /// can outlive the call; `get_or_compute` computes in the caller instead. A failed refresh
    /// keeps the stale entry. Needs a [`ttl`](Self::ttl) (or a [`ttl_fn`](Self::ttl_fn)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u32, String> = Cache::builder()
    ///     // Fresh for a minute, then served stale for up to ten while it refreshes.
    ///     .ttl(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(600))
    ///     .build()
    ///     .unwrap();
    /// let page = cache.get_or_refresh(&1, || "page 1".to_owned());
    /// assert_eq!(page, "page 1");
    /// ```
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.settings = self.settings.stale_while_revalidate(window);
        self
    }

    /// Sliding expiry: an entry unused for `idle` is expired, whatever its ttl; each use keeps it.
    /// A use is recorded in the memory tier, at most once per quarter of `idle` (an atomic
    /// store), so a hot entry costs no write per hit. A persistent tier's entry is not rewritten
    /// by a use: its idle window counts from its write (or, for a copy filled into it, from the use
    /// that read it, if one was due). A rewrite
    /// after a separate check could put back a value another process replaced in between, and a
    /// file cannot be rewritten only if it still holds the write the use is of, in one step.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Cache, Clock};
    ///
    /// let (clock, mock) = Clock::mock();
    /// let sessions: Cache<u32, String> = Cache::builder()
    ///     .time_to_idle(Duration::from_secs(30 * 60))
    ///     .clock(clock)
    ///     .build()
    ///     .unwrap();
    /// sessions.insert(&1, "alice".to_owned()).unwrap();
    /// mock.advance(Duration::from_secs(20 * 60));
    /// assert!(sessions.get(&1).is_some()); // used: kept another 30 minutes
    /// mock.advance(Duration::from_secs(31 * 60));
    /// assert!(sessions.get(&1).is_none()); // idle for 31 minutes
    /// ```
    pub fn time_to_idle(mut self, idle: Duration) -> Self {
        self.settings = self.settings.time_to_idle(idle);
        self
    }

    /// After the function failed for a key while a stale entry could be served
    /// ([`stale_if_error`](Self::stale_if_error), or a failed background refresh), calls of
    /// that key serve the stale entry without calling the function for `backoff`, then try it
    /// again. Default: [`DEFAULT_ERROR_BACKOFF`]; `Duration::ZERO` tries on every call (a positive
    /// backoff under a millisecond is one millisecond, rounded up as every duration:
    /// [`ttl`](Self::ttl)). Per process.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cacher::{Cache, Clock};
    ///
    /// let (clock, mock) = Clock::mock();
    /// let rates: Cache<String, f64> = Cache::builder()
    ///     .ttl(Duration::from_secs(60))
    ///     .stale_if_error(Duration::from_secs(24 * 3600))
    ///     .error_backoff(Duration::from_secs(10))
    ///     .clock(clock)
    ///     .build()
    ///     .unwrap();
    /// rates.insert("EUR", 1.0).unwrap();
    /// mock.advance(Duration::from_secs(120));
    /// let mut calls = 0;
    /// for _ in 0..5 {
    ///     let rate = rates.try_get_or_compute("EUR", || { calls += 1; Err("the API is down") });
    ///     assert_eq!(rate, Ok(1.0));
    /// }
    /// assert_eq!(calls, 1); // not five
    /// ```
    pub fn error_backoff(mut self, backoff: Duration) -> Self {
        self.settings = self.settings.error_backoff(backoff);
        self
    }

    /// Limits how often the function starts: a [`RateLimiter`] of this cache's own, or a clone
    /// of one shared with other caches calling the same API.
    pub fn rate_limit(mut self, limiter: RateLimiter) -> Self {
        self.settings = self.settings.rate_limit(limiter);
        self
    }

    /// Single-flight across processes: before computing a missing key, this process's leader
    /// takes `lock` for the namespace and key, so that of all the processes missing it at once
    /// only one computes; the others wait (bounded by the lock), then read the stored value. Needs
    /// a persistent backend the processes share. See [`lock`](crate::lock).
    ///
    /// Without this, a cache with a file or store tier takes a
    /// [`FileLock`](crate::lock::FileLock) in that tier's directory, bounded by
    /// [`wait_timeout`](Self::wait_timeout).
    pub fn cross_process_lock(mut self, lock: impl FlightLock) -> Self {
        self.settings = self.settings.cross_process_lock(lock);
        self
    }

    /// The clock for ttls (a mock one in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.settings = self.settings.clock(clock);
        self
    }

    /// How long a caller waits for another caller computing the same key before running the
    /// function itself. Default: [`DEFAULT_WAIT_TIMEOUT`]. `Duration::MAX` waits as long as the
    /// leader takes (in practice: a century).
    ///
    /// Set it above the function's slowest run: every caller that waited this long runs the
    /// function itself, at once — ten thousand callers of a key whose function takes longer
    /// are ten thousand runs, when the service behind it is already slow. A caller that waits
    /// for its own key through another thread it joins (parallel recursion) waits this long,
    /// then runs it.
    pub fn wait_timeout(mut self, bound: Duration) -> Self {
        self.settings = self.settings.wait_timeout(bound);
        self
    }

    /// Makes the cache.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for options that cannot work together:
    /// `stale_if_error` or `stale_while_revalidate` without a `ttl` (or `ttl_fn`), a ttl or
    /// time_to_idle of zero, `max_entries(0)` on a backend, two memory backends or one after a
    /// persistent backend.
    pub fn build(self) -> Result<Cache<K, V>> {
        self.build_for::<true, true>()
    }

    /// [`build`](Self::build); without the persistent tiers' attach when `PERSISTENT` is false
    /// (a memory-only `#[cached]` function's: compile time), where a persistent tier is refused,
    /// as is a ttl, `ttl_fn` or idle time when `TIMED` is false ([`KeyRef::TIMED`]).
    ///
    /// [`KeyRef::TIMED`]: crate::KeyRef::TIMED
    pub(crate) fn build_for<const PERSISTENT: bool, const TIMED: bool>(
        self,
    ) -> Result<Cache<K, V>> {
        Cache::<K, V>::finish::<PERSISTENT, TIMED>(self.settings, self.typed)
    }
}

#[cfg(test)]
mod tests;
