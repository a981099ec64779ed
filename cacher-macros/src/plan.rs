//! What to generate, once the options are checked: the cache's tiers in order, each with its own
//! settings, and the settings of the cache as a whole. `valid` makes it from the options (as
//! tokio-macros' `Configuration::build` makes its `FinalConfig`); `expand` reads it and works
//! nothing out again.

use std::time::Duration;

use syn::Expr;

use crate::attr::{Formatter, Keyer};

/// A cache that the runtime accepts: the validation guarantees that any combination of tiers
/// written here is one the attribute allows (memory first, then file, then redis).
pub(crate) struct Plan {
    /// The memory tier, in front of the others; `None` when `backend` leaves it out.
    pub memory: Option<MemoryTier>,
    pub file: Option<FileTier>,
    /// The embedded store, after the file tier and before the redis one.
    pub store: Option<StoreTier>,
    pub redis: Option<RedisTier>,
    /// How keys are written, for the persistent tiers; the runtime's default when `None`.
    pub keyer: Option<Keyer>,
    /// The salt of the persistent entries.
    pub version: Option<String>,
    /// The pinned namespace (`namespace = "…"`), below the package's name; the function's path
    /// when `None`.
    pub namespace: Option<String>,
    /// The fingerprint of the function's tokens that persistent entries record (`code.rs`);
    /// `None` with a `version`, or without a persistent tier.
    pub code: Option<String>,
    pub ttl: Option<Duration>,
    pub stale_if_error: Option<Duration>,
    /// The value's own ttl: the path of a `fn(&T) -> Option<Duration>`.
    pub ttl_fn: Option<syn::Path>,
    /// Serve stale and refresh in the background: the lookup hands an owned copy of the body
    /// (`try_get_or_refresh`).
    pub stale_while_revalidate: Option<Duration>,
    pub time_to_idle: Option<Duration>,
    pub error_backoff: Option<Duration>,
    /// The path of a `fn() -> cacher::Clock`.
    pub clock: Option<syn::Path>,
    pub rate_limit: Option<Duration>,
    /// Whether to generate the companion `<name>_cache()` (`companion = false` leaves it out,
    /// for a method of a trait impl, which can hold no other item).
    pub companion: bool,
    /// Whether an async body's future is boxed as `Send` (`send = false`: as it is, for a body
    /// run on a `LocalSet`).
    pub send: bool,
}

pub(crate) struct MemoryTier {
    pub max_entries: Option<usize>,
}

pub(crate) struct FileTier {
    /// The `cache_dir` expression: a string literal or a macro that gives one.
    pub dir: Option<Expr>,
    pub filename_fn: Option<syn::Path>,
    pub max_entries: Option<usize>,
    pub max_size: Option<u64>,
    pub durable: Option<bool>,
    pub formatter: Formatter,
}

pub(crate) struct StoreTier {
    /// The `cache_dir` expression: a string literal or a macro that gives one.
    pub dir: Option<Expr>,
    pub max_entries: Option<usize>,
    pub max_size: Option<u64>,
    pub durable: Option<bool>,
    /// The runtime's default (postcard) when `None`.
    pub formatter: Option<Formatter>,
}

pub(crate) struct RedisTier {
    /// The `redis_url` option; the runtime falls back to `$CACHER_REDIS_URL`, then to the local
    /// server.
    pub url: Option<String>,
    pub formatter: Formatter,
}

impl Plan {
    /// Whether entries outlive the process (a file, store or redis tier): such a cache records
    /// its code and claims its namespace, so that no other function reads its entries.
    pub(crate) fn persistent(&self) -> bool {
        self.file.is_some() || self.store.is_some() || self.redis.is_some()
    }

    /// Whether entries age (a ttl, a `ttl_fn` or an idle time): without, the key form says so,
    /// and the cache's code of expiry is not compiled (`KeyRef::TIMED`).
    pub(crate) fn timed(&self) -> bool {
        self.ttl.is_some() || self.ttl_fn.is_some() || self.time_to_idle.is_some()
    }
}

/// A cache in memory, unbounded, that never expires: `#[cached]` without options, and what a
/// function is expanded with when its options are wrong, so that its callers still compile and
/// the user sees the options' errors alone.
impl Default for Plan {
    fn default() -> Self {
        Plan {
            memory: Some(MemoryTier { max_entries: None }),
            file: None,
            store: None,
            redis: None,
            keyer: None,
            version: None,
            namespace: None,
            code: None,
            ttl: None,
            stale_if_error: None,
            ttl_fn: None,
            stale_while_revalidate: None,
            time_to_idle: None,
            error_backoff: None,
            clock: None,
            rate_limit: None,
            companion: true,
            send: true,
        }
    }
}
