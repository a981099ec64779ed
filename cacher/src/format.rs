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
//! name and is refused when it differs.

mod bincode;
mod json;
mod postcard;

pub use self::bincode::BincodeFormatter;
pub use self::json::JsonFormatter;
pub use self::postcard::PostcardFormatter;

use serde::{Deserialize, Serialize};

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

    pub(crate) fn decode(format: &'static str, err: impl std::fmt::Display) -> Self {
        Self {
            format,
            op: "decoding",
            message: err.to_string(),
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
    /// Encodes a value.
    ///
    /// # Errors
    /// When the value's `Serialize` impl fails or the format cannot represent it.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError>;
    /// Decodes a value that must fill `bytes` exactly (trailing bytes are an error).
    /// It may borrow from `bytes` (entries borrow their header strings, saving allocations on a hit).
    ///
    /// # Errors
    /// When the bytes are not a valid encoding of a `T`.
    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError>;
    /// Decodes a `T` from the start of `bytes`, ignoring what follows it. For self-describing
    /// formats, a struct `T` is read from the whole document and fields it does not name are
    /// skipped. Used to read an entry's header without knowing the value's type.
    ///
    /// # Errors
    /// When the bytes do not start with a valid encoding of a `T`.
    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError>;
}
