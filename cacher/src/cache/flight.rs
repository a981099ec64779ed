//! Single-flight: concurrent callers of one missing key run the function once.
//!
//! The first caller of a missing key becomes its *leader* and runs the function; later callers
//! find its flight and wait, with a bound, for the value. When the leader fails (returns `Err`,
//! panics, or its future is dropped) the flight ends as failed and the waiters go round again: one
//! of them leads the next attempt. A waiter whose bound passes stops waiting and runs the function
//! itself, so a leader that hangs slows the others down but never blocks them forever.
//!
//! The flights are touched only on a miss, never on a hit. They are few at any time (one per key
//! being computed), so they are kept in short lists, one per stripe of key hashes, each behind its
//! own lock: a scan of a list of a few entries costs less than a hash table's probe. Nothing here
//! is generic but [`Flights::join`]'s few lines and the methods of what it asks of the cache's key
//! and value (`typed.rs`): a flight holds its key behind `dyn Any`, so the lists, the leader and
//! the waits are compiled once for every cache type (compile time).
//!
//! A flight is joined by its own key, not by its hash alone (whose `Hash` may write less than
//! its `Eq` compares): a caller of another key with the same hash would wait for a leader that
//! may be waiting for it — a key asked for from the leader's computation, in async code or on a
//! thread the leader joins — for the whole wait bound (`adversarial::collide`). The key boxed
//! per flight is the price of that; a key type with no drop glue (nothing in it to free or to
//! keep alive: integers, tuples of them) reuses its stripe's last box, and allocates nothing.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::generation::{Generation, Generations, Removal};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::key::KeyRef;
use crate::reentry::UserCode;

mod calls;
mod typed;

#[cfg(feature = "tokio")]
use calls::running;
#[cfg(feature = "tokio")]
pub(crate) use calls::{Running, Stepping};
use calls::{this_call, this_thread};
use typed::{Copied, FlightKey, KeyOf};

/// Stripes of flights: enough that concurrent misses of different keys rarely share a lock.
const STRIPES: usize = 32;

pub(crate) struct Flights {
    stripes: [Mutex<Stripe>; STRIPES],
    /// What invalidations a computation must not store over.
    generations: Generations,
}

/// The flights in progress of one stripe of key hashes, and the number of its next one.
struct Stripe {
    flights: Vec<Slot>,
    next: u64,
    /// The key box of a flight that ended, kept for the next: only a key with no drop glue
    /// ([`Slot::plain`]), which holds nothing.
    spare: Option<Box<dyn Any + Send + Sync>>,
}

/// One flight in progress. Most misses have no other caller of their key: the leader's slot is
/// all they cost, and the shared [`Flight`] its waiters block on is made by the first waiter.
struct Slot {
    hash: u64,
    /// The key, a `K` of the flights' cache: boxed, its type erased (an allocation per flight).
    key: Box<dyn Any + Send + Sync>,
    /// Tells this flight from a later one of the same key, for its leader to remove.
    id: u64,
    /// Whether the key has no drop glue: its box is kept for the stripe's next flight.
    plain: bool,
    /// The key's generation when the flight started: after an invalidation, later callers do
    /// not join it (its value predates the invalidation).
    generation: Generation,
    /// The thread that leads it (see [`this_thread`]).
    leader_thread: usize,
    /// The async call that leads it, if one does (see [`this_call`]).
    leader_call: usize,
    /// Replaced by a newer flight of the key (this one was abandoned or predates an
    /// invalidation): later callers do not join it, and its leader, if it ever finishes, still
    /// hands its value to its own waiters.
    retired: bool,
    /// What the waiters block on, made by the first of them.
    waiters: Option<Arc<Flight>>,
}

/// What the waiters of one flight block on, until its leader finishes.
///
/// Not generic: the leader's value is handed over boxed, its type erased, so that the waits
/// (a condition variable's loop, its async twin, the hand-over) are compiled once for every cache
/// type (compile time). The box is an allocation for a flight that has waiters only; a waiter
/// takes its copy with [`value`](Self::value).
pub(crate) struct Flight {
    state: Mutex<State>,
    done: Condvar,
    /// Threads blocked on `done`, counted under `state`'s lock: a flight nobody blocks on ends
    /// without `notify_all`, which is a syscall even when no one is there.
    blocked: AtomicUsize,
    /// Set by a waiter whose bound passed: the leader is stuck, and later callers do not join.
    abandoned: AtomicBool,
    /// The thread that leads it (see [`this_thread`]).
    leader_thread: usize,
    /// The async call that leads it, or 0 (see [`this_call`]).
    #[cfg(feature = "tokio")]
    leader_call: usize,
    #[cfg(feature = "tokio")]
    notify: tokio::sync::Notify,
}

