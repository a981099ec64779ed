//! Corrupt entries, for each formatter: an empty file, every truncation of a valid entry, random
//! garbage, a valid document of another type, another key's entry, an entry of an older
//! `version` or of another namespace. Each is a miss: the function runs, its value is returned,
//! the bad read is counted in `stats().errors`, and the file is repaired — a later cache (another
//! process) reads the right value without running the function.

use std::fs;
use std::path::{Path, PathBuf};

use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, SeparateFileBackend};
use cacher_tests::reliability::{Rng, seed_from_time};
use cacher_tests::{Calls, init_tracing};

const KEY: &str = "the key";
const NAMESPACE: &str = "reliability::corrupt";
const VERSION: &str = "v2";

fn expected() -> Vec<u32> {
    vec![3, 1, 4, 1, 5, 9, 2, 6]
}

/// A cache of `Vec<u32>` (no memory tier) on `dir` with `formatter`, namespace and version.
fn cache_of<V, F>(
    dir: &Path,
    formatter: F,
    namespace: &str,
    version: Option<&str>,
) -> Cache<String, V>
where
    V: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Formatter,
{
    let builder = Cache::builder().namespace(namespace);
    let builder = match version {
        Some(v) => builder.version(v),
        None => builder,
    };
    builder
        .backend(SeparateFileBackend::new(dir).formatter(formatter))
        .build()
        .unwrap()
}

/// The bytes a cache of `V` with this identity stores for `key` = `value`.
fn entry_bytes<V, F>(
    formatter: F,
    namespace: &str,
    version: Option<&str>,
    key: &str,
    value: V,
) -> Vec<u8>
where
    V: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Formatter,
{
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_of::<V, F>(dir.path(), formatter, namespace, version);
    cache.insert(key, value).unwrap();
    fs::read(cache.path_of(key).unwrap()).unwrap()
}

struct Suite<F> {
    formatter: F,
    dir: tempfile::TempDir,
    path: PathBuf,
    cases: usize,
}

impl<F: Formatter> Suite<F> {
    fn new(formatter: F) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_of::<Vec<u32>, F>(dir.path(), formatter.clone(), NAMESPACE, Some(VERSION))
            .path_of(KEY)
            .unwrap();
        // A version's entries live in a directory of their own (`v=<version>/`).
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        Self {
            formatter,
            dir,
            path,
            cases: 0,
        }
    }

    fn cache(&self) -> Cache<String, Vec<u32>> {
        cache_of(
            self.dir.path(),
            self.formatter.clone(),
            NAMESPACE,
            Some(VERSION),
        )
    }

    /// Puts `bytes` where the entry for `KEY` lives, then checks that it is a miss, recomputed,
    /// counted and repaired.
    fn check(&mut self, case: &str, bytes: &[u8]) {
        let name = self.formatter.name();
        fs::write(&self.path, bytes).unwrap();
        let cache = self.cache();
        let calls = Calls::default();
        let value = cache.get_or_compute(KEY, || {
            calls.hit();
            expected()
        });
        assert_eq!(value, expected(), "{name}, {case}: wrong value returned");
        assert_eq!(calls.count(), 1, "{name}, {case}: the bad entry was served");
        let stats = cache.stats();
        assert_eq!(
            stats.errors, 1,
            "{name}, {case}: the bad read was not counted: {stats:?}"
        );
        // Repaired: what is on disk now is the right entry, read without running the function.
        let later = self.cache();
        assert_eq!(
            later.get_or_compute(KEY, || unreachable!("{name}, {case}: not repaired")),
            expected()
        );
        assert_eq!(later.stats().errors, 0, "{name}, {case}");
        self.cases += 1;
    }

    fn run(mut self, rng: &mut Rng) -> usize {
        let f = self.formatter.clone();
        let valid = entry_bytes(f.clone(), NAMESPACE, Some(VERSION), KEY, expected());

        self.check("empty file", b"");
        for len in 0..valid.len() {
            self.check(
                &format!("truncated to {len} of {} bytes", valid.len()),
                &valid[..len],
            );
        }
        // One byte too many: an entry followed by anything is not an entry.
        let mut longer = valid.clone();
        longer.push(b'x');
        self.check("one trailing byte", &longer);
        for i in 0..64 {
            let len = rng.below(600) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            self.check(&format!("garbage #{i} ({len} bytes)"), &garbage);
        }
        // Single flipped bits inside the header (the identity), where a binary format might
        // otherwise still decode.
        // A flip in the module path of the recorded type name (`alloc::vec::` of
        // `alloc::vec::Vec<u32>`) names the same type moved to another module, whose entries are
        // kept by design (its shape is the guard): the value served is the right one, so those
        // bytes are not cases here (tests/integration/identity.rs).
        let type_name = std::any::type_name::<Vec<u32>>();
        let modules = type_name.rfind("::").map_or(0, |at| at + 2);
        let at = valid
            .windows(type_name.len())
            .position(|w| w == type_name.as_bytes());
        let module_bytes = at.map_or(0..0, |at| at..at + modules);
        for i in 0..valid.len().min(48) {
            if module_bytes.contains(&i) {
                continue;
            }
            let mut flipped = valid.clone();
            flipped[i] ^= 1 << (i % 8);
            if flipped != valid {
                self.check(&format!("bit flipped in byte {i}"), &flipped);
            }
        }
        self.check(
            "valid document of another type: a bare list",
            &f.encode(&vec![1u32, 2]).unwrap(),
        );
        self.check(
            "valid document of another type: a string",
            &f.encode("text").unwrap(),
        );
        self.check(
            "entry of this key with a value of another type",
            &entry_bytes(f.clone(), NAMESPACE, Some(VERSION), KEY, "text".to_owned()),
        );
        self.check(
            "entry of this key with a value of another type of the same shape (Vec<u64>)",
            &entry_bytes(
                f.clone(),
                NAMESPACE,
                Some(VERSION),
                KEY,
                vec![3u64, 1, 4, 1, 5, 9, 2, 6],
            ),
        );
        self.check(
            "another key's entry copied over this one",
            &entry_bytes(
                f.clone(),
                NAMESPACE,
                Some(VERSION),
                "another key",
                vec![7u32],
            ),
        );
        self.check(
            "entry of an older version",
            &entry_bytes(f.clone(), NAMESPACE, Some("v1"), KEY, vec![7u32]),
        );
        self.check(
            "entry without a version",
            &entry_bytes(f.clone(), NAMESPACE, None, KEY, vec![7u32]),
        );
        self.check(
            "entry of another namespace",
            &entry_bytes(
                f.clone(),
                "another::function",
                Some(VERSION),
                KEY,
                vec![7u32],
            ),
        );
        self.cases
    }
}

