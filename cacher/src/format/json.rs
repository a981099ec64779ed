use serde::{Deserialize, Serialize};

use super::{FormatError, Formatter};

/// JSON through serde_json: entries a person can read, diff and delete.
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, JsonFormatter};
///
/// let bytes = JsonFormatter.encode(&("posts", 3)).unwrap();
/// assert_eq!(bytes, br#"["posts",3]"#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFormatter;

impl Formatter for JsonFormatter {
    fn name(&self) -> &'static str {
        "json"
    }

    fn extension(&self) -> &'static str {
        "json"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError> {
        serde_json::to_vec(value).map_err(|e| FormatError::encode("json", e))
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        // from_slice rejects trailing characters other than whitespace.
        serde_json::from_slice(bytes).map_err(|e| FormatError::decode("json", e))
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        self.decode(bytes)
    }
}
