//! A tracer of serde shapes: a `Deserializer` that answers every request with a placeholder and
//! writes down what was asked for, run once per pass until every variant of every enum met has
//! been visited.
//!
//! `serde-reflection` does this too, but it stops exploring an `Option`, sequence or map position
//! it has seen in an earlier pass, so an enum behind one (`Vec<Status>` inside a struct) keeps
//! only its first variant, and it recurses without end into an enum whose first variant contains
//! the enum. Here:
//!
//! - A named container (struct, enum, newtype, tuple struct) met again inside itself is a
//!   *recursion*: its content is described by the outer visit, and inside it options are `None`,
//!   sequences and maps empty, and enums take a variant known to end (a variant that kept
//!   recursing until the depth limit is marked and avoided in the next pass).
//! - A container is known by its serde name *and* its visitor's Rust type ([`Id`]): serde names
//!   carry no module path nor generic arguments, so `Result<u32, String>` and `Result<i32, u32>`,
//!   `m1::Kind` and `m2::Kind`, or a `github::User` inside a `User`, were one container — the
//!   second's layout never traced, or taken for a recursion (helper-107: a field swapped or
//!   retyped in it read old entries as new values). The fingerprint names each container by its
//!   serde name and the order it was first met, never by its Rust path: a type moved to another
//!   module keeps its fingerprint.
//! - Elsewhere options are `Some`, sequences and maps hold one element, and each enum visits its
//!   next unvisited variant, or a variant through which an enum with unvisited variants was met.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::value::U32Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Passes before giving up (each visits a new variant or marks a recursive one).
const MAX_PASSES: usize = 1024;
/// Nesting of one pass: a recursion through enums that does not end stops here.
const MAX_DEPTH: usize = 96;

/// What strings and bytes are answered with, tried in order until the type's `Deserialize`
/// takes them: empty ones, then forms that common validating types parse (timestamps, dates,
/// times, versions, URLs as text; a UUID as 16 bytes).
const PLACEHOLDERS: [(&str, &[u8]); 6] = [
    ("", &[]),
    ("1970-01-01T00:00:00Z", &[0; 16]),
    ("1970-01-01", &[0; 16]),
    ("00:00:00", &[0; 16]),
    ("0.0.0", &[0; 16]),
    ("http://localhost/", &[0; 16]),
];

/// The hex fingerprint of `V`'s shape, or why it cannot be traced.
pub(super) fn fingerprint<V: DeserializeOwned>() -> Result<String, String> {
    let mut refused = String::new();
    for placeholder in PLACEHOLDERS {
        match fingerprint_with::<V>(placeholder) {
            Err(Failure::Refused(why)) => refused = why,
            traced => return traced.map_err(|failure| failure.to_string()),
        }
    }
    Err(format!(
        "its Deserialize refused every placeholder: {refused}"
    ))
}

/// Traces `V`, answering strings and bytes with `placeholder`.
fn fingerprint_with<V: DeserializeOwned>(
    placeholder: (&'static str, &'static [u8]),
) -> Result<String, Failure> {
    let mut trace = Trace::default();
    for _ in 0..MAX_PASSES {
        let mut pass = Pass::new(&mut trace, placeholder);
        match V::deserialize(&mut pass) {
            Ok(_) => {
                let root = pass.bufs.pop().unwrap_or_default();
                if trace.complete() {
                    return Ok(trace.hash(&root));
                }
            }
            // An enum whose names include aliases: the index refused is its count.
            Err(Failure::NoVariant(id, index)) if index > 0 => {
                trace.enum_mut(id).count = Some(index);
            }
            Err(Failure::TooDeep) if !pass.recursive.is_empty() => {
                let marks = std::mem::take(&mut pass.recursive);
                for (name, index) in marks {
                    trace.enum_mut(name).recursive.insert(index);
                }
            }
            Err(failure) => return Err(failure),
        }
    }
    Err(Failure::Untraceable(
        "too many enum variants to trace".to_owned(),
    ))
}

