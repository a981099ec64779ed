//! Key encoding over arbitrary structured arguments.
//!
//! Properties:
//! - `cacher::key::canonical` never panics (and succeeds: these argument types always serialise);
//! - a `ReadableKeyer` key is a safe file name (non-empty, ASCII, at most `MAX_KEY_LEN` bytes, no
//!   character Windows refuses, no leading dot, no trailing dot or space, no device name), and
//!   when it is not the hashed fallback (`~`) it decodes back to the arguments it came from;
//! - different arguments of one type never share a canonical text nor a readable key — also when
//!   the type writes several kinds of the serde data model alike in content (`Loose`: an untagged
//!   enum of an integer, floats of two widths, a char, a string, a unit variant, an option, a
//!   newtype, a sequence and a tuple);
//! - a `HashKeyer` key is 32 lowercase hex characters;
//! - `PersistentBackend::path_of` of either key stays inside the cache directory, and so does
//!   any path an arbitrary `filename_fn` returns — or it is refused with `InvalidPath` naming it.

#![no_main]

use std::path::{Component, Path};

use arbitrary::Arbitrary;
use cacher::entry::EntryKey;
use cacher::key::{MAX_KEY_LEN, canonical};
use cacher::{HashKeyer, Keyer, PersistentBackend, ReadableKeyer, SeparateFileBackend};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;

/// The kinds that version 1 of the key encoding wrote alike (`1` and `1.0`, `'a'` and `"a"`,
/// `Asc` and `"Asc"`, `x` and `Some(x)`, a newtype and its field, `[1,2]` and `(1,2)`).
#[derive(Debug, Clone, Arbitrary, Serialize)]
#[serde(untagged)]
enum Loose {
    Int(u64),
    Small(u8),
    Single(f32),
    Double(f64),
    Char(char),
    Text(String),
    Order(Order),
    Maybe(Option<u32>),
    Plain(u32),
    Id(Id),
    List(Vec<u8>),
    Pair((u8, u8)),
}

#[derive(Debug, Clone, PartialEq, Arbitrary, Serialize)]
enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Arbitrary, Serialize)]
struct Id(u32);

