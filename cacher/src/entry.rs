//! The entry a persistent backend stores: the value and what it is checked against on every read.
//!
//! An entry records the cache's namespace (the function), its version salt, the key, the value's
//! type name and the fingerprint of its shape, the fingerprint of the code that computed it, and
//! the creation time, then the value. On a read all six identities must match the lookup,
//! otherwise the entry is refused as [`Error::Corrupt`] — so a file that belongs to another
//! function, another key (a hash collision or a renamed file), an older `version`, a changed
//! return type, a type whose layout changed (a variant inserted, fields reordered) or an edited
//! function is a miss, never a wrong value.
//!
//! With [`JsonFormatter`](crate::format::JsonFormatter) an entry reads:
//!
//! ```json
//! {"cacher":3,"namespace":"app::fetch","version":null,"key":"user=1","args":"(v2)user=1",
//!  "type":"alloc::string::String","shape":"9f3c…","code":"5be0…","created_ms":1764000000000,
//!  "ttl_ms":3600000,"touched_ms":1764000000000,"value":"…"}
//! ```
//!
//! - `cacher`: the envelope's layout (3); entries of another layout are misses.
//! - `namespace`, `version`, `key`: whose entry it is (the cache, its version salt, the call).
//! - `args`: the arguments' canonical text ([`canonical`](crate::key::canonical())), so that an
//!   entry under a hashed key still says what it is for (`cacher show`, [`meta()`]); at most
//!   [`MAX_ARGS_BYTES`], cut short with `…` beyond; `null` when the entry was written without
//!   it. When both the entry and the lookup have it, a read checks it too: a collision of
//!   hashed keys, or a damaged entry, is a miss.
//! - `type`, `shape`: the value's type name and the fingerprint of its serde shape (below).
//! - `code`: the fingerprint of the code that computed the value — for `#[cached]` without a
//!   `version`, a hash of the function's tokens ([`CacheBuilder::code_hash`]); `null` when the
//!   cache has none. An entry of other code is a miss, and is overwritten in place.
//! - `created_ms`: when the value was computed (the cache's [`Clock`](crate::Clock)); a ttl
//!   counts from it, also in the tiers a hit is copied into.
//! - `ttl_ms`: the entry's own ttl, from the cache's `ttl_fn` (a token's `expires_in`, an HTTP
//!   `max-age`); `null` when the cache's fixed `ttl` applies.
//! - `touched_ms`: the last use recorded, for `time_to_idle`: the write's time, or a later use's
//!   when a hit was copied into this tier (a fill). A use is never written back to the entry it
//!   was read from: its idle window counts from there.
//! - `value`: the value.
//!
//! [`CacheBuilder::code_hash`]: crate::CacheBuilder::code_hash
//!
//! The type name comes from [`std::any::type_name`], whose text may change between compiler
//! versions: after such an upgrade old entries are misses and get rewritten, which is safe.
//!
//! # A type's identity: its name and its shape, not its module
//!
//! When the value type's shape is traced (below), the shape is the guard and the type names are
//! compared without their module paths: a type moved to another module (`models::User` to
//! `accounts::User`, or `Vec<models::User>` to `Vec<accounts::User>`) with the same serde shape
//! keeps its entries; a changed layout is a miss. A type whose shape cannot be traced has no
//! such guard, and is checked by its full path: moving it makes its entries misses (never a
//! wrong value). One consequence to know: replacing a type by a *different* one of the same name
//! and the same serde shape (a `Length(f64)` in metres by a `Length(f64)` in feet) reads the old
//! entries as the new type — change the cache's `version` when the meaning of a value changes
//! but its shape does not.
//!
//! # The shape
//!
//! `shape` is a fingerprint of the value type's serde layout, traced from its `Deserialize` once
//! per type and process (then looked up in a thread-local map: reads do not trace). A type whose
//! `Deserialize` cannot be traced (`serde_json::Value`, untagged or internally tagged enums,
//! flattened structs, types that validate their text and refuse every placeholder the tracer
//! offers — it tries empty text, a timestamp, a date, a version, a URL, 16 bytes for a UUID)
//! records `"shape":null` and is checked by type name only.
//! That is safe with JSON for a type whose JSON names its fields and variants (not an untagged
//! enum's, whose variants are tried in order); with postcard or bincode a layout change of such a
//! type is not detected — a warning says so once per type: change the cache's `version` when you
//! change such a type.
//!
//! Containers are traced by their serde name and their `Deserialize`'s visitor type, so types of
//! one serde name (`m1::Kind` and `m2::Kind`, `Result<u32, String>` and `Result<i32, u32>`) are
//! traced apart; the fingerprint names them by serde name and the order they were met, not by
//! their module path, so a type moved to another module keeps its entries.
//!
//! # Limits
//!
//! Entries larger than [`MAX_ENTRY_BYTES`] are refused on both sides, and decoding is bounded
//! in depth and work ([`format`](crate::format#bounded-decoding)); a corrupt or hostile entry is a
//! miss, never a crash. [`Error::Corrupt`]'s reason never quotes stored data.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::{FormatError, Formatter};

