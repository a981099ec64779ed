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
        let (value, read) = decode_bounded(bytes).map_err(|e| FormatError::decode("bincode", e))?;
        if read != bytes.len() {
            return Err(FormatError::decode(
                "bincode",
                format_args!("{} trailing bytes", bytes.len() - read),
            ));
        }
        Ok(value)
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        decode_bounded(bytes)
            .map(|(value, _)| value)
            .map_err(|e| FormatError::decode("bincode", e))
    }
}

/// Decodes with a limit on the bytes bincode may claim: sixteen times the input's length, rounded
/// up to a power of two.
///
/// bincode allocates a string's or byte vector's recorded length before reading it, and without a
/// limit it believes any length: one corrupt length prefix in a file made it ask for terabytes,
/// which aborts the process (found by `fuzz/`'s `entry_decode` target). With a limit it checks the
/// length first and returns an error. bincode claims a byte for each byte of a string it reads and
/// an integer's in-memory size (at most 16 bytes) for each integer, which takes at least one byte
/// of input: a valid encoding never claims more than sixteen times its length.
fn decode_bounded<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    macro_rules! bounded {
        ($($bits:literal)*) => {$(
            if bytes.len() <= 1 << ($bits - 4) {
                let config = bincode::config::standard().with_limit::<{ 1 << $bits }>();
                return bincode::serde::borrow_decode_from_slice(bytes, config);
            }
        )*};
    }
    bounded!(16 20 24 28 31);
    #[cfg(target_pointer_width = "64")]
    bounded!(34 37 40 44);
    bincode::serde::borrow_decode_from_slice(bytes, bincode::config::standard())
}
