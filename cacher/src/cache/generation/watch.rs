//! Which keys moved a stripe's generation while a forced refresh of one of them ran: so that the
//! refresh, whose store is refused when its own key was invalidated since it began, can tell its
//! key's invalidations from those of the other keys of its stripe (one in 256), which leave its
//! value right — however many there are.
//!
//! A refresh registers a *watch* in its stripe as it begins, and reads the generation it starts
//! from under the watches' lock. Every move of the generation (`fetch_add`, from `g`) is then
//! marked on each watch that began at or before `g`: as its own key's, or as another's. An
//! invalidation reads whether any watch is registered after its move, so that of a move after a
//! watch's start and its mark, neither is missed (both sides write, then read the other's word,
//! sequentially consistent: the move reads the watch's count, or the watch read the moved
//! generation). A move whose mark is still to come (the invalidating thread between its move
//! and its lock) is *pending*: the refresh's check waits for it, bounded. Hashes are compared
//! whole: two keys with one hash are taken for one, which only refuses a store.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

/// The forced refreshes under way among one stripe's keys.
#[derive(Default)]
pub(super) struct Watches {
    /// How many are registered: an invalidation with none to mark takes no lock.
    count: AtomicU32,
    list: Mutex<List>,
}

#[derive(Default)]
struct List {
    /// The id of the next watch.
    next: u64,
    watches: Vec<Watch>,
}

/// One refresh's watch of its stripe's moves.
struct Watch {
    id: u64,
    /// Its key's hash.
    hash: u64,
    /// The generation it began at: the moves from it on are its to mark.
    seen: u64,
    /// Its moves marked so far, and whether one of them was its own key's.
    marked: u64,
    own: bool,
}

/// What a watch has seen of its stripe's moves since it began ([`Watches::verdict`]).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// None, or only other keys'.
    Others,
    /// A move of its own key.
    Own,
    /// A move not marked yet.
    Pending,
}

impl Watches {
    /// Registers a watch of `hash`'s key, beginning at the generation `generation` holds now:
    /// the watch's id, and that generation.
    pub(super) fn watch(&self, hash: u64, generation: &AtomicU64) -> (u64, u64) {
        self.count.fetch_add(1, SeqCst);
        let mut list = self.lock();
        let (id, seen) = (list.next, generation.load(SeqCst));
        list.next += 1;
        list.watches.push(Watch {
            id,
            hash,
            seen,
            marked: 0,
            own: false,
        });
        (id, seen)
    }

    /// Ends watch `id`.
    pub(super) fn unwatch(&self, id: u64) {
        let mut list = self.lock();
        if let Some(at) = list.watches.iter().position(|w| w.id == id) {
            list.watches.swap_remove(at);
        }
        drop(list);
        self.count.fetch_sub(1, SeqCst);
    }

    /// Marks the move of the generation from `from` by an invalidation of `hash`'s key on every
    /// watch it concerns: called after the move.
    pub(super) fn moved(&self, from: u64, hash: u64) {
        if self.count.load(SeqCst) == 0 {
            return;
        }
        for watch in self.lock().watches.iter_mut() {
            if from >= watch.seen {
                watch.marked += 1;
                watch.own |= watch.hash == hash;
            }
        }
    }

    /// What watch `id` has seen of the moves up to the generation `generation` holds, read under
    /// the lock: every move marked before it is below that generation.
    pub(super) fn verdict(&self, id: u64, generation: &AtomicU64) -> Verdict {
        let list = self.lock();
        let now = generation.load(SeqCst);
        let Some(watch) = list.watches.iter().find(|w| w.id == id) else {
            return Verdict::Own;
        };
        match (watch.own, watch.marked == now.wrapping_sub(watch.seen)) {
            (true, _) => Verdict::Own,
            (false, true) => Verdict::Others,
            (false, false) => Verdict::Pending,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, List> {
        // A panic under the lock left the list whole (each change is one push, removal or mark).
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A move of `generation` by `hash`'s key, marked as an invalidation marks it.
    fn move_by(watches: &Watches, generation: &AtomicU64, hash: u64) {
        let from = generation.fetch_add(1, SeqCst);
        watches.moved(from, hash);
    }

    #[test]
    fn any_number_of_other_keys_moves_are_told_apart_from_one_by_the_key_itself() {
        let (watches, generation) = (Watches::default(), AtomicU64::new(5));
        let (id, seen) = watches.watch(7, &generation);
        assert_eq!(seen, 5);
        assert_eq!(watches.verdict(id, &generation), Verdict::Others, "no move");
        for other in 0..1000 {
            move_by(&watches, &generation, 8 + other);
        }
        assert_eq!(watches.verdict(id, &generation), Verdict::Others);
        move_by(&watches, &generation, 7);
        assert_eq!(watches.verdict(id, &generation), Verdict::Own);
    }

    #[test]
    fn a_move_not_marked_yet_is_pending_and_one_before_the_watch_is_not_its() {
        let (watches, generation) = (Watches::default(), AtomicU64::new(0));
        // A move begun before the watch, marked after it began: not the watch's.
        let before = generation.fetch_add(1, SeqCst);
        let (id, _) = watches.watch(7, &generation);
        watches.moved(before, 7);
        assert_eq!(watches.verdict(id, &generation), Verdict::Others);
        // A move made, its mark still to come.
        let from = generation.fetch_add(1, SeqCst);
        assert_eq!(watches.verdict(id, &generation), Verdict::Pending);
        watches.moved(from, 8);
        assert_eq!(watches.verdict(id, &generation), Verdict::Others);
    }

    #[test]
    fn watches_are_marked_apart_and_an_ended_one_is_forgotten() {
        let (watches, generation) = (Watches::default(), AtomicU64::new(0));
        let (first, _) = watches.watch(7, &generation);
        move_by(&watches, &generation, 8);
        let (second, _) = watches.watch(8, &generation);
        move_by(&watches, &generation, 7);
        assert_eq!(watches.verdict(first, &generation), Verdict::Own);
        assert_eq!(watches.verdict(second, &generation), Verdict::Others);
        watches.unwatch(first);
        assert_eq!(watches.count.load(SeqCst), 1);
        assert_eq!(watches.verdict(first, &generation), Verdict::Own, "unknown");
        watches.unwatch(second);
        assert_eq!(watches.count.load(SeqCst), 0);
    }
}