/// A named container's identity while tracing: its serde name, and the Rust type of the visitor
/// its `Deserialize` hands over (`std::any::type_name`: the type's path and generic arguments).
/// Never hashed, only told apart within one trace.
type Id = (&'static str, &'static str);

/// The identity of the container `name` whose `Deserialize` visits with a `V`.
fn id<V>(name: &'static str) -> Id {
    (name, std::any::type_name::<V>())
}

/// What is known of one enum.
#[derive(Debug, Default)]
struct Enum {
    /// The names its `Deserialize` gives, aliases included (`#[serde(alias)]`).
    variants: &'static [&'static str],
    /// How many variants there are, once an index past them was refused: `variants` also
    /// lists aliases, so it may name more than there are.
    count: Option<u32>,
    /// The content of each visited variant.
    visited: BTreeMap<u32, String>,
    /// Variants that did not end inside a recursion.
    recursive: BTreeSet<u32>,
    /// The enums met inside each variant.
    reaches: BTreeMap<u32, BTreeSet<Id>>,
}

impl Enum {
    /// How many variants it has: as many as it names, until an index was refused.
    fn count(&self) -> u32 {
        self.count.unwrap_or(self.variants.len() as u32)
    }
}

/// What all passes found.
#[derive(Debug, Default)]
struct Trace {
    /// Each container's number (the order it was first met) and its descriptions.
    containers: BTreeSet<(u32, String)>,
    enums: BTreeMap<Id, Enum>,
    /// The number of each container met.
    numbers: BTreeMap<Id, u32>,
}

impl Trace {
    fn enum_mut(&mut self, id: Id) -> &mut Enum {
        self.enums.entry(id).or_default()
    }

    /// `id`'s number: the order it was first met in, what the fingerprint names it by.
    fn number(&mut self, id: Id) -> u32 {
        let next = self.numbers.len() as u32;
        *self.numbers.entry(id).or_insert(next)
    }

    fn unfinished(&self, id: &Id) -> bool {
        self.enums
            .get(id)
            .is_some_and(|e| e.visited.len() < e.count() as usize)
    }

    fn complete(&self) -> bool {
        self.enums.keys().all(|id| !self.unfinished(id))
    }

    fn hash(&self, root: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        let mut add = |text: &str| {
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        add(root);
        for (number, description) in &self.containers {
            add(&number.to_string());
            add(description);
        }
        // In the order they were first met, by number and serde name (not by their Rust
        // paths, which the identities' order would follow).
        let mut enums: Vec<(u32, &str, &Enum)> = (self.enums.iter())
            .map(|(id, e)| (self.numbers.get(id).copied().unwrap_or(u32::MAX), id.0, e))
            .collect();
        enums.sort_by_key(|(number, ..)| *number);
        for (number, name, e) in enums {
            add(&number.to_string());
            add(name);
            for (index, content) in &e.visited {
                add(&index.to_string());
                add(e.variants.get(*index as usize).copied().unwrap_or("?"));
                add(content);
            }
        }
        format!("{}{}", super::SCHEME, &hasher.finalize().to_hex()[..32])
    }

    /// The variant a visit outside a recursion takes.
    fn explore(&self, id: &Id) -> Option<u32> {
        let e = self.enums.get(id)?;
        let count = e.count();
        let ends = |i: &u32| !e.recursive.contains(i);
        (0..count)
            .find(|i| !e.visited.contains_key(i))
            .or_else(|| {
                (0..count).filter(ends).find(|i| {
                    e.reaches
                        .get(i)
                        .is_some_and(|r| r.iter().any(|n| self.unfinished(n)))
                })
            })
            .or_else(|| (0..count).find(ends))
    }

    /// The variant a visit inside a recursion takes: the first not known to recurse.
    fn settle(&self, id: &Id) -> Option<u32> {
        let e = self.enums.get(id)?;
        (0..e.count()).find(|i| !e.recursive.contains(i))
    }
}

/// One pass: the deserializer.
struct Pass<'t> {
    trace: &'t mut Trace,
    /// The named containers being visited, outermost first.
    stack: Vec<Id>,
    /// How many recursions the visit is inside (0: describing).
    cut: usize,
    /// Descriptions being written, innermost last.
    bufs: Vec<String>,
    /// The variants being visited while describing, for `reaches`.
    open: Vec<(Id, u32)>,
    /// Variants taken inside recursions, innermost last.
    settled: Vec<(Id, u32)>,
    /// Set when the depth limit is hit: the variants that kept recursing.
    recursive: Vec<(Id, u32)>,
    text: &'static str,
    bytes: &'static [u8],
}

