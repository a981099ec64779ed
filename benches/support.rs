//! What the bench targets share: the value type stored on disk, the borrowed form of a
//! three-argument key, a deterministic key order, and the file fixtures.
//!
//! The benches themselves are `memory.rs`, `file.rs`, `single_flight.rs` and `rate_limit.rs`;
//! `docs/BENCHMARKS.md` says how to run them and what they measured.

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The value cached on disk: a small API-like record whose `body` is sized so that its JSON
/// encoding is about the requested size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// An identifier.
    pub id: u64,
    /// A short title.
    pub title: String,
    /// A few numbers.
    pub tags: Vec<u32>,
    /// The bulk of the value.
    pub body: String,
}

impl Payload {
    /// A payload whose JSON encoding is `json_bytes` long (at least about 60 bytes).
    #[must_use]
    pub fn of_json_size(json_bytes: usize) -> Self {
        let mut payload = Self {
            id: 1_234_567,
            title: "benchmark payload".to_owned(),
            tags: vec![1, 22, 333, 4_444],
            body: String::new(),
        };
        let overhead = serde_json::to_vec(&payload).expect("encodes").len();
        let body_len = json_bytes.saturating_sub(overhead);
        // Text-like content: letters and spaces, nothing JSON has to escape.
        payload.body = (0..body_len)
            .map(|i| {
                if i % 8 == 7 {
                    ' '
                } else {
                    char::from(b'a' + (i % 26) as u8)
                }
            })
            .collect();
        payload
    }
}

/// The borrowed form of the key `(String, u32, String)`, as a `#[cached]` expansion for
/// `fn f(a: &str, b: u32, c: &str)` makes it: it hashes, compares and serialises exactly like
/// the owned tuple, so a hit allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Args3<'a>(pub &'a str, pub u32, pub &'a str);

/// The owned key that [`Args3`] borrows.
pub type Key3 = (String, u32, String);

impl Hash for Args3<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Exactly what `<(String, u32, String) as Hash>::hash` feeds the hasher.
        self.0.hash(state);
        self.1.hash(state);
        self.2.hash(state);
    }
}

impl Serialize for Args3<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.0, self.1, self.2).serialize(serializer)
    }
}

impl cacher::KeyRef<Key3> for Args3<'_> {
    fn is_key(&self, key: &Key3) -> bool {
        self.0 == key.0 && self.1 == key.1 && self.2 == key.2
    }

    fn to_key(&self) -> Key3 {
        (self.0.to_owned(), self.1, self.2.to_owned())
    }
}

impl quick_cache::Equivalent<Key3> for Args3<'_> {
    fn equivalent(&self, key: &Key3) -> bool {
        self.0 == key.0 && self.1 == key.1 && self.2 == key.2
    }
}

/// How many distinct keys the memory benches look up (all present on a hit).
pub const MEMORY_KEYS: usize = 1024;

/// A fixed pseudo-random order over `0..n`, the same for every peer, so that lookups are not
/// a predictable walk.
#[must_use]
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = XorShift(seed | 1);
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// A tiny deterministic generator (xorshift64).
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The `i`-th string key of the memory benches.
#[must_use]
pub fn string_key(i: usize) -> String {
    format!("/api/v1/users/{i}/profile")
}

/// The `i`-th three-argument key of the memory benches.
#[must_use]
pub fn key3(i: usize) -> Key3 {
    (format!("/api/v1/users/{i}"), i as u32, "desc".to_owned())
}

/// Where the persistent fixtures live: under `$CACHER_BENCH_DIR`, or `/tmp/cacher-bench` (the
/// populations of 1 000 000 files are made once and reused across runs).
#[must_use]
pub fn fixture_root() -> PathBuf {
    std::env::var_os("CACHER_BENCH_DIR")
        .map_or_else(|| std::env::temp_dir().join("cacher-bench"), PathBuf::from)
}

/// The sharding `filename_fn` of the population benches: `ab/cd/abcd….json` from a hashed key,
/// so no directory holds more than a few dozen files even at a million entries.
#[must_use]
pub fn sharded_name(key: &str) -> String {
    format!("{}/{}/{key}.json", &key[..2], &key[2..4])
}

/// Writes `files` (path, bytes) with plain `fs::write`, creating directories as needed, on
/// `threads` threads.
pub fn write_files(files: &[(PathBuf, Vec<u8>)], threads: usize) {
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for part in files.chunks(chunk) {
            scope.spawn(move || {
                for (path, bytes) in part {
                    write_creating_dirs(path, bytes);
                }
            });
        }
    });
}

/// `fs::write`, creating the parent directory when it is missing.
pub fn write_creating_dirs(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        if e.kind() != std::io::ErrorKind::NotFound {
            panic!("writing {}: {e}", path.display());
        }
        fs::create_dir_all(path.parent().expect("has a parent")).expect("creates the directory");
        fs::write(path, bytes).expect("writes the fixture");
    }
}

/// Replaces every occurrence of `placeholder` in `template` by `with` (same length).
#[must_use]
pub fn splice(template: &[u8], placeholder: &[u8], with: &[u8]) -> Vec<u8> {
    assert_eq!(placeholder.len(), with.len());
    let mut out = template.to_vec();
    let mut i = 0;
    while i + placeholder.len() <= out.len() {
        if &out[i..i + placeholder.len()] == placeholder {
            out[i..i + placeholder.len()].copy_from_slice(with);
            i += placeholder.len();
        } else {
            i += 1;
        }
    }
    out
}

/// The layout of a cacher entry (layout 3, `cacher/src/entry.rs`), read directly with serde: what
/// the "raw read + decode" baseline decodes (the same bytes cacher reads, without its checks).
/// The order of the fields is the layout's: the binary formats read them by position.
#[derive(Debug, Serialize, Deserialize)]
pub struct RawEnvelope<'a, V> {
    /// The layout version.
    pub cacher: u32,
    /// The namespace.
    pub namespace: &'a str,
    /// The version salt.
    pub version: Option<&'a str>,
    /// The key.
    pub key: &'a str,
    /// The arguments' canonical text.
    pub args: Option<&'a str>,
    /// The value's type name.
    #[serde(rename = "type")]
    pub type_name: &'a str,
    /// The fingerprint of the value type's shape.
    pub shape: Option<&'a str>,
    /// The fingerprint of the function's code.
    pub code: Option<&'a str>,
    /// The creation time.
    pub created_ms: u64,
    /// The entry's own ttl.
    pub ttl_ms: Option<u64>,
    /// The last use recorded.
    pub touched_ms: u64,
    /// The value.
    pub value: V,
}

impl<'a, V> RawEnvelope<'a, V> {
    /// An entry of `value` under `namespace` and `key`, with the fixed creation time of the
    /// benches and no ttl, version, arguments or fingerprints.
    pub fn new(namespace: &'a str, key: &'a str, type_name: &'a str, value: V) -> Self {
        const CREATED_MS: u64 = 1_764_000_000_000;
        Self {
            cacher: 3,
            namespace,
            version: None,
            key,
            args: None,
            type_name,
            shape: None,
            code: None,
            created_ms: CREATED_MS,
            ttl_ms: None,
            touched_ms: CREATED_MS,
            value,
        }
    }
}
