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
//! as the arguments' own `Serialize` impls write the same thing. Changing the encoding would be a
//! breaking change, made only in a new major version.
//!
//! # The canonical text
//!
//! The canonical text is ASCII only. Each argument is first written as a *raw text*, which is then
//! *escaped*; the escaped arguments are joined.
//!
//! ## Arguments
//!
//! - If the value given to [`canonical()`] serializes as a tuple — how an argument list arrives —
//!   each element is one argument. If it serializes as unit `()`, there are zero arguments. Any
//!   other value is one argument. (A newtype struct around a tuple counts as the tuple.)
//! - Zero arguments give the canonical text `()`.
//! - Otherwise the escaped arguments are joined with `_`. When `names` has exactly one name per
//!   argument, each argument is written `name=value`; a name keeps its bytes `A-Z a-z 0-9 _` and
//!   escapes any other byte as below. When `names` is empty, or its length differs from the
//!   number of arguments, no names are written.
//!
//! ## Raw text of a value
//!
//! | serde data model | raw text | example |
//! |---|---|---|
//! | bool | `true`, `false` | `true` |
//! | integers, `i8`…`i128`, `u8`…`u128` | decimal | `-12` |
//! | `f32`, `f64` | Rust's `Display`: the shortest text that reads back as the same float, no exponent; `NaN`, `inf`, `-inf`, `-0` | `0.1` |
//! | string or char that *is* an argument | bare (see below) | `asc` |
//! | string or char anywhere else (in a collection, a struct, an `Option`, …) | `"`, the text with `\` written `\\` and `"` written `\"`, `"` | `"a\"b"` |
//! | bytes (`serialize_bytes`, e.g. `serde_bytes`) | `0x` and lowercase hex | `0x00ff` |
//! | unit `()`, unit struct | `()` | `()` |
//! | `None` | `null` | `null` |
//! | `Some(x)` | the raw text of `x`; when `x` is itself an `Option` (also through newtype structs), `?` and the raw text of `x` | `3`; `Some(None)` → `?null` |
//! | newtype struct | transparent: the inner value, by the same rules as if it stood there | `UserId(7)` → `7` |
//! | sequence, tuple, tuple struct | `[a,b]` | `[1,2]` |
//! | map | `{k:v,k:v}`, entries sorted bytewise by the raw text of the key (then of the value) | `{"a":2,"b":1}` |
//! | struct | `{field:v,field:v}`, in declaration order; skipped fields are absent | `{id:7}` |
//! | enum unit variant | `Name` | `Asc` |
//! | enum newtype variant | `Name(x)` | `Id(7)` |
//! | enum tuple variant | `Name[a,b]` | `Pos[1,2]` |
//! | enum struct variant | `Name{f:v}` | `Pos{x:1}` |
//!
//! **Bare strings.** A string or char that is an argument by itself (or wrapped in newtype
//! structs) is written as it is, without quotes — except that it is prefixed with `'` when it could
//! be taken for another kind of value: when it is empty, is exactly `true`, `false`, `null`, `NaN`
//! or `inf`, or starts with an ASCII digit or with one of `- ( [ { " ? '`. So `"asc"` → `asc`,
//! `"42"` → `'42`, `""` → `'`. This keeps apart the values of an argument whose type writes
//! sometimes a string and sometimes something else (`serde_json::Value`, `#[serde(untagged)]`
//! enums): `Value::String("1")` is `'1`, `Value::Number(1)` is `1`.
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
//! | `("/posts", 1u32, "asc")` | `["endpoint", "user_id", "sort"]` | `endpoint=%2Fposts_user_id=1_sort=asc` |
//! | `("/posts", 1u32, "asc")` | `[]` | `%2Fposts_1_asc` |
//! | `()` | `[]` | `()` |
//! | `(vec!["a b", "c"],)` | `["xs"]` | `xs=[%22a%20b%22,%22c%22]` |
//! | `Some(None::<u8>)` | `[]` | `%3Fnull` |
//! | a `HashMap` or `BTreeMap` `{"b": 1, "a": 2}` | `[]` | `{%22a%22%3A2,%22b%22%3A1}` |
//! | `User { id: 7, name: "ann".into() }` | `[]` | `{id%3A7,name%3A%22ann%22}` |
//!
//! ## Injectivity
//!
//! Two different values of one argument type give two different canonical texts: the raw text
//! can be read back (nested strings are quoted and their quotes escaped, so a `,` or `]` inside one
//! never ends a collection; `?` keeps the levels of `Option<Option<T>>` apart; map entries are
//! sorted, so a `HashMap`'s random order never shows), escaping is reversible, and `_` and `=` are
//! always escaped inside values, so the text splits back into its arguments given the names.
//!
//! What the encoding cannot see:
//!
//! - **Unordered sets.** serde cannot tell a `HashSet` from a `Vec`: it is written in iteration
//!   order, which changes from run to run, so equal sets may get different keys (a miss, never a
//!   wrong value). Use `BTreeSet`, a sorted `Vec`, or an ordered set for arguments.
//! - **What `Serialize` leaves out.** `#[serde(skip)]` fields, and any information an impl does not
//!   write, are not part of the key. All NaNs are written `NaN`.
//! - **Hand-written impls mixing enum variants and strings.** A variant's name is written as it
//!   is, so an impl writing sometimes the unit variant `Asc` and sometimes the string `"Asc"` for
//!   one argument would give both the text `Asc`. `#[derive(Serialize)]` never does that.
//!
//! # Keys
//!
//! The canonical text is not the key: a [`Keyer`] makes it one. Both keyers here give keys of at
//! most [`MAX_KEY_LEN`] bytes that are safe as a single file name on Linux, macOS and Windows; see
//! [`ReadableKeyer`] and [`HashKeyer`] for their exact rules.

mod canonical;
#[cfg(test)]
mod decode;
mod hash;
mod key_ref;
mod readable;

pub use self::canonical::canonical;
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
///             // This program's versions are short and alphanumeric ("v2"), so the key stays a
///             // safe file name, and different readable keys stay different.
///             Some(version) => format!("{version}-{key}"),
///             None => key,
///         }
///     }
/// }
///
/// let cache: Cache<(String, u32), String> = Cache::builder()
///     .version("v2")
///     .arg_names(&["endpoint", "user_id"])
///     .keyer(VersionFirst)
///     .build()
///     .unwrap();
/// let key = cache.key_of(&("/posts".to_owned(), 1)).unwrap();
/// assert_eq!(key, "v2-endpoint=%2Fposts_user_id=1");
/// ```
pub trait Keyer: Send + Sync + std::fmt::Debug + 'static {
    /// The key for the call whose arguments have the canonical text `canonical`.
    ///
    /// `namespace` identifies the function (e.g. `"my_crate::api::fetch"`), `version` is the
    /// user's salt (`None` when there is none).
    fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String;
}
