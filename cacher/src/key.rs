//! How a call's arguments become the key its result is stored under.
//!
//! Two steps:
//!
//! 1. [`canonical()`] writes the arguments as a *canonical text*, through their
//!    [`serde::Serialize`] impl. Never through `std::hash::Hash` or `Debug`: their output may change
//!    between processes, machines or Rust versions, and a key must not.
//! 2. A [`Keyer`] turns that text into the key an entry is stored under: [`ReadableKeyer`] (the
//!    default) keeps it readable and makes it a safe file name; [`HashKeyer`] hashes it to 32 hex
//!    characters.
//!
//! # Stability
//!
//! Everything this page describes is a promise: the same argument values give the same canonical
//! text and the same keys in every process, on every machine and with every Rust version — as long
//! as the arguments' own `Serialize` impls write the same thing. Every canonical text starts with
//! the version of the encoding, `(v2)`. Changing the encoding changes the version, so that the
//! entries stored under an older encoding's keys are misses, never the values of other arguments;
//! it is a breaking change, made only in a new major version.
//!
//! Version 1 wrote some values of different kinds alike (`1u32` and `1.0f64`, `'a'` and `"a"`, a
//! unit variant `Asc` and the string `"Asc"`, `x` and `Some(x)`). Version 2 tells every kind of the
//! serde data model apart, and none of its texts is a text of version 1 (those never start with
//! `(v`): entries written by version 1 are misses.
//!
//! # The canonical text
//!
//! The canonical text is ASCII only: `(v2)`, then the arguments. Each argument is first written as
//! a *raw text*, which is then *escaped*; the escaped arguments are joined.
//!
//! ## Arguments
//!
//! - If the value given to [`canonical()`] serializes as a tuple — how an argument list arrives —
//!   each element is one argument. If it serializes as unit `()`, there are zero arguments. Any
//!   other value is one argument. (So at the top, a value `x` and the one-element tuple `(x,)` are
//!   the same argument list, and unit and an empty tuple are both no arguments: the text is a
//!   function of the argument list. `#[cached]` always passes the arguments as a tuple.) One
//!   consequence for a hand-written `Cache<K, V>`: a key type that serializes sometimes as a
//!   tuple and sometimes not at its top (an `#[serde(untagged)]` enum with a variant holding
//!   `(String,)` or `[T; 1]` beside one holding a `String`) gives `x` and `(x,)` one key. Wrap
//!   such a key in a newtype struct, whose content is one argument: `@(x)` against `@((x,))`.
//! - Zero arguments: nothing follows the prefix; the canonical text is `(v2)`.
//! - Otherwise the escaped arguments are joined with `_`. When `names` has exactly one name per
//!   argument, each argument is written `name=value`; a name keeps its bytes `A-Z a-z 0-9 _` and
//!   escapes any other byte as below. When `names` is empty, or its length differs from the
//!   number of arguments, no names are written.
//!
//! ## Raw text of a value
//!
//! Each kind of the serde data model is written in its own form, so that values of two kinds
//! never share a text — which matters where one argument type writes several kinds:
//! `serde_json::Value`, `#[serde(untagged)]` and internally tagged enums, hand-written impls. The
//! common kinds carry no tag: a string argument, a `u32`, an `f64`, a bool, a sequence.
//!
//! | serde data model | raw text | examples |
//! |---|---|---|
//! | bool | `true`, `false` | `true` |
//! | `u32` | decimal | `7` |
//! | other integers, `i8`…`i128`, `u8`, `u16`, `u64`, `u128` | decimal, then the type (serde writes `usize` as `u64`, `isize` as `i64`) | `7u64`, `-7i32` |
//! | `f64` | Rust's `Display` (the shortest text that reads back as the same float, no exponent), with `.0` added when it has no `.`; `NaN` (every NaN), `inf`, `-inf` | `0.1`, `1.0`, `-0.0` |
//! | `f32` | as an `f64`, then `f32` | `0.1f32`, `NaNf32` |
//! | string that *is* an argument, or the content of `Some`, a newtype or a newtype variant that is | bare (see below) | `asc`, `'42` |
//! | string anywhere else (in a collection, a tuple, a map, a struct, …) | `"`, the text with `\` written `\\` and `"` written `\"`, `"` | `"a\"b"` |
//! | char | `'`, the char, `'`; with `\` before the char when it is `\`, an ASCII digit or one of `- . , + @ ( ) [ ] { } ! '` | `'a'`, `'\1'`, `'\''` |
//! | bytes (`serialize_bytes`, e.g. `serde_bytes`) | `0x` and lowercase hex | `0x00ff` |
//! | `None` | `None` | `None` |
//! | `Some(x)` | `Some(x)` | `Some(3)`, `Some(asc)` |
//! | unit `()` | `()` | `()` |
//! | sequence | `[a,b]` | `[1,2]` |
//! | tuple | `(a,b)`; `(a,)` with one element, `(,)` with none | `(1,"a")` |
//! | map | `{k:v,k:v}`, entries sorted bytewise by the raw text of the key (then of the value) | `{"a":2,"b":1}` |
//! | unit struct | `@` | `@` |
//! | newtype struct | `@(x)` | `@(7)` |
//! | tuple struct | `@[a,b]` | `@[1,2]` |
//! | struct | `@{field:v,field:v}`, in declaration order; skipped fields are absent | `@{id:7}` |
//! | enum unit variant | `@Name` | `@Asc` |
//! | enum newtype variant | `@Name(x)` | `@Id(7)` |
//! | enum tuple variant | `@Name[a,b]` | `@Pos[1,2]` |
//! | enum struct variant | `@Name{field:v}` | `@Pos{x:1}` |
//!
//! **Names.** The name of a field or a variant is written as it is when it is made of
//! `A-Z a-z 0-9 _`, and quoted like a nested string otherwise (`#[serde(rename = "a b")]` gives
//! `@"a b"`). The names of types — structs, enums, newtypes — are not written: `@` reads "a struct
//! of some type". A `#[serde(transparent)]` newtype writes its field alone: `7`, not `@(7)`.
//!
//! **Bare strings.** A string argument is written as it is, without quotes — except that it is
//! prefixed with `'` when it could be taken for another kind of value: when it is empty, is
//! exactly `true`, `false`, `None`, `NaN`, `inf`, `NaNf32` or `inff32`, starts with `Some(`, or
//! starts with an ASCII digit or one of `- . , + @ ( ) [ ] { } ! '`. So `"asc"` → `asc`, `"42"` →
//! `'42`, `""` → `'`, `".env"` → `'.env`. (This is why a char escapes those characters: `'1'` is
//! the string `1'`, the char `'1'` is `'\1'`.)
//!
//! **Grammar.** The same rules as a grammar of raw texts. An argument is written like a `value`,
//! except that a string is bare, and the content of `Some(…)`, `@(…)` and `@Name(…)` is again
//! written as an argument (so `Some(asc)`, not `Some("asc")`).
//!
//! ```text
//! value  = "true" / "false" / "None" / "()" / int / float / string / char / bytes
//!        / "Some(" value ")"
//!        / "[" [ value *( "," value ) ] "]"                        ; sequence
//!        / "(,)" / "(" value ",)" / "(" value 1*( "," value ) ")"  ; tuple
//!        / "{" [ entry *( "," entry ) ] "}"                        ; map
//!        / "@" [ name ] [ "(" value ")"                            ; newtype
//!                       / "[" [ value *( "," value ) ] "]"         ; tuple struct or variant
//!                       / "{" [ field *( "," field ) ] "}" ]       ; struct or struct variant
//! entry  = value ":" value
//! field  = name ":" value
//! name   = 1*( ALPHA / DIGIT / "_" ) / string
//! int    = [ "-" ] 1*DIGIT [ "u8" / "u16" / "u64" / "u128" / "i8" / "i16" / "i32" / "i64" / "i128" ]
//! float  = ( [ "-" ] 1*DIGIT "." 1*DIGIT / "NaN" / "inf" / "-inf" ) [ "f32" ]
//! string = DQUOTE *( any char but DQUOTE and "\" / "\" DQUOTE / "\\" ) DQUOTE
//! char   = "'" ( char-but-escaped / "\" escaped ) "'"
//! bytes  = "0x" *( 2 lowercase hex digits )
//! ```
//!
//! `@` without a name is a struct (unit struct alone); with one, an enum variant.
//!
//! ## Escaping
//!
//! Every byte of a raw text that is not in `A-Z a-z 0-9 - . , + @ ( ) [ ] { } ! '` is written
//! `%XX`, with the byte in uppercase hex: one `%XX` per UTF-8 byte. That includes `_ = % ~ : / \`,
//! space, `" ? * < > |`, every control character and everything non-ASCII. So the `:` of maps and
//! structs comes out as `%3A` and the quotes of nested strings as `%22`.
//!
//! ## Examples
//!
//! | arguments | `names` | canonical text |
//! |---|---|---|
//! | `("/posts", 1u32, "asc")` | `["endpoint", "user_id", "sort"]` | `(v2)endpoint=%2Fposts_user_id=1_sort=asc` |
//! | `("/posts", 1u32, "asc")` | `[]` | `(v2)%2Fposts_1_asc` |
//! | `()` | `[]` | `(v2)` |
//! | `(vec!["a b", "c"],)` | `["xs"]` | `(v2)xs=[%22a%20b%22,%22c%22]` |
//! | `(Order::Asc, Some("asc"), 2u64)` | `["sort", "q", "page"]` | `(v2)sort=@Asc_q=Some(asc)_page=2u64` |
//! | `(1.0f64, 'a', "42")` | `[]` | `(v2)1.0_'a'_'42` |
//! | a `HashMap` or `BTreeMap` `{"b": 1, "a": 2}` | `[]` | `(v2){%22a%22%3A2,%22b%22%3A1}` |
//! | `User { id: 7, name: "ann".into() }` | `[]` | `(v2)@{id%3A7,name%3A%22ann%22}` |
//!
//! ## Injectivity
//!
//! Two argument lists whose values differ in the serde data model give two different canonical
//! texts, whether the values are of one type or of two kinds that one argument type can write:
//! the raw text reads back. Each kind's text starts differently (a string argument is bare only
//! when nothing else starts like it, and a char never reads as a marked string); a float always
//! has a `.` or is `NaN` or `inf`, and every integer but a `u32` names its type; nested strings and
//! names are quoted with their quotes escaped, so a `,` or `]` inside one never ends a collection;
//! map entries are sorted, so a `HashMap`'s random order never shows; escaping is reversible; and
//! `_` and `=` are always escaped inside values, so the text splits back into its arguments given
//! the names. The crate's tests decode the texts of generated values covering the whole data
//! model — and of derived enums in all four representations, and `serde_json::Value`s — back to
//! those values.
//!
//! What the encoding cannot see:
//!
//! - **Unordered sets.** serde cannot tell a `HashSet` from a `Vec`: it is written in iteration
//!   order, which changes from run to run, so equal sets may get different keys (a miss, never a
//!   wrong value). Use `BTreeSet`, a sorted `Vec`, or an ordered set for arguments.
//! - **What `Serialize` leaves out.** `#[serde(skip)]` fields, and any information an impl does not
//!   write, are not part of the key. All NaNs of one width are one value. Type names are not
//!   written: two struct types with the same fields and values, or two enums' variants of one
//!   name and content, are written alike when one argument type can hold both. Likewise an
//!   untagged enum whose variants hold the same kind (`#[serde(untagged)] enum E { A(u32),
//!   B(u32) }`) writes `A(1)` and `B(1)` as the same `u32`: serde itself sees no difference, and
//!   neither can the key — give such variants distinct kinds, or tag the enum.
//!
//! # Keys
//!
//! The canonical text is not the key: a [`Keyer`] makes it one. Both keyers here give keys of at
//! most [`MAX_KEY_LEN`] bytes that are safe as a single file name on Linux, macOS and Windows; see
//! [`ReadableKeyer`] and [`HashKeyer`] for their exact rules.