mod header;
pub(crate) mod meta;
mod shape;
mod type_name;

use self::type_name::same_type;

pub(crate) use self::meta::layout_any;
pub use self::meta::{EntryMeta, MAX_ARGS_BYTES, bounded_args, meta, meta_any};

/// The layout version of entries; bumped if the envelope ever changes (2: the shape field; 3: the
/// code field, the entry's own ttl and its last use), so that entries of another layout are
/// misses, never misread.
pub(crate) const LAYOUT: u32 = 3;

/// The largest entry, in bytes, that [`encode`] writes and [`decode`] reads (256 MiB). A backend
/// reading from a place others can write to should stop reading past it: more than this is not
/// an entry.
pub const MAX_ENTRY_BYTES: usize = 256 << 20;

/// The identity of one entry: what a lookup asks a backend for, and what the entry must record.
#[derive(Debug, Clone, Copy)]
pub struct EntryKey<'a> {
    /// The function's (or cache's) namespace.
    pub namespace: &'a str,
    /// The user's version salt.
    pub version: Option<&'a str>,
    /// The keyer's key.
    pub key: &'a str,
    /// The arguments' canonical text, recorded for people and tools (cut to
    /// [`MAX_ARGS_BYTES`]), and compared on reads with an entry's that has one. `None` records
    /// `null`, and accepts any.
    pub args: Option<&'a str>,
    /// `std::any::type_name` of the value. (The fingerprint of its shape is not part of the
    /// key: [`encode`] and [`decode`] compute it from the value's type.)
    pub type_name: &'static str,
    /// The fingerprint of the code that computes the values (for `#[cached]`, a hash of the
    /// function's tokens), if the cache has one: an entry of other code is a miss.
    pub code: Option<&'a str>,
}

/// A value with the time it was stored, in milliseconds since the Unix epoch, and what else
/// decides how long it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<V> {
    /// The cached value.
    pub value: V,
    /// When it was stored (the cache's clock).
    pub created_ms: u64,
    /// The entry's own ttl in milliseconds (the cache's `ttl_fn`); `None`: the cache's `ttl`.
    pub ttl_ms: Option<u64>,
    /// The last use recorded (for `time_to_idle`); `created_ms` when never touched.
    pub touched_ms: u64,
    /// When the cache stops accepting this entry at the latest (ttl, grace windows and idle
    /// time counted), for a backend with an expiry of its own (Redis's `PX`); `None`: never.
    /// Set by the cache on each write; not stored (a read gives `None`).
    pub expires_ms: Option<u64>,
}

impl<V> Entry<V> {
    /// An entry of `value` created at `created_ms`, with the cache's ttl, never touched since.
    ///
    /// # Examples
    ///
    /// ```
    /// let entry = cacher::entry::Entry::new("v", 1_000);
    /// assert_eq!((entry.touched_ms, entry.ttl_ms), (1_000, None));
    /// ```
    pub fn new(value: V, created_ms: u64) -> Self {
        Self {
            value,
            created_ms,
            ttl_ms: None,
            touched_ms: created_ms,
            expires_ms: None,
        }
    }

    /// The times that decide how long the entry is served.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp {
            created_ms: self.created_ms,
            ttl_ms: self.ttl_ms,
            touched_ms: self.touched_ms,
        }
    }
}

/// The times of an entry that decide its freshness, as the memory tier keeps them beside a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) created_ms: u64,
    pub(crate) ttl_ms: Option<u64>,
    pub(crate) touched_ms: u64,
}

#[derive(Serialize)]
struct EnvelopeRef<'a, V> {
    cacher: u32,
    namespace: &'a str,
    version: Option<&'a str>,
    key: &'a str,
    args: Option<&'a str>,
    #[serde(rename = "type")]
    type_name: &'a str,
    shape: Option<&'a str>,
    code: Option<&'a str>,
    created_ms: u64,
    ttl_ms: Option<u64>,
    touched_ms: u64,
    value: &'a V,
}

#[derive(Deserialize)]
struct Envelope<'a, V> {
    cacher: u32,
    #[serde(borrow)]
    namespace: Cow<'a, str>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    args: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    type_name: Cow<'a, str>,
    #[serde(borrow)]
    shape: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    created_ms: u64,
    ttl_ms: Option<u64>,
    touched_ms: u64,
    value: V,
}

