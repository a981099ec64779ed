//! Test-only: any `Serialize` value as the [`Value`] of the serializer calls it makes.

use serde::ser::{self, Serialize};

use super::{Name, Value};
use crate::key::KeyError;

/// The data-model value `value` serialises as (type names and variant indices dropped).
pub(crate) fn capture<T: Serialize + ?Sized>(value: &T) -> Result<Value, KeyError> {
    value.serialize(Capture)
}

struct Capture;

fn boxed<T: Serialize + ?Sized>(value: &T) -> Result<Box<Value>, KeyError> {
    capture(value).map(Box::new)
}

/// The elements of a compound value as they arrive, then the [`Value`] they make.
pub(crate) struct Items {
    items: Vec<Value>,
    make: fn(Vec<Value>) -> Value,
}

/// The fields of a struct or struct variant.
pub(crate) struct Fields {
    fields: Vec<(Name, Value)>,
    variant: Option<Name>,
}

/// The entries of a map, and a key waiting for its value.
pub(crate) struct Entries {
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl ser::Serializer for Capture {
    type Ok = Value;
    type Error = KeyError;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Items;
    type SerializeMap = Entries;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    fn serialize_bool(self, v: bool) -> Result<Value, KeyError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, KeyError> {
        Ok(Value::I8(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, KeyError> {
        Ok(Value::I16(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, KeyError> {
        Ok(Value::I32(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, KeyError> {
        Ok(Value::I64(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, KeyError> {
        Ok(Value::I128(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, KeyError> {
        Ok(Value::U8(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, KeyError> {
        Ok(Value::U16(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, KeyError> {
        Ok(Value::U32(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, KeyError> {
        Ok(Value::U64(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, KeyError> {
        Ok(Value::U128(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, KeyError> {
        Ok(Value::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, KeyError> {
        Ok(Value::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, KeyError> {
        Ok(Value::Char(v))
    }
    fn serialize_str(self, v: &str) -> Result<Value, KeyError> {
        Ok(Value::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, KeyError> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, KeyError> {
        Ok(Value::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, KeyError> {
        Ok(Value::Some(boxed(value)?))
    }
    fn serialize_unit(self) -> Result<Value, KeyError> {
        Ok(Value::Unit)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, KeyError> {
        Ok(Value::UnitStruct)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: Name) -> Result<Value, KeyError> {
        Ok(Value::UnitVariant(v))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, KeyError> {
        Ok(Value::NewtypeStruct(boxed(value)?))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: Name,
        value: &T,
    ) -> Result<Value, KeyError> {
        Ok(Value::NewtypeVariant(variant, boxed(value)?))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Items, KeyError> {
        Ok(Items::new(Value::Seq))
    }
    fn serialize_tuple(self, _: usize) -> Result<Items, KeyError> {
        Ok(Items::new(Value::Tuple))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Items, KeyError> {
        Ok(Items::new(Value::TupleStruct))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: Name,
        _: usize,
    ) -> Result<Items, KeyError> {
        // A `fn` pointer cannot capture the name: keep it as the first item's slot instead.
        Ok(Items {
            items: vec![Value::UnitVariant(variant)],
            make: |mut items| match items.remove(0) {
                Value::UnitVariant(variant) => Value::TupleVariant(variant, items),
                _ => unreachable!("the variant's name is the first item"),
            },
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Entries, KeyError> {
        Ok(Entries {
            entries: Vec::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields, KeyError> {
        Ok(Fields {
            fields: Vec::new(),
            variant: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: Name,
        _: usize,
    ) -> Result<Fields, KeyError> {
        Ok(Fields {
            fields: Vec::new(),
            variant: Some(variant),
        })
    }
}

impl Items {
    fn new(make: fn(Vec<Value>) -> Value) -> Self {
        Self {
            items: Vec::new(),
            make,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.items.push(capture(value)?);
        Ok(())
    }

    fn finish(self) -> Result<Value, KeyError> {
        Ok((self.make)(self.items))
    }
}

macro_rules! items {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Items {
            type Ok = Value;
            type Error = KeyError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
                self.push(value)
            }
            fn end(self) -> Result<Value, KeyError> {
                self.finish()
            }
        }
    )*};
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl Fields {
    fn push<T: Serialize + ?Sized>(&mut self, name: Name, value: &T) -> Result<(), KeyError> {
        self.fields.push((name, capture(value)?));
        Ok(())
    }

    fn finish(self) -> Result<Value, KeyError> {
        Ok(match self.variant {
            Some(variant) => Value::StructVariant(variant, self.fields),
            None => Value::Struct(self.fields),
        })
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Value;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, k: Name, v: &T) -> Result<(), KeyError> {
        self.push(k, v)
    }
    fn end(self) -> Result<Value, KeyError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Fields {
    type Ok = Value;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, k: Name, v: &T) -> Result<(), KeyError> {
        self.push(k, v)
    }
    fn end(self) -> Result<Value, KeyError> {
        self.finish()
    }
}

impl ser::SerializeMap for Entries {
    type Ok = Value;
    type Error = KeyError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), KeyError> {
        self.key = Some(capture(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| KeyError("value before key".into()))?;
        self.entries.push((key, capture(value)?));
        Ok(())
    }
    fn end(self) -> Result<Value, KeyError> {
        Ok(Value::Map(self.entries))
    }
}