impl<'t> Pass<'t> {
    fn new(trace: &'t mut Trace, (text, bytes): (&'static str, &'static [u8])) -> Self {
        Self {
            text,
            bytes,
            trace,
            stack: Vec::new(),
            cut: 0,
            bufs: vec![String::new()],
            open: Vec::new(),
            settled: Vec::new(),
            recursive: Vec::new(),
        }
    }

    fn write(&mut self, text: &str) {
        if self.cut == 0
            && let Some(buf) = self.bufs.last_mut()
        {
            buf.push_str(text);
        }
    }

    /// Visits the named container `id`: described once, recursions cut.
    fn container<T>(
        &mut self,
        kind: &str,
        id: Id,
        visit: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let number = self.trace.number(id);
        self.write(&format!("{kind} {}#{number}", id.0));
        if self.stack.len() >= MAX_DEPTH {
            self.recursive = repeated(&self.settled);
            return Err(Failure::TooDeep);
        }
        let recursion = self.stack.contains(&id);
        let describe = !recursion && self.cut == 0;
        self.stack.push(id);
        self.cut += usize::from(recursion);
        if describe {
            self.bufs.push(String::new());
        }
        let result = visit(self);
        if describe {
            let description = self.bufs.pop().unwrap_or_default();
            self.trace.containers.insert((number, description));
        }
        self.cut -= usize::from(recursion);
        self.stack.pop();
        result
    }

    fn elements<'p, 'a>(
        &'p mut self,
        count: usize,
        fields: &'a [&'static str],
    ) -> Elements<'p, 'a, 't> {
        Elements {
            pass: self,
            left: count,
            fields,
            first: true,
        }
    }

    /// How many elements a sequence or map gets: one, or none inside a recursion.
    fn one(&self) -> usize {
        usize::from(self.cut == 0)
    }
}

/// The variants that appear more than once: those that kept recursing.
fn repeated(settled: &[(Id, u32)]) -> Vec<(Id, u32)> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for variant in settled {
        if !seen.insert(variant) {
            twice.insert(*variant);
        }
    }
    twice.into_iter().collect()
}

