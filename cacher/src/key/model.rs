//! Test-only: the serde data model as a value ([`Value`]), what the canonical encoding is
//! injective over.
//!
//! A `Value` serialises as exactly the serializer calls it names ([`Serialize`]), and any
//! `Serialize` type can be captured as one ([`capture`]), so "two values differ in the data model"
//! is `capture(a) != capture(b)`. Type names (of structs, enums, newtypes) and variant indices are
//! not part of a `Value`: the encoding leaves them out, as its documentation says.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

mod capture;
pub(crate) mod strategy;

pub(crate) use self::capture::capture;

/// The name of a field or a variant (serde takes them as `&'static str`).
pub(crate) type Name = &'static str;

/// One value of the serde data model, one variant per serializer method.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    None,
    Some(Box<Value>),
    Unit,
    UnitStruct,
    UnitVariant(Name),
    NewtypeStruct(Box<Value>),
    NewtypeVariant(Name, Box<Value>),
    Seq(Vec<Value>),
    Tuple(Vec<Value>),
    TupleStruct(Vec<Value>),
    TupleVariant(Name, Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<(Name, Value)>),
    StructVariant(Name, Vec<(Name, Value)>),
}

/// Equality in the data model: floats by bits, except that all NaNs of one width are one value
/// (as the encoding documents); maps as multisets of entries (the encoding sorts them, so the
/// order a `HashMap` happens to give never counts).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value as V;
        match (self, other) {
            (V::F32(a), V::F32(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (V::F64(a), V::F64(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (V::Map(a), V::Map(b)) => sorted(a) == sorted(b),
            (V::Some(a), V::Some(b)) | (V::NewtypeStruct(a), V::NewtypeStruct(b)) => a == b,
            (V::NewtypeVariant(n, a), V::NewtypeVariant(m, b)) => n == m && a == b,
            (V::Seq(a), V::Seq(b))
            | (V::Tuple(a), V::Tuple(b))
            | (V::TupleStruct(a), V::TupleStruct(b)) => a == b,
            (V::TupleVariant(n, a), V::TupleVariant(m, b)) => n == m && a == b,
            (V::Struct(a), V::Struct(b)) => a == b,
            (V::StructVariant(n, a), V::StructVariant(m, b)) => n == m && a == b,
            _ => scalar_eq(self, other),
        }
    }
}

/// Equality of the values without children (and `false` for two different kinds).
fn scalar_eq(a: &Value, b: &Value) -> bool {
    use Value as V;
    match (a, b) {
        (V::Bool(a), V::Bool(b)) => a == b,
        (V::I8(a), V::I8(b)) => a == b,
        (V::I16(a), V::I16(b)) => a == b,
        (V::I32(a), V::I32(b)) => a == b,
        (V::I64(a), V::I64(b)) => a == b,
        (V::I128(a), V::I128(b)) => a == b,
        (V::U8(a), V::U8(b)) => a == b,
        (V::U16(a), V::U16(b)) => a == b,
        (V::U32(a), V::U32(b)) => a == b,
        (V::U64(a), V::U64(b)) => a == b,
        (V::U128(a), V::U128(b)) => a == b,
        (V::Char(a), V::Char(b)) => a == b,
        (V::Str(a), V::Str(b)) => a == b,
        (V::Bytes(a), V::Bytes(b)) => a == b,
        (V::UnitVariant(a), V::UnitVariant(b)) => a == b,
        (V::None, V::None) | (V::Unit, V::Unit) | (V::UnitStruct, V::UnitStruct) => true,
        _ => false,
    }
}

/// A map's entries in one order that does not depend on the order they were written in, nor on
/// that of the maps inside them.
fn sorted(entries: &[(Value, Value)]) -> Vec<(Value, Value)> {
    let mut sorted: Vec<(Value, Value)> = entries
        .iter()
        .map(|(k, v)| (k.normalized(), v.normalized()))
        .collect();
    // `Debug` writes every NaN of one width alike, so equal entries sort alike.
    sorted.sort_by_cached_key(|entry| format!("{entry:?}"));
    sorted
}

impl Value {
    /// The same value with the entries of every map in it sorted.
    fn normalized(&self) -> Value {
        use Value as V;
        let all = |items: &[Value]| items.iter().map(Value::normalized).collect();
        let fields =
            |fields: &[(Name, Value)]| fields.iter().map(|(n, v)| (*n, v.normalized())).collect();
        match self {
            V::Some(x) => V::Some(Box::new(x.normalized())),
            V::NewtypeStruct(x) => V::NewtypeStruct(Box::new(x.normalized())),
            V::NewtypeVariant(n, x) => V::NewtypeVariant(n, Box::new(x.normalized())),
            V::Seq(items) => V::Seq(all(items)),
            V::Tuple(items) => V::Tuple(all(items)),
            V::TupleStruct(items) => V::TupleStruct(all(items)),
            V::TupleVariant(n, items) => V::TupleVariant(n, all(items)),
            V::Map(entries) => V::Map(sorted(entries)),
            V::Struct(f) => V::Struct(fields(f)),
            V::StructVariant(n, f) => V::StructVariant(n, fields(f)),
            scalar => scalar.clone(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Serialises as the serializer calls the value names. Type names are `"T"`, indices `0`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use Value as V;
        match self {
            V::Bool(v) => s.serialize_bool(*v),
            V::I8(v) => s.serialize_i8(*v),
            V::I16(v) => s.serialize_i16(*v),
            V::I32(v) => s.serialize_i32(*v),
            V::I64(v) => s.serialize_i64(*v),
            V::I128(v) => s.serialize_i128(*v),
            V::U8(v) => s.serialize_u8(*v),
            V::U16(v) => s.serialize_u16(*v),
            V::U32(v) => s.serialize_u32(*v),
            V::U64(v) => s.serialize_u64(*v),
            V::U128(v) => s.serialize_u128(*v),
            V::F32(v) => s.serialize_f32(*v),
            V::F64(v) => s.serialize_f64(*v),
            V::Char(v) => s.serialize_char(*v),
            V::Str(v) => s.serialize_str(v),
            V::Bytes(v) => s.serialize_bytes(v),
            V::None => s.serialize_none(),
            V::Some(v) => s.serialize_some(v),
            V::Unit => s.serialize_unit(),
            V::UnitStruct => s.serialize_unit_struct("T"),
            V::UnitVariant(n) => s.serialize_unit_variant("T", 0, n),
            V::NewtypeStruct(v) => s.serialize_newtype_struct("T", v),
            V::NewtypeVariant(n, v) => s.serialize_newtype_variant("T", 0, n, v),
            _ => self.serialize_compound(s),
        }
    }
}

impl Value {
    fn serialize_compound<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use Value as V;
        match self {
            V::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                items.iter().try_for_each(|v| seq.serialize_element(v))?;
                seq.end()
            }
            V::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                items.iter().try_for_each(|v| tuple.serialize_element(v))?;
                tuple.end()
            }
            V::TupleStruct(items) => {
                let mut tuple = s.serialize_tuple_struct("T", items.len())?;
                items.iter().try_for_each(|v| tuple.serialize_field(v))?;
                tuple.end()
            }
            V::TupleVariant(n, items) => {
                let mut tuple = s.serialize_tuple_variant("T", 0, n, items.len())?;
                items.iter().try_for_each(|v| tuple.serialize_field(v))?;
                tuple.end()
            }
            V::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                entries
                    .iter()
                    .try_for_each(|(k, v)| map.serialize_entry(k, v))?;
                map.end()
            }
            V::Struct(fields) => {
                let mut st = s.serialize_struct("T", fields.len())?;
                fields
                    .iter()
                    .try_for_each(|(n, v)| st.serialize_field(n, v))?;
                st.end()
            }
            V::StructVariant(n, fields) => {
                let mut st = s.serialize_struct_variant("T", 0, n, fields.len())?;
                fields
                    .iter()
                    .try_for_each(|(n, v)| st.serialize_field(n, v))?;
                st.end()
            }
            _ => unreachable!("scalars are serialised by `serialize`"),
        }
    }
}

/// A `'static` copy of a name (serde's names are `'static`), made once per name.
pub(crate) fn intern(name: String) -> Name {
    static NAMES: Mutex<Option<HashSet<Name>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: Name = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}
