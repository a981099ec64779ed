//! Per-call control: [`Cache::refresh`], [`Cache::bypass`] and [`Cache::lookup`] steer the next
//! call of the cache made inside a closure (or a future), so that a `#[cached]` function is
//! steered in its own terms — `fetch_cache().refresh(|| fetch("/a", 1))` — with no second
//! signature and no code generated per function.
//!
//! The request travels in a thread-local slot, installed while the closure runs (or, for a
//! future, while it is polled), above any other control's: a control of another cache inside
//! it does not hide it. The first `get_or_compute` of this cache inside it takes the
//! request; calls made by the function's body (recursion included) do not see it. A global count
//! of installed slots keeps the hit path of every other call at one relaxed load.

use std::cell::RefCell;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Cache;
use super::call::Call;
use super::miss::{Goal, Miss};
use super::origin::{Lookup, Origin};
use crate::key::{AsKey, Borrowed};

mod steered;

#[cfg(feature = "tokio")]
pub(super) use steered::{Removal, removed_async};
pub(super) use steered::{bypassed, refresh_within_own_store, refreshing};

/// What a control asks of the call it steers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Mode {
    /// Compute now and store, even over a fresh entry.
    Refresh,
    /// Run the function; read and write no tier, count nothing.
    Bypass,
    /// An ordinary call, whose origin is recorded (`lookup`).
    Lookup,
}

/// What a control asks of the engine of an async call it steers: every [`Mode`] but a bypass,
/// which runs the function without one.
#[cfg(feature = "tokio")]
#[derive(Clone, Copy)]
pub(super) enum Steer {
    /// [`Mode::Refresh`].
    Refresh,
    /// [`Mode::Lookup`].
    Lookup,
}

#[cfg(feature = "tokio")]
impl Mode {
    /// What it asks of a call's engine; `None` for a bypass, which runs none.
    pub(super) fn steer(self) -> Option<Steer> {
        match self {
            Mode::Refresh => Some(Steer::Refresh),
            Mode::Lookup => Some(Steer::Lookup),
            Mode::Bypass => None,
        }
    }
}

/// One control: the cache it is for, what it asks, and what came of it.
#[derive(Clone, Copy)]
struct Slot {
    cache: usize,
    mode: Mode,
    taken: bool,
    origin: Option<Origin>,
}