enum State {
    Running,
    /// The leader's value, a `V` of the flight's cache.
    Done(Box<dyn Any + Send>),
    Failed,
}

/// What a caller of a missing key is to do.
pub(crate) enum Role<'a> {
    Leader(Leader<'a>),
    Waiter(Arc<Flight>),
}

impl<'a> Role<'a> {
    /// Kept by a caller (its miss's slots): whether it leads. Not generic: one copy for every
    /// cache.
    #[inline]
    pub(crate) fn seat(
        self,
        leader: &mut Option<Leader<'a>>,
        flight: &mut Option<Arc<Flight>>,
    ) -> bool {
        match self {
            Role::Leader(led) => {
                *leader = Some(led);
                true
            }
            Role::Waiter(waited) => {
                *flight = Some(waited);
                false
            }
        }
    }
}

/// How a wait ended.
pub(crate) enum Outcome {
    /// The leader's value is there: [`Flight::value`] copies it.
    Value,
    /// The leader failed: try again.
    Failed,
    /// The bound passed: run the function without waiting any more.
    TimedOut,
    /// The leader is this very thread, blocked in this wait, or the async call whose function
    /// this wait is polled from (its function asked for its own key): waiting could only end at
    /// the bound, so run the function now.
    Reentrant,
}

impl Flights {
    pub(crate) fn new() -> Self {
        Self {
            stripes: [const {
                Mutex::new(Stripe {
                    flights: Vec::new(),
                    next: 0,
                    spare: None,
                })
            }; STRIPES],
            generations: Generations::new(),
        }
    }

    fn stripe(&self, hash: u64) -> &Mutex<Stripe> {
        &self.stripes[hash as usize % STRIPES]
    }

    /// `hash`'s stripe. A panic under the lock left the list whole (each change is one push or
    /// removal). No call from user code run under one of cacher's locks joins a flight
    /// (`Core::join`, `reentry.rs`), so none waits here for a stripe its own thread holds.
    fn lock(&self, hash: u64) -> MutexGuard<'_, Stripe> {
        match self.stripe(hash).lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Joins the flight for `key` (of the flights' cache's key type `K`), starting one (as its
    /// leader) if there is none.
    #[inline]
    pub(crate) fn join<K, Q>(&self, hash: u64, key: &Q) -> Role<'_>
    where
        K: Send + Sync + 'static,
        Q: KeyRef<K> + ?Sized,
    {
        let plain = !std::mem::needs_drop::<K>();
        self.join_erased(hash, &KeyOf::<K, Q>::new(key), plain)
    }

    /// [`join`](Self::join), its key tested, written into a spare box or boxed by `key`;
    /// `plain` if it has no drop glue.
    fn join_erased(&self, hash: u64, key: &dyn FlightKey, plain: bool) -> Role<'_> {
        let now = self.generations.current(hash);
        let mut guard = self.lock(hash);
        let address = std::ptr::from_ref(self.stripe(hash)).addr();
        let stripe = &mut *guard;
        // A flight of the key replaced by a newer one, still under way ([`Leader::replaced`]).
        let mut replaced = false;
        let mut live = None;
        // The key's `Eq`: user code, under the stripe's lock (a call of the cache from it joins
        // no flight: helper-112, it waited for this very lock for good).
        let is = |slot: &Slot| {
            let _user = UserCode::enter(address);
            key.is(&*slot.key)
        };
        for (at, slot) in stripe.flights.iter_mut().enumerate() {
            if slot.hash == hash && is(slot) {
                if !slot.retired {
                    live = Some(at);
                    break;
                }
                replaced = true;
            }
        }
        if let Some(at) = live {
            let slot = &mut stripe.flights[at];
            let abandoned = match &slot.waiters {
                Some(flight) => flight.abandoned.load(Ordering::Acquire),
                None => false,
            };
            if !abandoned && slot.generation == now {
                let flight = match &slot.waiters {
                    Some(flight) => Arc::clone(flight),
                    None => {
                        let flight = Arc::new(Flight::new(slot.leader_thread, slot.leader_call));
                        slot.waiters = Some(Arc::clone(&flight));
                        flight
                    }
                };
                return Role::Waiter(flight);
            }
            // A flight a waiter gave up on is past its deadline, and one that started before an
            // invalidation computes a value from before it: this caller leads a new one.
            slot.retired = true;
            replaced = true;
        }
        self.lead((stripe, address), (hash, now), (key, plain), replaced)
    }

