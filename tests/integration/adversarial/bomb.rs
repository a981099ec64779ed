//! A value whose `Drop` panics once armed, shared by the attacks on drops (`aborts`, `overlaps`).

use std::sync::atomic::{AtomicBool, Ordering};

/// Set while the stored copies of [`Bomb`]s are to panic when dropped. (One switch for the
/// binary: the tests that arm it run in a child process of their own, or alone use bombs.)
pub(super) static ARMED: AtomicBool = AtomicBool::new(false);

/// A value whose copy held by the memory tier (the first clone: `insert` stores a clone of its
/// value) panics when dropped while [`ARMED`]; the copies hits hand out (later clones) do not.
pub(super) struct Bomb {
    pub(super) clones: u32,
}

impl Clone for Bomb {
    fn clone(&self) -> Self {
        Self {
            clones: self.clones + 1,
        }
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.clones == 1 && ARMED.load(Ordering::SeqCst) {
            panic!("a value's drop failed");
        }
    }
}
