//! What an entry says about itself, read from its first bytes without decoding its value: what a
//! listing prints (`cacher ls`, `cacher show`, [`Listing`](crate::Listing)).

use std::borrow::Cow;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::LAYOUT;
use crate::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};

/// The longest `args` text an entry records, in bytes: a longer canonical text is cut and ends
/// with `…`. The key identifies the entry; this text only tells a person what it is for, and the
/// bound keeps every entry's header small whatever its arguments.
pub const MAX_ARGS_BYTES: usize = 1024;

/// The arguments' text as an entry records it: `text` itself, or its first bytes and `…` when it
/// is longer than [`MAX_ARGS_BYTES`].
///
/// # Examples
///
/// ```
/// use cacher::entry::{MAX_ARGS_BYTES, bounded_args};
///
/// assert_eq!(bounded_args("(v2)user=1"), "(v2)user=1");
/// let long = "x".repeat(5000);
/// let cut = bounded_args(&long);
/// assert!(cut.len() <= MAX_ARGS_BYTES && cut.ends_with('…'));
/// ```
#[must_use]
pub fn bounded_args(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_ARGS_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_ARGS_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// An entry's metadata: everything it records but its value.
///
/// Read by [`meta`] or [`meta_any`] from the entry's first bytes; what
/// [`Listing`](crate::Listing) reports for each entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The cache's namespace.
    pub namespace: String,
    /// Its version salt.
    pub version: Option<String>,
    /// The keyer's key.
    pub key: String,
    /// The arguments' canonical text, if recorded (see [`MAX_ARGS_BYTES`]).
    pub args: Option<String>,
    /// The value's type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The fingerprint of the code that computed it.
    pub code: Option<String>,
    /// When it was stored, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The entry's own ttl in milliseconds (the cache's `ttl_fn`); `None`: the cache's `ttl`,
    /// which entries do not record.
    pub ttl_ms: Option<u64>,
    /// Its last use recorded (for `time_to_idle`), in milliseconds since the Unix epoch.
    pub touched_ms: u64,
    /// The formatter that wrote it (`json`, `postcard`, `bincode`).
    pub format: &'static str,
}

/// The envelope's fields before the value, in order: what binary formats read from a prefix.
#[derive(Deserialize)]
struct Fields {
    cacher: u32,
    namespace: String,
    version: Option<String>,
    key: String,
    args: Option<String>,
    #[serde(rename = "type")]
    type_name: String,
    #[allow(dead_code)] // Read to reach the fields after it.
    shape: Option<String>,
    code: Option<String>,
    created_ms: u64,
    ttl_ms: Option<u64>,
    touched_ms: u64,
}

impl Fields {
    fn into_meta(self, format: &'static str) -> Option<EntryMeta> {
        (self.cacher == LAYOUT).then_some(EntryMeta {
            namespace: self.namespace,
            version: self.version,
            key: self.key,
            args: self.args,
            type_name: self.type_name,
            code: self.code,
            created_ms: self.created_ms,
            ttl_ms: self.ttl_ms,
            touched_ms: self.touched_ms,
            format,
        })
    }
}

/// The metadata of an entry written with `formatter`, from its bytes or their first ones (a few
/// KiB hold it unless the key is long); `None` when they do not start with an entry of the
/// current layout.
///
/// # Examples
///
/// ```
/// use cacher::entry::{self, Entry, EntryKey};
/// use cacher::format::PostcardFormatter;
///
/// let key = EntryKey {
///     namespace: "app::fetch",
///     version: None,
///     key: "3f1a…",
///     args: Some("(v2)user=7"),
///     type_name: "alloc::string::String",
///     code: None,
/// };
/// let bytes = entry::encode(&PostcardFormatter, &key, &Entry::new("x".repeat(9999), 5)).unwrap();
/// let meta = entry::meta(&PostcardFormatter, &bytes[..200]).unwrap();
/// assert_eq!((meta.args.as_deref(), meta.created_ms), (Some("(v2)user=7"), 5));
/// ```
#[must_use]
pub fn meta<F: Formatter>(formatter: &F, prefix: &[u8]) -> Option<EntryMeta> {
    if prefix.first() == Some(&b'{') {
        return json_meta(prefix);
    }
    let fields = formatter.decode_prefix::<Fields>(prefix).ok()?;
    fields.into_meta(format_name(formatter.name()))
}

/// [`meta`] when the formatter is not known: JSON when the bytes are an object, else the binary
/// format the file's `extension` names (`postcard`, `bin`), else postcard then bincode.
///
/// # Examples
///
/// ```
/// use cacher::entry::{self, Entry, EntryKey};
/// use cacher::format::BincodeFormatter;
///
/// let key = EntryKey {
///     namespace: "app::f", version: None, key: "1", args: None,
///     type_name: "u8", code: None,
/// };
/// let bytes = entry::encode(&BincodeFormatter, &key, &Entry::new(1u8, 9)).unwrap();
/// let meta = entry::meta_any(&bytes, Some("bin")).unwrap();
/// assert_eq!((meta.format, meta.key.as_str()), ("bincode", "1"));
/// assert!(entry::meta_any(b"notes", None).is_none());
/// ```
#[must_use]
pub fn meta_any(prefix: &[u8], extension: Option<&str>) -> Option<EntryMeta> {
    match extension {
        _ if prefix.first() == Some(&b'{') => json_meta(prefix),
        Some("bin") => meta(&BincodeFormatter, prefix),
        Some("postcard") => meta(&PostcardFormatter, prefix),
        _ => meta(&PostcardFormatter, prefix).or_else(|| meta(&BincodeFormatter, prefix)),
    }
}

