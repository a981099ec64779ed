//! The deserializer side of the guard: forwards to the format's deserializer, counting depth at
//! each visit that recurses and items at each element.
//!
//! The level is opened in the visitor (`visit_seq`, `visit_some`, …), where the format's recursion
//! happens, so decoding counts exactly what encoding counted for the same value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, Error as _, Visitor};

use super::Guard;

/// Decodes a `T` through the guard: `Seed::new(&guard).deserialize(format_deserializer)`.
pub(crate) struct Seed<'g, T> {
    guard: &'g Guard,
    marker: PhantomData<fn() -> T>,
}

impl<'g, T> Seed<'g, T> {
    pub(crate) fn new(guard: &'g Guard) -> Self {
        Self {
            guard,
            marker: PhantomData,
        }
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        T::deserialize(Guarded {
            de,
            guard: self.guard,
        })
    }
}

struct Guarded<'g, D> {
    de: D,
    guard: &'g Guard,
}

struct Visit<'g, V> {
    visitor: V,
    guard: &'g Guard,
}

struct Access<'g, A> {
    access: A,
    guard: &'g Guard,
}

struct GuardedSeed<'g, S> {
    seed: S,
    guard: &'g Guard,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for GuardedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Guarded {
            de,
            guard: self.guard,
        })
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.de.$method($($arg,)* Visit { visitor, guard: self.guard })
        }
    )*};
}

/// `deserialize_str` and `deserialize_string`: as bytes whose UTF-8 the guard checks, when it reads
/// them so ([`Guard::str_as_bytes`]); else forwarded.
macro_rules! strings_as_bytes {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let guard = self.guard;
            if guard.reads_str_as_bytes() {
                return self.de.deserialize_bytes(Utf8 { visitor, guard });
            }
            self.de.$method(Visit { visitor, guard })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Guarded<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any() deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_i128() deserialize_u8() deserialize_u16() deserialize_u32()
        deserialize_u64() deserialize_u128() deserialize_f32() deserialize_f64()
        deserialize_char() deserialize_bytes()
        deserialize_byte_buf() deserialize_option() deserialize_unit()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_seq() deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier() deserialize_ignored_any()
    }

    strings_as_bytes! { deserialize_str deserialize_string }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A `str` read as bytes ([`Guard::str_as_bytes`]), handed on once its UTF-8 is checked.
struct Utf8<'g, V> {
    visitor: V,
    guard: &'g Guard,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Utf8<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        let text = utf8(v).ok_or_else(|| self.refuse())?;
        self.visitor.visit_borrowed_str(text)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        let text = utf8(v).ok_or_else(|| self.refuse())?;
        self.visitor.visit_str(text)
    }
}

impl<V> Utf8<'_, V> {
    /// The format drops a custom error's text (postcard): the guard keeps it.
    fn refuse<E: de::Error>(&self) -> E {
        E::custom(self.guard.refuse("a string is not valid UTF-8"))
    }
}

/// `bytes` as a `str`, if they are UTF-8. Long strings (a value's text) are checked with
/// `simdutf8`, twice as fast as `std`'s check from a few hundred bytes on; short ones (names,
/// keys) with `std`'s, which is as fast there. Both accept exactly the valid UTF-8.
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < SHORT_STR {
        std::str::from_utf8(bytes).ok()
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    }
}

/// Below this many bytes, `std`'s UTF-8 check is as fast as a vectorized one.
const SHORT_STR: usize = 256;

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

impl<V> Visit<'_, V> {
    /// Runs `visit` one level deeper.
    fn nested<T, E: de::Error>(
        self,
        levels: usize,
        visit: impl FnOnce(V, &Guard) -> Result<T, E>,
    ) -> Result<T, E> {
        self.guard.enter(levels).map_err(E::custom)?;
        let result = visit(self.visitor, self.guard);
        self.guard.leave(levels);
        result
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.nested(1, |visitor, guard| {
            visitor.visit_some(Guarded { de, guard })
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.nested(1, |visitor, guard| {
            visitor.visit_newtype_struct(Guarded { de, guard })
        })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        if let Some(n) = access.size_hint() {
            self.guard.claim_ahead(n).map_err(A::Error::custom)?;
        }
        self.nested(1, |visitor, guard| {
            visitor.visit_seq(Access { access, guard })
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        if let Some(n) = access.size_hint() {
            self.guard.claim_ahead(n).map_err(A::Error::custom)?;
        }
        self.nested(1, |visitor, guard| {
            visitor.visit_map(Access { access, guard })
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        self.nested(1, |visitor, guard| {
            visitor.visit_enum(Access { access, guard })
        })
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let guard = self.guard;
        let element = self.access.next_element_seed(GuardedSeed { seed, guard })?;
        if element.is_some() {
            guard.item().map_err(A::Error::custom)?;
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let guard = self.guard;
        let key = self.access.next_key_seed(GuardedSeed { seed, guard })?;
        if key.is_some() {
            guard.item().map_err(A::Error::custom)?;
        }
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let guard = self.guard;
        self.access.next_value_seed(GuardedSeed { seed, guard })
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'g, 'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Access<'g, A> {
    type Error = A::Error;
    type Variant = Access<'g, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let guard = self.guard;
        let (value, access) = self.access.variant_seed(GuardedSeed { seed, guard })?;
        Ok((value, Access { access, guard }))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.access.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let guard = self.guard;
        self.access
            .newtype_variant_seed(GuardedSeed { seed, guard })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let guard = self.guard;
        self.access.tuple_variant(len, Visit { visitor, guard })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let guard = self.guard;
        self.access.struct_variant(fields, Visit { visitor, guard })
    }
}
