use serde::{Deserialize, Serialize};

use super::guard::{Checked, Guard, Mode};
use super::redact::redact;
use super::{FormatError, Formatter};

/// JSON through serde_json: entries a person can read, diff and delete.
///
/// A value JSON cannot hold exactly is refused rather than written wrong: NaN and infinite
/// floats (serde_json would write `null`), and a `Some` whose content writes `null`
/// (`Some(None)` would read back as `None`); see [Exact or refused](super#exact-or-refused).
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, JsonFormatter};
///
/// let bytes = JsonFormatter.encode(&("posts", 3)).unwrap();
/// assert_eq!(bytes, br#"["posts",3]"#);
///
/// // `null` would read back as `None`: refused, never stored wrong.
/// assert!(JsonFormatter.encode(&Some(f64::NAN)).is_err());
/// assert!(JsonFormatter.encode(&Some(None::<u8>)).is_err());
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

    fn self_describing(&self) -> bool {
        true
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError> {
        let guard = Guard::encoding(Mode::Json);
        serde_json::to_vec(&Checked::new(value, &guard))
            .map_err(|e| FormatError::encode_guarded("json", &guard, e))
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        // from_slice rejects trailing characters other than whitespace. Depth: serde_json's own
        // limit (128) is above what encoding allows, so everything written reads back.
        serde_json::from_slice(bytes).map_err(|e| FormatError::decode("json", reason(&e)))
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        self.decode(bytes)
    }
}

/// serde_json's error without stored data: its syntax errors quote none; its data errors are
/// serde's messages, which may.
fn reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.classify() != serde_json::error::Category::Data {
        return text;
    }
    let at = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&at) {
        Some(message) => format!("{}{at}", redact(message)),
        None => redact(&text),
    }
}
