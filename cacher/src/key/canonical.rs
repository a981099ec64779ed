//! The canonical text of a call's arguments: a `serde::Serializer` writing the encoding that the
//! module documentation of [`crate::key`] promises.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

mod compound;
#[cfg(test)]
mod props;
mod scalar;
#[cfg(test)]
mod tests;

use self::compound::{Compound, Map, Tuple};
#[cfg(test)]
pub(crate) use self::scalar::{is_lead, needs_mark};
use self::scalar::{
    write_bare, write_bytes, write_char, write_float, write_int, write_label, write_quoted,
};
use super::KeyError;

/// What every canonical text starts with: the version of the encoding. An older encoding's text
/// never starts with `(v`, so no key of this one is ever a key of an older one.
pub(crate) const PREFIX: &str = "(v2)";

/// Canonical text of a call's arguments, as [the module documentation](crate::key) specifies.
///
/// `args` is usually a tuple of the arguments; `names` are the arguments' names, written as
/// `name=` before each one. `names` may be empty (no names are written); names are also left out
/// when their count differs from the number of arguments.
///
/// # Errors
///
/// [`KeyError`] when a `Serialize` impl of the arguments returns an error.
///
/// # Examples
///
/// ```
/// use cacher::key::canonical;
///
/// let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
/// assert_eq!(text, "(v2)endpoint=%2Fposts_user_id=1_sort=asc");
///
/// // Without names; strings inside a collection are quoted, and `"` is escaped as `%22`.
/// assert_eq!(canonical(&(vec!["a", "b"], 2.5f64), &[]).unwrap(), "(v2)[%22a%22,%22b%22]_2.5");
///
/// // A float is never written like an integer, nor a string like a number.
/// assert_eq!(canonical(&(1.0f64, 1u32, "1"), &[]).unwrap(), "(v2)1.0_1_'1");
///
/// // No arguments at all.
/// assert_eq!(canonical(&(), &[]).unwrap(), "(v2)");
/// ```
pub fn canonical<K: Serialize + ?Sized>(args: &K, names: &[&str]) -> Result<String, KeyError> {
    // One argument is written right after the prefix; a tuple's arguments are collected apart
    // (nothing is written here) and joined.
    let mut out = String::with_capacity(ROOM);
    out.push_str(PREFIX);
    let args = match args.serialize(RawWriter::new(&mut out, Level::Root))? {
        Written::Args(args) => args,
        Written::Value => return Ok(one_argument(out, names)),
    };
    Ok(join(&args, names))
}

/// The room a key's text starts with: most keys fit, and grow no further.
const ROOM: usize = 64;

/// The canonical text of one argument, given `out`: the prefix and the argument's raw text. Most
/// are already their own canonical text (no name, no byte to escape): kept, not copied.
fn one_argument(mut out: String, names: &[&str]) -> String {
    let named = names.len() == 1;
    if !named && out.bytes().skip(PREFIX.len()).all(is_safe) {
        return out;
    }
    let raw = out.split_off(PREFIX.len());
    join(std::slice::from_ref(&raw), names)
}

/// The prefix, then each argument's raw text escaped, joined by `_`, with `name=` in front of each
/// when the names fit.
fn join(args: &[String], names: &[&str]) -> String {
    let named = names.len() == args.len();
    // Room for the text when nothing needs escaping, so that the common key grows once.
    let room = PREFIX.len() + args.iter().map(|a| a.len() + 1).sum::<usize>();
    let names_room = if named {
        names.iter().map(|n| n.len() + 1).sum()
    } else {
        0
    };
    let mut out = String::with_capacity(room + names_room);
    out.push_str(PREFIX);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push('_');
        }
        if named {
            escape_name(names[i], &mut out);
            out.push('=');
        }
        escape(arg, &mut out);
    }
    out
}

