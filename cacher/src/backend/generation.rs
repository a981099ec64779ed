//! A persistent tier's generation of a key: what the tier has seen of the key's invalidations,
//! by every process that shares it.

/// What a persistent tier has seen of a key's invalidations (`remove`, `insert`, `clear`, a
/// forced `refresh`'s start), by any process sharing the tier: read ([`PersistentBackend::generation`](crate::PersistentBackend::generation)) before a value of the key is
/// computed, and handed back to its store ([`PersistentBackend::insert_since`](crate::PersistentBackend::insert_since)), which the tier
/// refuses if an invalidation reached it since. So a value computed before another process
/// removed or replaced the key does not land in the shared tier after it, where every process
/// would read it — as, within one process, the key's generation in the cache refuses it.
///
/// Opaque to the cache, which only hands it back; the tier that made it compares it.
/// [`Generation::NONE`] is a tier's that keeps none (memory, a backend of yours by default): its
/// stores are not refused.
///
/// ```
/// use cacher::backend::Generation;
///
/// assert_eq!(Generation::new(7), Generation::new(7));
/// assert_ne!(Generation::new(7), Generation::NONE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Generation(u128);

impl Generation {
    /// The generation of a tier that keeps none.
    pub const NONE: Generation = Generation(0);

    /// A generation made of a tier's own counters (a backend of yours that keeps some): any
    /// invalidation must change it.
    ///
    /// ```
    /// use cacher::backend::Generation;
    ///
    /// let (cleared, removed) = (2u64, 5u64);
    /// let seen = Generation::new(u128::from(cleared) << 64 | u128::from(removed));
    /// assert_eq!(seen, Generation::new(2 << 64 | 5));
    /// ```
    #[must_use]
    pub const fn new(value: u128) -> Self {
        Self(value)
    }

    /// The value it was made of.
    ///
    /// ```
    /// assert_eq!(cacher::backend::Generation::new(9).value(), 9);
    /// ```
    #[must_use]
    pub const fn value(self) -> u128 {
        self.0
    }
}

/// How the file and store tiers write an entry.
#[derive(Clone, Copy)]
pub(super) enum Put {
    /// An `insert`: over the key's entry, moving its generation.
    Insert,
    /// A fill: only if the key has no entry, and was not invalidated since this generation.
    Fill(Generation),
    /// A computed value: only while the key's generation is this one.
    Since(Generation),
}

/// One stripe's invalidations as the file and store tiers keep them: their count, and the keys
/// (by a hash of 64 bits) of the last [`Moves::RECENT`], so that a computed value's store is not
/// refused for another key of its stripe's invalidation (a forced refresh refused so would leave
/// the value it replaces in place). Read and written under the tier's lock or transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Moves {
    count: u64,
    recent: [u64; Moves::RECENT],
}

impl Moves {
    /// Invalidations recorded by key: a store goes on past this many of other keys.
    pub(super) const RECENT: usize = 4;
    /// The bytes of a record.
    pub(super) const LEN: usize = 8 * (1 + Self::RECENT);

    /// A record from its bytes (shorter: an older record, counted from what it holds).
    pub(super) fn from_bytes(bytes: &[u8]) -> Self {
        let word = |at: usize| {
            bytes
                .get(8 * at..8 * at + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        Self {
            count: word(0),
            recent: std::array::from_fn(|i| word(i + 1)),
        }
    }

    pub(super) fn to_bytes(self) -> [u8; Self::LEN] {
        let mut bytes = [0; Self::LEN];
        let words = std::iter::once(self.count).chain(self.recent);
        for (at, word) in words.enumerate() {
            bytes[8 * at..8 * at + 8].copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// The count, for a [`Generation`].
    pub(super) fn count(self) -> u64 {
        self.count
    }

    /// Records an invalidation of the key of hash `key`.
    pub(super) fn moved(&mut self, key: u64) {
        self.recent[(self.count % Self::RECENT as u64) as usize] = key;
        self.count = self.count.wrapping_add(1);
    }

    /// Whether a store of the key of hash `key` whose stripe's count was `seen` may go on: no
    /// invalidation since, or only those of other keys, each recorded.
    pub(super) fn admits(self, seen: u64, key: u64) -> bool {
        let moves = self.count.wrapping_sub(seen);
        moves <= Self::RECENT as u64
            && (0..moves).all(|i| {
                let from = seen.wrapping_add(i);
                self.recent[(from % Self::RECENT as u64) as usize] != key
            })
    }
}

/// A key's stripe (of `stripes`) and its hash, from the bytes that name its entry (a path, a
/// store's id): the same in every process and build.
pub(super) fn stripe_of(name: &[u8], stripes: u64) -> (u64, u64) {
    let hash = blake3::hash(name);
    let bytes = hash.as_bytes();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    (word(0) % stripes, word(8))
}

/// A random number, for the start of a tier's generations (a file's number, Redis's `all`), so
/// that records made anew after a loss never repeat the lost ones: std's randomly keyed hasher,
/// with the time and the process.
pub(super) fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_goes_on_past_other_keys_invalidations_only() {
        let mut moves = Moves::default();
        let seen = moves.count();
        moves.moved(7);
        moves.moved(8);
        assert!(moves.admits(seen, 9), "two other keys moved");
        assert!(!moves.admits(seen, 8), "its own key moved");
        assert!(!moves.admits(seen, 7));
        for other in 10..13 {
            moves.moved(other);
        }
        assert!(!moves.admits(seen, 9), "five moves: more than it records");
        assert!(moves.admits(moves.count(), 9), "none since");
        assert_eq!(Moves::from_bytes(&moves.to_bytes()), moves);
        assert_eq!(
            Moves::from_bytes(&5u64.to_le_bytes()).count(),
            5,
            "a bare count"
        );
    }

    #[test]
    fn stripes_spread_and_stay_below_their_bound() {
        let stripes: std::collections::HashSet<u64> = (0..10_000)
            .map(|n| stripe_of(format!("ns/{n}.json").as_bytes(), 4096).0)
            .collect();
        assert!(stripes.iter().all(|&s| s < 4096) && stripes.len() > 3_000);
        // blake3 of the bytes: no per-process seed.
        let hash = blake3::hash(b"ns/k.json");
        let first = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        assert_eq!(stripe_of(b"ns/k.json", 4096).0, first % 4096);
    }
}