mod borrowed;
mod canonical;
#[cfg(test)]
mod decode;
mod encoded;
mod float;
mod hash;
mod key_ref;
#[cfg(test)]
mod model;
mod readable;

#[doc(hidden)]
pub use self::borrowed::Borrowed;
pub use self::borrowed::{AsKey, KeyPart, form};
pub use self::canonical::canonical;
#[doc(hidden)]
pub use self::encoded::ByValue;
pub use self::encoded::Encoded;
pub use self::float::{Float, KeyFloat};
pub use self::hash::HashKeyer;
pub use self::key_ref::KeyRef;
pub use self::readable::ReadableKeyer;

/// The longest key, in bytes, that [`ReadableKeyer`] and [`HashKeyer`] return.
///
/// It leaves room under the 255-byte limit of a file name for an extension and for the names of
/// temporary files.
pub const MAX_KEY_LEN: usize = 200;

/// Error when the arguments cannot be encoded: a `Serialize` impl returned an error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot encode the cache key: {0}")]
pub struct KeyError(String);

impl serde::ser::Error for KeyError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Turns the canonical text of a call's arguments (see [`canonical()`]) into the key its entry is
/// stored under.
///
/// A keyer must be a pure function of its inputs, forever: the same inputs must give the same key
/// in every process, on every machine, with every version of the program — and different inputs
/// different keys (or, for a hash, keys that differ but with negligible probability). The key
/// should be safe as a file name (the file backend uses `<key>.<extension>` by default) and no
/// longer than [`MAX_KEY_LEN`] bytes.
///
/// # Examples
///
/// A keyer that writes the version in front of each readable key, so that a listing of the cache
/// directory shows which version wrote which entry:
///
/// ```
/// use cacher::{Cache, Keyer, ReadableKeyer};
///
/// #[derive(Debug)]
/// struct VersionFirst;
///
/// impl Keyer for VersionFirst {
///     fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String {
///         let key = ReadableKeyer.key(namespace, version, canonical);
///         match version {
///             // This program's versions are short and alphanumeric ("r7"), so the key stays a
///             // safe file name, and different readable keys stay different.
///             Some(version) => format!("{version}-{key}"),
///             None => key,
///         }
///     }
/// }
///
/// let cache: Cache<(String, u32), String> = Cache::builder()
///     .version("r7")
///     .arg_names(&["endpoint", "user_id"])
///     .keyer(VersionFirst)
///     .build()
///     .unwrap();
/// let key = cache.key_of(&("/posts".to_owned(), 1)).unwrap();
/// assert_eq!(key, "r7-(v2)endpoint=%2Fposts_user_id=1");
/// ```
pub trait Keyer: Send + Sync + std::fmt::Debug + 'static {
    /// The key for the call whose arguments have the canonical text `canonical`.
    ///
    /// `namespace` identifies the function (e.g. `"my_crate::api::fetch"`), `version` is the
    /// user's salt (`None` when there is none).
    fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String;

    /// Whether [`key`](Self::key) returns `canonical` itself: then the canonical text serves as
    /// the key, not copied. The default says no, and `key` makes the key.
    /// [`ReadableKeyer`], whose key most often is the canonical text, says when it is.
    #[doc(hidden)]
    fn keeps(&self, canonical: &str) -> bool {
        let _ = canonical;
        false
    }
}