thread_local! {
    /// The controls in place on this thread, innermost last.
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// Slots installed on any thread: zero on the hit path of a program that uses no control.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

/// Puts `slot` in place for the current thread, above the slots already there, until the guard
/// is finished (or dropped, by a panic): controls nest. A control of another cache inside it
/// does not hide it from this cache's calls. On a thread whose slots are gone (a call from a
/// thread-local's destructor) nothing is put in place: nothing is steered, and nothing panics.
struct Installed {
    depth: Option<usize>,
    slot: Slot,
}

impl Installed {
    fn new(slot: Slot) -> Self {
        INSTALLED.fetch_add(1, Ordering::Relaxed);
        let depth = SLOTS.try_with(|slots| {
            let mut slots = slots.borrow_mut();
            slots.push(slot);
            slots.len() - 1
        });
        Self {
            depth: depth.ok(),
            slot,
        }
    }

    fn finish(self) -> Slot {
        let depth = self.depth;
        let slot = depth.and_then(|depth| SLOTS.try_with(|slots| slots.borrow()[depth]).ok());
        let slot = slot.unwrap_or(self.slot);
        drop(self);
        slot
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(depth) = self.depth {
            let _ = SLOTS.try_with(|slots| slots.borrow_mut().truncate(depth));
        }
        INSTALLED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The request of a control for `cache`, once: the first call takes it.
#[cfg_attr(not(debug_assertions), inline)]
pub(super) fn take(cache: usize) -> Option<Mode> {
    if INSTALLED.load(Ordering::Relaxed) == 0 {
        return None;
    }
    take_slow(cache)
}

/// Runs `then` on this thread's controls for `cache`, innermost first: a control of another
/// cache inside one (`a.refresh(|| b.lookup(|| …)))`) does not hide it.
fn of_cache<R>(
    cache: usize,
    then: impl FnOnce(&mut dyn Iterator<Item = &mut Slot>) -> R,
) -> Option<R> {
    SLOTS
        .try_with(|slots| {
            let mut slots = slots.borrow_mut();
            then(&mut slots.iter_mut().rev().filter(|s| s.cache == cache))
        })
        .ok()
}

/// The first call of `cache` under its controls takes the innermost one no call took, and with
/// it the ones around it that it answers too: an outer `lookup` observes the call an inner
/// `refresh` steers (and an outer `refresh` steers the call an inner `lookup` observes). An outer
/// control that asks something else (a `bypass` around a `refresh`) is not this call's.
#[cold]
fn take_slow(cache: usize) -> Option<Mode> {
    of_cache(cache, |slots| {
        let mut taken: Option<Mode> = None;
        for slot in slots {
            if slot.taken {
                break;
            }
            match (taken, slot.mode) {
                (None | Some(Mode::Lookup), mode) => taken = Some(mode),
                (Some(_), Mode::Lookup) => {}
                (Some(_), _) => break,
            }
            slot.taken = true;
        }
        taken
    })
    .flatten()
}

/// Records the origin of the call that took the controls for `cache`, in each it took: not in a
/// control no call took yet, whose call is still to come (the reporting call was begun under
/// another control, its future then awaited inside this one).
pub(super) fn report(cache: usize, origin: Origin) {
    of_cache(cache, |slots| {
        for slot in slots {
            if !slot.taken || slot.origin.is_some() {
                break;
            }
            slot.origin = Some(origin);
        }
    });
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + serde::Serialize + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn steer<R>(&self, mode: Mode, call: impl FnOnce() -> R) -> (R, Option<Origin>) {
        let installed = Installed::new(Slot {
            cache: self.inner.shared.id(),
            mode,
            taken: false,
            origin: None,
        });
        let value = call();
        let slot = installed.finish();
        if !slot.taken {
            unsteered(mode, self.namespace(), false);
        }
        (value, slot.origin)
    }

    /// Runs `call`, whose first call of this cache computes its value now and stores it, even
    /// when a fresh entry exists: `fetch_cache().refresh(|| fetch("/a", 1))`. Calls that the
    /// function's body makes are not refreshed. A computation of the key already under way will
    /// not store its older value over this one — in another process sharing a file, store or
    /// Redis tier either: the refresh moves the key's generation there as it begins (a backend
    /// of yours moves it in
    /// [`PersistentBackend::begin_refresh`](crate::PersistentBackend::begin_refresh)). If the
    /// function fails, its error is returned and the entry is left as it was (`stale_if_error`
    /// does not apply). A value whose own ttl (`ttl_fn`) is zero is stored nowhere and removes
    /// the older entry. For an `async fn`, use
    /// [`refresh_async`](Self::refresh_async): the call of one is a future, which runs after
    /// `refresh` returned, unsteered (a warning is logged when `call` made no call of this cache).
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// assert_eq!(cache.get_or_compute(&1, || 10), 10);
    /// assert_eq!(cache.refresh(|| cache.get_or_compute(&1, || 11)), 11);
    /// assert_eq!(cache.get(&1), Some(11));
    /// ```
    pub fn refresh<R>(&self, call: impl FnOnce() -> R) -> R {
        self.steer(Mode::Refresh, call).0
    }

    /// Runs `call`, whose first call of this cache runs the function and touches no tier: it
    /// reads nothing, stores nothing, counts nothing, and takes no part in single-flight. It
    /// waits for the [`rate_limit`](crate::CacheBuilder::rate_limit), as every call of the
    /// function does. For an
    /// `async fn`, use [`bypass_async`](Self::bypass_async), as for [`refresh`](Self::refresh).
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// assert_eq!(cache.get_or_compute(&1, || 10), 10);
    /// assert_eq!(cache.bypass(|| cache.get_or_compute(&1, || 99)), 99);
    /// assert_eq!(cache.get(&1), Some(10));
    /// ```
    pub fn bypass<R>(&self, call: impl FnOnce() -> R) -> R {
        self.steer(Mode::Bypass, call).0
    }

    /// Runs `call` as it is, and tells where the value of its first call of this cache came
    /// from: `let Lookup { value, origin } = fetch_cache().lookup(|| fetch("/a", 1));`. A call
    /// is a `get_or_compute` or `get_or_refresh` (or their fallible and async forms), which a
    /// `#[cached]` function and [`wrap`](Self::wrap) make; the plain-store methods are not
    /// steered.
    ///
    /// # Panics
    /// If `call` made no call of this cache on this thread (there is no origin to tell): for an
    /// `async fn`, whose call is a future, use [`lookup_async`](Self::lookup_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::{Cache, Origin};
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// assert_eq!(cache.lookup(|| cache.get_or_compute(&1, || 10)).origin, Origin::Computed);
    /// assert_eq!(cache.lookup(|| cache.get_or_compute(&1, || 10)).origin, Origin::Hit);
    /// ```
    pub fn lookup<R>(&self, call: impl FnOnce() -> R) -> Lookup<R> {
        let (value, origin) = self.steer(Mode::Lookup, call);
        Lookup {
            value,
            origin: origin.expect(NO_CALL),
        }
    }

    /// Async [`refresh`](Self::refresh): `fetch_cache().refresh_async(fetch("/a", 1)).await`.
    /// The control is in place while the future is polled (not in a task it spawns: a warning
    /// is logged when the future made no call of this cache). A value whose own ttl (`ttl_fn`) is
    /// zero removes the older entry, as with `refresh`, on a blocking thread (tokio's
    /// `spawn_blocking`), not the executor's.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// cache.get_or_compute_async(&1, || async { 10 }).await;
    /// let refreshed = cache.refresh_async(cache.get_or_compute_async(&1, || async { 11 }));
    /// assert_eq!(refreshed.await, 11);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn refresh_async<F: std::future::IntoFuture>(&self, call: F) -> F::Output {
        self.steer_async(Mode::Refresh, call).await.0
    }

    /// Async [`bypass`](Self::bypass).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use cacher::Cache;
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// let bypassed = cache.bypass_async(cache.get_or_compute_async(&1, || async { 10 }));
    /// assert_eq!(bypassed.await, 10);
    /// assert_eq!(cache.get(&1), None);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn bypass_async<F: std::future::IntoFuture>(&self, call: F) -> F::Output {
        self.steer_async(Mode::Bypass, call).await.0
    }

    /// Async [`lookup`](Self::lookup).
    ///
    /// # Panics
    /// If `call` made no call of this cache.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use cacher::{Cache, Origin};
    ///
    /// let cache: Cache<u32, u32> = Cache::builder().build().unwrap();
    /// let call = || cache.get_or_compute_async(&1, || async { 10 });
    /// assert_eq!(cache.lookup_async(call()).await.origin, Origin::Computed);
    /// assert_eq!(cache.lookup_async(call()).await.origin, Origin::Hit);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn lookup_async<F: std::future::IntoFuture>(&self, call: F) -> Lookup<F::Output> {
        let (value, origin) = self.steer_async(Mode::Lookup, call).await;
        Lookup {
            value,
            origin: origin.expect(NO_CALL),
        }
    }

    /// Polls `call` with the control installed for each poll.
    #[cfg(feature = "tokio")]
    async fn steer_async<F: std::future::IntoFuture>(
        &self,
        mode: Mode,
        call: F,
    ) -> (F::Output, Option<Origin>) {
        let mut future = std::pin::pin!(call.into_future());
        let mut slot = Slot {
            cache: self.inner.shared.id(),
            mode,
            taken: false,
            origin: None,
        };
        let value = std::future::poll_fn(|cx| {
            let installed = Installed::new(slot);
            let poll = future.as_mut().poll(cx);
            slot = installed.finish();
            poll
        })
        .await;
        if !slot.taken {
            unsteered(mode, self.namespace(), true);
        }
        (value, slot.origin)
    }

    /// The fresh cached value for `key`, if any, without computing, counting a hit, filling a
    /// tier or recording a use (`time_to_idle`). An entry past its ttl is `None`, even where a
    /// call would serve it (`stale_while_revalidate`, the error backoff).
    ///
    /// # Examples
    ///
    /// ```
    /// use cacher::Cache;
    ///
    /// let cache: Cache<(String, u32), u32> = Cache::builder().build().unwrap();
    /// assert_eq!(cache.peek(&("/a", 1)), None);
    /// cache.insert(&("/a", 1), 7).unwrap();
    /// assert_eq!(cache.peek(&("/a", 1)), Some(7));
    /// assert_eq!(cache.stats().hits, 0);
    /// ```
    pub fn peek<Q: AsKey<K, M> + ?Sized, M>(&self, key: &Q) -> Option<V> {
        let key = &Borrowed::<Q, K, M>::new(key);
        let inner = &*self.inner;
        let mut hash = 0;
        let memory = inner.lookup_memory(key, &mut hash);
        let mut call = Call::new(key);
        let mut miss = Miss::new(inner, &mut call, hash, Goal::Peek, memory);
        // A peek's "function" is that there is no value.
        miss.run(&mut Some(|| Err(()))).ok()
    }
}

