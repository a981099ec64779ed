//! The stores under way that are this thread's: user code they run (a key's or value's `Clone`
//! under a memory shard's lock, a value's `Serialize` in a tier's write) may call the cache. An
//! invalidation from there waited out its bound for a store that cannot end before it returns,
//! and one of the store's own key then saw the older value land under it (helper-112). So an
//! invalidation of the key a store of this thread's is writing is refused
//! ([`Generations::storing_here`](super::Generations::storing_here)), and one of another key
//! waits only for the stores of other threads ([`Generations::others`](super::Generations)).

use std::cell::RefCell;

/// One store: its generations' id, its key's hash, and whether it is exclusive (an insert's or a
/// forced refresh's, which holds its stripe's claim).
type Store = (usize, u64, bool);

thread_local! {
    /// This thread's stores under way, innermost last (a few at most: a store's user code
    /// storing another key).
    static MINE: RefCell<Vec<Store>> = const { RefCell::new(Vec::new()) };
}

/// A store of `hash`'s key in the generations `id` began on this thread.
pub(super) fn began(id: usize, hash: u64, exclusive: bool) {
    // From a thread-local's destructor, where this thread's are gone: not tracked.
    let _ = MINE.try_with(|mine| mine.borrow_mut().push((id, hash, exclusive)));
}

/// That store ended on this thread, or was handed to another. A store ends on the thread it
/// began on (an async call's is handed over, or ends, in the poll that began it): one that did
/// not would leave its entry here, counted as this thread's for good — a bug, asserted.
pub(super) fn ended(id: usize, hash: u64) {
    let found = MINE.try_with(|mine| {
        let mut mine = mine.borrow_mut();
        let at = mine.iter().rposition(|&(i, h, _)| (i, h) == (id, hash));
        at.map(|at| mine.remove(at)).is_some()
    });
    debug_assert!(found != Ok(false), "a store ends on the thread it began on");
}

/// How many of this thread's stores under way in the generations `id` `of` accepts (by their
/// key's hash and whether they are exclusive).
pub(super) fn count(id: usize, of: impl Fn(u64, bool) -> bool) -> u32 {
    let count = |mine: &RefCell<Vec<Store>>| {
        let mine = mine.borrow();
        let ours = mine.iter().filter(|&&(i, h, x)| i == id && of(h, x));
        u32::try_from(ours.count()).unwrap_or(u32::MAX)
    };
    MINE.try_with(count).unwrap_or(0)
}

/// A store handed to this thread to make its writes, its own while this lives.
#[cfg(feature = "tokio")]
pub(crate) struct Mine(usize, u64);

#[cfg(feature = "tokio")]
impl Mine {
    pub(super) fn new(id: usize, hash: u64, exclusive: bool) -> Self {
        began(id, hash, exclusive);
        Self(id, hash)
    }
}

#[cfg(feature = "tokio")]
impl Drop for Mine {
    fn drop(&mut self) {
        ended(self.0, self.1);
    }
}
