//! Plain-store methods take a key in a borrowed form: `cache.remove(&("/a", 1))` for a
//! `Cache<(String, u32), V>`. [`AsKey`] relates such a form to the key type, part by part
//! ([`KeyPart`]), so that a wrong form is a compile error and the memory tier is looked up
//! without making an owned key.
//!
//! Every form hashes, compares and serialises exactly as the owned key does: `&str` as `String`,
//! `&[T]` as `Vec<T>`, `&T` as `T`, `f64` as [`Float<f64>`](super::Float), tuples part by part.
//!
//! The second parameter of both traits (`M`) is inferred, never written: it records which rule
//! related the two types, so that the rules do not overlap. A tuple form's parts before its first
//! borrowed one are the key's own, so that for a key passed as itself exactly one rule applies and
//! an integer literal in it takes the key's integer type.

use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::{Serialize, Serializer};

use super::KeyRef;
use super::float::Float;

/// A form that stands for a key of type `K`: `K` itself, any [`KeyRef<K>`] (`str` for
/// `String`) or a reference to one (a `&str` variable), a tuple key (of up to 8 parts) with some
/// of its parts borrowed (`("/a", 1)` for `(String, u32)`), or a float for a key that is a
/// [`Float`].
///
/// A borrowed part is `&T` for a part `T`, `&str` for `String`, `&[T]` for `Vec<T>`, and an
/// `f32`/`f64` for a `Float`. Parts are related one level deep: a tuple inside a tuple key is
/// passed as itself.
///
/// # Examples
///
/// ```
/// use cacher::Cache;
///
/// let cache: Cache<(String, u32), u32> = Cache::builder().build().unwrap();
/// cache.insert(&("/a", 1), 7).unwrap();
/// assert_eq!(cache.get(&("/a".to_string(), 1)), Some(7));
/// cache.remove(&("/a", 1)).unwrap();
/// assert_eq!(cache.get(&("/a", 1)), None);
///
/// // A `&str` variable, for a `String` key.
/// let names: Cache<String, u32> = Cache::builder().build().unwrap();
/// let name: &str = "a";
/// names.insert(&name, 1).unwrap();
/// assert_eq!(names.get(&name), Some(1));
///
/// // A function of one argument is keyed by a tuple of one.
/// let single: Cache<(String,), u32> = Cache::builder().build().unwrap();
/// single.insert(&("a",), 1).unwrap();
/// assert_eq!(single.get(&("a",)), Some(1));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a key of this cache, whose key type is `{K}`",
    label = "not a form of `{K}`",
    note = "pass the key (`&K`), or the key with parts borrowed as the function takes them (`&str` for `String`, `&[T]` for `Vec<T>`, `&T` for `T`, `f64` for `Float<f64>`), as in `cache.remove(&(\"/a\", 1))` for a key `(String, u32)`; a key of one argument is a tuple of one: `&(1,)`"
)]
pub trait AsKey<K, M>: Serialize {
    /// Hashes as `self.to_key()` would.
    fn hash_key<H: Hasher>(&self, state: &mut H);
    /// Whether `key` is the owned form of `self`.
    fn is_key(&self, key: &K) -> bool;
    /// The owned key.
    fn to_key(&self) -> K;
}

/// A part of a key in a borrowed form: the rules of [`AsKey`], one part at a time.
///
/// # Examples
///
/// ```
/// use cacher::key::KeyPart;
///
/// fn owned<Q: KeyPart<K, M>, K, M>(part: &Q) -> K {
///     part.to_part()
/// }
/// assert_eq!(owned::<_, String, _>(&"a"), "a".to_string());
/// assert_eq!(owned::<_, String, _>(&&"a".to_string()), "a".to_string());
/// assert_eq!(owned::<_, cacher::Float<f64>, _>(&0.5), cacher::Float::new(0.5));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a form of the key part `{K}`",
    note = "a key part is taken as itself, or borrowed: `&str` for `String`, `&[T]` for `Vec<T>`, `&T` for `T`, `f64` for `Float<f64>`"
)]
pub trait KeyPart<K, M> {
    /// Hashes as `self.to_part()` would.
    fn hash_part<H: Hasher>(&self, state: &mut H);
    /// Whether `part` is the owned form of `self`.
    fn is_part(&self, part: &K) -> bool;
    /// The owned part.
    fn to_part(&self) -> K;
}

/// The rules that relate a form to a key, inferred and never written; see [`AsKey`].
#[doc(hidden)]
pub mod form {
    /// A part taken as itself.
    pub struct Same;
    /// A part behind a reference.
    pub struct Deref<M>(M);
    /// `str` for `String`.
    pub struct Str;
    /// `[T]` for `Vec<T>`.
    pub struct Slice;
    /// `f32`/`f64` for `Float`.
    pub struct Flt;
    /// A [`KeyRef`](crate::KeyRef): the key itself, `str` for `String`, `#[cached]`'s own form
    /// (behind a reference: `Deref<Whole>`).
    pub struct Whole;
    /// A tuple in which some part is borrowed, or a float for a `Float`.
    pub struct Lift<M>(M);
    /// Any serializable value for an [`Encoded`](crate::key::Encoded) key.
    pub struct Encode;
}

