use bincode::error::DecodeError;
use serde::{Deserialize, Serialize};

use super::guard::{Checked, Guard, Mode, Seed};
use super::redact::redact;
use super::{FormatError, Formatter};

/// bincode 2 (standard configuration) through its serde support.
///
/// bincode is unmaintained (RUSTSEC-2025-0141) and 3.0.0 does not compile, so cacher pins 2.x;
/// prefer [`PostcardFormatter`](super::PostcardFormatter) for new caches. Decoding is bounded in
/// depth and work ([Bounded decoding](super#bounded-decoding)).
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
        let guard = Guard::encoding(Mode::Binary);
        let bytes =
            bincode::serde::encode_to_vec(Checked::new(value, &guard), bincode::config::standard())
                .map_err(|e| FormatError::encode_guarded("bincode", &guard, e))?;
        guard
            .check_items(bytes.len())
            .map_err(|why| FormatError::encode("bincode", why))?;
        Ok(bytes)
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        let (value, read) = decode_guarded(bytes)?;
        if read != bytes.len() {
            return Err(FormatError::decode(
                "bincode",
                format_args!("{} trailing bytes", bytes.len() - read),
            ));
        }
        Ok(value)
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        decode_guarded(bytes).map(|(value, _)| value)
    }
}

/// Decodes a `T` from the start of `bytes` through the guard; returns how many bytes it took.
fn decode_guarded<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, usize), FormatError> {
    let guard = Guard::decoding(Mode::Binary, bytes.len());
    decode_bounded(Seed::new(&guard), bytes)
        .map_err(|e| FormatError::decode_guarded("bincode", &guard, || reason(e)))
}

/// bincode's error without stored data: serde's messages redacted, and the variants that carry
/// a stored value reduced to their kind.
fn reason(error: DecodeError) -> String {
    match error {
        DecodeError::OtherString(message) => redact(&message),
        DecodeError::InvalidCharEncoding(_) => "invalid char encoding".to_owned(),
        DecodeError::InvalidBooleanValue(_) => "invalid boolean value".to_owned(),
        DecodeError::InvalidDuration { .. } => "invalid duration".to_owned(),
        DecodeError::InvalidSystemTime { .. } => "invalid system time".to_owned(),
        DecodeError::Utf8 { .. } => "invalid UTF-8".to_owned(),
        other => other.to_string(),
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
fn decode_bounded<'de, S: serde::de::DeserializeSeed<'de>>(
    seed: S,
    bytes: &'de [u8],
) -> Result<(S::Value, usize), DecodeError> {
    macro_rules! bounded {
        ($($bits:literal)*) => {$(
            if bytes.len() <= 1 << ($bits - 4) {
                let config = bincode::config::standard().with_limit::<{ 1 << $bits }>();
                return bincode::serde::seed_decode_from_slice(seed, bytes, config);
            }
        )*};
    }
    bounded!(16 20 24 28 31);
    #[cfg(target_pointer_width = "64")]
    bounded!(34 37 40 44);
    bincode::serde::seed_decode_from_slice(seed, bytes, bincode::config::standard())
}
