//! Shared by the reliability suites and their child process (`reliability-child`): a small PRNG,
//! values whose whole content is derivable from their key, and the caches both sides build — so
//! that the parent checks values with exactly the code the child made them with.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use cacher::format::{BincodeFormatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, HashKeyer, SeparateFileBackend};

/// xorshift64*: deterministic, seedable, good enough to pick keys and delays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(mix(seed) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// splitmix64's finaliser: spreads the bits of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of `s`: a stable hash, the same in every process.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A seed from the clock, for tests that print it so a failure can be replayed.
pub fn seed_from_time() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    mix(now.as_secs() ^ u64::from(now.subsec_nanos()) ^ u64::from(std::process::id()))
}

/// The value stored for `key` in generation `generation`: a header `key|generation|len|`, then
/// `len` bytes of printable filler that depend on both. `len` is between `min` and `max` bytes.
pub fn derived_value(key: &str, generation: u64, min: usize, max: usize) -> String {
    let mut rng = Rng::new(fnv(key) ^ mix(generation));
    let len = min + rng.below((max - min + 1) as u64) as usize;
    let mut value = String::with_capacity(len + key.len() + 32);
    let _ = write!(value, "{key}|{generation}|{len}|");
    // A random block of a prime length, repeated with a rotation per repetition: every byte
    // depends on the key, the generation and its position, and making it is a few copies (the
    // crash writer spends its time writing, not here).
    let block: Vec<u8> = (0..FILLER_BLOCK)
        .map(|_| b'!' + (rng.next_u64() % 90) as u8)
        .collect();
    let mut filler = Vec::with_capacity(len);
    let mut round = 0;
    while filler.len() < len {
        let (head, tail) = block.split_at(round % FILLER_BLOCK);
        for part in [tail, head] {
            let take = (len - filler.len()).min(part.len());
            filler.extend_from_slice(&part[..take]);
        }
        round += 7;
    }
    value.push_str(std::str::from_utf8(&filler).expect("printable ASCII"));
    value
}

/// The length of the random block that [`derived_value`] repeats.
const FILLER_BLOCK: usize = 1021;

/// Checks that `value` is exactly a [`derived_value`] of `key` (of some generation), and returns
/// that generation. The error says what is wrong: another key's value, a torn or altered one.
pub fn check_derived_value(key: &str, value: &str, min: usize, max: usize) -> Result<u64, String> {
    let short = || value.chars().take(60).collect::<String>();
    let mut parts = value.splitn(4, '|');
    let (Some(owner), Some(generation), Some(len), Some(_)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "no header in a value of {} bytes: {:?}",
            value.len(),
            short()
        ));
    };
    if owner != key {
        return Err(format!("value of key {owner:?} served for key {key:?}"));
    }
    let generation: u64 = generation
        .parse()
        .map_err(|_| format!("bad generation in {:?}", short()))?;
    let expected = derived_value(key, generation, min, max);
    if value != expected {
        return Err(format!(
            "torn or altered value for {key:?} (generation {generation}, header length {len}): \
             {} bytes, expected {}",
            value.len(),
            expected.len()
        ));
    }
    Ok(generation)
}

/// Sizes of the crash test's values: hundreds of KiB.
pub const BIG_MIN: usize = 128 * 1024;
/// See [`BIG_MIN`].
pub const BIG_MAX: usize = 640 * 1024;
/// Sizes of the many-process test's values.
pub const SMALL_MIN: usize = 64;
/// See [`SMALL_MIN`].
pub const SMALL_MAX: usize = 8 * 1024;

/// The formats the suites run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// [`JsonFormatter`].
    Json,
    /// [`BincodeFormatter`].
    Bincode,
    /// [`PostcardFormatter`].
    Postcard,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Json, Format::Bincode, Format::Postcard];

    /// The name on a child's command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Bincode => "bincode",
            Format::Postcard => "postcard",
        }
    }

    /// The format named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// How a suite's cache stores its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The formatter.
    pub format: Format,
    /// `durable(true)`: fsync of the file and its directory.
    pub durable: bool,
    /// `HashKeyer` with two levels of shard directories (`ab/cd/<hash>.ext`), instead of the
    /// readable keyer's flat `<key>.ext`.
    pub sharded: bool,
}

