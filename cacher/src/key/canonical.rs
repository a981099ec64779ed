//! The canonical text of a call's arguments: a `serde::Serializer` writing the encoding that the
//! module documentation of [`crate::key`] promises.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

mod compound;
#[cfg(test)]
mod tests;

use self::compound::{Compound, Map, Tuple};
use super::KeyError;

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
/// assert_eq!(text, "endpoint=%2Fposts_user_id=1_sort=asc");
///
/// // Without names; strings inside a collection are quoted, and `"` is escaped as `%22`.
/// assert_eq!(canonical(&(vec!["a", "b"], 2.5f64), &[]).unwrap(), "[%22a%22,%22b%22]_2.5");
///
/// // No arguments at all.
/// assert_eq!(canonical(&(), &[]).unwrap(), "()");
/// ```
pub fn canonical<K: Serialize + ?Sized>(args: &K, names: &[&str]) -> Result<String, KeyError> {
    let mut raw = String::new();
    let args = match args.serialize(RawWriter::new(&mut raw, Ctx::Root))? {
        Written::Args(args) => args,
        Written::Option | Written::Other => vec![raw],
    };
    Ok(join(&args, names))
}

/// Escapes each argument's raw text and joins them, with `name=` prefixes when the names fit.
fn join(args: &[String], names: &[&str]) -> String {
    if args.is_empty() {
        return "()".to_owned();
    }
    let named = names.len() == args.len();
    let mut out = String::new();
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
    b.is_ascii_alphanumeric() || b"-.,+@()[]{}!'".contains(&b)
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
enum Ctx {
    /// The value handed to `canonical`: a tuple there is the argument list.
    Root,
    /// One argument: strings are bare.
    Arg,
    /// Inside another value: strings are quoted.
    Nested,
}

/// What a value turned out to be, so that `Some(x)` can tell whether `x` is an `Option` and the
/// root can tell an argument list from a single argument.
#[derive(Debug)]
enum Written {
    /// `None` or `Some(_)`.
    Option,
    /// Anything else.
    Other,
    /// The root was a tuple (or unit): the raw text of each argument.
    Args(Vec<String>),
}

/// Writes the raw (not yet escaped) text of one value into `out`.
struct RawWriter<'a> {
    out: &'a mut String,
    ctx: Ctx,
}

impl<'a> RawWriter<'a> {
    fn new(out: &'a mut String, ctx: Ctx) -> Self {
        Self { out, ctx }
    }

    fn token(self, text: impl std::fmt::Display) -> Result<Written, KeyError> {
        let _ = write!(self.out, "{text}");
        Ok(Written::Other)
    }

    fn string(self, s: &str) -> Result<Written, KeyError> {
        match self.ctx {
            Ctx::Root | Ctx::Arg => write_bare(s, self.out),
            Ctx::Nested => write_quoted(s, self.out),
        }
        Ok(Written::Other)
    }

    /// A compound value opened with `open`; its elements are nested.
    fn compound(self, open: &str, close: char) -> Compound<'a> {
        Compound::open(self.out, open, close)
    }
}

/// A bare string gets a `'` in front when it could read as another kind of value (or is empty),
/// so an argument typed e.g. `serde_json::Value` keeps `"1"` and `1` apart.
fn write_bare(s: &str, out: &mut String) {
    let ambiguous = matches!(s, "" | "true" | "false" | "null" | "NaN" | "inf")
        || s.starts_with(|c: char| c.is_ascii_digit() || "-([{\"?'".contains(c));
    if ambiguous {
        out.push('\'');
    }
    out.push_str(s);
}

/// Quotes a nested string, escaping `\` and `"` so that the closing quote is unambiguous.
fn write_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Writes `value` nested, and returns its raw text and what it was.
fn nested_raw<T: Serialize + ?Sized>(value: &T) -> Result<(String, Written), KeyError> {
    let mut raw = String::new();
    let written = value.serialize(RawWriter::new(&mut raw, Ctx::Nested))?;
    Ok((raw, written))
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
        self.token(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Written, KeyError> {
        self.token(v)
    }
    // `Display` of floats is the shortest text that reads back as the same value, and is stable.
    fn serialize_f32(self, v: f32) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_f64(self, v: f64) -> Result<Written, KeyError> {
        self.token(v)
    }
    fn serialize_char(self, v: char) -> Result<Written, KeyError> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Written, KeyError> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Written, KeyError> {
        self.out.push_str("0x");
        for b in v {
            let _ = write!(self.out, "{b:02x}");
        }
        Ok(Written::Other)
    }
    fn serialize_none(self) -> Result<Written, KeyError> {
        self.out.push_str("null");
        Ok(Written::Option)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Written, KeyError> {
        let (raw, inner) = nested_raw(value)?;
        // `Some(None)` must differ from `None`, and `Some(Some(x))` from `Some(x)`.
        if matches!(inner, Written::Option) {
            self.out.push('?');
        }
        self.out.push_str(&raw);
        Ok(Written::Option)
    }
    fn serialize_unit(self) -> Result<Written, KeyError> {
        if self.ctx == Ctx::Root {
            return Ok(Written::Args(Vec::new()));
        }
        self.token("()")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Written, KeyError> {
        self.token("()")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Written, KeyError> {
        self.token(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Written, KeyError> {
        // Transparent, context included: `struct UserName(String)` is as bare as a `String`.
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Written, KeyError> {
        let (raw, _) = nested_raw(value)?;
        let _ = write!(self.out, "{variant}({raw})");
        Ok(Written::Other)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, KeyError> {
        Ok(self.compound("[", ']'))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Tuple<'a>, KeyError> {
        Ok(match self.ctx {
            Ctx::Root => Tuple::Args(Vec::new()),
            Ctx::Arg | Ctx::Nested => Tuple::Value(self.compound("[", ']')),
        })
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        Ok(self.compound("[", ']'))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        Ok(self.compound(&format!("{variant}["), ']'))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'a>, KeyError> {
        Ok(Map::new(self.out))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, KeyError> {
        Ok(self.compound("{", '}'))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyError> {
        Ok(self.compound(&format!("{variant}{{"), '}'))
    }
}