const NO_CALL: &str = "the closure given to `lookup` made no call of this cache on this thread: \
an `async fn`'s call is a future that runs after `lookup` returned (write \
`lookup_async(fetch(…)).await`), and the plain-store methods (`get`, `peek`) are not steered";

/// A `refresh` or `bypass` whose closure made no call of the cache: most likely the call of an
/// `async fn`, a future that runs after the control is gone, as an ordinary call; for their async
/// forms (`in_future`), a call made in a task the future spawned, which it does not poll. Said,
/// since the value it returns looks right. Nothing for a `lookup`, whose missing origin says it.
#[cold]
fn unsteered(mode: Mode, namespace: &str, in_future: bool) {
    let name = match mode {
        Mode::Refresh => "refresh",
        Mode::Bypass => "bypass",
        // A `lookup` that steered nothing has no origin to return: it says so itself.
        Mode::Lookup => return,
    };
    if in_future {
        tracing::warn!(
            namespace,
            "the future given to `{name}_async` made no call of this cache while it was polled, \
             so nothing was steered: a call in a task it spawned (`tokio::spawn`) is not steered \
             (await the call itself: `{name}_async(fetch(…)).await`)"
        );
        return;
    }
    tracing::warn!(
        namespace,
        "the closure given to `{name}` made no call of this cache on this thread, so nothing was \
         steered: an `async fn`'s call is a future that runs after `{name}` returned, as an \
         ordinary call (write `{name}_async(fetch(…)).await`)"
    );
}