impl Layout {
    /// As command-line arguments for the child.
    pub fn to_args(self) -> [String; 3] {
        [
            self.format.name().to_owned(),
            u8::from(self.durable).to_string(),
            u8::from(self.sharded).to_string(),
        ]
    }

    /// From [`to_args`](Self::to_args).
    pub fn from_args(args: &[String]) -> Option<Self> {
        Some(Self {
            format: Format::parse(args.first()?)?,
            durable: args.get(1)? == "1",
            sharded: args.get(2)? == "1",
        })
    }
}

/// A cache of `String` values on files under `dir`, laid out as `layout` says, without a memory
/// tier (every read goes to the file).
pub fn file_cache<K>(dir: &Path, namespace: &str, layout: Layout) -> Cache<K, String>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
{
    let builder = Cache::builder().namespace(namespace);
    let builder = if layout.sharded {
        builder.keyer(HashKeyer)
    } else {
        builder
    };
    let shard =
        |ext: &'static str| move |key: &str| format!("{}/{}/{key}.{ext}", &key[..2], &key[2..4]);
    let base = SeparateFileBackend::new(dir).durable(layout.durable);
    let builder = match (layout.format, layout.sharded) {
        (Format::Json, false) => builder.backend(base.formatter(JsonFormatter)),
        (Format::Json, true) => {
            builder.backend(base.formatter(JsonFormatter).filename_fn(shard("json")))
        }
        (Format::Bincode, false) => builder.backend(base.formatter(BincodeFormatter)),
        (Format::Bincode, true) => {
            builder.backend(base.formatter(BincodeFormatter).filename_fn(shard("bin")))
        }
        (Format::Postcard, false) => builder.backend(base.formatter(PostcardFormatter)),
        (Format::Postcard, true) => builder.backend(
            base.formatter(PostcardFormatter)
                .filename_fn(shard("postcard")),
        ),
    };
    builder.build().expect("a valid cache configuration")
}

/// A cache of `String` values in the embedded store in `dir` (postcard), without a memory tier.
pub fn store_cache<K>(dir: &Path, namespace: &str) -> Cache<K, String>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
{
    Cache::builder()
        .namespace(namespace)
        .backend(cacher::StoreBackend::new(dir))
        .build()
        .expect("a valid cache configuration")
}

/// A cache of `String` values on the disk tier `backend` names (`file` or `store`) in `dir`,
/// without a memory tier, with its default cross-process lock.
pub fn disk_cache<K>(dir: &Path, namespace: &str, backend: &str) -> Cache<K, String>
where
    K: std::hash::Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
{
    match backend {
        "store" => store_cache(dir, namespace),
        _ => {
            let layout = Layout {
                format: Format::Json,
                durable: false,
                sharded: false,
            };
            file_cache(dir, namespace, layout)
        }
    }
}

/// The key of the crash test's `i`-th entry.
pub fn crash_key(i: u64) -> String {
    format!("key{i:02}")
}

/// The namespace of the crash test's entries.
pub const CRASH_NAMESPACE: &str = "reliability::crash";
/// The namespace of the many-process test's entries.
pub const PROCESSES_NAMESPACE: &str = "reliability::processes";
/// How many keys the crash writer writes (more are read by the parent, never written).
pub const CRASH_KEYS: u64 = 12;

/// The namespace of the background-refresh process test (`refresh` mode of the child).
pub const REFRESH_NAMESPACE: &str = "reliability::refresh";

/// The cache of the background-refresh process test: memory in front of a file, a one-minute
/// ttl and a ten-minute `stale_while_revalidate` window, on `clock`.
pub fn refresh_cache(dir: &Path, clock: cacher::Clock) -> Cache<String, String> {
    Cache::builder()
        .namespace(REFRESH_NAMESPACE)
        .backend(cacher::MemoryBackend::new())
        .backend(SeparateFileBackend::new(dir))
        .ttl(std::time::Duration::from_secs(60))
        .stale_while_revalidate(std::time::Duration::from_secs(600))
        .clock(clock)
        .build()
        .expect("a valid configuration")
}

/// The namespace of the cross-process single-flight test's entries.
pub const FLIGHT_NAMESPACE: &str = "reliability::flight";
