//! The miss path, once: everything after the memory tier had no fresh entry — read the
//! persistent tiers, join the key's flight, take the cross-process lock, run the function, store,
//! fill the earlier tiers, report — as a state machine that does no I/O of its own.
//!
//! [`Miss::next`] says what to do ([`Step`]); a driver (`drive.rs`: one blocking, one async)
//! does it and hands back what came of it (`read`, `wrote`, `waited`, `locked`, `computed`,
//! `failed`). The decisions between the steps (fresh? stale but servable? who leads? store or
//! not?) live here only, so both drivers make them the same way, and a new step is written once.
//!
//! In-process work that cannot block for long — the memory tier, the map of flights, the counters —
//! is done here directly; what may wait (a backend, another caller, a lock, the function, the rate
//! limiter) is a step.

mod log;
mod others;
mod stale;
mod store;

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::call::Call;
use super::flight::{Flight, Leader};
use super::generation::{Generation, Storing};
use super::inner::{Inner, Memory};
use super::origin::Origin;
use super::refresh::Ticket;
use crate::backend::{Absence, Displaced, PersistentBackend};
use crate::entry::{Entry, EntryKey};
use crate::error::{Error, Result};
use crate::key::KeyRef;
use crate::lock::{FlightGuard, FlightLock};
use crate::policy::{Freshness, RateLimiter};

/// What the caller wants of the miss path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    /// A plain `get`: read the tiers; the "function" is that there is no value.
    Lookup,
    /// `get_or_compute`: read, then single-flight, lock, compute, store.
    Compute,
    /// `insert`: the "function" returns the given value; store it in every tier.
    Store,
    /// `refresh`: compute now and store, whatever the tiers hold.
    Refresh,
    /// A background refresh (`stale_while_revalidate`): compute and store, unless the key was
    /// invalidated since the stale value was read.
    Revalidate,
    /// `peek`: a lookup that counts no hit and fills no tier.
    Peek,
}

impl Goal {
    /// Whether the call runs the user's function (and so waits for the rate limiter).
    fn computes(self) -> bool {
        matches!(self, Goal::Compute | Goal::Refresh | Goal::Revalidate)
    }

    /// Whether running the function counts as a miss: a caller's, not a background refresh's
    /// (whose failure is counted as an error instead).
    fn counts_miss(self) -> bool {
        matches!(self, Goal::Compute | Goal::Refresh)
    }
}

/// What the driver is to do next.
pub(super) enum Step<'s, 'a, V> {
    /// Read the entry for `key` from a persistent tier; answer with [`Miss::read`].
    Read(&'a dyn PersistentBackend<V>, EntryKey<'a>),
    /// Write `entry` to a persistent tier; answer with [`Miss::wrote`].
    Write(&'a dyn PersistentBackend<V>, EntryKey<'a>, &'s Entry<V>),
    /// Wait, at most the duration, for another caller computing this key; answer with
    /// [`Miss::waited`].
    Wait(Arc<Flight<V>>, Duration),
    /// Take the cross-process lock of this name; answer with [`Miss::locked`].
    Lock(&'a dyn FlightLock, &'a str),
    /// Wait for the rate limiter if there is one, run the function, and answer with
    /// [`Miss::computed`] or [`Miss::failed`].
    Compute(Option<&'a RateLimiter>),
    /// The call's value.
    Done(V),
}

/// Why the tiers are being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first look of a round: failures are reported, a stale entry is kept as a fallback.
    First,
    /// Again after becoming the leader: another leader may have stored the value meanwhile.
    AfterJoin,
    /// Again after taking the cross-process lock: another process may have stored it.
    AfterLock,
    /// To record a use served from memory (`time_to_idle`) in the tier that has the same write.
    Touch,
}

enum State<V> {
    Read {
        tier: usize,
        pass: Pass,
    },
    Wait(Arc<Flight<V>>),
    Lock,
    Compute,
    /// Writing `entry` to the persistent tiers `tier..upto`: a computed value (`fill` false) or a
    /// later tier's hit copied into the earlier ones (`fill` true).
    Write {
        entry: Entry<V>,
        tier: usize,
        upto: usize,
        fill: bool,
    },
    Done(V),
    /// After `Done` was handed out.
    Over,
}

/// One call's way through the miss path.
pub(super) struct Miss<'a, K: Hash + Eq, V: Clone, Q: ?Sized> {
    inner: &'a Inner<K, V>,
    call: &'a Call<'a, Q>,
    /// The keyer's key of the persistent entry; `None` without persistent tiers or when the key
    /// cannot be made (reported once). The entry's identity is made from it per step (a few
    /// references), which keeps the call small to build on a memory-only miss.
    key: Option<&'a str>,
    goal: Goal,
    state: State<V>,
    /// An entry past its ttl that `stale_if_error` may serve if the function fails.
    stale: Option<V>,
    /// Whether the call's function may run in the background (`try_get_or_refresh`).
    detach: bool,
    /// The background refresh this call claimed, for its caller to start.
    refresh: Option<Ticket>,
    leader: Option<Leader<'a, K, V>>,
    /// The key's hash, for the flights and their generations.
    hash: u64,
    /// The key's generation when the call started: a value is stored (or filled) only if no
    /// invalidation came since.
    generation: Generation,
    /// A store in progress, which invalidations of the key wait for.
    storing: Option<Storing<'a>>,
    /// The cross-process lock, released once the value is stored.
    held: Option<FlightGuard<'a>>,
    lock_name: Option<&'a str>,
    /// Whether some tier took the value.
    stored: bool,
    /// Where the value came from: recorded where each serving decision is made.
    origin: Origin,
    /// The memory tier's answer of this round if it had no entry at all: the look again after
    /// joining asks whether that is still so without the shard's lock.
    missing: Option<Absence>,
    /// The first failure to store (what `insert` returns).
    store_error: Option<Error>,
    /// Tiers (bit `i` for tier `i`) whose service failed during this call: a hung or dead server
    /// costs one timeout per call, not one per command. They are not written to again, and the
    /// cross-process lock is not taken.
    down: u64,
    /// The memory entry whose use the persistent tiers are to record, with its creation time.
    touching: Option<(V, u64)>,
    /// What the memory tier's insert replaced or evicted: dropped once every tier is written and
    /// the store has ended (its panic resumed then).
    displaced: Option<Displaced<K, V>>,
}

