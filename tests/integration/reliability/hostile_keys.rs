//! Hostile keys: arbitrary strings, bytes and tuples as the keys of a real cache on files. Every
//! file stays inside the cache directory, every key gets its own file and its own value back, no
//! path component exceeds 255 bytes, names are valid on Windows too, and readable keys decode
//! back to the argument they came from. A `filename_fn` returning a path that leaves the
//! directory, or no path at all, is refused with an error naming it — and the caller still gets
//! the function's value.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path};

use cacher::format::{BincodeFormatter, JsonFormatter, PostcardFormatter};
use cacher::key::{MAX_KEY_LEN, canonical};
use cacher::{Cache, Error, HashKeyer, Keyer, MemoryBackend, ReadableKeyer, SeparateFileBackend};
use cacher_tests::{Calls, TEMP_PREFIX, files_below, init_tracing, percent_decode};
use proptest::prelude::*;

/// Why `name` is not a valid file or directory name on Windows (or anywhere), if it is not.
fn invalid_name(name: &str) -> Option<String> {
    let device = |stem: &str| {
        let upper = stem.trim_end_matches([' ', '.']).to_ascii_uppercase();
        matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
            || ["COM", "LPT"].iter().any(|p| {
                upper.strip_prefix(p).is_some_and(|n| {
                    let mut c = n.chars();
                    c.next()
                        .is_some_and(|d| d.is_ascii_digit() || "¹²³".contains(d))
                        && c.next().is_none()
                })
            })
    };
    if name.is_empty() {
        Some("empty".into())
    } else if name.len() > 255 {
        Some(format!("{} bytes", name.len()))
    } else if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || "<>:\"/\\|?*".contains(*c))
    {
        Some(format!("contains {c:?}"))
    } else if name.ends_with(['.', ' ']) {
        Some("ends with a dot or a space".into())
    } else if device(name.split('.').next().unwrap_or_default()) {
        Some("a windows device name".into())
    } else {
        None
    }
}

/// Checks every file below `sandbox`: inside `cache_dir`, and each component of its path below
/// `cache_dir` a valid name.
fn assert_all_inside(sandbox: &Path, cache_dir: &Path) {
    let relative_dir = cache_dir.strip_prefix(sandbox).unwrap();
    for file in files_below(sandbox) {
        let inside = file.strip_prefix(relative_dir).unwrap_or_else(|_| {
            panic!("{} was written outside the cache directory", file.display())
        });
        for component in inside.components() {
            let Component::Normal(name) = component else {
                panic!("{} has a component {component:?}", file.display());
            };
            let name = name.to_str().expect("names are UTF-8");
            if !name.starts_with(TEMP_PREFIX) {
                assert_eq!(invalid_name(name), None, "{}: {name:?}", file.display());
            }
        }
    }
}

/// Strings meant to break file names: separators, dots, drive letters, device names, NUL,
/// percent signs, long runs, and anything at all.
fn hostile_string() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "",
        ".",
        "..",
        "/",
        "\\",
        ":",
        "C:",
        "con",
        "NUL",
        "com1",
        "lpt²",
        "aux.txt",
        " ",
        "\0",
        "\n",
        "%",
        "%2F",
        "~",
        "_",
        "=",
        "'",
        "\"",
        "*",
        "?",
        "<",
        ">",
        "|",
        "é",
        "日本",
        "\u{202e}",
        ".cacher-tmp-1",
        "a",
        "1",
        "-",
        "[",
        "{",
        "(",
        "null",
        "true",
    ]);
    prop_oneof![
        4 => any::<String>(),
        4 => prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat()),
        1 => ("[a-z/.]{0,3}", 200..700usize).prop_map(|(s, n)| s.repeat(n / s.len().max(1) + 1)),
        1 => (1..400usize).prop_map(|n| "/".repeat(n)),
    ]
}

/// Reads a readable key of a single string argument back (the fallback with `~` excluded):
/// drops the encoding's version `(v2)`, percent-decodes it and drops the `'` that marks an
/// ambiguous bare string.
fn decode_readable_string(key: &str) -> Option<String> {
    let raw = percent_decode(key.strip_prefix("(v2)")?)?;
    Some(raw.strip_prefix('\'').map(str::to_owned).unwrap_or(raw))
}

