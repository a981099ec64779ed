//! The reads a process made of a store's entries, for its evictions: least recently used first,
//! as far as this process saw.
//!
//! Recording a read in the store would make each hit a write transaction, which takes LMDB's one
//! writer lock that every process shares. Instead a hit notes, in a table of this process, its
//! entry's stamp (the write's) and the read's: LMDB's transaction id of the snapshot it read,
//! which is after every write it sees and before every later one (one slot per entry stamp modulo
//! the table's size; a load each, and a store only when the slot holds something else, so threads
//! reading one hot entry between two writes write nothing). Entries are stamped by the id of the
//! write transaction that wrote them ([`table::put`](super::table)), so a read and a write
//! compare: an entry's last use is its read if this process read it since its write, else its
//! write. An eviction, in the write transaction that already holds the lock, looks at the
//! namespace's oldest written entries (a window of [`WINDOW`]) and evicts the one used least
//! recently.
//!
//! What it does not see: reads by other processes (each process protects what it reads, at its
//! own evictions), entries beyond the window (an entry written later than the window's but used
//! earlier than the one evicted), and reads whose slot a later read of another entry took.

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots of the table: 64 KiB per store opened in a process.
const SLOTS: usize = 4096;

/// The oldest written entries an eviction chooses among.
pub(super) const WINDOW: usize = 8;

/// One entry's read: its write's stamp, and the snapshot the read saw.
#[derive(Default)]
struct Slot {
    written: AtomicU64,
    read: AtomicU64,
}

/// The reads of the entries this process read lately, one slot each.
pub(super) struct Uses {
    slots: Box<[Slot]>,
}

impl Uses {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }

    fn slot(&self, written: u64) -> &Slot {
        &self.slots[(written % SLOTS as u64) as usize]
    }

    /// Notes a read, in the snapshot `read`, of the entry stamped `written`. Out of line: inlined,
    /// it made a hit's `get` large enough that LLVM stopped inlining the key's making into it.
    #[inline(never)]
    pub(super) fn read(&self, written: u64, read: u64) {
        let slot = self.slot(written);
        if slot.written.load(Ordering::Relaxed) != written {
            slot.written.store(written, Ordering::Relaxed);
        }
        if slot.read.load(Ordering::Relaxed) != read {
            slot.read.store(read, Ordering::Relaxed);
        }
    }

    /// When the entry stamped `written` was last used, as far as this process saw: its latest
    /// read since its write, else its write — in half steps of the transaction ids, since a read
    /// in the snapshot of write `s` came after that write and before the next: a write at `w` is
    /// `2w`, a read in the snapshot `s` is `2s + 1`. (The slot's two words are not read together:
    /// a read of another entry landing in between only misplaces one eviction.)
    pub(super) fn last_use(&self, written: u64) -> u64 {
        let slot = self.slot(written);
        let read = match slot.written.load(Ordering::Relaxed) == written {
            true => slot.read.load(Ordering::Relaxed),
            false => 0,
        };
        match read >= written {
            true => read.saturating_mul(2).saturating_add(1),
            false => written.saturating_mul(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SLOTS, Uses};

    #[test]
    fn an_entrys_last_use_is_its_latest_read_else_its_write() {
        let uses = Uses::new();
        assert_eq!(uses.last_use(5), 10, "never read: its write");
        uses.read(5, 5);
        assert_eq!(
            uses.last_use(5),
            11,
            "a read in its write's snapshot comes after it"
        );
        assert!(uses.last_use(5) < 2 * 6, "and before the next write");
        uses.read(5, 12);
        assert_eq!(uses.last_use(5), 25);
        // A later read of another entry in the same slot takes it.
        uses.read(5 + SLOTS as u64, 4105);
        assert_eq!(uses.last_use(5), 10);
        assert_eq!(uses.last_use(5 + SLOTS as u64), 8211);
    }
}