impl Loose {
    /// Equal in the data model: floats by bits, all NaNs of one width alike.
    fn same(&self, other: &Loose) -> bool {
        use Loose::*;
        match (self, other) {
            (Single(a), Single(b)) => (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits(),
            (Double(a), Double(b)) => (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits(),
            (Int(a), Int(b)) => a == b,
            (Small(a), Small(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            (Text(a), Text(b)) => a == b,
            (Order(a), Order(b)) => a == b,
            (Maybe(a), Maybe(b)) => a == b,
            (Plain(a), Plain(b)) => a == b,
            (Id(a), Id(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Pair(a), Pair(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
enum Args {
    One(String),
    Two(String, String),
    Bytes(Vec<u8>),
    Mixed(String, u32, Option<String>),
    List(Vec<String>),
    Nested(Vec<(String, Option<u8>)>),
    Float(f64),
    Loose(Loose),
    Unit,
}

impl Args {
    /// Whether `self` and `other` are the same value of the same type (all NaNs are one value, as
    /// the key encoding documents; -0.0 and 0.0 are two).
    fn same(&self, other: &Args) -> Option<bool> {
        use Args::*;
        Some(match (self, other) {
            (One(a), One(b)) => a == b,
            (Two(a, b), Two(c, d)) => a == c && b == d,
            (Bytes(a), Bytes(b)) => a == b,
            (Mixed(a, b, c), Mixed(d, e, f)) => a == d && b == e && c == f,
            (List(a), List(b)) => a == b,
            (Nested(a), Nested(b)) => a == b,
            (Float(a), Float(b)) => (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits(),
            (Loose(a), Loose(b)) => a.same(b),
            (Unit, Unit) => true,
            _ => return None,
        })
    }

    fn names(&self, named: bool) -> &'static [&'static str] {
        match (self, named) {
            (Args::Two(..), true) => &["first", "second"],
            (Args::Mixed(..), true) => &["endpoint", "user_id", "sort"],
            (_, true) => &["arg"],
            (_, false) => &[],
        }
    }

    fn canonical(&self, named: bool) -> String {
        let names = self.names(named);
        match self {
            Args::One(s) => canonical(&(s,), names),
            Args::Two(a, b) => canonical(&(a, b), names),
            Args::Bytes(b) => canonical(&(b,), names),
            Args::Mixed(a, n, s) => canonical(&(a, n, s), names),
            Args::List(l) => canonical(&(l,), names),
            Args::Nested(l) => canonical(&(l,), names),
            Args::Float(f) => canonical(&(f,), names),
            Args::Loose(l) => canonical(&(l,), names),
            Args::Unit => canonical(&(), names),
        }
        .expect("these arguments always serialise")
    }

    /// The arguments read back from a readable key, for the kinds this target can decode.
    fn decodes_from(&self, key: &str, named: bool) -> Option<bool> {
        let names = self.names(named);
        let args = split_args(key, names)?;
        Some(match self {
            Args::One(s) => args.len() == 1 && bare(&args[0]).as_ref() == Some(s),
            Args::Two(a, b) => {
                args.len() == 2
                    && bare(&args[0]).as_ref() == Some(a)
                    && bare(&args[1]).as_ref() == Some(b)
            }
            Args::Bytes(bytes) => args.len() == 1 && byte_list(&args[0]).as_ref() == Some(bytes),
            _ => return None,
        })
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    a: Args,
    b: Args,
    named: bool,
    namespace: String,
    version: Option<String>,
    filename: String,
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Splits a readable key into its arguments' raw texts, after the encoding's version `(v2)`
/// (values never contain a raw `_`).
fn split_args(key: &str, names: &[&str]) -> Option<Vec<String>> {
    let key = key.strip_prefix("(v2)")?;
    if key.is_empty() {
        return Some(Vec::new());
    }
    let parts: Vec<&str> = if names.is_empty() {
        key.split('_').collect()
    } else {
        // Names may contain `_` themselves: walk them.
        let mut rest = key;
        let mut parts = Vec::new();
        for (i, name) in names.iter().enumerate() {
            rest = rest.strip_prefix(name)?.strip_prefix('=')?;
            let end = rest.find('_').unwrap_or(rest.len());
            parts.push(&rest[..end]);
            rest = &rest[end..];
            if i + 1 < names.len() {
                rest = rest.strip_prefix('_')?;
            }
        }
        if !rest.is_empty() {
            return None;
        }
        parts
    };
    parts.into_iter().map(percent_decode).collect()
}

/// A bare string argument: drops the `'` marking an ambiguous one (a string argument is never
/// written `'c'` like a char: chars escape the characters a marked string may start with).
fn bare(raw: &str) -> Option<String> {
    Some(raw.strip_prefix('\'').unwrap_or(raw).to_owned())
}

/// A `Vec<u8>`: a sequence of `u8`s, each written with its type, `[1u8,2u8]`.
fn byte_list(raw: &str) -> Option<Vec<u8>> {
    let inner = raw.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|b| b.strip_suffix("u8")?.parse().ok())
        .collect()
}

fn assert_safe_name(key: &str, input: &Input) {
    let fail = |why: &str| panic!("unsafe key {key:?} ({why}) for {input:?}");
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        fail("length");
    }
    if !key.is_ascii()
        || key
            .chars()
            .any(|c| c.is_control() || "<>:\"/\\|?*".contains(c))
    {
        fail("character");
    }
    if key.starts_with('.') || key.ends_with(['.', ' ']) {
        fail("dots or spaces at the edges");
    }
    let stem = key
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        fail("windows device name");
    }
}

fn assert_inside(dir: &Path, path: &Path, what: &str) {
    let rest = path
        .strip_prefix(dir)
        .unwrap_or_else(|_| panic!("{what}: {} is outside {}", path.display(), dir.display()));
    assert!(
        rest.components().count() > 0,
        "{what}: {} is the directory",
        path.display()
    );
    for component in rest.components() {
        let Component::Normal(name) = component else {
            panic!("{what}: {} has the component {component:?}", path.display());
        };
        assert!(
            name.len() <= 255,
            "{what}: a component of {} bytes",
            name.len()
        );
    }
}

fuzz_target!(|input: Input| {
    let dir = Path::new("/fuzz/cache");
    let version = input.version.as_deref();
    let text_a = input.a.canonical(input.named);
    let text_b = input.b.canonical(input.named);
    let key_a = ReadableKeyer.key(&input.namespace, version, &text_a);
    let key_b = ReadableKeyer.key(&input.namespace, version, &text_b);
    assert_safe_name(&key_a, &input);
    if !key_a.contains('~')
        && let Some(ok) = input.a.decodes_from(&key_a, input.named)
    {
        assert!(ok, "{key_a:?} does not decode back to {:?}", input.a);
    }
    if input.a.same(&input.b) == Some(false) {
        assert_ne!(
            text_a, text_b,
            "one canonical text for {:?} and {:?}",
            input.a, input.b
        );
        assert_ne!(
            key_a, key_b,
            "one readable key for {:?} and {:?}",
            input.a, input.b
        );
    }

    let hashed = HashKeyer.key(&input.namespace, version, &text_a);
    assert!(
        hashed.len() == 32
            && hashed
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{hashed:?}"
    );

    let entry_key = |key| EntryKey {
        namespace: &input.namespace,
        version,
        key,
        type_name: "fuzz",
    };
    let backend = SeparateFileBackend::new(dir);
    for key in [key_a.as_str(), hashed.as_str()] {
        let path = PersistentBackend::<u8>::path_of(&backend, &entry_key(key))
            .unwrap_or_else(|| panic!("the default file name of {key:?} is refused"));
        assert_inside(dir, &path, "default file name");
    }

    let filename = input.filename.clone();
    let custom = SeparateFileBackend::new(dir).filename_fn(move |_| filename.clone());
    // `None`: refused (the reason is what the unit tests of the path rules check).
    if let Some(path) = PersistentBackend::<u8>::path_of(&custom, &entry_key(&key_a)) {
        assert_inside(dir, &path, "filename_fn");
        let name = &input.filename;
        assert!(
            !name.contains(':') && !name.chars().any(char::is_control),
            "{name:?} accepted"
        );
        assert!(!name.starts_with(['/', '\\']), "{name:?} accepted");
    }
});