/// Builds a cache of `K` on `dir` with one of the layouts, writes every key with a value naming
/// it, then reads each back through a fresh cache (another process would see the same).
fn round_trip<K>(keys: &[K], layout: u8) -> Result<(), TestCaseError>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let build = || -> Cache<K, String> {
        let builder = Cache::builder().namespace("hostile");
        match layout % 4 {
            0 => builder.backend(SeparateFileBackend::new(&dir).formatter(JsonFormatter)),
            1 => builder.backend(SeparateFileBackend::new(&dir).formatter(PostcardFormatter)),
            2 => builder.keyer(HashKeyer).backend(
                SeparateFileBackend::new(&dir)
                    .formatter(BincodeFormatter)
                    .filename_fn(|k| format!("{}/{k}.bin", &k[..2])),
            ),
            // The readable key sharded by its last two bytes (which are never a trailing dot).
            _ => builder.backend(
                SeparateFileBackend::new(&dir)
                    .filename_fn(|k| format!("{}/{k}.json", &k[k.len().saturating_sub(2)..])),
            ),
        }
        .build()
        .unwrap()
    };
    let writer = build();
    let distinct: Vec<&K> = {
        let mut seen = Vec::new();
        for k in keys {
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
        seen
    };
    let mut paths = BTreeSet::new();
    for (i, key) in distinct.iter().enumerate() {
        let path = writer.path_of(*key).expect("every key has a path");
        prop_assert!(path.starts_with(&dir), "{:?} -> {}", key, path.display());
        prop_assert!(
            paths.insert(path.clone()),
            "two keys share {}",
            path.display()
        );
        writer
            .insert(*key, format!("value {i}: {key:?}"))
            .map_err(|e| TestCaseError::fail(format!("{key:?}: {e}")))?;
    }
    let reader = build();
    for (i, key) in distinct.iter().enumerate() {
        prop_assert_eq!(
            reader.get(*key),
            Some(format!("value {i}: {key:?}")),
            "{:?}",
            key
        );
    }
    prop_assert_eq!(writer.stats().errors + reader.stats().errors, 0);
    assert_all_inside(sandbox.path(), &dir);
    prop_assert_eq!(files_below(&dir).len(), distinct.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn string_keys_round_trip_inside_the_directory(
        keys in prop::collection::vec(hostile_string(), 1..8),
        layout in any::<u8>(),
    ) {
        round_trip(&keys, layout)?;
    }

    #[test]
    fn byte_keys_round_trip_inside_the_directory(
        keys in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
        layout in any::<u8>(),
    ) {
        round_trip(&keys, layout)?;
    }

    #[test]
    fn tuple_keys_round_trip_inside_the_directory(
        keys in prop::collection::vec((hostile_string(), hostile_string(), any::<u32>()), 1..8),
        layout in any::<u8>(),
    ) {
        round_trip(&keys, layout)?;
    }

    #[test]
    fn readable_keys_are_safe_names_and_decode_back(a in hostile_string(), b in hostile_string()) {
        let key = |s: &str| ReadableKeyer.key("ns", None, &canonical(&s, &[]).unwrap());
        let (ka, kb) = (key(&a), key(&b));
        for (s, k) in [(&a, &ka), (&b, &kb)] {
            prop_assert!(k.len() <= MAX_KEY_LEN, "{:?} -> {:?}", s, k);
            prop_assert_eq!(invalid_name(k), None, "{:?} -> {:?}", s, k);
            prop_assert!(!k.starts_with('.'), "{:?} -> {:?}", s, k);
            if !k.contains('~') {
                prop_assert_eq!(decode_readable_string(k), Some(s.clone()), "{:?}", k);
            }
        }
        if a != b {
            prop_assert_ne!(ka, kb, "{:?} and {:?} share a key", a, b);
        }
    }

    #[test]
    fn readable_keys_of_tuples_are_injective(
        a in (hostile_string(), hostile_string()),
        b in (hostile_string(), hostile_string()),
    ) {
        prop_assume!(a != b);
        for names in [&[][..], &["first", "second"][..]] {
            let ka = ReadableKeyer.key("ns", None, &canonical(&a, names).unwrap());
            let kb = ReadableKeyer.key("ns", None, &canonical(&b, names).unwrap());
            prop_assert_ne!(&ka, &kb, "{:?} and {:?}", a, b);
            prop_assert_eq!(invalid_name(&ka), None, "{:?}", ka);
        }
    }
}

/// `filename_fn` outputs that must never be used as paths. `{outside}` is replaced by an absolute
/// path in the sandbox, outside the cache directory.
const BAD_FILENAMES: &[&str] = &[
    "..",
    "../x",
    "../../x",
    "../escape.json",
    "a/../../x",
    "x/../../y.json",
    "/etc/passwd",
    "/abs.json",
    "{outside}",
    "C:\\x",
    "c:x",
    "\\\\server\\share\\x",
    "",
    ".",
    "a//b",
    "a//b.json",
    "a/",
    "a\0b",
    "a\nb",
    "con.json",
    ".cacher-tmp-1-2-3",
];

#[test]
fn a_filename_fn_leaving_the_directory_is_refused_and_the_value_still_returned() {
    init_tracing();
    let passwd_before = fs::read("/etc/passwd").ok();
    for &template in BAD_FILENAMES {
        let sandbox = tempfile::tempdir().unwrap();
        let dir = sandbox.path().join("cache");
        let outside = sandbox.path().join("outside.json");
        let rel = template.replace("{outside}", outside.to_str().unwrap());
        let returned = rel.clone();
        let cache: Cache<String, String> = Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(&dir).filename_fn(move |_| returned.clone()))
            .build()
            .unwrap();
        // Before anything is written: the cache names no path for it. (Also a guard: were this
        // to fail, the writes below could land outside the sandbox.)
        assert_eq!(cache.path_of("k"), None, "{rel:?} was accepted as a path");

        let calls = Calls::default();
        let value = cache.get_or_compute("k", || {
            calls.hit();
            "the value".to_owned()
        });
        assert_eq!(value, "the value", "{rel:?}");
        assert_eq!(calls.count(), 1);
        assert!(cache.stats().errors >= 1, "{rel:?}: {:?}", cache.stats());
        // The memory tier still serves it.
        assert_eq!(cache.get_or_compute("k", || unreachable!()), "the value");

        let err = cache.insert("k", "v".into()).unwrap_err();
        let Error::InvalidPath(invalid) = &err else {
            panic!("{rel:?}: expected InvalidPath, got {err:?}");
        };
        assert_eq!(invalid.path, rel);
        let message = err.to_string();
        assert!(
            message.contains(&format!("{rel:?}")),
            "the message does not name the path {rel:?}: {message}"
        );
        assert!(
            files_below(sandbox.path()).is_empty(),
            "{rel:?}: {:?}",
            files_below(sandbox.path())
        );
        assert!(!outside.exists());
    }
    assert_eq!(
        fs::read("/etc/passwd").ok(),
        passwd_before,
        "/etc/passwd changed"
    );
}

