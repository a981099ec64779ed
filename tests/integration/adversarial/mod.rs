//! The adversarial suite: each way an attacker or a careless neighbour could make cacher serve a
//! wrong value, touch a file that is not its own, crash, or wait without bound — one test per
//! attack, named as the promise that defeats it. docs/RELIABILITY.md maps attacks to tests.

mod aborts;
mod bomb;
#[cfg(feature = "tokio")]
mod cancel;
mod drops;
mod exclusive;
mod fallback;
mod files;
mod fillback;
#[cfg(feature = "redis")]
mod forever;
mod forget;
mod formats;
#[cfg(feature = "tokio")]
mod interleave;
mod keys;
mod locks;
mod macros;
mod midremove;
mod negzero;
mod neighbours;
mod overlaps;
mod races;
mod store;
mod storelinks;
mod stores;
mod touchback;
#[cfg(feature = "tokio")]
mod unawaited;
mod writes;

/// A memory tier in front of `tier`: the cache of the tests that watch what a persistent tier is
/// written (`tier` a test tier shared with the test, or a directory's).
fn memory_over<Kind>(tier: impl cacher::IntoBackend<u32, u64, Kind>) -> cacher::Cache<u32, u64> {
    cacher::Cache::builder()
        .backend(cacher::MemoryBackend::new())
        .backend(tier)
        .build()
        .unwrap()
}
