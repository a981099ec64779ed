//! Keys in the plain-store API: borrowed forms of the key, and floats, in memory and on disk.

use cacher::{Cache, Float, SeparateFileBackend, cached};

#[test]
fn the_plain_store_api_takes_the_key_with_borrowed_parts() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<(String, u32), u32> = Cache::builder()
        .backend(cacher::MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    cache.insert(&("/a", 1), 10).unwrap();
    let owned = ("/a".to_owned(), 1);
    assert_eq!(cache.get(&owned), Some(10), "found under the owned key");
    assert_eq!(
        cache.key_of(&("/a", 1)).unwrap(),
        cache.key_of(&owned).unwrap()
    );
    assert_eq!(cache.path_of(&("/a", 1)), cache.path_of(&owned));
    cache.remove(&("/a", 1)).unwrap();
    assert_eq!(cache.get(&owned), None);
    assert!(
        cacher_tests::files_below(dir.path()).is_empty(),
        "removed from disk too"
    );
}

#[test]
fn borrowed_forms_of_slices_references_and_floats_find_their_entries() {
    let cache: Cache<(Vec<u8>, String, Float<f64>), u32> = Cache::builder().build().unwrap();
    let name = String::from("n");
    cache.insert(&(&[1u8, 2][..], &name, 0.5), 3).unwrap();
    assert_eq!(
        cache.get(&(vec![1, 2], name.clone(), Float::new(0.5))),
        Some(3)
    );
    assert_eq!(cache.get(&(vec![1, 2], "n", 0.5)), Some(3));
}

#[test]
fn every_nan_is_one_key_and_the_zeros_are_two_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let build = |memory: bool| -> Cache<(Float<f64>,), String> {
        let builder = Cache::builder();
        let builder = if memory {
            builder.backend(cacher::MemoryBackend::new())
        } else {
            builder
        };
        builder
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let writer = build(true);
    writer.insert(&(f64::NAN,), "nan".into()).unwrap();
    writer.insert(&(0.0,), "zero".into()).unwrap();
    writer.insert(&(-0.0,), "minus zero".into()).unwrap();
    for cache in [&writer, &build(false)] {
        assert_eq!(cache.get(&(-f64::NAN,)).as_deref(), Some("nan"));
        assert_eq!(cache.get(&(0.0,)).as_deref(), Some("zero"));
        assert_eq!(cache.get(&(-0.0,)).as_deref(), Some("minus zero"));
    }
    assert_eq!(cacher_tests::files_below(dir.path()).len(), 3);
}

#[cached]
fn scale(x: f64, by: &f32) -> String {
    format!("{}", x * f64::from(*by))
}

#[test]
fn float_arguments_are_keys() {
    assert_eq!(scale(1.5, &2.0), "3");
    assert_eq!(scale(f64::NAN, &1.0), "NaN");
    assert_eq!(scale(-f64::NAN, &1.0), "NaN");
    assert_eq!(scale_cache().stats().hits, 1, "every NaN is one key");
    assert_eq!(scale(0.0, &1.0), "0");
    assert_eq!(scale(-0.0, &1.0), "-0", "-0.0 is not the key 0.0");
    assert_eq!(scale_cache().peek(&(1.5, 2.0f32)).as_deref(), Some("3"));
}

/// What users plausibly pass to the plain-store methods: each form compiles (one rule applies:
/// the `&str`-for-`String` rule made none ambiguous) and finds the entry.
#[test]
fn references_to_keys_and_to_their_forms_are_keys_unambiguously() {
    let strings: Cache<String, u32> = Cache::builder().build().unwrap();
    let owned = String::from("a");
    let name: &str = "a";
    strings.insert(&owned, 1).unwrap();
    assert_eq!(strings.get(name), Some(1));
    assert_eq!(strings.get(&name), Some(1));
    assert_eq!(strings.get(&&owned), Some(1));
    assert_eq!(strings.get(&owned.as_str()), Some(1));
    let numbers: Cache<u64, u32> = Cache::builder().build().unwrap();
    numbers.insert(&1, 1).unwrap();
    let k: &u64 = &1;
    assert_eq!(numbers.get(k), Some(1));
    assert_eq!(numbers.get(&k), Some(1));
    let pairs: Cache<(String, u32), u32> = Cache::builder().build().unwrap();
    pairs.insert(&("a", 1), 1).unwrap();
    let pair = ("a".to_owned(), 1);
    let pair_ref = &pair;
    assert_eq!(pairs.get(&pair_ref), Some(1));
    assert_eq!(pairs.get(&(name, 1)), Some(1));
    let encoded: Cache<cacher::key::Encoded, u32> = Cache::builder().build().unwrap();
    encoded.insert(&name, 1).unwrap();
    assert_eq!(encoded.get(&"a"), Some(1));
    assert_eq!(encoded.get(&owned), Some(1));
    let statics: Cache<&'static str, u32> = Cache::builder().build().unwrap();
    statics.insert(&"a", 1).unwrap();
    let s: &'static str = "a";
    assert_eq!(statics.get(&s), Some(1));
    assert_eq!(statics.get(&&s), Some(1));
}