/// The identities of an entry, without its value: read to say why an entry that failed to decode
/// is not this lookup's.
#[derive(Deserialize)]
struct Header<'a> {
    cacher: u32,
    #[serde(borrow)]
    namespace: Cow<'a, str>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    args: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    type_name: Cow<'a, str>,
    #[serde(borrow)]
    shape: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

/// Encodes `entry` under `key` with `formatter`, recording the fingerprint of `V`'s shape.
///
/// # Errors
/// [`Error::Format`] when the value cannot be encoded, the formatter could not read it back
/// exactly ([`format`](crate::format#exact-or-refused)), or it exceeds [`MAX_ENTRY_BYTES`].
///
/// # Examples
///
/// ```
/// use cacher::entry::{self, Entry, EntryKey};
/// use cacher::format::PostcardFormatter;
///
/// let key = EntryKey {
///     namespace: "app::name",
///     version: None,
///     key: "7",
///     args: Some("(v2)7"),
///     type_name: std::any::type_name::<String>(),
///     code: None,
/// };
/// let entry = Entry::new("seven".to_owned(), 0);
/// let bytes = entry::encode(&PostcardFormatter, &key, &entry).unwrap();
/// let back: Entry<String> = entry::decode(&PostcardFormatter, &key, &bytes, &"memory").unwrap();
/// assert_eq!(back, entry);
/// ```
pub fn encode<F: Formatter, V: Serialize + DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> Result<Vec<u8>> {
    let shape = shape::of::<V>();
    if !formatter.self_describing() {
        shape.warn_untraced(key.type_name, formatter.name());
    }
    let args = key.args.map(bounded_args);
    let envelope = EnvelopeRef {
        cacher: LAYOUT,
        namespace: key.namespace,
        version: key.version,
        key: key.key,
        args: args.as_deref(),
        type_name: key.type_name,
        shape: shape.fingerprint.as_deref(),
        code: key.code,
        created_ms: entry.created_ms,
        ttl_ms: entry.ttl_ms,
        touched_ms: entry.touched_ms,
        value: &entry.value,
    };
    // A `Serialize` that panics costs a write, never the caller's value (the panic is reported
    // by the panic hook as usual).
    let encoded = catch_unwind(AssertUnwindSafe(|| formatter.encode(&envelope)));
    let bytes = encoded.unwrap_or_else(|_| {
        Err(FormatError::encode(
            formatter.name(),
            "the value's Serialize panicked",
        ))
    })?;
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(FormatError::encode(
            formatter.name(),
            "the entry is larger than MAX_ENTRY_BYTES",
        )
        .into());
    }
    Ok(bytes)
}

/// Decodes bytes stored for `key`; `location` names them in errors (a path, a Redis key).
///
/// # Errors
/// [`Error::Corrupt`] when the bytes are empty, larger than [`MAX_ENTRY_BYTES`], truncated,
/// undecodable, beyond the formatter's limits, of another type or shape, or record another
/// namespace, version, key or code. The reason never quotes the stored data.
pub fn decode<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    bytes: &[u8],
    location: &dyn std::fmt::Display,
) -> Result<Entry<V>> {
    decode_current(formatter, key, bytes, location)?.ok_or_else(|| {
        Error::corrupt(
            location.to_string(),
            "entry of other code (the function was edited)".to_owned(),
        )
    })
}

/// [`decode`], for a backend's `get`: an entry of this key written by other code of the function
/// (its `code` differs: the function was edited since) is `Ok(None)`, a plain miss — expected
/// after every edit, and overwritten by the next store, not a corruption to warn about.
///
/// # Errors
/// As [`decode`], for every other mismatch.
///
/// # Examples
///
/// ```
/// use cacher::entry::{self, Entry, EntryKey};
/// use cacher::format::JsonFormatter;
///
/// let before = EntryKey {
///     namespace: "app::double",
///     version: None,
///     key: "7",
///     args: Some("(v2)7"),
///     type_name: std::any::type_name::<u32>(),
///     code: Some("x * 2"),
/// };
/// let bytes = entry::encode(&JsonFormatter, &before, &Entry::new(14u32, 0)).unwrap();
/// let edited = EntryKey { code: Some("x << 1"), ..before };
/// let read = entry::decode_current::<_, u32>(&JsonFormatter, &edited, &bytes, &"memory");
/// assert_eq!(read.unwrap(), None);
/// ```
pub fn decode_current<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    bytes: &[u8],
    location: &dyn std::fmt::Display,
) -> Result<Option<Entry<V>>> {
    let corrupt = |reason: String| Error::corrupt(location.to_string(), reason);
    if bytes.is_empty() {
        return Err(corrupt("empty entry".into()));
    }
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(corrupt("larger than MAX_ENTRY_BYTES".into()));
    }
    let shape = shape::of::<V>().fingerprint.as_deref();
    let read = match header::read(formatter, key, bytes, shape) {
        Some(read) => read.map(Some).map_err(|e| e.to_string()),
        None => decode_checked(formatter, key, bytes, shape),
    };
    read.map_err(corrupt)
}

