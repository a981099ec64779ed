//! The builds `#[cached]` asks for, and what they refuse.

use crate::backend::PersistentBackend;
use crate::{Cache, CacheBuilder, Error, SeparateFileBackend};

#[test]
fn a_memory_only_or_untimed_build_refuses_a_persistent_backend_or_a_ttl() {
    // What `#[cached]` builds for a function without a persistent tier, or without a ttl:
    // given one (a cacher bug), the build is refused, not made with it left out.
    let dir = tempfile::tempdir().unwrap();
    let builder = Cache::<u32, u32>::builder().backend(SeparateFileBackend::new(dir.path()));
    let refused = |built: crate::Result<Cache<u32, u32>>| matches!(built, Err(Error::Config(_)));
    assert!(refused(builder.build_for::<false, true>()));
    let hour = std::time::Duration::from_secs(3600);
    assert!(refused(
        Cache::builder().ttl(hour).build_for::<true, false>()
    ));
    assert!(refused(
        Cache::builder()
            .time_to_idle(hour)
            .build_for::<true, false>()
    ));
    assert!(refused(
        Cache::builder().ttl_fn(|_| None).build_for::<true, false>()
    ));
    assert!(
        Cache::<u32, u32>::builder()
            .build_for::<false, false>()
            .is_ok()
    );
}

/// The memory-only form's refusal of a persistent tier comes first, before the checks of the
/// options and before any tier is readied: a build given an empty namespace as well is refused
/// as memory-only, and nothing is made in the tier's directory.
#[test]
fn a_memory_only_build_refuses_a_persistent_tier_before_anything_else() {
    refused_with_nothing_made(CacheBuilder::build_for::<false, true>, "memory-only");
}

/// Builds, with `build`, a cache of an empty namespace with a file tier in a new directory, and
/// asserts that it is refused by an error that `says` so, and that nothing was made there.
fn refused_with_nothing_made(
    build: impl FnOnce(CacheBuilder<u32, u32>) -> crate::Result<Cache<u32, u32>>,
    says: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let builder = Cache::<u32, u32>::builder()
        .namespace("")
        .backend(SeparateFileBackend::new(dir.path()));
    match build(builder) {
        Err(Error::Config(why)) => assert!(why.contains(says), "{why}"),
        other => panic!("not refused ({says}): {:?}", other.map(|_| ())),
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing made"
    );
}

/// An empty namespace names no place of its own in a persistent tier (and no Redis Cluster hash
/// tag: `{}` is none, so a namespace's keys and its generations spread over slots): refused,
/// saying what to write. A memory-only cache, whose namespace only labels its stats, keeps it.
/// (Accepted before, without a word.)
#[test]
fn a_cache_with_persistent_tiers_refuses_an_empty_namespace() {
    refused_with_nothing_made(CacheBuilder::build, ".namespace(\"");
    let memory = Cache::<u32, u32>::builder().namespace("").build();
    assert!(memory.is_ok());
}

/// Whether a cache is refused, as a configuration error, when built with `backend`; the same
/// answer as the tier's own check when it is attached.
fn tier_refused(backend: SeparateFileBackend) -> bool {
    let mut backend = backend;
    let attached = PersistentBackend::<u32>::attach(&mut backend, None);
    let built = Cache::<u32, u32>::builder().backend(backend).build();
    assert_eq!(attached.is_err(), built.is_err());
    matches!(built, Err(Error::Config(_)))
}

#[test]
fn a_file_tier_of_max_entries_zero_is_refused_never_panics() {
    assert!(tier_refused(
        SeparateFileBackend::new("unused").max_entries(0)
    ));
    assert!(!tier_refused(
        SeparateFileBackend::new("unused").max_entries(1)
    ));
}

#[test]
fn a_file_tier_of_max_entry_size_zero_is_refused() {
    assert!(tier_refused(
        SeparateFileBackend::new("unused").max_entry_size(0)
    ));
    assert!(!tier_refused(
        SeparateFileBackend::new("unused").max_entry_size(1)
    ));
}

#[cfg(unix)]
#[test]
fn a_file_tier_s_permissions_must_let_the_cache_read_and_write_its_entries() {
    for mode in [0o400, 0o200, 0o1600, 0o4700, 0o7777] {
        assert!(
            tier_refused(SeparateFileBackend::new("unused").permissions(mode)),
            "{mode:o}"
        );
    }
    for mode in [0o600, 0o640, 0o644, 0o660, 0o666] {
        assert!(
            !tier_refused(SeparateFileBackend::new("unused").permissions(mode)),
            "{mode:o}"
        );
    }
}

#[cfg(feature = "redis")]
#[test]
fn a_zero_ttl_of_a_redis_tier_is_refused_when_the_cache_is_built() {
    use crate::{RedisBackend, RedisOptions};
    let backend = RedisBackend::new(RedisOptions::new("redis://127.0.0.1:1/"))
        .unwrap()
        .ttl(std::time::Duration::ZERO);
    let built = Cache::<u32, u32>::builder().backend(backend).build();
    assert!(matches!(built, Err(Error::Config(_))), "{built:?}");
}
