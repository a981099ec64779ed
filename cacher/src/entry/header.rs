//! A hit's short way through a postcard entry: its header compared byte for byte with the one the
//! lookup would write, and only the rest decoded.
//!
//! postcard writes a struct as its fields one after the other, each without a name: an integer as
//! a LEB128 varint, a `str` as its length (a varint) and its bytes, an `Option` as `0`, or `1` and
//! the content. The envelope's header — layout, namespace, version, key, args, type, shape, code —
//! is therefore a byte string that [`postcard_rest`] can spell out from the lookup's
//! [`EntryKey`] and compare as it goes, without serde, without allocating and without checking
//! UTF-8 (bytes equal to a `str`'s are valid). Equal bytes decode to equal fields, so every
//! check that [`check`](super::check) makes passes; anything else (another key, version or
//! code, a type moved to another module, an entry without args, a corrupt header) takes the long
//! way, [`decode_current`](super::decode_current)'s full decode and checks, which decides as it
//! always did. Only the value and its times are then decoded, through the formatter's bounded
//! deserializer as before.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::de::DeserializeOwned;

use super::{Entry, EntryKey, LAYOUT, bounded_args, panicked};
use crate::format::{FormatError, Formatter, LastField, PostcardFormatter, decode_last_field};

/// A postcard entry whose header is the one `key` writes, byte for byte, with only its times and
/// value decoded. `None` takes the long way, whose checks decide (another identity, another
/// layout or format, a header that differs only in what a check forgives); `Some(Err)` is a
/// value that fails to decode under this lookup's own header: corrupt.
pub(super) fn read<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    key: &EntryKey<'_>,
    bytes: &[u8],
    shape: Option<&str>,
) -> Option<Result<Entry<V>, FormatError>> {
    if !(formatter as &dyn Any).is::<PostcardFormatter>() {
        return None;
    }
    let rest = postcard_rest(bytes, key, shape)?;
    let Some(((created_ms, ttl_ms, touched_ms), rest)) = times(rest) else {
        return Some(Err(FormatError::decode("postcard", BAD_TIMES)));
    };
    let at = LastField {
        whole_len: bytes.len(),
        depth: 1,
        items_before: ITEMS_BEFORE_VALUE,
    };
    let read = catch_unwind(AssertUnwindSafe(|| decode_last_field(rest, at)));
    let read = read.unwrap_or_else(|_| Err(panicked(formatter)));
    Some(read.map(|value| Entry {
        value,
        created_ms,
        ttl_ms,
        touched_ms,
        expires_ms: None,
    }))
}

/// The envelope's fields before the value, as the long way counts them: the header's eight
/// and the three times.
const ITEMS_BEFORE_VALUE: u64 = 8 + 3;

/// Why an entry whose header is this lookup's is corrupt before its value.
const BAD_TIMES: &str = "the entry's times are not postcard integers";

/// An entry's `created_ms`, `ttl_ms` and `touched_ms`.
type Times = (u64, Option<u64>, u64);

/// The envelope's times after the header, in order — `created_ms`, `ttl_ms`, `touched_ms` —
/// and the bytes after them, read as postcard reads them: `None` where postcard's decode of
/// the whole fails.
fn times(bytes: &[u8]) -> Option<(Times, &[u8])> {
    let mut rest = bytes;
    let at = &mut rest;
    let created_ms = read_varint(at)?;
    let ttl_ms = match take_byte(at)? {
        0 => None,
        1 => Some(read_varint(at)?),
        _ => return None,
    };
    let touched_ms = read_varint(at)?;
    Some(((created_ms, ttl_ms, touched_ms), rest))
}

/// Reads a `u64` as postcard does (`try_take_varint_u64`): LEB128 of at most ten bytes, longer
/// forms than the shortest accepted, a tenth byte above 1 refused.
fn read_varint(at: &mut &[u8]) -> Option<u64> {
    if let Some(value) = read_short_varint(at) {
        return Some(value);
    }
    let mut out = 0u64;
    for i in 0..10 {
        let byte = take_byte(at)?;
        out |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (i < 9 || byte <= 1).then_some(out);
        }
    }
    None
}

