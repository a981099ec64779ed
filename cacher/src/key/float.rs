//! [`Float`]: an `f32` or `f64` that can be part of a key.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An `f32` or `f64` as a key part: equal and hashed by its bits, so that an equal key is found
/// again — which `f64`'s own `==` does not allow (`NaN != NaN`).
///
/// Two floats are the same key when their bits are equal, except that every NaN is one key
/// (whatever its sign and payload). So `-0.0` and `0.0` are two keys: they are different
/// arguments (`1.0 / x` tells them apart), and the key encoding writes them apart on disk
/// (`-0.0`, `0.0`); every NaN is written `NaN`. It serializes as the float it holds.
///
/// `#[cached]` keys `f32`/`f64` arguments with it by itself; a hand-written
/// `Cache<(Float<f64>, u32), V>` takes `&(1.5, 2)` in its plain-store methods.
///
/// # Examples
///
/// ```
/// use cacher::{Cache, Float};
///
/// assert_eq!(Float::new(f64::NAN), Float::new(-f64::NAN));
/// assert_ne!(Float::new(0.0), Float::new(-0.0));
///
/// let cache: Cache<(Float<f64>, u32), String> = Cache::builder().build().unwrap();
/// cache.insert(&(0.5, 1), "half".into()).unwrap();
/// assert_eq!(cache.get(&(0.5, 1)).as_deref(), Some("half"));
/// assert_eq!(cache.get(&(Float::new(0.5), 1)).as_deref(), Some("half"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Float<F>(F);

/// `f32` and `f64`: the floats a [`Float`] holds.
///
/// ```
/// fn key<F: cacher::key::KeyFloat>(value: F) -> cacher::Float<F> {
///     cacher::Float::new(value)
/// }
/// assert_eq!(key(1.5f32).get(), 1.5);
/// ```
pub trait KeyFloat: Copy + sealed::Sealed {
    /// Its bits, with every NaN made one.
    #[doc(hidden)]
    fn key_bits(self) -> u64;
    #[doc(hidden)]
    fn serialize_float<S: Serializer>(self, serializer: S) -> Result<S::Ok, S::Error>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl KeyFloat for f32 {
    fn key_bits(self) -> u64 {
        u64::from(if self.is_nan() { f32::NAN } else { self }.to_bits())
    }
    fn serialize_float<S: Serializer>(self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f32(self)
    }
}

impl KeyFloat for f64 {
    fn key_bits(self) -> u64 {
        if self.is_nan() { f64::NAN } else { self }.to_bits()
    }
    fn serialize_float<S: Serializer>(self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self)
    }
}

impl<F: KeyFloat> Float<F> {
    /// The key part of `value`.
    #[must_use]
    pub const fn new(value: F) -> Self {
        Self(value)
    }

    /// The float it holds.
    #[must_use]
    pub const fn get(self) -> F {
        self.0
    }
}

impl<F: KeyFloat> From<F> for Float<F> {
    fn from(value: F) -> Self {
        Self(value)
    }
}

impl<F: KeyFloat> PartialEq for Float<F> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key_bits() == other.0.key_bits()
    }
}

impl<F: KeyFloat> Eq for Float<F> {}

impl<F: KeyFloat> Hash for Float<F> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.key_bits().hash(state);
    }
}

impl<F: KeyFloat> Serialize for Float<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_float(serializer)
    }
}

impl<'de, F: KeyFloat + Deserialize<'de>> Deserialize<'de> for Float<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        F::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Float;
    use crate::key::canonical;

    proptest! {
        /// The memory tier and the persistent tiers agree: two floats are one key in memory
        /// exactly when their encodings are equal, whatever their bits (NaNs of every payload
        /// and sign, both zeros, subnormals).
        #[test]
        fn equal_in_memory_exactly_when_encoded_alike(a in any::<u64>(), b in any::<u64>(), same in any::<bool>()) {
            let (a, b) = (f64::from_bits(a), f64::from_bits(if same { a } else { b }));
            let encoded = |v: f64| canonical(&(Float::new(v),), &[]).unwrap();
            prop_assert_eq!(Float::new(a) == Float::new(b), encoded(a) == encoded(b));
            let (a32, b32) = (a as f32, b as f32);
            let encoded32 = |v: f32| canonical(&(Float::new(v),), &[]).unwrap();
            prop_assert_eq!(Float::new(a32) == Float::new(b32), encoded32(a32) == encoded32(b32));
        }
    }

    #[test]
    fn every_nan_is_one_key_and_zeros_are_two_in_memory_and_encoding_alike() {
        let nans = [f64::NAN, -f64::NAN, f64::from_bits(f64::NAN.to_bits() | 1)];
        for nan in nans {
            assert_eq!(Float::new(nan), Float::new(f64::NAN));
            assert_eq!(
                canonical(&Float::new(nan), &[]).unwrap(),
                canonical(&Float::new(f64::NAN), &[]).unwrap()
            );
        }
        assert_ne!(Float::new(0.0), Float::new(-0.0));
        assert_ne!(
            canonical(&Float::new(0.0f64), &[]).unwrap(),
            canonical(&Float::new(-0.0f64), &[]).unwrap()
        );
        assert_eq!(
            canonical(&(Float::new(1.5f32), 2u32), &[]).unwrap(),
            canonical(&(1.5f32, 2u32), &[]).unwrap()
        );
    }
}