impl<'a, K, V, Q> Miss<'a, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// The cache this call is on: the drivers' spans and compute timings name it.
    pub(super) fn inner(&self) -> &'a Inner<K, V> {
        self.inner
    }

    /// Starts after a memory lookup that found no fresh entry (`memory` is what it found);
    /// `hash` is the key's [`flight_hash`](Inner::flight_hash).
    #[inline]
    pub(super) fn new(
        inner: &'a Inner<K, V>,
        call: &'a Call<'a, Q>,
        hash: u64,
        goal: Goal,
        memory: Memory<V>,
    ) -> Self {
        let generation = inner.flights.generation(hash);
        let mut miss = Self::with(inner, call, hash, goal, generation);
        match goal {
            Goal::Store | Goal::Refresh | Goal::Revalidate => miss.state = State::Compute,
            Goal::Lookup | Goal::Compute | Goal::Peek => miss.begin_round(memory),
        }
        miss
    }

    /// As [`new`](Self::new) for `get_or_compute` with a function that may run in the
    /// background: within `stale_while_revalidate` the call serves the stale value and claims a
    /// refresh ([`take_refresh`](Self::take_refresh)).
    pub(super) fn detachable(
        inner: &'a Inner<K, V>,
        call: &'a Call<'a, Q>,
        hash: u64,
        memory: Memory<V>,
    ) -> Self {
        let generation = inner.flights.generation(hash);
        let mut miss = Self::with(inner, call, hash, Goal::Compute, generation);
        miss.detach = true;
        miss.begin_round(memory);
        miss
    }

    /// The background refresh `ticket` claimed: it stores only if the key's generation is still
    /// the one the stale value was read under.
    pub(super) fn revalidate(
        inner: &'a Inner<K, V>,
        call: &'a Call<'a, Q>,
        ticket: &Ticket,
    ) -> Self {
        let mut miss = Self::with(
            inner,
            call,
            ticket.hash,
            Goal::Revalidate,
            ticket.generation,
        );
        miss.state = State::Compute;
        miss
    }

    fn with(
        inner: &'a Inner<K, V>,
        call: &'a Call<'a, Q>,
        hash: u64,
        goal: Goal,
        generation: Generation,
    ) -> Self {
        let (key, store_error) = inner.persistent_key(call);
        Self {
            inner,
            call,
            key,
            goal,
            state: State::Over,
            stale: None,
            detach: false,
            refresh: None,
            leader: None,
            hash,
            generation,
            storing: None,
            held: None,
            lock_name: None,
            stored: false,
            origin: Origin::Computed,
            missing: None,
            store_error,
            down: 0,
            touching: None,
            displaced: None,
        }
    }

    /// The identity of the persistent entry under the keyer's `key`.
    fn entry_key(&self, key: &'a str) -> EntryKey<'a> {
        self.inner.naming.entry_key::<V>(key, self.call.args())
    }

    /// Where the call's value came from, once the driver has it.
    pub(super) fn origin(&self) -> Origin {
        self.origin
    }

    /// A hit: counted, and recorded as the call's origin.
    #[inline]
    fn serve_hit(&mut self, value: V) {
        self.origin = Origin::Hit;
        let value = self.inner.hit(value);
        self.finish(value);
    }

    /// The first of a round's looks, after the memory tier's answer.
    #[inline]
    fn begin_round(&mut self, memory: Memory<V>) {
        self.stale = None;
        self.missing = None;
        self.state = State::Read {
            tier: 0,
            pass: Pass::First,
        };
        match memory {
            // A peek counts no hit and records no use.
            Memory::Fresh(value) | Memory::Touch(value, _) if self.goal == Goal::Peek => {
                self.finish(value)
            }
            Memory::Fresh(value) => self.serve_hit(value),
            Memory::Touch(value, stamp) => self.touch(value, stamp),
            Memory::Revalidate(value) => self.past_ttl(value, Freshness::Revalidate),
            Memory::Stale(value) => self.past_ttl(value, Freshness::Stale),
            Memory::Missing(absence) => self.missing = Some(absence),
            Memory::Absent => {}
        }
    }

    /// A look again (after joining or locking): the memory tier, then the persistent tiers.
    #[inline]
    fn look_again(&mut self, pass: Pass) {
        // A key the memory tier had no entry for, in a shard that has had no insert since, is
        // still not there: nothing to look up (nor a lock to take) on most misses.
        let unchanged = match self.missing {
            Some(absence) => self.inner.still_missing(absence),
            None => false,
        };
        // Else the shared table, out of line: a rare path since the count above.
        let memory = if unchanged {
            Memory::Absent
        } else {
            self.inner.lookup_memory(self.call.key)
        };
        match memory {
            Memory::Fresh(value) | Memory::Touch(value, _) => self.serve_hit(value),
            Memory::Revalidate(_) | Memory::Stale(_) | Memory::Absent | Memory::Missing(_) => {
                self.state = State::Read { tier: 0, pass }
            }
        }
    }

    /// What to do next.
    #[inline]
    pub(super) fn next(&mut self) -> Step<'_, 'a, V> {
        let inner = self.inner;
        loop {
            match &self.state {
                &State::Read { tier, pass } if self.is_down(tier) => {
                    self.state = State::Read {
                        tier: tier + 1,
                        pass,
                    };
                }
                &State::Read { tier, pass } => match (self.key, inner.backends.get(tier)) {
                    (Some(key), Some(backend)) => {
                        return Step::Read(&**backend, self.entry_key(key));
                    }
                    _ => self.read_all(pass),
                },
                State::Write { tier, upto, .. } if tier < upto && self.is_down(*tier) => {
                    if let State::Write { tier, .. } = &mut self.state {
                        *tier += 1;
                    }
                }
                State::Write { tier, upto, .. } if tier < upto => break,
                State::Write { .. } => self.written(),
                State::Wait(flight) => return Step::Wait(Arc::clone(flight), inner.wait_timeout),
                State::Lock => break,
                State::Compute => {
                    // `if`s and `match`es rather than `Option`'s combinators in this machine:
                    // each closure is compiled once more per cache type (compile time).
                    let limiter = match &inner.rate_limiter {
                        Some(limiter) if self.goal.computes() => Some(limiter),
                        _ => None,
                    };
                    return Step::Compute(limiter);
                }
                State::Done(_) => match std::mem::replace(&mut self.state, State::Over) {
                    State::Done(value) => return Step::Done(value),
                    _ => log::out_of_step("matched Done above"),
                },
                State::Over => log::out_of_step("a driver stops at Step::Done"),
            }
        }
        // The steps that borrow from the state itself.
        match &self.state {
            State::Write { entry, tier, .. } => {
                let key = self
                    .key
                    .expect("writes are planned only with a persistent key");
                Step::Write(&*inner.backends[*tier], self.entry_key(key), entry)
            }
            State::Lock => {
                let lock = inner
                    .flight_lock
                    .as_deref()
                    .expect("locks are planned only with one");
                Step::Lock(lock, self.lock_name.expect("named when planned"))
            }
            _ => log::out_of_step("only writes and locks break out of the loop"),
        }
    }

    /// A persistent tier's answer to [`Step::Read`].
    #[inline]
    pub(super) fn read(&mut self, answer: Result<Option<Entry<V>>>) {
        let State::Read { tier, pass } = self.state else {
            log::out_of_step("answers follow their step")
        };
        if pass == Pass::Touch {
            return self.read_touched(tier, answer);
        }
        match answer {
            Ok(Some(entry)) => {
                // Read once for the freshness and the use to record; not at all if nothing ages.
                let now_ms = self.inner.ttl.now_ms(entry.stamp(), &self.inner.clock);
                match self.inner.ttl.freshness(entry.stamp(), now_ms) {
                    Freshness::Fresh => return self.found(entry, tier, now_ms),
                    past @ (Freshness::Revalidate | Freshness::Stale) if pass == Pass::First => {
                        self.past_ttl(entry.value, past);
                        if matches!(self.state, State::Done(_)) {
                            return;
                        }
                    }
                    Freshness::Revalidate | Freshness::Stale | Freshness::Expired => {}
                }
            }
            Ok(None) => {}
            Err(e) => {
                // A later look of this round does not report a failure the first look did; a
                // service failure is new (its tier was not down, or it would not be read).
                let new = pass == Pass::First || matches!(e, Error::Backend { .. });
                self.note_failure(tier, &e);
                if new {
                    let backend = self.inner.backends[tier].name();
                    self.inner.report(backend, "read", &e);
                }
            }
        }
        self.state = State::Read {
            tier: tier + 1,
            pass,
        };
    }

    /// A tier whose service failed (not a corrupt entry, which a write repairs) is down for
    /// the rest of the call.
    fn note_failure(&mut self, tier: usize, error: &Error) {
        if matches!(error, Error::Backend { .. }) {
            self.down |= 1u64.checked_shl(tier as u32).unwrap_or(0);
        }
    }

    fn is_down(&self, tier: usize) -> bool {
        self.down & 1u64.checked_shl(tier as u32).unwrap_or(0) != 0
    }

    /// A fresh entry in persistent tier `tier`: fill the memory tier and the tiers before it,
    /// keeping its creation time, so that a ttl counts from when the value was computed. A use
    /// due to be recorded (`time_to_idle`) is written to `tier` too.
    #[inline]
    fn found(&mut self, mut entry: Entry<V>, tier: usize, now_ms: u64) {
        let inner = self.inner;
        if self.goal == Goal::Peek {
            return self.finish(entry.value);
        }
        inner.stats.hit(inner.backends[tier].name());
        self.origin = Origin::Hit;
        let upto = if inner.ttl.touch_due(entry.stamp(), now_ms) {
            entry.touched_ms = now_ms;
            tier + 1
        } else {
            tier
        };
        self.fill(entry, upto);
    }

    /// Copies `entry` into the memory tier and the persistent tiers before `upto`, if no
    /// invalidation came since the call started.
    fn fill(&mut self, mut entry: Entry<V>, upto: usize) {
        let inner = self.inner;
        if upto == 0 && inner.memory.is_none() {
            // Nothing to copy it into: no store begins, none for an invalidation to wait for.
            return self.finish(entry.value);
        }
        let Some(storing) = inner.flights.begin_store(self.hash, self.generation) else {
            return self.finish(entry.value);
        };
        self.storing = Some(storing);
        entry.expires_ms = inner.ttl.expires_ms(entry.stamp());
        if let Some(memory) = &inner.memory {
            let inserted =
                memory.insert(self.call.key.to_key(), entry.value.clone(), entry.stamp());
            inner.stats.evicted("memory", inserted.evicted);
            self.displaced = inserted.displaced;
        }
        self.state = State::Write {
            entry,
            tier: 0,
            upto,
            fill: true,
        };
    }

    /// Every tier was read and none had a fresh entry.
    #[inline]
    fn read_all(&mut self, pass: Pass) {
        match (pass, self.goal) {
            (Pass::First, Goal::Compute) => self.join(),
            (Pass::AfterJoin, _) => self.plan_lock(),
            (Pass::First, _) | (Pass::AfterLock, _) => self.state = State::Compute,
            (Pass::Touch, _) => self.touched(),
        }
    }
}