#[test]
fn corrupt_json_entries_are_misses_recomputed_and_repaired() {
    init_tracing();
    let seed = seed_from_time();
    println!("seed {seed}");
    let mut suite = Suite::new(JsonFormatter);
    // JSON-specific: valid JSON that is not an entry, or an entry of a future layout.
    suite.check("JSON null", b"null");
    suite.check("JSON object of another shape", br#"{"some":"other json"}"#);
    suite.check(
        "JSON object without the envelope",
        br#"{"value":[3,1,4,1,5,9,2,6]}"#,
    );
    let valid = String::from_utf8(entry_bytes(
        JsonFormatter,
        NAMESPACE,
        Some(VERSION),
        KEY,
        expected(),
    ))
    .unwrap();
    let edit = |from: &str, to: &str| {
        assert!(valid.contains(from), "{from} is not in {valid}");
        valid.replace(from, to)
    };
    suite.check(
        "entry of a future layout",
        edit("\"cacher\":3", "\"cacher\":4").as_bytes(),
    );
    suite.check(
        "entry of the layout before the code, ttl and touch fields",
        edit("\"cacher\":3", "\"cacher\":2").as_bytes(),
    );
    suite.check(
        "entry of the layout before the shape field",
        edit("\"cacher\":3", "\"cacher\":1").as_bytes(),
    );
    suite.check(
        "entry of another shape of the same type name",
        edit("\"shape\":\"2:", "\"shape\":\"2:0").as_bytes(),
    );
    suite.check(
        "entry with its key field removed",
        edit("\"key\":\"(v2)the%20key\",", "").as_bytes(),
    );
    suite.check(
        "entry with a null version",
        edit("\"version\":\"v2\"", "\"version\":null").as_bytes(),
    );
    suite.check(
        "two entries back to back",
        format!("{valid}{valid}").as_bytes(),
    );
    let cases = suite.run(&mut Rng::new(seed));
    println!("json: {cases} corrupt entries, each a miss, recomputed and repaired");
}

#[test]
fn corrupt_bincode_entries_are_misses_recomputed_and_repaired() {
    init_tracing();
    let seed = seed_from_time();
    println!("seed {seed}");
    let cases = Suite::new(BincodeFormatter).run(&mut Rng::new(seed));
    println!("bincode: {cases} corrupt entries, each a miss, recomputed and repaired");
}

#[test]
fn corrupt_postcard_entries_are_misses_recomputed_and_repaired() {
    init_tracing();
    let seed = seed_from_time();
    println!("seed {seed}");
    let cases = Suite::new(PostcardFormatter).run(&mut Rng::new(seed));
    println!("postcard: {cases} corrupt entries, each a miss, recomputed and repaired");
}

/// Replaces the value at the end of an entry (`"abc"`, written as its length then its bytes) by
/// the same bytes under the length `huge`, encoded by `length`.
fn with_huge_length(entry: &[u8], length: &[u8]) -> Vec<u8> {
    assert!(entry.ends_with(b"\x03abc"), "{entry:?}");
    let mut bytes = entry[..entry.len() - 4].to_vec();
    bytes.extend_from_slice(length);
    bytes.extend_from_slice(b"abc");
    bytes
}

/// A corrupt length prefix of a terabyte: before the fix in `format/bincode.rs`, bincode tried to
/// allocate it and aborted the whole process (found by the `entry_decode` fuzz target). Now it is
/// a miss like any other corrupt entry, for reads and for `clear`.
#[test]
fn a_length_prefix_of_a_terabyte_is_a_miss_not_an_abort() {
    init_tracing();
    let terabyte: u64 = 1 << 40;
    let mut bincode_len = vec![0xFD];
    bincode_len.extend_from_slice(&terabyte.to_le_bytes());
    let mut postcard_len = Vec::new();
    let mut n = terabyte;
    while n >= 0x80 {
        postcard_len.push((n as u8) | 0x80);
        n >>= 7;
    }
    postcard_len.push(n as u8);

    fn check<F: Formatter>(formatter: F, length: &[u8]) {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_of::<String, F>(dir.path(), formatter.clone(), NAMESPACE, None);
        let valid = entry_bytes(formatter.clone(), NAMESPACE, None, KEY, "abc".to_owned());
        let path = cache.path_of(KEY).unwrap();
        fs::write(&path, with_huge_length(&valid, length)).unwrap();
        let calls = Calls::default();
        let value = cache.get_or_compute(KEY, || {
            calls.hit();
            "recomputed".to_owned()
        });
        assert_eq!((value.as_str(), calls.count()), ("recomputed", 1));
        assert_eq!(cache.stats().errors, 1);
        // A file whose namespace has such a length: `clear` reads its header, must not abort,
        // and must leave it (it is nobody's entry that it can tell).
        let mut header = vec![1];
        header.extend_from_slice(length);
        header.extend_from_slice(b"abc");
        let stranger = dir
            .path()
            .join(format!("stranger.{}", formatter.extension()));
        fs::write(&stranger, &header).unwrap();
        cache.clear().unwrap();
        assert!(stranger.exists());
        assert!(!path.exists());
    }
    check(BincodeFormatter, &bincode_len);
    check(PostcardFormatter, &postcard_len);
}

/// The bound that fix puts on bincode never refuses a valid entry, even one made of integers
/// that take one byte each on disk and sixteen in memory.
#[test]
fn dense_valid_bincode_entries_still_decode() {
    fn round_trip<V>(value: V)
    where
        V: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
        V: serde::Serialize + serde::de::DeserializeOwned,
    {
        let dir = tempfile::tempdir().unwrap();
        cache_of::<V, _>(dir.path(), BincodeFormatter, NAMESPACE, None)
            .insert(KEY, value.clone())
            .unwrap();
        let fresh = cache_of::<V, _>(dir.path(), BincodeFormatter, NAMESPACE, None);
        assert_eq!(fresh.get(KEY), Some(value));
        assert_eq!(fresh.stats().errors, 0);
    }
    for n in [0, 1, 100, 5_000, 300_000] {
        round_trip(vec![1u128; n]);
        round_trip(vec![-1i128; n]);
        round_trip(vec![0u64; n]);
        round_trip(vec![(0u32, 1u16, 'x', true); n / 4]);
        round_trip(vec![Some(vec![0u128; 3]); n / 8]);
        round_trip("é".repeat(n));
        round_trip(vec![7u8; n]);
    }
}
