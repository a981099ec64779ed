use serde::{Deserialize, Serialize};

use super::{FormatError, Formatter};

/// bincode 2 (standard configuration) through its serde support.
///
/// bincode is unmaintained (RUSTSEC-2025-0141) and 3.0.0 does not compile, so cacher pins 2.x;
/// prefer [`PostcardFormatter`](super::PostcardFormatter) for new caches.
///
/// # Examples
///
/// ```
/// use cacher::format::{BincodeFormatter, Formatter};
///
/// let bytes = BincodeFormatter.encode(&42u64).unwrap();
/// assert_eq!(BincodeFormatter.decode::<u64>(&bytes).unwrap(), 42);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BincodeFormatter;

impl Formatter for BincodeFormatter {
    fn name(&self) -> &'static str {
        "bincode"
    }

    fn extension(&self) -> &'static str {
        "bin"
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, FormatError> {
        bincode::serde::encode_to_vec(value, bincode::config::standard())
            .map_err(|e| FormatError::encode("bincode", e))
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        let (value, read) =
            bincode::serde::borrow_decode_from_slice(bytes, bincode::config::standard())
                .map_err(|e| FormatError::decode("bincode", e))?;
        if read != bytes.len() {
            return Err(FormatError::decode(
                "bincode",
                format_args!("{} trailing bytes", bytes.len() - read),
            ));
        }
        Ok(value)
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        bincode::serde::borrow_decode_from_slice(bytes, bincode::config::standard())
            .map(|(value, _)| value)
            .map_err(|e| FormatError::decode("bincode", e))
    }
}
