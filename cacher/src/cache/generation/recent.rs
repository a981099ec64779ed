//! Which keys moved a stripe's generation last: so that a forced refresh, whose store is refused
//! when its key was invalidated since it began, can tell its own key's invalidations from those
//! of the other keys of its stripe (one in 256), which leave its value right.
//!
//! Each move of the generation, from `g`, is recorded in slot `g % SLOTS` as `g` and the key's
//! hash, written after the move. A reader that finds a slot not (yet) holding the move it looks
//! for, or more moves than slots, knows nothing of them: it counts them as its key's (a refused
//! store, as before the record). Hashes are compared on [`HASH_BITS`] bits: two keys that share
//! them are taken for one, which only refuses a store. A move is told from the one `2^40` moves
//! of the stripe before or after it only: a record read for the wrong move needs a thread
//! stopped between two instructions while the stripe is invalidated that many times.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// Moves recorded per stripe: a refresh stores past two other keys' inserts or removals during
/// it (each moves the generation twice: when it begins and when it ends).
const SLOTS: usize = 4;
/// Bits of a key's hash recorded; the rest of a slot tells its move.
const HASH_BITS: u32 = 24;
const HASH_MASK: u64 = (1 << HASH_BITS) - 1;

/// The last [`SLOTS`] moves of one stripe's generation.
#[derive(Default)]
pub(super) struct Recent([AtomicU64; SLOTS]);

impl Recent {
    /// Records that an invalidation of `hash`'s key moved the generation from `from`.
    pub(super) fn record(&self, from: u64, hash: u64) {
        self.0[slot(from)].store(record(from, hash), SeqCst);
    }

    /// Whether every move of the generation from `seen` to `now` is recorded, each for another
    /// key than `hash`'s.
    pub(super) fn others_only(&self, hash: u64, seen: u64, now: u64) -> bool {
        let moves = now.wrapping_sub(seen);
        moves <= SLOTS as u64
            && (0..moves).all(|i| {
                let from = seen.wrapping_add(i);
                let slot = self.0[slot(from)].load(SeqCst);
                slot >> HASH_BITS == record(from, 0) >> HASH_BITS
                    && slot & HASH_MASK != hash & HASH_MASK
            })
    }
}

fn slot(from: u64) -> usize {
    (from % SLOTS as u64) as usize
}

/// The record of a move from `from` by `hash`'s key. The move is written plus one, so that an
/// empty slot (zero) is no move's.
fn record(from: u64, hash: u64) -> u64 {
    (from.wrapping_add(1) << HASH_BITS) | (hash & HASH_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_by_other_keys_only_are_told_apart_from_any_by_the_key_itself() {
        let recent = Recent::default();
        assert!(recent.others_only(7, 0, 0), "no move");
        assert!(!recent.others_only(7, 0, 1), "a move not recorded yet");
        recent.record(0, 8);
        recent.record(1, 9);
        assert!(recent.others_only(7, 0, 2));
        assert!(!recent.others_only(8, 0, 2), "the key's own move");
        recent.record(2, 7);
        assert!(!recent.others_only(7, 1, 3));
        assert!(recent.others_only(7, 0, 2), "moves before the key's own");
    }

    #[test]
    fn moves_overwritten_or_beyond_the_slots_are_unknown() {
        let recent = Recent::default();
        for from in 0..=SLOTS as u64 {
            recent.record(from, 8);
        }
        // The move from 0 was overwritten by the one from SLOTS.
        assert!(!recent.others_only(7, 0, 1));
        assert!(recent.others_only(7, 1, 1 + SLOTS as u64));
        assert!(
            !recent.others_only(7, 0, 1 + SLOTS as u64),
            "more moves than slots"
        );
        // A writer of an older move, late: the slot no longer holds the move looked for.
        let next = SLOTS as u64 + 1;
        recent.record(next, 8);
        assert!(recent.others_only(7, next, next + 1));
        recent.record(1, 8);
        assert!(!recent.others_only(7, next, next + 1));
    }

    #[test]
    fn keys_that_share_the_recorded_bits_are_taken_for_one() {
        let recent = Recent::default();
        recent.record(0, 5 | 1 << 60);
        assert!(!recent.others_only(5, 0, 1));
    }
}
