//! A builder's options that depend on neither the key nor the value type, and what they make:
//! checked and turned into the cache's parts once in cacher, not once per cache type.

use std::path::PathBuf;
use std::time::Duration;

use super::{DEFAULT_ERROR_BACKOFF, DEFAULT_WAIT_TIMEOUT};
#[cfg(doc)]
use crate::MemoryBackend;
use crate::backend::Tier;
use crate::cache::call::Naming;
use crate::cache::flight::Flights;
use crate::cache::inner::Shared;
use crate::callback::CallbackMut;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::key::{Keyer, ReadableKeyer};
use crate::lock::{FileLock, FlightLock};
use crate::policy::{Outages, RateLimiter, TtlPolicy};

/// The options that depend on neither the key nor the value type, the memory tier among them
/// (its entries' types are erased): checked and turned into the cache's parts by code compiled
/// once, not once per cache type. A [`CacheBuilder`](super::CacheBuilder) holds them; a
/// `#[cached]` function sets them through [`__private::settings`](crate::__private::settings)'s
/// chain without a typed builder. Not part of the API.
#[doc(hidden)]
pub struct Settings {
    pub(super) namespace: String,
    pub(super) version: Option<String>,
    pub(super) code: Option<String>,
    pub(super) arg_names: &'static [&'static str],
    pub(super) keyer: Box<dyn Keyer>,
    pub(super) ttl: Option<Duration>,
    pub(super) stale_if_error: Option<Duration>,
    pub(super) stale_while_revalidate: Option<Duration>,
    pub(super) time_to_idle: Option<Duration>,
    pub(super) error_backoff: Duration,
    pub(super) rate_limiter: Option<RateLimiter>,
    pub(super) flight_lock: Option<Box<dyn FlightLock>>,
    pub(super) clock: Clock,
    pub(super) wait_timeout: Duration,
    /// The memory tier, untyped (a [`MemoryBackend`]'s `tier`, typed again by the build).
    pub(super) memory: Option<Tier>,
    /// The first mistake in giving the backends.
    pub(super) mistake: Option<&'static str>,
}

impl Settings {
    /// The defaults, with a cache's namespace, its key's argument names and its memory tier.
    pub(crate) fn named(
        namespace: &str,
        arg_names: &'static [&'static str],
        memory: Option<Tier>,
    ) -> Self {
        Self {
            namespace: namespace.to_owned(),
            version: None,
            code: None,
            arg_names,
            keyer: Box::new(ReadableKeyer),
            ttl: None,
            stale_if_error: None,
            stale_while_revalidate: None,
            time_to_idle: None,
            error_backoff: DEFAULT_ERROR_BACKOFF,
            rate_limiter: None,
            flight_lock: None,
            clock: Clock::system(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            memory,
            mistake: None,
        }
    }

    /// How long backends with an expiry of their own keep entries: exactly as long as a read
    /// could still accept them.
    fn retention(&self) -> Option<Duration> {
        let grace = (self.stale_if_error.unwrap_or_default())
            .max(self.stale_while_revalidate.unwrap_or_default());
        self.ttl.map(|ttl| ttl.saturating_add(grace))
    }

    /// Checks the settings ([`check`](Self::check)), readies the persistent tiers (`attach`, given
    /// the retention and whether a lock directory is wanted, answers the first tier's directory)
    /// and makes the cache's untyped parts, its memory tier among them (one by default when no
    /// tier was given): the non-generic part of a cache's build. `ttl_fn` says whether the cache
    /// has one, `timed_form` whether its key form lets it age entries, `persistent` how many
    /// persistent tiers it has, `persistent_form` whether its key form lets it have any (each
    /// refused otherwise: a cacher bug). The flights too, made here rather than by the typed end:
    /// a call there, between the moves of the typed parts, was a drop of each on its unwinding
    /// path, per cache type (compile time).
    pub(super) fn into_parts(
        mut self,
        (ttl_fn, timed_form): (bool, bool),
        (persistent, persistent_form): (usize, bool),
        attach: &mut dyn CallbackMut<(Option<Duration>, bool), Result<Option<PathBuf>>>,
    ) -> Result<(Shared, Option<Tier>, Flights)> {
        if persistent > 0 && !persistent_form {
            return Err(Error::Config(
                "a memory-only cache was given persistent backends (a cacher bug)".to_owned(),
            ));
        }
        let memory_bound = self.memory.as_ref().and_then(Tier::max_entries);
        self.check(self.mistake, memory_bound, ttl_fn)?;
        if persistent > 0 && self.namespace.is_empty() {
            return Err(Error::Config(EMPTY_NAMESPACE.into()));
        }
        let lock_dir = attach.run_mut((self.retention(), self.flight_lock.is_none()))?;
        let memory = match self.memory.take() {
            None if persistent == 0 => Some(Tier::new()),
            memory => memory,
        };
        let shared = self.into_shared(lock_dir, persistent, ttl_fn);
        if shared.timed && !timed_form {
            return Err(Error::Config(
                "a cache that ages no entry was given a ttl (a cacher bug)".to_owned(),
            ));
        }
        Ok((shared, memory, Flights::new()))
    }

    /// The cache's untyped parts but its memory tier; `lock_dir` is the first persistent tier's
    /// directory for a lock file, `persistent` the number of persistent tiers.
    fn into_shared(self, lock_dir: Option<PathBuf>, persistent: usize, ttl_fn: bool) -> Shared {
        // Processes of one machine sharing a disk tier run a missing key's function once.
        let wait_timeout = self.wait_timeout;
        let flight_lock = self.flight_lock.or_else(|| {
            let lock = FileLock::new(lock_dir?).wait_timeout(wait_timeout);
            Some(Box::new(lock) as Box<dyn FlightLock>)
        });
        let ttl = TtlPolicy::new(self.ttl)
            .stale_if_error(self.stale_if_error.unwrap_or_default())
            .stale_while_revalidate(self.stale_while_revalidate.unwrap_or_default())
            .time_to_idle(self.time_to_idle);
        Shared {
            tiers: persistent,
            stats: crate::cache::stats::Counters::new(&self.namespace, persistent),
            naming: Naming {
                namespace: self.namespace,
                version: self.version,
                code: self.code,
                arg_names: self.arg_names,
                keyer: self.keyer,
            },
            timed: ttl.ages() || ttl_fn,
            ttl,
            outages: Outages::new(self.error_backoff),
            rate_limiter: self.rate_limiter,
            flight_lock,
            clock: self.clock,
            wait_timeout,
            refreshing: Default::default(),
            hasher: Default::default(),
        }
    }

    /// The rules that span several options: `mistake` is the first in giving the backends,
    /// `memory_bound` the memory tier's `max_entries`.
    fn check(
        &self,
        mistake: Option<&'static str>,
        memory_bound: Option<usize>,
        ttl_fn: bool,
    ) -> Result<()> {
        let refuse = |why: &str| Err(Error::Config(why.into()));
        if let Some(mistake) = mistake {
            return refuse(mistake);
        }
        let ttl = self.ttl.is_some() || ttl_fn;
        if self.stale_if_error.is_some() && !ttl {
            return refuse("stale_if_error needs a ttl: entries without one never go stale");
        }
        if self.stale_while_revalidate.is_some() && !ttl {
            return refuse(
                "stale_while_revalidate needs a ttl: entries without one never go stale",
            );
        }
        if self.ttl == Some(Duration::ZERO) {
            return refuse("a ttl of zero would make every entry a miss: give a positive ttl");
        }
        if self.time_to_idle == Some(Duration::ZERO) {
            return refuse(
                "a time_to_idle of zero would make every entry a miss: give a positive one",
            );
        }
        if memory_bound == Some(0) {
            return refuse("max_entries must be at least 1");
        }
        Ok(())
    }
}