/// The long way of [`decode_current`]: the whole envelope decoded, then checked; `Err` is why
/// the entry is corrupt or not this lookup's.
fn decode_checked<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    bytes: &[u8],
    shape: Option<&str>,
) -> Result<Option<Entry<V>>, String> {
    let envelope: Envelope<'_, V> = match decode_caught(formatter, bytes) {
        Ok(envelope) => envelope,
        Err(e) => {
            // Bytes of another layout, shape or code may fail to decode as this `V`: say which.
            let header = formatter.decode_prefix::<Header<'_>>(bytes).ok();
            return match header.map(|h| check(&h, key, shape)) {
                Some(Err(Mismatch::Superseded)) => Ok(None),
                Some(Err(Mismatch::Other(reason))) => Err(reason),
                _ => Err(e.to_string()),
            };
        }
    };
    let header = Header {
        cacher: envelope.cacher,
        namespace: envelope.namespace,
        version: envelope.version,
        key: envelope.key,
        args: envelope.args,
        type_name: envelope.type_name,
        shape: envelope.shape,
        code: envelope.code,
    };
    match check(&header, key, shape) {
        Ok(()) => Ok(Some(Entry {
            value: envelope.value,
            created_ms: envelope.created_ms,
            ttl_ms: envelope.ttl_ms,
            touched_ms: envelope.touched_ms,
            expires_ms: None,
        })),
        Err(Mismatch::Superseded) => Ok(None),
        Err(Mismatch::Other(reason)) => Err(reason),
    }
}

/// `formatter.decode(bytes)`, where a `Deserialize` that panics on stored bytes makes them a
/// miss, not a crash.
fn decode_caught<'de, F: Formatter, T: Deserialize<'de>>(
    formatter: &F,
    bytes: &'de [u8],
) -> Result<T, FormatError> {
    let decoded = catch_unwind(AssertUnwindSafe(|| formatter.decode(bytes)));
    decoded.unwrap_or_else(|_| Err(panicked(formatter)))
}

/// The error of a decode whose `Deserialize` panicked.
fn panicked<F: Formatter>(formatter: &F) -> FormatError {
    FormatError::decode(formatter.name(), "the value's Deserialize panicked")
}

/// Why an entry is not the one a lookup asks for.
enum Mismatch {
    /// This key's entry, computed by other code of the function, or its shape fingerprinted by
    /// an earlier tracer ([`shape::current_scheme`]).
    Superseded,
    /// Not this key's entry, or not readable as its type: the reason.
    Other(String),
}

/// Whether an entry with `header` is the one `key` asks for. The reason names what the reader
/// expected, never what is stored: a key or namespace may hold the arguments. Other code is
/// checked before the type: an edited function may have changed its return type too.
fn check(header: &Header<'_>, key: &EntryKey<'_>, shape: Option<&str>) -> Result<(), Mismatch> {
    let other = |reason: String| Err(Mismatch::Other(reason));
    if header.cacher != LAYOUT {
        return other(format!("entry of another layout than {LAYOUT}"));
    }
    if header.namespace != key.namespace {
        return other("entry of another namespace".into());
    }
    if header.version.as_deref() != key.version {
        return other("entry of another version".into());
    }
    if header.key != key.key {
        return other("entry of another key".into());
    }
    // Recorded by both sides: the arguments must be the same too (a hashed key's collision, a
    // damaged entry). An entry or a lookup without them is not refused for that.
    let args = (header.args.as_deref(), key.args);
    if let (Some(stored), Some(asked)) = args
        && stored != bounded_args(asked)
    {
        return other("entry of other arguments".into());
    }
    if header.code.as_deref() != key.code {
        return Err(Mismatch::Superseded);
    }
    if !same_type(&header.type_name, key.type_name, shape.is_some()) {
        return other(format!("entry of another type than {}", key.type_name));
    }
    if header.shape.as_deref() != shape {
        // Traced by an earlier tracer: the same layout may read otherwise; not this key's
        // layout changing, so not warned about.
        if header
            .shape
            .as_deref()
            .is_some_and(|s| !shape::current_scheme(s))
        {
            return Err(Mismatch::Superseded);
        }
        return other(format!(
            "entry of another shape of {} (its layout changed)",
            key.type_name
        ));
    }
    Ok(())
}