#[derive(Debug)]
enum Failure {
    TooDeep,
    /// The enum's `Deserialize` refused the variant index offered: it has fewer variants than
    /// its names (aliases are among them).
    NoVariant(Id, u32),
    /// The type's `Deserialize` refused a placeholder: another may do.
    Refused(String),
    Untraceable(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TooDeep => f.write_str("a recursion that does not end"),
            Failure::NoVariant(id, _) => write!(f, "{} has no variant to trace", id.0),
            Failure::Refused(why) | Failure::Untraceable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Failure {}

impl de::Error for Failure {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Failure::Refused(msg.to_string())
    }
}

mod access;

use self::access::{Elements, Variant};

macro_rules! placeholder {
    ($($method:ident $name:literal $visit:ident($value:expr))*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
            self.write($name);
            visitor.$visit($value)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Pass<'_> {
    type Error = Failure;

    // Non-zero numbers, so that `NonZeroU32` and friends trace.
    placeholder! {
        deserialize_bool "bool" visit_bool(false)
        deserialize_i8 "i8" visit_i8(1) deserialize_i16 "i16" visit_i16(1)
        deserialize_i32 "i32" visit_i32(1) deserialize_i64 "i64" visit_i64(1)
        deserialize_i128 "i128" visit_i128(1) deserialize_u8 "u8" visit_u8(1)
        deserialize_u16 "u16" visit_u16(1) deserialize_u32 "u32" visit_u32(1)
        deserialize_u64 "u64" visit_u64(1) deserialize_u128 "u128" visit_u128(1)
        deserialize_f32 "f32" visit_f32(1.0) deserialize_f64 "f64" visit_f64(1.0)
        deserialize_char "char" visit_char('a')
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("str");
        visitor.visit_borrowed_str(self.text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("str");
        visitor.visit_string(self.text.to_owned())
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("bytes");
        visitor.visit_borrowed_bytes(self.bytes)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("bytes");
        visitor.visit_byte_buf(self.bytes.to_vec())
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("()");
        visitor.visit_unit()
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Failure> {
        Err(Failure::Untraceable(
            "its Deserialize asks the format what comes next (deserialize_any)".to_owned(),
        ))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_any(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("option(");
        let value = if self.cut == 0 {
            visitor.visit_some(&mut *self)?
        } else {
            visitor.visit_none()?
        };
        self.write(")");
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.write(&format!("unit {name}"));
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.container("newtype", id::<V>(name), |pass| {
            visitor.visit_newtype_struct(pass)
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("seq(");
        let count = self.one();
        let value = visitor.visit_seq(self.elements(count, &[]))?;
        self.write(")");
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.write("(");
        let value = visitor.visit_seq(self.elements(len, &[]))?;
        self.write(")");
        Ok(value)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.container("tuple", id::<V>(name), |pass| {
            visitor.visit_seq(pass.elements(len, &[]))
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.write("map(");
        let count = self.one();
        let value = visitor.visit_map(self.elements(count, &[]))?;
        self.write(")");
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.container("struct", id::<V>(name), |pass| {
            pass.write(&field_names(fields));
            visitor.visit_seq(pass.elements(fields.len(), fields))
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        if variants.is_empty() {
            return Err(Failure::Untraceable("an enum without variants".to_owned()));
        }
        let id = id::<V>(name);
        self.trace.enum_mut(id).variants = variants;
        for (open, index) in &self.open {
            let e = self.trace.enum_mut(*open);
            e.reaches.entry(*index).or_default().insert(id);
        }
        self.container("enum", id, |pass| {
            pass.write(&variants.join("|"));
            let describing = pass.cut == 0;
            let index = if describing {
                pass.trace.explore(&id)
            } else {
                pass.trace.settle(&id)
            };
            let index = index.ok_or_else(|| {
                Failure::Untraceable(format!("no variant of {name} ends its recursion"))
            })?;
            visitor.visit_enum(Variant::new(pass, id, index, describing))
        })
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// A struct's field names as its `Deserialize` gives them, aliases included, each with its
/// length (a name is any text: `#[serde(rename = "a:u32,b")]` must not read as two fields).
/// Written whole: the fields are labelled by position from this list, and an alias shifts the
/// labels of the fields after it (helper-109: with two aliases, the last two fields could be
/// swapped unseen).
fn field_names(fields: &[&str]) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("{}'{f}", f.len())).collect();
    format!("{{{}}}", names.join(","))
}

/// The variant index an `EnumAccess` hands to the variant's identifier.
fn index_deserializer(index: u32) -> U32Deserializer<Failure> {
    index.into_deserializer()
}

/// Runs `seed` on the pass.
fn element<'de, S: DeserializeSeed<'de>>(
    pass: &mut Pass<'_>,
    seed: S,
) -> Result<S::Value, Failure> {
    seed.deserialize(pass)
}
