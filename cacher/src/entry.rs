//! The entry a persistent backend stores: the value and what it is checked against on every read.
//!
//! An entry records the cache's namespace (the function), its version salt, the key, the value's
//! type name and the creation time, then the value. On a read all four identities must match the
//! lookup, otherwise the entry is refused as [`Error::Corrupt`] — so a file that belongs to
//! another function, another key (a hash collision or a renamed file), an older `version` or a
//! changed return type is a miss, never a wrong value.
//!
//! With [`JsonFormatter`](crate::format::JsonFormatter) an entry reads:
//!
//! ```json
//! {"cacher":1,"namespace":"app::fetch","version":null,"key":"user=1",
//!  "type":"alloc::string::String","created_ms":1764000000000,"value":"…"}
//! ```
//!
//! The type name comes from [`std::any::type_name`], whose text may change between compiler
//! versions: after such an upgrade old entries are misses and get rewritten, which is safe.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::Formatter;

/// The layout version of entries; bumped if the envelope ever changes.
const LAYOUT: u32 = 1;

/// The identity of one entry: what a lookup asks a backend for, and what the entry must record.
#[derive(Debug, Clone, Copy)]
pub struct EntryKey<'a> {
    /// The function's (or cache's) namespace.
    pub namespace: &'a str,
    /// The user's version salt.
    pub version: Option<&'a str>,
    /// The keyer's key.
    pub key: &'a str,
    /// `std::any::type_name` of the value.
    pub type_name: &'static str,
}

/// A value with the time it was stored, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<V> {
    /// The cached value.
    pub value: V,
    /// When it was stored (the cache's clock).
    pub created_ms: u64,
}

#[derive(Serialize)]
struct EnvelopeRef<'a, V> {
    cacher: u32,
    namespace: &'a str,
    version: Option<&'a str>,
    key: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    created_ms: u64,
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
    #[serde(rename = "type", borrow)]
    type_name: Cow<'a, str>,
    created_ms: u64,
    value: V,
}

/// Encodes `entry` under `key` with `formatter`.
///
/// # Errors
/// [`Error::Format`] when the value cannot be encoded.
pub fn encode<F: Formatter, V: Serialize>(
    formatter: &F,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
) -> Result<Vec<u8>> {
    let envelope = EnvelopeRef {
        cacher: LAYOUT,
        namespace: key.namespace,
        version: key.version,
        key: key.key,
        type_name: key.type_name,
        created_ms: entry.created_ms,
        value: &entry.value,
    };
    Ok(formatter.encode(&envelope)?)
}

/// Decodes bytes stored for `key`; `location` names them in errors (a path, a Redis key).
///
/// # Errors
/// [`Error::Corrupt`] when the bytes are empty, truncated, undecodable, of another type, or
/// record another namespace, version or key.
pub fn decode<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    bytes: &[u8],
    location: &dyn std::fmt::Display,
) -> Result<Entry<V>> {
    let corrupt = |reason: String| Error::corrupt(location.to_string(), reason);
    if bytes.is_empty() {
        return Err(corrupt("empty entry".into()));
    }
    let envelope: Envelope<'_, V> = formatter
        .decode(bytes)
        .map_err(|e| corrupt(e.to_string()))?;
    if envelope.cacher != LAYOUT {
        return Err(corrupt(format!("entry layout {}", envelope.cacher)));
    }
    if envelope.namespace != key.namespace {
        return Err(corrupt(format!(
            "entry of namespace {:?}, expected {:?}",
            envelope.namespace, key.namespace
        )));
    }
    if envelope.version.as_deref() != key.version {
        return Err(corrupt(format!(
            "entry of version {:?}, expected {:?}",
            envelope.version, key.version
        )));
    }
    if envelope.key != key.key {
        return Err(corrupt(format!(
            "entry of key {:?}, expected {:?}",
            envelope.key, key.key
        )));
    }
    if envelope.type_name != key.type_name {
        return Err(corrupt(format!(
            "entry of type {}, expected {}",
            envelope.type_name, key.type_name
        )));
    }
    Ok(Entry {
        value: envelope.value,
        created_ms: envelope.created_ms,
    })
}

/// The namespace recorded in an entry, read without knowing the value's type (used by `clear`,
/// which must delete only its own entries from a directory it may share).
pub(crate) fn namespace_of<F: Formatter>(formatter: &F, bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Header {
        cacher: u32,
        namespace: String,
    }
    // JSON skips the fields Header does not name; the binary formats read the header fields,
    // which come first, and leave the rest.
    match formatter.decode_prefix::<Header>(bytes) {
        Ok(h) if h.cacher == LAYOUT => Some(h.namespace),
        _ => None,
    }
}
