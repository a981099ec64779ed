//! The canonical text of a call's arguments: a `serde::Serializer` writing the encoding that the
//! module documentation of [`crate::key`] promises.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

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
        self.out.push_str(open);
        Compound {
            out: self.out,
            close,
            first: true,
        }
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
        Ok(Map {
            out: self.out,
            entries: Vec::new(),
            pending_key: None,
        })
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

/// A sequence, tuple, struct or variant being written: elements separated by `,`.
struct Compound<'a> {
    out: &'a mut String,
    close: char,
    first: bool,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(
        &mut self,
        field: Option<&str>,
        value: &T,
    ) -> Result<(), KeyError> {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        if let Some(field) = field {
            self.out.push_str(field);
            self.out.push(':');
        }
        value.serialize(RawWriter::new(self.out, Ctx::Nested))?;
        Ok(())
    }

    fn close(self) -> Result<Written, KeyError> {
        self.out.push(self.close);
        Ok(Written::Other)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyError> {
        self.element(Some(key), value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyError> {
        self.element(Some(key), value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

/// A tuple: the argument list at the root, an ordinary `[a,b]` anywhere else.
enum Tuple<'a> {
    Args(Vec<String>),
    Value(Compound<'a>),
}

impl ser::SerializeTuple for Tuple<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        match self {
            Tuple::Args(args) => {
                let mut raw = String::new();
                value.serialize(RawWriter::new(&mut raw, Ctx::Arg))?;
                args.push(raw);
                Ok(())
            }
            Tuple::Value(compound) => compound.element(None, value),
        }
    }
    fn end(self) -> Result<Written, KeyError> {
        match self {
            Tuple::Args(args) => Ok(Written::Args(args)),
            Tuple::Value(compound) => compound.close(),
        }
    }
}

/// A map: entries are collected, then written sorted, so a `HashMap`'s order never shows.
struct Map<'a> {
    out: &'a mut String,
    entries: Vec<(String, String)>,
    pending_key: Option<String>,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), KeyError> {
        self.pending_key = Some(nested_raw(key)?.0);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| KeyError("map value serialized before its key".to_owned()))?;
        self.entries.push((key, nested_raw(value)?.0));
        Ok(())
    }
    fn end(mut self) -> Result<Written, KeyError> {
        // Sorting by value as well makes even a (malformed) map with duplicate keys deterministic.
        self.entries.sort_unstable();
        self.out.push('{');
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{key}:{value}");
        }
        self.out.push('}');
        Ok(Written::Other)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;

    use super::canonical;

    fn c<K: Serialize + ?Sized>(args: &K) -> String {
        canonical(args, &[]).unwrap()
    }

    #[test]
    fn pinned_example_with_names() {
        let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
        assert_eq!(text, "endpoint=%2Fposts_user_id=1_sort=asc");
    }

    #[test]
    fn names_are_ignored_when_their_count_differs() {
        assert_eq!(canonical(&(1u8, 2u8), &["a"]).unwrap(), "1_2");
        assert_eq!(canonical(&(1u8, 2u8), &[]).unwrap(), "1_2");
    }

    #[test]
    fn odd_names_are_escaped() {
        assert_eq!(canonical(&(1u8,), &["r#type"]).unwrap(), "r%23type=1");
    }

    #[test]
    fn zero_arguments() {
        assert_eq!(c(&()), "()");
        assert_eq!(canonical(&(), &["ignored"]).unwrap(), "()");
    }

    #[test]
    fn single_value_is_one_argument() {
        assert_eq!(c(&"asc"), "asc");
        assert_eq!(canonical(&7u8, &["n"]).unwrap(), "n=7");
        assert_eq!(c(&vec![1u8, 2]), "[1,2]");
    }

    #[test]
    fn scalars() {
        assert_eq!(c(&(true, false)), "true_false");
        assert_eq!(
            c(&(-5i8, u128::MAX)),
            "-5_340282366920938463463374607431768211455"
        );
        assert_eq!(c(&i128::MIN), "-170141183460469231731687303715884105728");
        assert_eq!(
            c(&(0.1f64, 1e300f64, 1.5f32)),
            format!("0.1_{}_1.5", 1e300f64)
        );
        assert_eq!(
            c(&(f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0f64)),
            "NaN_inf_-inf_-0"
        );
    }

    #[test]
    fn bare_strings_that_look_like_other_values_are_marked() {
        assert_eq!(c(&""), "'");
        assert_eq!(c(&"42"), "'42");
        assert_eq!(c(&"true"), "'true");
        assert_eq!(c(&"null"), "'null");
        assert_eq!(c(&"'x"), "''x");
        assert_eq!(c(&"[1]"), "'[1]");
        assert_eq!(c(&"nullable"), "nullable");
        // `Option<String>`: `None` and `Some("null")` stay apart.
        assert_eq!(c(&None::<String>), "null");
        assert_eq!(c(&Some("null")), "%22null%22");
    }

    #[test]
    fn chars_are_strings() {
        assert_eq!(c(&('a', vec!['"'])), "a_[%22%5C%22%22]");
    }

    #[test]
    fn nested_strings_are_quoted_and_escaped() {
        assert_eq!(c(&(vec!["a b", "c"],)), "[%22a%20b%22,%22c%22]");
        // `["a\",\"b"]` (one element) differs from `["a","b"]` (two).
        assert_ne!(c(&vec!["a\",\"b"]), c(&vec!["a", "b"]));
        assert_eq!(c(&vec!["a\\"]), "[%22a%5C%5C%22]");
    }

    #[test]
    fn options() {
        assert_eq!(c(&Some(3u8)), "3");
        assert_eq!(c(&None::<u8>), "null");
        assert_eq!(c(&Some(None::<u8>)), "%3Fnull");
        assert_eq!(c(&Some(Some(3u8))), "%3F3");
        assert_eq!(c(&Some(Some(None::<u8>))), "%3F%3Fnull");
    }

    #[test]
    fn option_of_newtype_around_option_stays_injective() {
        #[derive(Serialize)]
        struct Wrap(Option<u8>);
        assert_ne!(c(&Some(Wrap(None))), c(&None::<Wrap>));
        assert_eq!(c(&Some(Wrap(None))), "%3Fnull");
    }

    #[test]
    fn units_bytes_and_newtypes() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Name(String);
        #[derive(Serialize)]
        struct Bytes<'a>(#[serde(with = "serde_bytes_like")] &'a [u8]);
        mod serde_bytes_like {
            pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(v)
            }
        }
        assert_eq!(c(&((), Unit)), "()_()");
        assert_eq!(c(&Name("bob".into())), "bob");
        assert_eq!(c(&vec![Name("bob".into())]), "[%22bob%22]");
        assert_eq!(c(&Bytes(&[0, 0xab, 0xff])), "0x00abff");
    }

    #[test]
    fn structs_and_enums() {
        #[derive(Serialize)]
        struct User {
            id: u32,
            name: String,
        }
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tup(u8, u8),
            Named { x: i8 },
        }
        let user = User {
            id: 7,
            name: "ann".into(),
        };
        assert_eq!(c(&user), "{id%3A7,name%3A%22ann%22}");
        assert_eq!(
            c(&vec![E::Unit, E::New(1), E::Tup(1, 2), E::Named { x: -1 }]),
            "[Unit,New(1),Tup[1,2],Named{x%3A-1}]"
        );
        assert_eq!(c(&((1u8, "a"), [2u8; 2])), "[1,%22a%22]_[2,2]");
    }

    #[test]
    fn maps_are_sorted() {
        let btree: BTreeMap<&str, u8> = [("b", 1), ("a", 2)].into();
        assert_eq!(c(&btree), "{%22a%22%3A2,%22b%22%3A1}");
        let hash: HashMap<&str, u8> = [("b", 1), ("a", 2)].into();
        assert_eq!(c(&hash), c(&btree));
    }

    #[test]
    fn hashmap_order_never_leaks() {
        let pairs: Vec<(String, u32)> = (0..200).map(|i| (format!("k{i}"), i)).collect();
        let forward: HashMap<_, _> = pairs.iter().cloned().collect();
        let mut backward = HashMap::new();
        for (k, v) in pairs.iter().rev() {
            backward.insert(k.clone(), *v);
        }
        // Many distinct hash seeds: a fresh map each time.
        let expected = c(&forward);
        assert_eq!(c(&backward), expected);
        for _ in 0..20 {
            let again: HashMap<_, _> = pairs.iter().cloned().collect();
            assert_eq!(c(&again), expected);
        }
    }

    #[test]
    fn output_is_ascii_with_escaped_separators() {
        let text = c(&("é_=%~:/\\ \"?*<>|\n\0",));
        assert!(text.is_ascii());
        assert_eq!(
            text,
            "%C3%A9%5F%3D%25%7E%3A%2F%5C%20%22%3F%2A%3C%3E%7C%0A%00"
        );
    }

    #[test]
    fn module_doc_examples_hold() {
        #[derive(Serialize)]
        struct User {
            id: u32,
            name: String,
        }
        let args = ("/posts", 1u32, "asc");
        let names = ["endpoint", "user_id", "sort"];
        assert_eq!(
            canonical(&args, &names).unwrap(),
            "endpoint=%2Fposts_user_id=1_sort=asc"
        );
        assert_eq!(c(&args), "%2Fposts_1_asc");
        assert_eq!(
            canonical(&(vec!["a b", "c"],), &["xs"]).unwrap(),
            "xs=[%22a%20b%22,%22c%22]"
        );
        let user = User {
            id: 7,
            name: "ann".into(),
        };
        assert_eq!(c(&user), "{id%3A7,name%3A%22ann%22}");
    }

    #[test]
    fn untagged_values_mixing_strings_and_others_stay_apart() {
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Loose {
            S(String),
            N(i64),
            F(f64),
            B(bool),
            O(Option<String>),
            L(Vec<u8>),
            U(()),
        }
        let values = [
            Loose::S("1".into()),
            Loose::N(1),
            Loose::S("-1".into()),
            Loose::N(-1),
            Loose::S("NaN".into()),
            Loose::F(f64::NAN),
            Loose::S("true".into()),
            Loose::B(true),
            Loose::S("null".into()),
            Loose::O(None),
            Loose::O(Some("null".into())),
            Loose::S("\"null\"".into()),
            Loose::S("[1]".into()),
            Loose::L(vec![1]),
            Loose::S("()".into()),
            Loose::U(()),
            Loose::S(String::new()),
            Loose::S("'".into()),
        ];
        let texts: Vec<String> = values.iter().map(|v| c(&(v,))).collect();
        let unique: std::collections::BTreeSet<&String> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len(), "{texts:?}");
    }

    #[test]
    fn serialize_errors_become_key_errors() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no way"))
            }
        }
        let err = canonical(&(1u8, Fails), &[]).unwrap_err();
        assert_eq!(err.to_string(), "cannot encode the cache key: no way");
    }
}