/// The setters, by value: [`CacheBuilder`](super::CacheBuilder)'s (whose docs say what each
/// option does) and the chain of a `#[cached]` function's build.
impl Settings {
    /// See [`CacheBuilder::namespace`](super::CacheBuilder::namespace).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// See [`CacheBuilder::version`](super::CacheBuilder::version).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// See [`CacheBuilder::code_hash`](super::CacheBuilder::code_hash).
    pub fn code_hash(mut self, fingerprint: impl Into<String>) -> Self {
        self.code = Some(fingerprint.into());
        self
    }

    /// See [`CacheBuilder::arg_names`](super::CacheBuilder::arg_names).
    pub fn arg_names(mut self, names: &'static [&'static str]) -> Self {
        self.arg_names = names;
        self
    }

    /// See [`CacheBuilder::keyer`](super::CacheBuilder::keyer).
    pub fn keyer(mut self, keyer: impl Keyer) -> Self {
        self.keyer = Box::new(keyer);
        self
    }

    /// See [`CacheBuilder::ttl`](super::CacheBuilder::ttl).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// See [`CacheBuilder::stale_if_error`](super::CacheBuilder::stale_if_error).
    pub fn stale_if_error(mut self, grace: Duration) -> Self {
        self.stale_if_error = Some(grace);
        self
    }

    /// See [`CacheBuilder::stale_while_revalidate`](super::CacheBuilder::stale_while_revalidate).
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = Some(window);
        self
    }

    /// See [`CacheBuilder::time_to_idle`](super::CacheBuilder::time_to_idle).
    pub fn time_to_idle(mut self, idle: Duration) -> Self {
        self.time_to_idle = Some(idle);
        self
    }

    /// See [`CacheBuilder::error_backoff`](super::CacheBuilder::error_backoff).
    pub fn error_backoff(mut self, backoff: Duration) -> Self {
        self.error_backoff = backoff;
        self
    }

    /// See [`CacheBuilder::rate_limit`](super::CacheBuilder::rate_limit).
    pub fn rate_limit(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// A [`RateLimiter`] of `min_interval` on the clock set so far: `#[cached]`'s `rate_limit`,
    /// after its `clock` (whose function is then called once, for the cache and its limiter).
    pub fn rate_limit_every(self, min_interval: Duration) -> Self {
        let limiter = RateLimiter::new(min_interval).with_clock(self.clock.clone());
        self.rate_limit(limiter)
    }

    /// See [`CacheBuilder::cross_process_lock`](super::CacheBuilder::cross_process_lock).
    pub fn cross_process_lock(mut self, lock: impl FlightLock) -> Self {
        self.flight_lock = Some(Box::new(lock));
        self
    }

    /// See [`CacheBuilder::clock`](super::CacheBuilder::clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// See [`CacheBuilder::wait_timeout`](super::CacheBuilder::wait_timeout).
    pub fn wait_timeout(mut self, bound: Duration) -> Self {
        // Any longer and `Instant + bound` would overflow.
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
        self.wait_timeout = bound.min(CENTURY);
        self
    }
}

/// Why a cache with persistent tiers is refused an empty namespace.
const EMPTY_NAMESPACE: &str = "the namespace of a cache with persistent tiers must not be \
     empty: it names its entries in every tier (their directory, their Redis hash tag, which \
     Redis Cluster takes for none when empty); give one with `.namespace(\"…\")`, or leave it \
     unset for \"default\"";