    /// Starts the flight of `key` (of `hash`, at generation `now`) in `stripe`, led by this
    /// caller ([`join_erased`](Self::join_erased)): its key written into the stripe's spare box
    /// when it can be, else boxed.
    fn lead(
        &self,
        (stripe, address): (&mut Stripe, usize),
        (hash, now): (u64, Generation),
        (key, plain): (&dyn FlightKey, bool),
        replaced: bool,
    ) -> Role<'_> {
        let id = stripe.next;
        stripe.next += 1;
        // The key's `Clone`: user code, under the stripe's lock.
        let user = UserCode::enter(address);
        let boxed = match stripe.spare.take() {
            Some(mut spare) => match key.set(&mut *spare) {
                true => spare,
                false => key.boxed(),
            },
            None => key.boxed(),
        };
        drop(user);
        stripe.flights.push(Slot {
            hash,
            key: boxed,
            id,
            plain,
            generation: now,
            leader_thread: this_thread(),
            leader_call: this_call(),
            retired: false,
            waiters: None,
        });
        Role::Leader(Leader {
            flights: self,
            hash,
            id,
            replaced,
        })
    }

    /// The generations themselves, for the miss path's core (which is not generic).
    pub(crate) fn generations(&self) -> &Generations {
        &self.generations
    }

    /// Invalidates `hash`'s key, waiting at most `bound` for a store already under way.
    pub(crate) fn invalidate(&self, hash: u64, bound: Duration) {
        self.generations.invalidate(hash, bound);
    }

    /// Invalidates `hash`'s key for its removal from the tiers: no store of it begins until the
    /// guard is dropped ([`Generations::removal`](super::generation::Generations::removal)).
    pub(crate) fn removal(&self, hash: u64, bound: Duration) -> Removal<'_> {
        self.generations.removal(hash, bound)
    }

    /// [`removal`](Self::removal) of every key, for a clear.
    pub(crate) fn removal_all(&self, bound: Duration) -> Removal<'_> {
        self.generations.removal_all(bound)
    }

    /// How many callers are blocked waiting for flights now, over every stripe.
    #[cfg(test)]
    pub(crate) fn blocked(&self) -> usize {
        let blocked = |slot: &Slot| match &slot.waiters {
            Some(flight) => flight.blocked.load(Ordering::Relaxed),
            None => 0,
        };
        let stripes = self.stripes.iter();
        stripes
            .map(|stripe| match stripe.lock() {
                Ok(stripe) => stripe.flights.iter().map(blocked).sum::<usize>(),
                Err(_) => 0,
            })
            .sum()
    }

    /// Removes flight `id`: its waiters, if it had any. A key with drop glue is dropped after
    /// the stripe's lock (its `Drop` is user code).
    fn remove(&self, hash: u64, id: u64) -> Option<Arc<Flight>> {
        let mut guard = self.lock(hash);
        let flights = &mut guard.flights;
        let at = flights.iter().position(|slot| slot.id == id)?;
        let slot = flights.swap_remove(at);
        if slot.plain {
            guard.spare = Some(slot.key);
            return slot.waiters;
        }
        drop(guard);
        slot.waiters
    }
}

