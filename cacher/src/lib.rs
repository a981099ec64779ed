//! Cache the results of expensive function calls — remote API requests, slow computations — in
//! memory, on disk, or in Redis, with one attribute.
//!
//! ```
//! use cacher::cached;
//!
//! #[cached(backend = "memory", ttl = "1h")]
//! fn slow_square(n: u64) -> u64 {
//!     std::thread::sleep(std::time::Duration::from_millis(10));
//!     n * n
//! }
//!
//! assert_eq!(slow_square(12), 144); // computed
//! assert_eq!(slow_square(12), 144); // from the cache
//! ```
//!
//! # The parts
//!
//! - [`Cache`]: a keyer, backends (its tiers: an optional memory backend in front of
//!   persistent ones), and policies. It wraps a function ([`Cache::wrap`]), computes on a miss
//!   ([`Cache::get_or_compute`]), or serves as a plain store ([`Cache::get`], [`Cache::insert`],
//!   [`Cache::remove`], [`Cache::peek`], which take borrowed forms of the key: [`AsKey`]). One
//!   call can be steered: [`Cache::refresh`], [`Cache::bypass`], and [`Cache::lookup`], which
//!   tells its value's [`Origin`].
//! - Backends ([`backend`]): [`MemoryBackend`] (typed, in process, no serialisation), and the
//!   [`PersistentBackend`]s [`SeparateFileBackend`] (one file per entry, written atomically),
//!   [`StoreBackend`] (every entry in one embedded LMDB database, shared by processes) and
//!   [`RedisBackend`] (feature `redis`).
//! - Formatters ([`format`](mod@format)): [`JsonFormatter`], [`BincodeFormatter`], [`PostcardFormatter`].
//! - Keyers ([`key`]): [`ReadableKeyer`] (`(v2)endpoint=%2Fposts_user_id=1_sort=asc`) and
//!   [`HashKeyer`] (32 hex characters), both over a documented, stable encoding of the arguments.
//! - Policies ([`policy`]): a ttl (fixed, or from the value), `stale_while_revalidate`,
//!   `stale_if_error` with an error backoff, `time_to_idle`, `max_entries`, and a shareable
//!   [`RateLimiter`].
//! - Locks ([`lock`]): a [`FlightLock`] such as [`FileLock`](lock::FileLock) (the default of a
//!   file or store tier, for one machine) or [`RedisLock`] makes a miss single-flight across
//!   processes.
//! - A [`Clock`] that tests replace with a mock.
//!
//! # Module map
//!
//! Dependencies point down only (no cycle between modules, nor between the submodules of
//! `cache` and `backend`): a backend knows nothing of caches or policies, and the one Redis
//! client serves the Redis backend, lock and rate limiter alike.
//!
//! ```text
//! cache     Cache, CacheBuilder, CacheStats: the public API and the miss path — its
//!   │       decisions once, in a core (cache/miss.rs) whose steps the core performs
//!   │       blocking and an async driver awaits (cache/drive.rs); a tier's operations
//!   │       below both (cache/tier_io.rs)
//!   │
//!   ├── key       arguments → canonical text → key: Keyer; KeyRef, the borrowed form of a key
//!   ├── policy    freshness (ttl, windows, idle time), error backoff, RateLimiter
//!   └── backend   MemoryBackend (looked up by KeyRef); PersistentBackend: file (with its
//!         │       index and path rules), store (LMDB), redis
//!         │
//!         ├── lock      FlightLock, FileLock (a lock file per key), RedisLock: single-flight
//!         │             across processes; LOCK_DIR, the folder of cacher's own files that the
//!         │             file and store tiers keep beside their entries
//!         │
//!         └── entry · format · redis (the client, RedisOptions) · clock · future (BoxFuture,
//!             the blocking-thread runner of async disk I/O)
//!             · portable (file names every platform accepts) · private_dir (0o700)
//! ```
//!
//! Every module reports [`Error`], which wraps the errors of the modules that have their own
//! (keys, formats, paths).
//!
//! # Promises
//!
//! - A cached value is never another key's, never torn, never of another type or version: every
//!   entry records what it is and is checked on read; files are replaced by atomic rename.
//! - Errors are never cached; a panic caches nothing and poisons nothing.
//! - A cache that cannot write still returns the function's value, and says so in a `tracing`
//!   warning and in [`CacheStats::errors`].
//! - Concurrent callers of one missing key run the function once, and no wait is unbounded.
//!
//! # Features
//!
//! - `tokio`: async get-or-compute (`#[cached]` on `async fn`), async single-flight, and a rate
//!   limiter that waits on tokio's timer.
//! - `redis`: [`RedisBackend`] (entries in Redis, its expiry as the ttl), a [`RateLimiter`] shared
//!   by all processes through Redis ([`RateLimiter::redis`]), and [`RedisLock`] for single-flight
//!   across processes, all three configured by one [`RedisOptions`]. With `tokio` too, their async
//!   methods use an async connection.
//! - `metrics`: every hit (by tier), miss, store, error (by tier) and stale serve, and the
//!   function's latency, through the [`metrics`](https://docs.rs/metrics) facade, labelled by
//!   namespace — `cacher_hits_total{namespace,tier}`, `cacher_misses_total`,
//!   `cacher_stores_total`, `cacher_errors_total{namespace,tier}`, `cacher_stale_served_total`,
//!   `cacher_compute_seconds` — for the exporter the application installs. They are the events
//!   [`CacheStats`] counts, from the same place. Always, without a feature: `tracing` spans at
//!   debug level around each computation (`cacher.compute`) and tier read and write
//!   (`cacher.read`, `cacher.write`, with `namespace` and `tier`).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backend;
mod cache;
mod callback;
mod clock;
pub mod entry;
mod error;
pub mod format;
mod future;
pub mod key;
pub mod lock;
pub mod policy;
mod portable;
mod ported;
mod private_dir;
#[cfg(feature = "redis")]
mod redis;
mod reentry;