/// [`read_varint`] of a varint that ends within the next eight bytes (every time in
/// milliseconds takes six), read as one word: its seven-bit groups gathered by three shifts
/// instead of a loop per byte. `None` leaves `at` as it was, for the loop.
#[inline]
fn read_short_varint(at: &mut &[u8]) -> Option<u64> {
    let word = u64::from_le_bytes(*at.first_chunk::<8>()?);
    // The high bit of each byte says "more follows": the first byte without it ends the varint.
    let ends = !word & 0x8080_8080_8080_8080;
    if ends == 0 {
        return None;
    }
    let len = ends.trailing_zeros() / 8 + 1;
    let mut x = word & (u64::MAX >> (64 - 8 * len)) & 0x7f7f_7f7f_7f7f_7f7f;
    x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
    *at = &at[len as usize..];
    Some(x)
}

/// Takes the first byte of `at`.
fn take_byte(at: &mut &[u8]) -> Option<u8> {
    let (&first, tail) = at.split_first()?;
    *at = tail;
    Some(first)
}

/// The bytes after the header of a postcard entry, if its header is the one
/// [`encode`](super::encode) writes for `key` and `shape`, byte for byte; `None` otherwise.
fn postcard_rest<'b>(bytes: &'b [u8], key: &EntryKey<'_>, shape: Option<&str>) -> Option<&'b [u8]> {
    let mut rest = bytes;
    let at = &mut rest;
    varint(at, u64::from(LAYOUT))?;
    string(at, key.namespace)?;
    option(at, key.version)?;
    string(at, key.key)?;
    option(at, key.args.map(bounded_args).as_deref())?;
    string(at, key.type_name)?;
    option(at, shape)?;
    option(at, key.code)?;
    Some(rest)
}

/// Takes `expected` from the front of `at`, if it is there.
#[inline]
fn take(at: &mut &[u8], expected: &[u8]) -> Option<()> {
    let (head, tail) = at.split_at_checked(expected.len())?;
    (head == expected).then(|| *at = tail)
}

/// Takes `expected`, one byte, from the front of `at`, if it is there.
#[inline]
fn byte(at: &mut &[u8], expected: u8) -> Option<()> {
    match at.split_first() {
        Some((&first, tail)) if first == expected => {
            *at = tail;
            Some(())
        }
        _ => None,
    }
}

/// Takes `n` as postcard writes it (LEB128, shortest form).
#[inline]
fn varint(at: &mut &[u8], n: u64) -> Option<()> {
    if let Ok(small) = u8::try_from(n)
        && small < 0x80
    {
        // One byte: every identity's length but a long key's or args'.
        return byte(at, small);
    }
    long_varint(at, n)
}

/// [`varint`] of `n` ≥ 128, apart so that the one-byte case is inlined alone.
#[inline(never)]
fn long_varint(at: &mut &[u8], n: u64) -> Option<()> {
    let (mut n, mut bytes, mut len) = (n, [0u8; 10], 0);
    while n >= 0x80 {
        // Seven bits at a time, lowest first; the high bit says "more follows".
        bytes[len] = (n & 0x7f) as u8 | 0x80;
        n >>= 7;
        len += 1;
    }
    bytes[len] = n as u8;
    take(at, &bytes[..=len])
}

/// Takes `text` as postcard writes a `str`: its length, then its bytes.
#[inline]
fn string(at: &mut &[u8], text: &str) -> Option<()> {
    varint(at, text.len() as u64)?;
    take(at, text.as_bytes())
}