use self::form::{Deref, Flt, Lift, Same, Slice, Str, Whole};

impl<T: Hash + Eq + Clone + Serialize> KeyPart<T, Same> for T {
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
    fn is_part(&self, part: &T) -> bool {
        self == part
    }
    fn to_part(&self) -> T {
        self.clone()
    }
}

impl<T: KeyPart<K, M> + ?Sized, K, M> KeyPart<K, Deref<M>> for &T {
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        (**self).hash_part(state);
    }
    fn is_part(&self, part: &K) -> bool {
        (**self).is_part(part)
    }
    fn to_part(&self) -> K {
        (**self).to_part()
    }
}

impl KeyPart<String, Str> for str {
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
    fn is_part(&self, part: &String) -> bool {
        self == part
    }
    fn to_part(&self) -> String {
        self.to_owned()
    }
}

// `Vec<T>` hashes as its slice does.
impl<T: Hash + Eq + Clone + Serialize> KeyPart<Vec<T>, Slice> for [T] {
    fn hash_part<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
    fn is_part(&self, part: &Vec<T>) -> bool {
        self == part.as_slice()
    }
    fn to_part(&self) -> Vec<T> {
        self.to_vec()
    }
}

macro_rules! float_part {
    ($($float:ty),*) => {$(
        impl KeyPart<Float<$float>, Flt> for $float {
            fn hash_part<H: Hasher>(&self, state: &mut H) {
                Float::new(*self).hash(state);
            }
            fn is_part(&self, part: &Float<$float>) -> bool {
                Float::new(*self) == *part
            }
            fn to_part(&self) -> Float<$float> {
                Float::new(*self)
            }
        }
    )*};
}
float_part!(f32, f64);

// A tuple form: the parts before the first borrowed one are the key's own (so that this rule and
// `Whole` never both apply to a tuple, which would leave an integer literal's type undecided),
// that part is borrowed (`&T`, or a float for a `Float`), and the parts after it are any form.
// A tuple hashes its elements in order, with nothing around them, as these do.
macro_rules! tuple_form {
    ([$(($kb:ident $ib:tt))*] ($qa:ident $ka:ident $ma:ident $ia:tt) [$(($qr:ident $kr:ident $mr:ident $ir:tt))*]) => {
        #[diagnostic::do_not_recommend]
        impl<'a, $($kb,)* $qa, $ka, $ma, $($qr, $kr, $mr,)*>
            AsKey<($($kb,)* $ka, $($kr,)*), Lift<($(tuple_form!(@same $kb),)* Deref<$ma>, $($mr,)*)>>
            for ($($kb,)* &'a $qa, $($qr,)*)
        where
            $($kb: Hash + Eq + Clone + Serialize,)*
            $qa: KeyPart<$ka, $ma> + Serialize + ?Sized,
            $($qr: KeyPart<$kr, $mr> + Serialize,)*
        {
            tuple_form!(@body [$($ib)*] $ia [$($ir)*] ($($kb,)* $ka, $($kr,)*));
        }
        tuple_form!(@float f32 [$(($kb $ib))*] ($ka $ia) [$(($qr $kr $mr $ir))*]);
        tuple_form!(@float f64 [$(($kb $ib))*] ($ka $ia) [$(($qr $kr $mr $ir))*]);
    };
    (@float $float:ty [$(($kb:ident $ib:tt))*] ($ka:ident $ia:tt) [$(($qr:ident $kr:ident $mr:ident $ir:tt))*]) => {
        #[diagnostic::do_not_recommend]
        impl<$($kb,)* $($qr, $kr, $mr,)*>
            AsKey<($($kb,)* Float<$float>, $($kr,)*), Lift<($(tuple_form!(@same $kb),)* Flt, $($mr,)*)>>
            for ($($kb,)* $float, $($qr,)*)
        where
            $($kb: Hash + Eq + Clone + Serialize,)*
            $($qr: KeyPart<$kr, $mr> + Serialize,)*
        {
            tuple_form!(@body [$($ib)*] $ia [$($ir)*] ($($kb,)* Float<$float>, $($kr,)*));
        }
    };
    (@same $k:ident) => { Same };
    (@body [$($ib:tt)*] $ia:tt [$($ir:tt)*] $key:ty) => {
        fn hash_key<H: Hasher>(&self, state: &mut H) {
            $(Hash::hash(&self.$ib, state);)*
            self.$ia.hash_part(state);
            $(self.$ir.hash_part(state);)*
        }
        fn is_key(&self, key: &$key) -> bool {
            $(self.$ib == key.$ib &&)* self.$ia.is_part(&key.$ia) $(&& self.$ir.is_part(&key.$ir))*
        }
        fn to_key(&self) -> $key {
            ($(Clone::clone(&self.$ib),)* self.$ia.to_part(), $(self.$ir.to_part(),)*)
        }
    };
}

tuple_form!([] (Q0 K0 M0 0) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2) (Q3 K3 M3 3)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2) (Q3 K3 M3 3)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) [(Q3 K3 M3 3)]);
tuple_form!([(K0 0) (K1 1) (K2 2)] (Q3 K3 M3 3) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) [(Q3 K3 M3 3) (Q4 K4 M4 4)]);
tuple_form!([(K0 0) (K1 1) (K2 2)] (Q3 K3 M3 3) [(Q4 K4 M4 4)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3)] (Q4 K4 M4 4) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) [(Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5)]);
tuple_form!([(K0 0) (K1 1) (K2 2)] (Q3 K3 M3 3) [(Q4 K4 M4 4) (Q5 K5 M5 5)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3)] (Q4 K4 M4 4) [(Q5 K5 M5 5)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4)] (Q5 K5 M5 5) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) [(Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6)]);
tuple_form!([(K0 0) (K1 1) (K2 2)] (Q3 K3 M3 3) [(Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3)] (Q4 K4 M4 4) [(Q5 K5 M5 5) (Q6 K6 M6 6)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4)] (Q5 K5 M5 5) [(Q6 K6 M6 6)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4) (K5 5)] (Q6 K6 M6 6) []);
tuple_form!([] (Q0 K0 M0 0) [(Q1 K1 M1 1) (Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0)] (Q1 K1 M1 1) [(Q2 K2 M2 2) (Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1)] (Q2 K2 M2 2) [(Q3 K3 M3 3) (Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1) (K2 2)] (Q3 K3 M3 3) [(Q4 K4 M4 4) (Q5 K5 M5 5) (Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3)] (Q4 K4 M4 4) [(Q5 K5 M5 5) (Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4)] (Q5 K5 M5 5) [(Q6 K6 M6 6) (Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4) (K5 5)] (Q6 K6 M6 6) [(Q7 K7 M7 7)]);
tuple_form!([(K0 0) (K1 1) (K2 2) (K3 3) (K4 4) (K5 5) (K6 6)] (Q7 K7 M7 7) []);

