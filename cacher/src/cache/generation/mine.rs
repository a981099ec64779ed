//! The stores under way that are this thread's: user code they run (a key's or value's `Clone`
//! under a memory shard's lock, a value's `Serialize` in a tier's write) may call the cache,
//! and an invalidation from there (`insert`, `remove`, `clear`) would wait out its bound for a
//! store that cannot end before it returns — and then see the older value land under it
//! (helper-112). [`Generations::storing_here`](super::Generations::storing_here) tells it to
//! refuse instead.

use std::cell::RefCell;

thread_local! {
    /// This thread's stores under way: their generations' id and their key's hash, innermost
    /// last (a few at most: a store's user code storing another key).
    static MINE: RefCell<Vec<(usize, u64)>> = const { RefCell::new(Vec::new()) };
}

/// A store of `hash`'s key in the generations `id` began on this thread.
pub(super) fn began(id: usize, hash: u64) {
    // From a thread-local's destructor, where this thread's are gone: not tracked.
    let _ = MINE.try_with(|mine| mine.borrow_mut().push((id, hash)));
}

/// That store ended on this thread, or was handed to another.
pub(super) fn ended(id: usize, hash: u64) {
    let _ = MINE.try_with(|mine| {
        let mut mine = mine.borrow_mut();
        if let Some(at) = mine.iter().rposition(|&entry| entry == (id, hash)) {
            mine.remove(at);
        }
    });
}

/// Whether this thread has a store under way in the generations `id` whose key's hash `of`
/// accepts. An entry whose stripe `idle` says has no store under way at all is over — a store
/// an async call began here and ended on another thread, which could not take it out of this
/// one's list — and is forgotten.
pub(super) fn any(id: usize, idle: impl Fn(u64) -> bool, of: impl Fn(u64) -> bool) -> bool {
    MINE.try_with(|mine| {
        let mut mine = mine.borrow_mut();
        mine.retain(|&(stored, hash)| stored != id || !idle(hash));
        mine.iter().any(|&(stored, hash)| stored == id && of(hash))
    })
    .unwrap_or(false)
}

/// A store handed to this thread to make its writes, its own while this lives.
#[cfg(feature = "tokio")]
pub(crate) struct Mine(usize, u64);

#[cfg(feature = "tokio")]
impl Mine {
    pub(super) fn new(id: usize, hash: u64) -> Self {
        began(id, hash);
        Self(id, hash)
    }
}

#[cfg(feature = "tokio")]
impl Drop for Mine {
    fn drop(&mut self) {
        ended(self.0, self.1);
    }
}