/// Whether a byte stays as it is in an escaped value.
pub(super) fn is_safe(b: u8) -> bool {
    // Looked up, not searched nor matched: this runs for every byte of every key.
    SAFE[usize::from(b)]
}

/// [`is_safe`] of every byte, made at compile time.
pub(super) const SAFE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = safe(b as u8);
        b += 1;
    }
    table
};

/// Whether a byte stays as it is in an escaped value: the rule [`SAFE`] is made from.
const fn safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b','
                | b'+'
                | b'@'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'!'
                | b'\''
        )
}

/// Percent-escapes every byte of `raw` outside the safe set into `out`.
pub(super) fn escape(raw: &str, out: &mut String) {
    for &b in raw.as_bytes() {
        if is_safe(b) {
            out.push(char::from(b));
        } else {
            push_percent(b, out);
        }
    }
}

/// Names are Rust identifiers: `_` stays (so `user_id` reads as such); anything else is escaped,
/// which keeps a strange name from smuggling an unsafe character into a file name.
fn escape_name(name: &str, out: &mut String) {
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(char::from(b));
        } else {
            push_percent(b, out);
        }
    }
}

/// Writes `%XX`, uppercase hex.
pub(super) fn push_percent(b: u8, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = write!(out, "%{b:02X}");
}

/// Where the value being written stands, which decides how strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The value handed to `canonical`: a tuple there is the argument list, unit is no argument.
    Root,
    /// One argument, or the content of `Some`/a newtype that is one: strings are bare.
    Arg,
    /// Inside a collection, tuple, map, struct or variant other than a newtype one: strings are
    /// quoted.
    Nested,
}

impl Level {
    /// The level of the content of `Some(x)` or a newtype: an argument's stays an argument's.
    fn inner(self) -> Self {
        match self {
            Level::Root | Level::Arg => Level::Arg,
            Level::Nested => Level::Nested,
        }
    }
}

/// What the root value turned out to be.
#[derive(Debug)]
enum Written {
    /// One value, written to the output.
    Value,
    /// The root was a tuple (or unit): the raw text of each argument.
    Args(Vec<String>),
}

/// Writes the raw (not yet escaped) text of one value into `out`.
struct RawWriter<'a> {
    out: &'a mut String,
    level: Level,
}

impl<'a> RawWriter<'a> {
    fn new(out: &'a mut String, level: Level) -> Self {
        Self { out, level }
    }

    fn done(self) -> Result<Written, KeyError> {
        Ok(Written::Value)
    }

    fn text(self, text: &str) -> Result<Written, KeyError> {
        self.out.push_str(text);
        Ok(Written::Value)
    }

    fn int(self, v: impl Into<i128>, suffix: &str) -> Result<Written, KeyError> {
        let v = v.into();
        write_int(v < 0, v.unsigned_abs(), suffix, self.out);
        Ok(Written::Value)
    }

    fn uint(self, v: impl Into<u128>, suffix: &str) -> Result<Written, KeyError> {
        write_int(false, v.into(), suffix, self.out);
        Ok(Written::Value)
    }

    /// `@` and, for a variant, its name: the start of every struct's and variant's text.
    fn named(&mut self, variant: Option<&str>) {
        self.out.push('@');
        if let Some(variant) = variant {
            write_label(variant, self.out);
        }
    }

    /// `open`, the content at this level's inner level, `)`: `Some(x)` and newtypes.
    fn wrap<T: Serialize + ?Sized>(self, open: &str, value: &T) -> Result<Written, KeyError> {
        self.out.push_str(open);
        value.serialize(RawWriter::new(self.out, self.level.inner()))?;
        self.out.push(')');
        Ok(Written::Value)
    }
}

