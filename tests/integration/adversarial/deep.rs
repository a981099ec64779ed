//! Entries a `filename_fn` puts deeper than the walks of `clear` and the bounds go.

use cacher::{Cache, Error, PostcardFormatter, SeparateFileBackend};

fn deep_cache(dir: &std::path::Path, levels: usize) -> Cache<u32, String> {
    let backend = SeparateFileBackend::new(dir)
        .filename_fn(move |key: &str| format!("{}{key}.json", "d/".repeat(levels)));
    Cache::builder()
        .namespace("app::deep")
        .version("2")
        .backend(backend)
        .build()
        .unwrap()
}

/// An entry 40 directories down (a `filename_fn` sharding by many short components) was left by
/// `clear`, whose walk stopped 32 directories down, and served after `clear` returned. Such a
/// path is refused, as every path the cache cannot manage (the value is still returned); the
/// deepest path allowed, below its version's directory, is cleared.
#[test]
fn an_entry_deeper_than_clear_looks_is_refused_and_the_deepest_allowed_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let deep = deep_cache(dir.path(), 40);
    let refused = deep.insert(&1, "before the clear".into());
    assert!(matches!(refused, Err(Error::InvalidPath(_))), "{refused:?}");
    assert_eq!(deep.get_or_compute(&1, || "computed".into()), "computed");
    deep.clear().unwrap();
    assert_eq!(deep_cache(dir.path(), 40).get(&1), None);

    let deepest = deep_cache(dir.path(), 31);
    deepest.insert(&1, "before the clear".into()).unwrap();
    deepest.clear().unwrap();
    assert_eq!(deep_cache(dir.path(), 31).get(&1), None);
    assert!(deep_cache(dir.path(), 32).insert(&1, "x".into()).is_err());
}

/// A namespace longer than the 4 KiB of header that `clear` reads to know an entry's
/// namespace: its entries were left by `clear` and served after it.
#[test]
fn clear_removes_the_entries_of_a_namespace_longer_than_the_header_it_reads() {
    let namespace = "n".repeat(5_000);
    for postcard in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let cache = || -> Cache<u32, String> {
            let builder = Cache::builder().namespace(namespace.as_str());
            let files = SeparateFileBackend::new(dir.path());
            match postcard {
                false => builder.backend(files).build().unwrap(),
                true => builder
                    .backend(files.formatter(PostcardFormatter))
                    .build()
                    .unwrap(),
            }
        };
        cache().insert(&1, "before the clear".into()).unwrap();
        cache().clear().unwrap();
        assert_eq!(cache().get(&1), None, "postcard: {postcard}");
    }
}
