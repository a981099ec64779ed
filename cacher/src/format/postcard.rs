use serde::{Deserialize, Serialize};

use super::{FormatError, Formatter};

/// postcard 1: a compact, maintained binary format with a documented, stable wire format.
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, PostcardFormatter};
///
/// let bytes = PostcardFormatter.encode("hi").unwrap();
/// assert_eq!(PostcardFormatter.decode::<String>(&bytes).unwrap(), "hi");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PostcardFormatter;

impl Formatter for PostcardFormatter {
    fn name(&self) -> &'static str {
        "postcard"
    }

    fn extension(&self) -> &'static str {
        "postcard"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError> {
        postcard::to_stdvec(value).map_err(|e| FormatError::encode("postcard", e))
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        let (value, rest) =
            postcard::take_from_bytes(bytes).map_err(|e| FormatError::decode("postcard", e))?;
        if !rest.is_empty() {
            return Err(FormatError::decode(
                "postcard",
                format_args!("{} trailing bytes", rest.len()),
            ));
        }
        Ok(value)
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        postcard::take_from_bytes(bytes)
            .map(|(value, _)| value)
            .map_err(|e| FormatError::decode("postcard", e))
    }
}