/// The layout number an entry of any layout starts with, when the bytes look like one (its
/// `cacher` field, then a namespace): what tells an older release's entry from garbage.
pub(crate) fn layout_any(prefix: &[u8], extension: Option<&str>) -> Option<u32> {
    #[derive(Deserialize)]
    struct Start {
        cacher: u32,
        namespace: String,
    }
    let plausible = |start: Start| {
        let layout_like = (1..=LAYOUT + 16).contains(&start.cacher);
        (layout_like && !start.namespace.is_empty()).then_some(start.cacher)
    };
    if prefix.first() == Some(&b'{') {
        let mut rest = punct(prefix, b'{')?;
        let name = next::<String>(&mut rest)?;
        rest = punct(rest, b':')?;
        let layout = next::<u32>(&mut rest)?;
        return (name == "cacher").then_some(layout);
    }
    let start = match extension {
        Some("bin") => BincodeFormatter.decode_prefix::<Start>(prefix).ok(),
        _ => PostcardFormatter.decode_prefix::<Start>(prefix).ok(),
    };
    start.and_then(plausible)
}

fn format_name(name: &'static str) -> &'static str {
    match name {
        "bin" => "bincode",
        other => other,
    }
}

/// Reads a JSON entry's members one by one up to its `value`, so that a prefix is enough.
fn json_meta(bytes: &[u8]) -> Option<EntryMeta> {
    let mut rest = punct(bytes, b'{')?;
    let mut object = serde_json::Map::new();
    loop {
        let name: String = next(&mut rest)?;
        rest = punct(rest, b':')?;
        if name == "value" {
            break;
        }
        if matches!(
            name.as_str(),
            "cacher" | "namespace" | "version" | "key" | "args"
        ) || matches!(name.as_str(), "type" | "shape" | "code" | "created_ms")
            || matches!(name.as_str(), "ttl_ms" | "touched_ms")
        {
            object.insert(name, next::<serde_json::Value>(&mut rest)?);
        } else {
            next::<IgnoredAny>(&mut rest)?;
        }
        rest = punct(rest, b',')?;
    }
    let fields: Fields = serde_json::from_value(serde_json::Value::Object(object)).ok()?;
    fields.into_meta(JsonFormatter.name())
}

/// `bytes` after optional whitespace and the character `c`.
pub(crate) fn punct(bytes: &[u8], c: u8) -> Option<&[u8]> {
    bytes.trim_ascii_start().strip_prefix(&[c])
}

/// One JSON value from the start of `rest`, which then starts after it.
pub(crate) fn next<T: DeserializeOwned>(rest: &mut &[u8]) -> Option<T> {
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
    let value = values.next()?.ok()?;
    *rest = &rest[values.byte_offset()..];
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::{MAX_ARGS_BYTES, bounded_args, meta_any};
    use crate::entry::{self, Entry, EntryKey};
    use crate::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};

    fn round_trip<F: Formatter>(formatter: &F, extension: &str) {
        let args = "é".repeat(2000);
        let key = EntryKey {
            namespace: "app::f",
            version: Some("2"),
            key: "k",
            args: Some(&args),
            type_name: "alloc::string::String",
            code: Some("c0de"),
        };
        let entry = Entry {
            ttl_ms: Some(5_000),
            ..Entry::new("v".repeat(100_000), 1_764_000_000_000)
        };
        let bytes = entry::encode(formatter, &key, &entry).unwrap();
        let meta = meta_any(&bytes[..4096], Some(extension)).unwrap();
        assert_eq!(meta.namespace, "app::f");
        assert_eq!(meta.version.as_deref(), Some("2"));
        assert_eq!(meta.code.as_deref(), Some("c0de"));
        assert_eq!(meta.created_ms, 1_764_000_000_000);
        assert_eq!(
            (meta.ttl_ms, meta.touched_ms),
            (Some(5_000), 1_764_000_000_000)
        );
        let recorded = meta.args.unwrap();
        assert!(recorded.len() <= MAX_ARGS_BYTES && recorded.ends_with('…'));
        assert!(args.starts_with(recorded.trim_end_matches('…')));
        // The entry still reads back whole.
        let back: Entry<String> = entry::decode(formatter, &key, &bytes, &"t").unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn every_format_says_what_its_entry_is_from_the_first_page() {
        round_trip(&JsonFormatter, "json");
        round_trip(&PostcardFormatter, "postcard");
        round_trip(&BincodeFormatter, "bin");
    }

    #[test]
    fn an_entry_of_other_arguments_under_the_same_key_is_refused() {
        let written = EntryKey {
            namespace: "app::f",
            version: None,
            key: "9f3c",
            args: Some("(v2)alice"),
            type_name: "u8",
            code: None,
        };
        let bytes = entry::encode(&PostcardFormatter, &written, &Entry::new(1u8, 0)).unwrap();
        let collision = EntryKey {
            args: Some("(v2)bob"),
            ..written
        };
        let read = entry::decode::<_, u8>(&PostcardFormatter, &collision, &bytes, &"t");
        assert!(read.unwrap_err().to_string().contains("other arguments"));
        // A reader that does not know the arguments accepts the entry.
        let unknown = EntryKey {
            args: None,
            ..written
        };
        assert!(entry::decode::<_, u8>(&PostcardFormatter, &unknown, &bytes, &"t").is_ok());
    }

    #[test]
    fn short_args_are_kept_whole() {
        assert_eq!(bounded_args("(v2)7"), "(v2)7");
        assert_eq!(
            bounded_args(&"a".repeat(MAX_ARGS_BYTES)).len(),
            MAX_ARGS_BYTES
        );
    }
}
