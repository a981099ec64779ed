use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};

use super::guard::{Checked, Guard, Mode, Seed};
use super::{FormatError, Formatter};

/// postcard 1: a compact, maintained binary format with a documented, stable wire format.
///
/// Decoding is bounded in depth and work ([Bounded decoding](super#bounded-decoding)); postcard's
/// own errors never quote the bytes.
///
/// # Examples
///
/// ```
/// use cacher::format::{Formatter, PostcardFormatter};
///
/// let bytes = PostcardFormatter.encode("hi").unwrap();
/// assert_eq!(PostcardFormatter.decode::<String>(&bytes).unwrap(), "hi");
///
/// // A `Vec<()>` whose length prefix says 2^40: refused at once, not iterated.
/// let hostile = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
/// assert!(PostcardFormatter.decode::<Vec<()>>(&hostile).is_err());
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
        let guard = Guard::encoding(Mode::Binary);
        // Room for a typical entry at once: grown from empty, the buffer was reallocated seven
        // times for a 200-byte value (a tenth of a store's instructions).
        let room = Vec::with_capacity(ENCODE_ROOM);
        let bytes = postcard::to_extend(&Checked::new(value, &guard), room)
            .map_err(|e| FormatError::encode_guarded("postcard", &guard, e))?;
        guard
            .check_items(bytes.len())
            .map_err(|why| FormatError::encode("postcard", why))?;
        Ok(bytes)
    }

    fn decode<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        let (value, rest) = decode_guarded(bytes)?;
        if !rest.is_empty() {
            return Err(FormatError::decode(
                "postcard",
                format_args!("{} trailing bytes", rest.len()),
            ));
        }
        Ok(value)
    }

    fn decode_prefix<'de, T: Deserialize<'de>>(&self, bytes: &'de [u8]) -> Result<T, FormatError> {
        decode_guarded(bytes).map(|(value, _)| value)
    }
}

/// The capacity an encoding starts with: an entry's envelope and a small value.
const ENCODE_ROOM: usize = 512;

/// Decodes a `T` from the start of `bytes` through the guard; returns what follows it.
fn decode_guarded<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<(T, &'de [u8]), FormatError> {
    let guard = Guard::decoding(Mode::Binary, bytes.len()).str_as_bytes();
    let mut de = postcard::Deserializer::from_bytes(bytes);
    // postcard's errors are fixed texts (it drops custom messages): none quotes the bytes.
    let error =
        |e: postcard::Error| FormatError::decode_guarded("postcard", &guard, || e.to_string());
    let value = Seed::<T>::new(&guard).deserialize(&mut de).map_err(error)?;
    let rest = de.finalize().map_err(error)?;
    Ok((value, rest))
}

/// Where the last field of a struct sits in the whole that [`PostcardFormatter::decode`] would
/// read, so that decoding the field alone counts as decoding the whole does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastField {
    /// The whole's length in bytes (the guard's item budget).
    pub(crate) whole_len: usize,
    /// The levels the field sits in.
    pub(crate) depth: usize,
    /// The items counted before it: the fields before it and their content.
    pub(crate) items_before: u64,
}