#[doc(hidden)]
pub mod __private;

pub use crate::backend::{
    Listing, MemoryBackend, PersistentBackend, SeparateFileBackend, StoreBackend,
};
pub use crate::cache::{
    Cache, CacheBuilder, CacheStats, CachedFn, DEFAULT_ERROR_BACKOFF, DEFAULT_WAIT_TIMEOUT,
    IntoBackend, Lookup, Origin, TryCachedFn,
};
pub use crate::clock::{Clock, MockClock};
pub use crate::error::{Error, Result};
pub use crate::format::{BincodeFormatter, JsonFormatter, PostcardFormatter};
pub use crate::key::{AsKey, Float, HashKeyer, KeyRef, Keyer, ReadableKeyer};
pub use crate::lock::FlightLock;
pub use crate::policy::RateLimiter;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::{backend::RedisBackend, lock::RedisLock, redis::RedisOptions};
pub use cacher_macros::cached;
/// The `cached` crate's `#[once]`, `#[io_cached]` and `#[concurrent_cached]` (`cached` 4's
/// name of `#[io_cached]`), ported as they are: one compile error each, that says what to write
/// with `#[cached]` (not attributes of cacher).
#[doc(hidden)]
pub use cacher_macros::{concurrent_cached, io_cached, once};

/// The `cached` crate's path of its attributes (`cached::proc_macro`), which rustc suggests
/// here for `use cached::proc_macro::cached`: `#[cached]` by that path is one compile error that
/// says the import to write.
#[doc(hidden)]
pub mod proc_macro {
    pub use cacher_macros::cached_by_cached_path as cached;
    pub use cacher_macros::{concurrent_cached, io_cached, once};
}

/// The `cached` crate's types by their names, each a warning that says what to write instead
/// (and its constructors, and the methods of its `Cached` trait on a cache, an error that does).
#[doc(hidden)]
#[allow(deprecated)]
pub use ported::{Cached, Return, SizedCache, TimedCache, TimedSizedCache, UnboundCache};

/// [`proc_macro`]'s, by the `cached` crate's other path (`cached::macros`).
#[doc(hidden)]
pub mod macros {
    pub use cacher_macros::cached_by_cached_path as cached;
    pub use cacher_macros::{concurrent_cached, io_cached, once};
}

/// The directory below which `#[cached]` functions keep their files by default, one directory
/// per package: `$CACHER_DIR` when it is set and not empty, else the platform's cache directory
/// (`~/.cache` on Linux, `~/Library/Caches` on macOS, `{FOLDERID_LocalAppData}` on Windows).
/// Read once per process. What `cacher ls` lists when given no root.
///
/// # Examples
///
/// ```
/// let root = cacher::root_dir();
/// assert!(root.is_absolute());
/// ```
#[must_use]
pub fn root_dir() -> &'static std::path::Path {
    crate::__private::root_dir()
}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