/// Keys whose readable form is long or empty still get a file of their own, within the 255-byte
/// limit, even with a long directory prefix from `filename_fn`.
#[test]
fn long_keys_get_short_distinct_names() {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().join("cache");
    let cache: Cache<String, String> = Cache::builder()
        .backend(SeparateFileBackend::new(&dir))
        .build()
        .unwrap();
    let keys: Vec<String> = (0..20)
        .map(|i| format!("{}{i}", "/".repeat(1000)))
        .chain(["".into(), "x".repeat(100_000)])
        .collect();
    for key in &keys {
        cache.insert(key, key.clone()).unwrap();
    }
    for key in &keys {
        assert_eq!(cache.get(key).as_ref(), Some(key));
    }
    assert_eq!(files_below(&dir).len(), keys.len());
    assert_all_inside(sandbox.path(), &dir);
}

#[test]
fn hostile_keys_stay_inside_the_cache_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cache");
    let cache: Cache<String, u32> = Cache::builder()
        .backend(SeparateFileBackend::new(&dir))
        .build()
        .unwrap();
    let hostile = [
        "..",
        "../x",
        "/etc/passwd",
        "a/../../b",
        "C:\\x",
        "con",
        "a\0b",
        "",
        ".",
    ];
    for (i, key) in hostile.iter().enumerate() {
        cache.insert(*key, i as u32).unwrap();
    }
    for (i, key) in hostile.iter().enumerate() {
        assert_eq!(cache.get(*key), Some(i as u32), "{key:?}");
    }
    assert_eq!(files_below(root.path()).len(), hostile.len());
    assert!(
        files_below(root.path())
            .iter()
            .all(|f| f.starts_with("cache"))
    );
    assert_eq!(cache.stats().errors, 0);
}
