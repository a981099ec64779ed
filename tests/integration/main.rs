//! The integration tests of cacher: one binary, one module per suite. Each test's name is the
//! promise it checks.
//!
//! | module | what it holds to |
//! |---|---|
//! | [`cache`] | any cache: errors and panics are not cached, tiers fill each other, the plain-store API, stats, configurations refused |
//! | [`control`] | per-call control (`refresh`, `bypass`, `lookup`'s origin), borrowed key forms in the plain-store API, floats as keys |
//! | [`policies`] | ttl, `stale_if_error` and the rate limiter, on a mock clock |
//! | [`single_flight`] | concurrent callers of a missing key run the function once; failures, panics, hung and cancelled leaders release the waiters |
//! | [`file`] | the file backend: readable names, formatters, atomic rewrites, namespaces, versions, bounds |
//! | [`identity`] | a cache's identity: moved types keep their entries, pinned namespaces, code-aware entries across processes, default directories |
//! | [`store`] | the embedded store: shared by caches and threads, bounds per namespace, ttl, remove and clear, entry checks, async |
//! | [`macros`] | `#[cached]`: the walkthrough end to end, and the rules of the generated code (warning-free) |
//! | [`reliability`] | crashes, many processes, hostile keys, corrupt entries, hostile environments, panics |
//! | `redis` | (feature `redis`) the Redis backend, failover, the shared rate limiter, the cross-process lock, the attribute |
//!
//! Helpers shared by all of them, and by the `reliability-child` process, are the
//! `cacher_tests` library (`tests/support/`).
//!
//! No test changes the process's environment or current directory: tests that need another
//! environment run in a child process (`spawn_self`, `reliability-child`).

mod adversarial;
mod cache;
mod control;
mod file;
mod freshness;
mod identity;
mod invalidation;
mod macros;
mod policies;
#[cfg(feature = "redis")]
mod redis;
mod reliability;
mod single_flight;
mod store;