#[diagnostic::do_not_recommend]
impl<K, Q: KeyRef<K> + ?Sized> AsKey<K, Whole> for Q {
    fn hash_key<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
    fn is_key(&self, key: &K) -> bool {
        KeyRef::is_key(self, key)
    }
    fn to_key(&self) -> K {
        KeyRef::to_key(self)
    }
}

// A reference to a `KeyRef` (`&str` for `String`, `&K` for `K`): what a `&str` variable or a
// `key = name` of a `name: &str` passes.
#[diagnostic::do_not_recommend]
impl<K, Q: KeyRef<K> + ?Sized> AsKey<K, Deref<Whole>> for &Q {
    fn hash_key<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
    fn is_key(&self, key: &K) -> bool {
        KeyRef::is_key(*self, key)
    }
    fn to_key(&self) -> K {
        KeyRef::to_key(*self)
    }
}

// A float for a key that is one `Float`.
macro_rules! float_form {
    ($($float:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl AsKey<Float<$float>, Lift<Flt>> for $float {
            fn hash_key<H: Hasher>(&self, state: &mut H) {
                self.hash_part(state);
            }
            fn is_key(&self, key: &Float<$float>) -> bool {
                self.is_part(key)
            }
            fn to_key(&self) -> Float<$float> {
                self.to_part()
            }
        }
    )*};
}
float_form!(f32, f64);

/// A form as the engine takes keys: a [`KeyRef`] that hashes, compares and serialises through
/// [`AsKey`]. `PERSISTENT` and `TIMED` as [`ByValue`](super::ByValue)'s.
#[doc(hidden)]
pub struct Borrowed<'q, Q: ?Sized, K, M, const PERSISTENT: bool = true, const TIMED: bool = true>(
    &'q Q,
    PhantomData<fn() -> (K, M)>,
);

impl<'q, Q: ?Sized, K, M, const PERSISTENT: bool, const TIMED: bool>
    Borrowed<'q, Q, K, M, PERSISTENT, TIMED>
{
    pub fn new(form: &'q Q) -> Self {
        Self(form, PhantomData)
    }
}

impl<Q: ?Sized + Serialize, K, M, const PERSISTENT: bool, const TIMED: bool> Serialize
    for Borrowed<'_, Q, K, M, PERSISTENT, TIMED>
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<Q: AsKey<K, M> + ?Sized, K, M, const PERSISTENT: bool, const TIMED: bool> Hash
    for Borrowed<'_, Q, K, M, PERSISTENT, TIMED>
{
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash_key(state);
    }
}

impl<Q: AsKey<K, M> + ?Sized, K, M, const PERSISTENT: bool, const TIMED: bool> KeyRef<K>
    for Borrowed<'_, Q, K, M, PERSISTENT, TIMED>
{
    const PERSISTENT: bool = PERSISTENT;
    const TIMED: bool = TIMED;

    fn is_key(&self, key: &K) -> bool {
        self.0.is_key(key)
    }
    fn to_key(&self) -> K {
        self.0.to_key()
    }
}