impl<'a> ser::Serializer for RawWriter<'a> {
    type Ok = Written;
    type Error = KeyError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Tuple<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<Written, KeyError> {
        self.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<Written, KeyError> {
        self.int(v, "i8")
    }
    fn serialize_i16(self, v: i16) -> Result<Written, KeyError> {
        self.int(v, "i16")
    }
    fn serialize_i32(self, v: i32) -> Result<Written, KeyError> {
        self.int(v, "i32")
    }
    fn serialize_i64(self, v: i64) -> Result<Written, KeyError> {
        self.int(v, "i64")
    }
    fn serialize_i128(self, v: i128) -> Result<Written, KeyError> {
        self.int(v, "i128")
    }
    fn serialize_u8(self, v: u8) -> Result<Written, KeyError> {
        self.uint(v, "u8")
    }
    fn serialize_u16(self, v: u16) -> Result<Written, KeyError> {
        self.uint(v, "u16")
    }
    // The one integer type without a suffix: ids and counts in most signatures are `u32`.
    fn serialize_u32(self, v: u32) -> Result<Written, KeyError> {
        self.uint(v, "")
    }
    fn serialize_u64(self, v: u64) -> Result<Written, KeyError> {
        self.uint(v, "u64")
    }
    fn serialize_u128(self, v: u128) -> Result<Written, KeyError> {
        self.uint(v, "u128")
    }
    fn serialize_f32(self, v: f32) -> Result<Written, KeyError> {
        write_float(v, v.is_finite(), "f32", self.out);
        self.done()
    }
    fn serialize_f64(self, v: f64) -> Result<Written, KeyError> {
        write_float(v, v.is_finite(), "", self.out);
        self.done()
    }
    fn serialize_char(self, v: char) -> Result<Written, KeyError> {
        write_char(v, self.out);
        self.done()
    }
    fn serialize_str(self, v: &str) -> Result<Written, KeyError> {
        match self.level {
            Level::Root | Level::Arg => write_bare(v, self.out),
            Level::Nested => write_quoted(v, self.out),
        }
        self.done()
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Written, KeyError> {
        write_bytes(v, self.out);
        self.done()
    }
    fn serialize_none(self) -> Result<Written, KeyError> {
        self.text("None")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Written, KeyError> {
        self.wrap("Some(", value)
    }
    fn serialize_unit(self) -> Result<Written, KeyError> {
        if self.level == Level::Root {
            return Ok(Written::Args(Vec::new()));
        }
        self.text("()")
    }
    fn serialize_unit_struct(mut self, _name: &'static str) -> Result<Written, KeyError> {
        self.named(None);
        self.done()
    }
    fn serialize_unit_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Written, KeyError> {
        self.named(Some(variant));
        self.done()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        mut self,
        _name: &'static str,
        value: &T,
    ) -> Result<Written, KeyError> {
        self.named(None);
        self.wrap("(", value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Written, KeyError> {
        self.named(Some(variant));
        self.wrap("(", value)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, KeyError> {
        Ok(Compound::open(self.out, '[', ']'))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Tuple<'a>, KeyError> {
        Ok(match self.level {
            Level::Root => Tuple::Args(Vec::new()),
            Level::Arg | Level::Nested => Tuple::Value(Compound::open(self.out, '(', ')')),
        })
    }
    fn serialize_tuple_struct(
        mut self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        self.named(None);
        Ok(Compound::open(self.out, '[', ']'))
    }
    fn serialize_tuple_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        self.named(Some(variant));
        Ok(Compound::open(self.out, '[', ']'))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'a>, KeyError> {
        Ok(Map::new(self.out))
    }
    fn serialize_struct(
        mut self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        self.named(None);
        Ok(Compound::open(self.out, '{', '}'))
    }
    fn serialize_struct_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        self.named(Some(variant));
        Ok(Compound::open(self.out, '{', '}'))
    }
}

/// Writes `value` inside another value, and returns its raw text.
fn nested_raw<T: Serialize + ?Sized>(value: &T) -> Result<String, KeyError> {
    let mut raw = String::new();
    value.serialize(RawWriter::new(&mut raw, Level::Nested))?;
    Ok(raw)
}