impl Flight {
    fn new(leader_thread: usize, leader_call: usize) -> Self {
        #[cfg(not(feature = "tokio"))]
        let _ = leader_call;
        Self {
            state: Mutex::new(State::Running),
            done: Condvar::new(),
            blocked: AtomicUsize::new(0),
            abandoned: AtomicBool::new(false),
            leader_thread,
            #[cfg(feature = "tokio")]
            leader_call,
            #[cfg(feature = "tokio")]
            notify: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn outcome(state: &State) -> Option<Outcome> {
        match state {
            State::Running => None,
            State::Done(_) => Some(Outcome::Value),
            State::Failed => Some(Outcome::Failed),
        }
    }

    /// A copy of the leader's value, once [`wait`](Self::wait) said it is there
    /// ([`Outcome::Value`]; a finished flight's value stays). `None` if it is not a `V`, which
    /// no flight of a cache of `V`s holds.
    #[allow(
        clippy::manual_map,
        reason = "`Option::cloned` would compile two functions more per value type"
    )]
    pub(crate) fn value<V: Clone + 'static>(&self) -> Option<V> {
        match &*self.lock() {
            State::Done(value) => {
                // As a plain `dyn Any`: `downcast_ref` of `dyn Any + Send` calls that of
                // `dyn Any`, a function more per value type (compile time).
                let value: &dyn Any = &**value;
                match value.downcast_ref::<V>() {
                    Some(value) => Some(value.clone()),
                    None => None,
                }
            }
            State::Running | State::Failed => None,
        }
    }

    fn finish(&self, end: State) {
        let blocked = {
            let mut state = self.lock();
            *state = end;
            // Read under the lock: a waiter counts itself under it before blocking, so either
            // it is counted here or it sees the end before it blocks.
            self.blocked.load(Ordering::Relaxed)
        };
        if blocked > 0 {
            self.done.notify_all();
        }
        #[cfg(feature = "tokio")]
        self.notify.notify_waiters();
    }

    /// Marks the flight as past its deadline: a waiter waited its whole bound for it.
    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }

    /// Blocks until the leader finishes or `bound` passes.
    pub(crate) fn wait(&self, bound: Duration) -> Outcome {
        if self.leader_thread == this_thread() {
            return Outcome::Reentrant;
        }
        let deadline = Instant::now() + bound;
        let mut state = self.lock();
        loop {
            if let Some(outcome) = Self::outcome(&state) {
                return outcome;
            }
            let now = Instant::now();
            if now >= deadline {
                return Outcome::TimedOut;
            }
            self.blocked.fetch_add(1, Ordering::Relaxed);
            state = match self.done.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
            self.blocked.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Waits, without blocking the executor, until the leader finishes or `bound` passes.
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_async(&self, bound: Duration) -> Outcome {
        // Outside a tokio runtime (another executor) there is no timer to wait on: the wait
        // blocks, as that executor's do — and a leader polled by this very thread (two calls
        // joined in one `block_on`) is this thread's own flight ([`wait`](Self::wait)).
        if !crate::future::in_runtime() {
            return self.wait(bound);
        }
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            // Register interest before looking, so a finish between the look and the await is
            // not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = Self::outcome(&self.lock()) {
                return outcome;
            }
            // Polled from the leader's own function (which asked for its own key): the leader
            // cannot end before this wait does.
            if self.leader_call != 0 && running(self.leader_call) {
                return Outcome::Reentrant;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Self::outcome(&self.lock()).unwrap_or(Outcome::TimedOut);
            }
        }
    }
}

/// The leader's duty: finish the flight. Dropped unfinished (an `Err`, a panic, a cancelled
/// future), it marks the flight failed, so waiters retry instead of waiting for nothing.
pub(crate) struct Leader<'a> {
    flights: &'a Flights,
    hash: u64,
    id: u64,
    replaced: bool,
}

impl Leader<'_> {
    /// Whether a flight of the key this one replaced (abandoned, or begun before an
    /// invalidation: perhaps its own caller's) is under way: its leader may hold the lock, and
    /// stores nothing this one could read, so this one does not wait for the lock.
    pub(crate) fn replaced(&self) -> bool {
        self.replaced
    }

    /// Hands `value` to the waiters, if there are any (cloned only then).
    #[inline]
    pub(crate) fn complete<V: Clone + Send + 'static>(self, value: &V) {
        self.complete_with(value);
    }

    /// [`complete`](Self::complete), the waiters' copy made by `value`'s [`Copied`].
    fn complete_with(self, value: &dyn Copied) {
        let (flights, hash, id) = (self.flights, self.hash, self.id);
        // Finished: its drop has nothing to do (it holds nothing to free).
        std::mem::forget(self);
        // Leave the map first: a caller arriving after this finds the stored entry instead.
        if let Some(flight) = flights.remove(hash, id) {
            // A `Clone` that panics fails the flight on its way out: the waiters retry at once
            // rather than wait their whole bound for a value that never comes.
            let unwinding = FailOnUnwind(&flight);
            let copy = value.copied();
            std::mem::forget(unwinding);
            flight.finish(State::Done(copy));
        }
    }
}

/// Fails its flight when dropped: by an unwind between the leader's leaving the map and its
/// hand-over (forgotten once the value is there).
struct FailOnUnwind<'f>(&'f Flight);

impl Drop for FailOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.finish(State::Failed);
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        // Unfinished: `complete` forgets it.
        if let Some(flight) = self.flights.remove(self.hash, self.id) {
            flight.finish(State::Failed);
        }
    }
}

#[cfg(test)]
mod tests;
