//! The serializer side of the guard: forwards to the format's serializer, refusing what the same
//! format could not read back (see the parent module).

use serde::ser::{self, Error as _, Serialize, Serializer};

use super::{Guard, Mode};

/// A value serialised through the guard: `format::to_vec(&Checked::new(value, &guard))`.
pub(crate) struct Checked<'a, T: ?Sized> {
    value: &'a T,
    guard: &'a Guard,
    /// Directly inside a `Some` (through newtype structs): JSON must not write `null` here.
    in_some: bool,
}

impl<'a, T: ?Sized> Checked<'a, T> {
    pub(crate) fn new(value: &'a T, guard: &'a Guard) -> Self {
        Self {
            value,
            guard,
            in_some: false,
        }
    }
}

impl<T: Serialize + ?Sized> Serialize for Checked<'_, T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Guarded {
            ser,
            guard: self.guard,
            in_some: self.in_some,
        })
    }
}

struct Guarded<'g, S> {
    ser: S,
    guard: &'g Guard,
    in_some: bool,
}

/// A sequence, tuple, map or struct being written, `levels` deep.
pub(crate) struct Compound<'g, C> {
    inner: C,
    guard: &'g Guard,
    levels: usize,
}

impl<'g, S: Serializer> Guarded<'g, S> {
    fn refuse(&self, why: &'static str) -> S::Error {
        S::Error::custom(self.guard.refuse(why))
    }

    /// Refuses a `null` that JSON could not tell from `None`.
    fn null(&self) -> Result<(), S::Error> {
        if self.in_some && self.guard.mode() == Mode::Json {
            return Err(self.refuse(
                "JSON writes Some(x) as x, and this x as null: it would read back as None",
            ));
        }
        Ok(())
    }

    fn float(&self, finite: bool) -> Result<(), S::Error> {
        if !finite && self.guard.mode() == Mode::Json {
            return Err(self.refuse("JSON cannot hold NaN or an infinite float"));
        }
        Ok(())
    }

    fn child<'v, T: ?Sized>(&self, value: &'v T, in_some: bool) -> Checked<'v, T>
    where
        'g: 'v,
    {
        Checked {
            value,
            guard: self.guard,
            in_some,
        }
    }

    /// Runs `write` one or more levels deeper.
    fn nested<T>(
        self,
        levels: usize,
        write: impl FnOnce(S, &'g Guard) -> Result<T, S::Error>,
    ) -> Result<T, S::Error> {
        let guard = self.guard;
        guard.enter(levels).map_err(S::Error::custom)?;
        let result = write(self.ser, guard);
        guard.leave(levels);
        result
    }

    /// Opens a compound value `levels` deep; its `end` closes them.
    fn open<C>(
        self,
        levels: usize,
        open: impl FnOnce(S) -> Result<C, S::Error>,
    ) -> Result<Compound<'g, C>, S::Error> {
        let guard = self.guard;
        guard.enter(levels).map_err(S::Error::custom)?;
        match open(self.ser) {
            Ok(inner) => Ok(Compound {
                inner,
                guard,
                levels,
            }),
            Err(e) => {
                guard.leave(levels);
                Err(e)
            }
        }
    }
}

macro_rules! forward_serialize {
    ($($method:ident($ty:ty))*) => {$(
        fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.ser.$method(v)
        }
    )*};
}

impl<'g, S: Serializer> Serializer for Guarded<'g, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'g, S::SerializeSeq>;
    type SerializeTuple = Compound<'g, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'g, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'g, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'g, S::SerializeMap>;
    type SerializeStruct = Compound<'g, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'g, S::SerializeStructVariant>;

    forward_serialize! {
        serialize_bool(bool) serialize_i8(i8) serialize_i16(i16) serialize_i32(i32)
        serialize_i64(i64) serialize_i128(i128) serialize_u8(u8) serialize_u16(u16)
        serialize_u32(u32) serialize_u64(u64) serialize_u128(u128) serialize_char(char)
        serialize_str(&str) serialize_bytes(&[u8])
    }

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.float(v.is_finite())?;
        self.ser.serialize_f32(v)
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.float(v.is_finite())?;
        self.ser.serialize_f64(v)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.ser.serialize_none()
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.ser.serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.null()?;
        self.ser.serialize_unit_struct(name)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let value = self.child(value, true);
        self.nested(1, |ser, _| ser.serialize_some(&value))
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        // An enum is one level on the decoding side (`visit_enum`), whatever its variant.
        self.nested(1, |ser, _| ser.serialize_unit_variant(name, index, variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        // JSON writes a newtype struct as its content: still directly inside a `Some`.
        let value = self.child(value, self.in_some);
        self.nested(1, |ser, _| ser.serialize_newtype_struct(name, &value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.child(value, false);
        self.nested(1, |ser, _| {
            ser.serialize_newtype_variant(name, index, variant, &value)
        })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.open(1, |ser| ser.serialize_seq(len))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.open(1, |ser| ser.serialize_tuple(len))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.open(1, |ser| ser.serialize_tuple_struct(name, len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        // The enum's level and its content's, as `visit_enum` then `visit_seq` count them.
        self.open(2, |ser| {
            ser.serialize_tuple_variant(name, index, variant, len)
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.open(1, |ser| ser.serialize_map(len))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.open(1, |ser| ser.serialize_struct(name, len))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.open(2, |ser| {
            ser.serialize_struct_variant(name, index, variant, len)
        })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.ser.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.ser.is_human_readable()
    }
}

impl<C> Compound<'_, C> {
    fn item<E: ser::Error>(&self) -> Result<(), E> {
        self.guard.item().map_err(E::custom)
    }

    fn close(&self) {
        self.guard.leave(self.levels);
    }
}

macro_rules! compound {
    ($($trait:ident::$method:ident)*) => {$(
        impl<C: ser::$trait> ser::$trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                self.item()?;
                let guard = self.guard;
                self.inner.$method(&Checked::new(value, guard))
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.close();
                self.inner.end()
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element
    SerializeTuple::serialize_element
    SerializeTupleStruct::serialize_field
    SerializeTupleVariant::serialize_field
}

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.item()?;
        let guard = self.guard;
        self.inner.serialize_key(&Checked::new(key, guard))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let guard = self.guard;
        self.inner.serialize_value(&Checked::new(value, guard))
    }

    fn serialize_entry<K, V>(&mut self, key: &K, value: &V) -> Result<(), C::Error>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        self.item()?;
        let guard = self.guard;
        let (key, value) = (Checked::new(key, guard), Checked::new(value, guard));
        self.inner.serialize_entry(&key, &value)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.close();
        self.inner.end()
    }
}

macro_rules! compound_struct {
    ($($trait:ident)*) => {$(
        impl<C: ser::$trait> ser::$trait for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), C::Error> {
                self.item()?;
                let guard = self.guard;
                self.inner.serialize_field(key, &Checked::new(value, guard))
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
                if self.guard.mode() == Mode::Binary {
                    // A binary format reads fields by position: the next field would be read
                    // in this one's place.
                    return Err(C::Error::custom(self.guard.refuse(
                        "a binary format cannot skip a struct field (skip_serializing_if)",
                    )));
                }
                self.inner.skip_field(key)
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.close();
                self.inner.end()
            }
        }
    )*};
}

compound_struct! { SerializeStruct SerializeStructVariant }
