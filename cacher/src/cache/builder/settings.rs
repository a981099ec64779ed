//! A builder's options that depend on neither the key nor the value type, and what they make:
//! checked and turned into the cache's parts once in cacher, not once per cache type.

use std::path::PathBuf;
use std::time::Duration;

use super::{DEFAULT_ERROR_BACKOFF, DEFAULT_WAIT_TIMEOUT};
use crate::cache::call::Naming;
use crate::cache::inner::Shared;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::key::{Keyer, ReadableKeyer};
use crate::lock::{FileLock, FlightLock};
use crate::policy::{Outages, RateLimiter, TtlPolicy};

/// The options that depend on neither the key nor the value type: checked and turned into the
/// cache's parts by code compiled once, not once per cache type.
pub(super) struct Settings {
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
}

impl Settings {
    /// The defaults, with a cache's namespace and its key's argument names.
    pub(super) fn named(namespace: &str, arg_names: &'static [&'static str]) -> Self {
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
    /// and makes the cache's untyped parts: the non-generic part of `CacheBuilder::build`.
    pub(super) fn into_shared(
        self,
        mistake: Option<&'static str>,
        memory_bound: Option<usize>,
        ttl_fn: bool,
        persistent: usize,
        attach: &mut dyn FnMut(Option<Duration>, bool) -> Result<Option<PathBuf>>,
    ) -> Result<Shared> {
        self.check(mistake, memory_bound, ttl_fn)?;
        if persistent > 0 && self.namespace.is_empty() {
            return Err(Error::Config(EMPTY_NAMESPACE.into()));
        }
        let lock_dir = attach(self.retention(), self.flight_lock.is_none())?;
        Ok(self.into_parts(lock_dir, persistent, ttl_fn))
    }

    /// The cache's untyped parts; `lock_dir` is the first persistent tier's directory for a lock file,
    /// `persistent` the number of persistent tiers.
    fn into_parts(self, lock_dir: Option<PathBuf>, persistent: usize, ttl_fn: bool) -> Shared {
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

/// Why a cache with persistent tiers is refused an empty namespace.
const EMPTY_NAMESPACE: &str = "the namespace of a cache with persistent tiers must not be \
     empty: it names its entries in every tier (their directory, their Redis hash tag, which \
     Redis Cluster takes for none when empty); give one with `.namespace(\"…\")`, or leave it \
     unset for \"default\"";
