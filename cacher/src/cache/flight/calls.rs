//! Which async call leads a flight, and which async calls' functions a thread is polling: an
//! async function that asks for its own key (directly, or through a function of another key it
//! awaits) is polled from its leader's own function, and waiting for that leader could only end
//! at the wait's bound. The blocking twin of this is the leader's thread ([`this_thread`]).

/// This thread, as a number: the address of a thread-local, which no two live threads share, and
/// which costs no reference count to read (as `std::thread::current` would).
#[inline]
pub(super) fn this_thread() -> usize {
    thread_local!(static MARK: u8 = const { 0 });
    MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

thread_local! {
    /// The async call whose steps this thread polls now (its relay's address), 0 for none: a
    /// flight's leader, when it leads one ([`this_call`]).
    static CALL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The async calls whose functions this thread polls now, innermost last: a wait polled
    /// from one of them is polled from its own leader ([`running`]).
    #[cfg(feature = "tokio")]
    static RUNNING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The async call whose steps this thread polls now, 0 for none (and from a thread-local's
/// destructor, where this thread's are gone).
#[inline]
pub(super) fn this_call() -> usize {
    CALL.try_with(std::cell::Cell::get).unwrap_or(0)
}

/// Whether this thread polls `call`'s function now, the wait being polled from it.
#[cfg(feature = "tokio")]
pub(super) fn running(call: usize) -> bool {
    RUNNING
        .try_with(|running| running.borrow().contains(&call))
        .unwrap_or(false)
}

/// While an async call's steps are polled (`call`, its relay's address): the flights they lead
/// know it. The call before it is back when dropped.
#[cfg(feature = "tokio")]
pub(crate) struct Stepping(usize);

#[cfg(feature = "tokio")]
impl Stepping {
    pub(crate) fn enter(call: usize) -> Self {
        Self(CALL.try_with(|current| current.replace(call)).unwrap_or(0))
    }
}

#[cfg(feature = "tokio")]
impl Drop for Stepping {
    fn drop(&mut self) {
        let _ = CALL.try_with(|current| current.set(self.0));
    }
}

/// While an async call's function is polled (`call`, its relay's address): a wait for a flight
/// it leads, polled from there, is its own.
#[cfg(feature = "tokio")]
pub(crate) struct Running(bool);

#[cfg(feature = "tokio")]
impl Running {
    pub(crate) fn enter(call: usize) -> Self {
        let pushed = RUNNING.try_with(|running| running.borrow_mut().push(call));
        Self(pushed.is_ok())
    }
}

#[cfg(feature = "tokio")]
impl Drop for Running {
    fn drop(&mut self) {
        if self.0 {
            let _ = RUNNING.try_with(|running| running.borrow_mut().pop());
        }
    }
}