/// Takes `text` as postcard writes an `Option<&str>`.
#[inline]
fn option(at: &mut &[u8], text: Option<&str>) -> Option<()> {
    match text {
        None => byte(at, 0),
        Some(text) => {
            byte(at, 1)?;
            string(at, text)
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::{ITEMS_BEFORE_VALUE, postcard_rest, read, times, varint};
    use crate::entry::{self, Entry, EntryKey, decode_checked, shape};
    use crate::format::{
        Formatter, JsonFormatter, LastField, PostcardFormatter, decode_last_field,
    };

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Value {
        id: u64,
        title: String,
        tags: Vec<u32>,
        note: Option<String>,
    }

    fn key<'a>(namespace: &'a str, key: &'a str, code: Option<&'a str>) -> EntryKey<'a> {
        EntryKey {
            namespace,
            version: Some("v1"),
            key,
            args: Some(key),
            type_name: std::any::type_name::<String>(),
            code,
        }
    }

    #[test]
    fn varints_are_spelled_as_postcard_writes_them() {
        for n in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let bytes = PostcardFormatter.encode(&n).unwrap();
            let mut at = &bytes[..];
            assert_eq!(varint(&mut at, n), Some(()), "{n}");
            assert!(at.is_empty());
        }
    }

    /// The times are read as postcard reads them: the same values, the same rest, the same
    /// refusals (overlong forms, a tenth byte above 1, an `Option` tag other than 0 or 1, a cut).
    #[test]
    fn times_are_read_as_postcard_reads_them() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            cases.push(vec![a, 0, 5, 9]);
            cases.push(vec![7, a, 5, 9]);
            cases.push(vec![7, 1, a, 9, 1]);
            cases.push(vec![0x80, a, 0, 3]);
            let mut ten = vec![0xff; 9];
            ten.extend([a, 0, 0]);
            cases.push(ten);
        }
        let edges = (1..64).flat_map(|bit| [(1u64 << bit) - 1, 1 << bit]);
        for n in [0, 1_764_000_000_000, u64::MAX].into_iter().chain(edges) {
            let bytes = PostcardFormatter.encode(&(n, Some(n), n, 42u8)).unwrap();
            cases.extend((0..=bytes.len()).map(|at| bytes[..at].to_vec()));
        }
        // With eight bytes or more to read, varints are read a word at a time.
        let padded: Vec<Vec<u8>> = cases
            .iter()
            .map(|c| [&c[..], &[0x55; 16]].concat())
            .collect();
        cases.extend(padded);
        for bytes in &cases {
            let ours = times(bytes).map(|(times, rest)| (times, rest.to_vec()));
            let theirs = postcard::take_from_bytes::<(u64, Option<u64>, u64)>(bytes)
                .ok()
                .map(|(times, rest)| (times, rest.to_vec()));
            assert_eq!(ours, theirs, "{bytes:?}");
        }
    }

    #[test]
    fn the_header_a_key_writes_is_the_one_it_reads_and_no_other_key_reads_it() {
        let long = "k".repeat(300);
        let shape = shape::of::<String>().fingerprint.as_deref();
        for (ns, k, code) in [("app::f", "7", None), ("a", &long[..], Some("c0de"))] {
            let key = key(ns, k, code);
            let bytes =
                entry::encode(&PostcardFormatter, &key, &Entry::new(k.to_owned(), 5)).unwrap();
            let rest = postcard_rest(&bytes, &key, shape).expect("its own header");
            let at = LastField {
                whole_len: bytes.len(),
                depth: 1,
                items_before: ITEMS_BEFORE_VALUE,
            };
            let ((created_ms, ..), rest) = times(rest).unwrap();
            let value: String = decode_last_field(rest, at).unwrap();
            assert_eq!((value.as_str(), created_ms), (k, 5));
            let others = [
                EntryKey {
                    namespace: "app::g",
                    ..key
                },
                EntryKey {
                    version: None,
                    ..key
                },
                EntryKey {
                    key: "8",
                    args: Some("8"),
                    ..key
                },
                EntryKey {
                    args: Some("other"),
                    ..key
                },
                EntryKey { args: None, ..key },
                EntryKey {
                    code: Some("edited"),
                    ..key
                },
                EntryKey {
                    type_name: "alloc::string::Str",
                    ..key
                },
            ];
            for other in others {
                assert!(postcard_rest(&bytes, &other, shape).is_none(), "{other:?}");
            }
            assert!(postcard_rest(&bytes, &key, None).is_none());
            assert!(postcard_rest(&bytes[..bytes.len() / 3], &key, shape).is_none());
        }
    }

    /// Whatever the damage (a byte changed anywhere, a cut, a byte more), the short way reads
    /// only what the long way reads, and refuses only what it refuses.
    #[test]
    fn the_short_way_reads_what_the_long_way_reads_of_any_damaged_entry() {
        let key = key("app::f", "7", Some("c0de"));
        let shape = shape::of::<Value>().fingerprint.as_deref();
        let value = Value {
            id: 300,
            title: "t".into(),
            tags: vec![1, 200],
            note: Some("n".into()),
        };
        let entry = Entry {
            ttl_ms: Some(9),
            ..Entry::new(value, 1_764_000_000_000)
        };
        let bytes = entry::encode(&PostcardFormatter, &key, &entry).unwrap();
        let mut damaged = vec![bytes.clone(), [&bytes[..], &[0]].concat()];
        for at in 0..bytes.len() {
            damaged.push(bytes[..at].to_vec());
            for flip in [0x01, 0x40, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                damaged.push(changed);
            }
        }
        let mut short_reads = 0;
        for bytes in &damaged {
            let long = decode_checked::<_, Value>(&PostcardFormatter, &key, bytes, shape);
            match read::<_, Value>(&PostcardFormatter, &key, bytes, shape) {
                None => continue,
                Some(Ok(read)) => assert_eq!(long, Ok(Some(read)), "{bytes:?}"),
                Some(Err(_)) => assert!(long.is_err(), "{bytes:?}"),
            }
            short_reads += 1;
        }
        assert_eq!(
            read::<_, Value>(&PostcardFormatter, &key, &bytes, shape).map(Result::ok),
            Some(Some(entry))
        );
        // The header's bytes are damaged in most of them: the long way decides those.
        assert!(short_reads < damaged.len() / 2, "{short_reads}");
    }

    /// A value of zero-sized items near the entry's item budget: the short way, which decodes
    /// the value alone, counts it as the long way does and refuses exactly what it refuses.
    #[test]
    fn the_short_way_counts_items_as_the_long_way_at_the_budget() {
        let key = key("app::f", "7", None);
        let shape = shape::of::<Vec<()>>().fingerprint.as_deref();
        let empty = entry::encode(&PostcardFormatter, &key, &Entry::new(Vec::<()>::new(), 5));
        let mut empty = empty.unwrap();
        assert_eq!(empty.pop(), Some(0), "an empty Vec is its length, 0, last");
        // The budget is the entry's length plus ZERO_SIZED_ITEMS; the envelope's 12 fields and
        // the elements count against it. (Lengths near 2^20 take 3 bytes.)
        let budget = (empty.len() + 3) as u64 + crate::format::ZERO_SIZED_ITEMS;
        let (mut read_back, mut refused) = (0, 0);
        for n in budget - 14..budget - 8 {
            let bytes = [&empty[..], &PostcardFormatter.encode(&n).unwrap()].concat();
            assert_eq!(bytes.len(), empty.len() + 3);
            let long = decode_checked::<_, Vec<()>>(&PostcardFormatter, &key, &bytes, shape);
            let short = read::<_, Vec<()>>(&PostcardFormatter, &key, &bytes, shape).unwrap();
            match short {
                Ok(entry) => {
                    assert_eq!(entry.value.len() as u64, n);
                    assert_eq!(long, Ok(Some(entry)), "{n}");
                    read_back += 1;
                }
                Err(_) => {
                    assert!(long.is_err(), "{n}");
                    refused += 1;
                }
            }
        }
        assert!(read_back > 0 && refused > 0, "{read_back} {refused}");
    }

    /// What a check forgives leaves the short way, not the entry: an entry recorded without
    /// args, or under a type's older module path, is still read; other formats take the long way.
    #[test]
    fn entries_the_checks_forgive_are_read_the_long_way() {
        let key = key("app::f", "7", None);
        let shape = shape::of::<Value>().fingerprint.as_deref();
        let value = Value {
            id: 1,
            title: String::new(),
            tags: vec![],
            note: None,
        };
        let entry = Entry::new(value, 5);
        let moved = EntryKey {
            type_name: "old::models::Value",
            ..key
        };
        let written = [
            (EntryKey { args: None, ..key }, key),
            (
                moved,
                EntryKey {
                    type_name: "new::Value",
                    ..key
                },
            ),
        ];
        for (writer, reader) in written {
            let bytes = entry::encode(&PostcardFormatter, &writer, &entry).unwrap();
            assert!(read::<_, Value>(&PostcardFormatter, &reader, &bytes, shape).is_none());
            let read = entry::decode_current::<_, Value>(&PostcardFormatter, &reader, &bytes, &"m");
            assert_eq!(read.unwrap(), Some(entry.clone()));
        }
        let json = entry::encode(&JsonFormatter, &key, &entry).unwrap();
        assert!(read::<_, Value>(&JsonFormatter, &key, &json, shape).is_none());
    }
}
