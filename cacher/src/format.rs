//! Formatters: how a persistent backend turns an entry into bytes, and which file extension it
//! gets.
//!
//! | formatter | bytes | extension | notes |
//! |---|---|---|---|
//! | [`JsonFormatter`] | JSON (serde_json) | `json` | a person opening the file sees the value |
//! | [`BincodeFormatter`] | bincode 2, standard config | `bin` | compact and fast; bincode is unmaintained (RUSTSEC-2025-0141), pinned to 2.x |
//! | [`PostcardFormatter`] | postcard 1 | `postcard` | compact, maintained, stable wire format |
//!
//! A formatter only encodes; the entry around the value (its key, namespace, type and creation
//! time) is the backend's. Bincode and postcard are not self-describing: an entry of another type
//! may decode "successfully" into garbage, which is why every entry also records the value's type
//! name and the fingerprint of its shape, and is refused when either differs
//! ([`entry`](crate::entry)).
//!
//! # Exact or refused
//!
//! Every formatter reads back exactly the value it wrote, or refuses to write it: a refused value
//! is still returned to the caller, the cache counts a failed write and calls the function again
//! next time. What is refused:
//!
//! | value | formatters | why |
//! |---|---|---|
//! | NaN, `inf`, `-inf` (also as map keys) | JSON | JSON has no such numbers; serde_json would write `null` |
//! | `Some(x)` where `x` writes `null`: `Some(None)`, `Some(())` | JSON | JSON writes `Some(x)` as `x`: it would read back as `None` |
//! | map keys that are not strings, numbers, chars or bools | JSON | JSON object keys are strings (serde_json's own refusal) |
//! | a struct that skips a field (`skip_serializing_if`) | bincode, postcard | fields are read by position: the next would be read in its place |
//! | nesting deeper than [`MAX_DEPTH`] | all | bounds the reader's stack |
//! | more than [`ZERO_SIZED_ITEMS`] items beyond one per byte | bincode, postcard | bounds the reader's work |
//!
//! Floats keep their bits in bincode and postcard (NaN payloads and `-0.0` included) and their
//! value in JSON (`-0.0` included; serde_json parses with `float_roundtrip`).
//!
//! # Bounded decoding
//!
//! Decoding never recurses more than [`MAX_DEPTH`] levels (JSON: serde_json's own limit of 128,
//! above what encoding allows), and a binary entry of `n` bytes never makes the decoder go
//! through more than `n + ZERO_SIZED_ITEMS` elements: a length prefix claiming more (a `Vec<()>`
//! of 2^40 elements in a few bytes) is refused before the first element. Decode errors never
//! quote the stored data, since they end up in logs.

mod bincode;
mod guard;
mod json;
mod postcard;
mod redact;

pub use self::bincode::BincodeFormatter;
pub use self::json::JsonFormatter;
pub use self::postcard::PostcardFormatter;
pub(crate) use self::postcard::{LastField, decode_last_field};

use serde::{Deserialize, Serialize};

use self::guard::Guard;

/// How deep a value may nest: each `Some`, newtype struct, sequence, tuple, map, struct and enum
/// counts one level (an enum's tuple or struct content one more), the entry around the value one.
/// A deeper value is refused when encoding and when decoding, so that a stored entry can never
/// overflow the reader's stack — not even a tokio worker's 2 MiB one.
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, MAX_DEPTH, PostcardFormatter};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Comment {
///     text: String,
///     replies: Vec<Comment>,
/// }
///
/// let mut thread = Comment { text: "leaf".into(), replies: vec![] };
/// for _ in 0..MAX_DEPTH {
///     thread = Comment { text: "re:".into(), replies: vec![thread] };
/// }
/// assert!(PostcardFormatter.encode(&thread).is_err());
/// ```
pub const MAX_DEPTH: usize = 100;

/// How many sequence elements, fields and map entries a binary entry may hold beyond one per
/// byte of its length. Elements of zero-sized types (`()`, unit structs) take no byte: without
/// this bound, a `Vec<()>` whose length prefix says 2^40 would keep the reader busy for hours.
pub const ZERO_SIZED_ITEMS: u64 = 1 << 20;

/// Encoding or decoding failed.
#[derive(Debug, thiserror::Error)]
#[error("{format} {op} failed: {message}")]
pub struct FormatError {
    format: &'static str,
    op: &'static str,
    message: String,
}

impl FormatError {
    pub(crate) fn encode(format: &'static str, err: impl std::fmt::Display) -> Self {
        Self {
            format,
            op: "encoding",
            message: err.to_string(),
        }
    }

    /// A decode error whose `message` holds no stored data (see `redact`).
    pub(crate) fn decode(format: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            format,
            op: "decoding",
            message: message.to_string(),
        }
    }

    /// An encode error: the guard's refusal if it refused, else the format's error.
    fn encode_guarded(format: &'static str, guard: &Guard, err: impl std::fmt::Display) -> Self {
        match guard.refusal() {
            Some(why) => Self::encode(format, why),
            None => Self::encode(format, err),
        }
    }

    /// A decode error: the guard's refusal if it refused, else the format's redacted error.
    fn decode_guarded(
        format: &'static str,
        guard: &Guard,
        redacted: impl FnOnce() -> String,
    ) -> Self {
        match guard.refusal() {
            Some(why) => Self::decode(format, why),
            None => Self::decode(format, redacted()),
        }
    }
}

/// A serialisation format for persistent backends.
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, PostcardFormatter};
///
/// let bytes = PostcardFormatter.encode(&vec![1u32, 2, 3]).unwrap();
/// let back: Vec<u32> = PostcardFormatter.decode(&bytes).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// assert_eq!(PostcardFormatter.extension(), "postcard");
/// ```
pub trait Formatter: Send + Sync + Clone + std::fmt::Debug + 'static {
    /// A short name, for messages ("json").
    fn name(&self) -> &'static str;
    /// The file extension, without the dot.
    fn extension(&self) -> &'static str;
    /// Whether the bytes name what they hold (JSON's field names and variant names), so that a
    /// reader of another shape fails rather than misreads. `false` unless a formatter says so;
    /// it only changes a warning ([`entry`](crate::entry) on types whose shape cannot be traced).
    fn self_describing(&self) -> bool {
        false
    }
    /// Encodes a value.
    ///
    /// # Errors
    /// When the value's `Serialize` impl fails, or the format could not read the value back
    /// exactly (see [Exact or refused](self#exact-or-refused)).
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError>;
    /// Decodes a value that must fill `bytes` exactly (trailing bytes are an error).
    /// It may borrow from `bytes` (entries borrow their header strings, saving allocations on a hit).
    ///
    /// # Errors
    /// When the bytes are not a valid encoding of a `T`, or nest or count beyond the limits
    /// ([Bounded decoding](self#bounded-decoding)). The message never quotes the bytes.
    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError>;
    /// Decodes a `T` from the start of `bytes`, ignoring what follows it. For self-describing
    /// formats, a struct `T` is read from the whole document and fields it does not name are
    /// skipped. Used to read an entry's header without knowing the value's type.
    ///
    /// # Errors
    /// When the bytes do not start with a valid encoding of a `T`.
    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError>;
}
