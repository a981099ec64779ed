//! The borrowed key of a `#[cached]` function: its key arguments as the call has them, in a
//! tuple wrapped in [`Args`], which hashes, compares and serialises exactly as the owned key
//! tuple does, so that a hit allocates nothing.
//!
//! A library type rather than a struct generated in each function: a cache's code is generic
//! over the borrowed key's type, so a struct of each function's own made the runtime's miss
//! path a copy per function; with `Args`, functions whose arguments have the same types share
//! one (compile time; see docs/BENCHMARKS.md, "Compile time").

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use serde::{Serialize, Serializer};

use super::Converted;
use crate::KeyRef;

/// A tuple of borrowed key parts (`&T` or [`Converted`]), as the key of a lookup. Its methods
/// are `#[inline]`, as the hit path is: hashing and comparing a key is most of a hit.
///
/// `PERSISTENT` is false for a function whose cache has only the memory tier: its calls'
/// miss path is then compiled without the persistent tiers' code ([`KeyRef::PERSISTENT`]).
/// `TIMED` is false for a function whose cache ages no entry: no expiry's code
/// ([`KeyRef::TIMED`]).
pub struct Args<P, const PERSISTENT: bool = true, const TIMED: bool = true>(pub P);

/// One argument of a borrowed key, and its part `O` of the owned key.
pub trait Part<O>: Hash + Serialize {
    /// Whether `owned` is the owned form of this argument.
    fn is_part(&self, owned: &O) -> bool;
    /// The owned form, which the cache keeps.
    fn to_owned_part(&self) -> O;
}

impl<T: ?Sized + ToOwned + Hash + Eq + Serialize> Part<T::Owned> for &T {
    #[inline]
    fn is_part(&self, owned: &T::Owned) -> bool {
        Borrow::<T>::borrow(owned) == *self
    }

    #[inline]
    fn to_owned_part(&self) -> T::Owned {
        (*self).to_owned()
    }
}

impl<A: ?Sized + Hash + Serialize, O> Part<O> for Converted<'_, A, O> {
    #[inline]
    fn is_part(&self, owned: &O) -> bool {
        Converted::is_part(self, owned)
    }

    #[inline]
    fn to_owned_part(&self) -> O {
        Converted::to_owned_part(self)
    }
}

// As the tuple: element by element, as the owned tuple hashes its elements.
impl<P: Hash, const PERSISTENT: bool, const TIMED: bool> Hash for Args<P, PERSISTENT, TIMED> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

// As the tuple, as the owned key serialises.
impl<P: Serialize, const PERSISTENT: bool, const TIMED: bool> Serialize
    for Args<P, PERSISTENT, TIMED>
{
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// `KeyRef<(O0, O1, …)>` for `Args<(P0, P1, …)>`, up to the 12 elements of a tuple that `Hash`.
macro_rules! key_ref {
    ($($p:ident $o:ident $i:tt),+) => {
        impl<$($p: Part<$o>,)+ $($o,)+ const PERSISTENT: bool, const TIMED: bool>
            KeyRef<($($o,)+)> for Args<($($p,)+), PERSISTENT, TIMED>
        {
            const PERSISTENT: bool = PERSISTENT;
            const TIMED: bool = TIMED;

            #[inline]
            fn is_key(&self, key: &($($o,)+)) -> bool {
                $(self.0.$i.is_part(&key.$i))&&+
            }

            #[inline]
            fn to_key(&self) -> ($($o,)+) {
                ($(self.0.$i.to_owned_part(),)+)
            }
        }
    };
}

/// A function without key arguments: one entry, under the unit key.
impl<const PERSISTENT: bool, const TIMED: bool> KeyRef<()> for Args<(), PERSISTENT, TIMED> {
    const PERSISTENT: bool = PERSISTENT;
    const TIMED: bool = TIMED;

    #[inline]
    fn is_key(&self, (): &()) -> bool {
        true
    }

    #[inline]
    fn to_key(&self) {}
}

key_ref!(P0 O0 0);
key_ref!(P0 O0 0, P1 O1 1);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6, P7 O7 7);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6, P7 O7 7, P8 O8 8);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6, P7 O7 7, P8 O8 8, P9 O9 9);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6, P7 O7 7, P8 O8 8, P9 O9 9, P10 O10 10);
key_ref!(P0 O0 0, P1 O1 1, P2 O2 2, P3 O3 3, P4 O4 4, P5 O5 5, P6 O6 6, P7 O7 7, P8 O8 8, P9 O9 9, P10 O10 10, P11 O11 11);

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, RandomState};

    use super::Args;
    use crate::KeyRef;

    #[test]
    fn a_borrowed_key_hashes_compares_and_serialises_as_its_owned_tuple() {
        let owned: (String, u32, Vec<u8>) = ("a".to_owned(), 7, vec![1, 2]);
        let bytes: &[u8] = &[1, 2];
        let borrowed = Args::<_, true>(("a", &7_u32, bytes));
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&owned));
        assert!(borrowed.is_key(&owned));
        assert!(!Args::<_, true>(("b", &7_u32, bytes)).is_key(&owned));
        assert_eq!(borrowed.to_key(), owned);
        assert_eq!(
            serde_json::to_string(&borrowed).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
        // The memory-only form is the same key.
        let memory_only = Args::<_, false>(("a", &7_u32, bytes));
        assert_eq!(hasher.hash_one(&memory_only), hasher.hash_one(&owned));
        assert!(memory_only.is_key(&owned));
        assert_eq!(memory_only.to_key(), owned);
    }

    #[test]
    fn a_memory_only_key_serves_misses_hits_controls_and_removals_of_a_memory_cache() {
        let cache: crate::Cache<(String, u32), u32> = crate::Cache::builder().build().unwrap();
        let key = Args::<_, false>(("a", &1_u32));
        assert_eq!(cache.__get_or_compute(&key, || 10), 10);
        assert_eq!(cache.__get_or_compute(&key, || 11), 10);
        assert_eq!(cache.refresh(|| cache.__get_or_compute(&key, || 12)), 12);
        assert_eq!(cache.get(&("a", 1)), Some(12));
        assert_eq!(cache.bypass(|| cache.__get_or_compute(&key, || 13)), 13);
        assert_eq!(cache.__get_or_compute(&key, || 14), 12);
        cache.remove(&("a", 1)).unwrap();
        assert_eq!(cache.__get_or_compute(&key, || 15), 15);
    }

    #[test]
    #[should_panic(expected = "without persistent tiers was used with one that has 1")]
    fn a_cache_with_a_persistent_tier_refuses_a_memory_only_key() {
        // The attribute never makes one for such a cache; were it to, the call must not skip
        // the tier (serving what the memory tier alone knows) but stop.
        let dir = tempfile::tempdir().unwrap();
        let cache: crate::Cache<(u32,), u32> = crate::Cache::builder()
            .backend(crate::SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap();
        cache.__get_or_compute(&Args::<_, false>((&1_u32,)), || 1);
    }
}