/// Decodes the last field of a postcard struct, a `T`, from `bytes` (what follows the fields
/// before it), through the guard placed where `at` says, and refuses trailing bytes: what
/// [`PostcardFormatter::decode`] of the whole accepts and refuses of it, without the struct's
/// own layer around every field.
pub(crate) fn decode_last_field<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    at: LastField,
) -> Result<T, FormatError> {
    let guard = Guard::decoding_within(Mode::Binary, at.whole_len, at.depth, at.items_before)
        .str_as_bytes();
    let mut de = postcard::Deserializer::from_bytes(bytes);
    let error =
        |e: postcard::Error| FormatError::decode_guarded("postcard", &guard, || e.to_string());
    let value = Seed::<T>::new(&guard).deserialize(&mut de).map_err(error)?;
    // The field itself is an item of its struct, counted once it is read.
    guard
        .item()
        .map_err(|why| FormatError::decode("postcard", why))?;
    let rest = de.finalize().map_err(error)?;
    if !rest.is_empty() {
        return Err(FormatError::decode(
            "postcard",
            format_args!("{} trailing bytes", rest.len()),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::PostcardFormatter;
    use crate::format::{FormatError, Formatter};

    /// A format's error reads "<format> <operation> failed: <why>": the text the cache logs, and
    /// a corrupt entry's reason.
    #[test]
    fn errors_say_the_format_the_operation_and_why() {
        let cut = PostcardFormatter.decode::<String>(&[5, b'a']).unwrap_err();
        assert!(
            cut.to_string().starts_with("postcard decoding failed: "),
            "{cut}"
        );
        let refused = FormatError::encode("postcard", "a skipped field");
        assert_eq!(
            refused.to_string(),
            "postcard encoding failed: a skipped field"
        );
    }

    /// Strings are read as bytes and checked here (`std` below 256 bytes, `simdutf8` from
    /// there): exactly what postcard's own check accepts is accepted, on both sides of the
    /// switch, whatever the string is read as.
    #[test]
    fn strings_read_as_bytes_accept_exactly_the_valid_utf8() {
        let piece = "aé€😀 z";
        for len in [0, 1, 30, 255, 256, 257, 300, 1000, 4096] {
            let text: String = piece.chars().cycle().take(len).collect();
            let bytes = PostcardFormatter.encode(&text).unwrap();
            let mut cases = vec![bytes.clone()];
            let prefix = bytes.len() - text.len();
            for at in [0, text.len() / 2, text.len().saturating_sub(1)] {
                for bad in [0x80, 0xc0, 0xed, 0xff] {
                    let mut damaged = bytes.clone();
                    if let Some(byte) = damaged.get_mut(prefix + at) {
                        *byte = bad;
                        cases.push(damaged);
                    }
                }
            }
            for case in &cases {
                let raw = postcard::from_bytes::<String>(case).ok();
                assert_eq!(PostcardFormatter.decode::<String>(case).ok(), raw, "{len}");
                let borrowed = PostcardFormatter.decode::<&str>(case).ok();
                assert_eq!(borrowed, raw.as_deref(), "{len}");
                let cow = PostcardFormatter.decode::<Cow<'_, str>>(case).ok();
                assert_eq!(cow.as_deref(), raw.as_deref(), "{len}");
            }
            let refused = PostcardFormatter.decode::<String>(&cases[cases.len() - 1]);
            if len > 0 {
                let error = refused.unwrap_err().to_string();
                assert!(error.contains("not valid UTF-8"), "{error}");
            }
        }
    }

    /// `bytes` as postcard writes a `str` of them: their length, then the bytes.
    fn as_str(bytes: &[u8]) -> Vec<u8> {
        [&PostcardFormatter.encode(&bytes.len()).unwrap()[..], bytes].concat()
    }

    /// Sequences std refuses (overlong forms, surrogates, past U+10FFFF, lone continuation and
    /// lead bytes) and multi-byte chars cut at every byte, placed so that they end before, at
    /// and after the 256-byte switch and straddle it (attack 20): the guard's check (std's
    /// below 256 bytes, simdutf8's from there) accepts exactly what `str::from_utf8` accepts.
    #[test]
    fn strings_around_the_switch_are_checked_as_std_checks_them() {
        let bad: [&[u8]; 12] = [
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf",
            b"\xed\xa0\x80",
            b"\xed\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\x80",
            b"\xbf",
            b"\xc3",
            b"\xf5\x80\x80\x80",
            b"\xff",
            b"\xef\xbf\xbf",
        ];
        let mut pieces: Vec<Vec<u8>> = bad.iter().map(|piece| piece.to_vec()).collect();
        for c in ['é', '€', '😀', '\u{10ffff}', '\u{d7ff}', '\u{e000}'] {
            let mut buf = [0; 4];
            let whole = c.encode_utf8(&mut buf).as_bytes();
            pieces.extend((1..=whole.len()).map(|cut| whole[..cut].to_vec()));
        }
        let mut checked = 0;
        for piece in &pieces {
            for len in (248..=264usize).chain([0, 1, 127, 511, 512, 513]) {
                let fill = len.saturating_sub(piece.len());
                // At every place in a few lengths: vectorized checks work in blocks of 16 to 64
                // bytes, where a sequence cut by a block's end is the classic bug.
                let every = [256, 257, 300].contains(&len);
                let places = if every {
                    (0..=fill).collect()
                } else {
                    vec![0, fill / 2, fill]
                };
                for at in places {
                    let mut text = vec![b'a'; fill];
                    text.splice(at..at, piece.iter().copied());
                    let expected = std::str::from_utf8(&text).ok();
                    let bytes = as_str(&text);
                    let read = PostcardFormatter.decode::<String>(&bytes).ok();
                    assert_eq!(read.as_deref(), expected, "{text:?}");
                    let borrowed = PostcardFormatter.decode::<&str>(&bytes).ok();
                    assert_eq!(borrowed, expected, "{text:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    proptest::proptest! {
        /// Text with a few bytes changed, of every length up to past the switch: read as
        /// `str::from_utf8` reads it, as a `String` and inside an `Option<(String, u8)>`.
        #[test]
        fn damaged_text_is_read_as_std_reads_it(
            text in ".{0,300}",
            changes in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), 0x80u8..=0xff),
                0..3,
            ),
        ) {
            let mut text = text.into_bytes();
            for (at, byte) in &changes {
                if !text.is_empty() {
                    let at = at.index(text.len());
                    text[at] = *byte;
                }
            }
            let expected = std::str::from_utf8(&text).ok();
            let read = PostcardFormatter.decode::<String>(&as_str(&text)).ok();
            proptest::prop_assert_eq!(read.as_deref(), expected);
            let nested = [&[1][..], &as_str(&text), &[7]].concat();
            let read = PostcardFormatter.decode::<Option<(String, u8)>>(&nested).ok();
            let read = read.flatten().map(|(text, _)| text);
            proptest::prop_assert_eq!(read.as_deref(), expected);
        }
    }
}
