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

mod store;

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::call::Call;
use super::flight::{Flight, Leader, Outcome, Role};
use super::generation::{Generation, Storing};
use super::inner::{Inner, Memory};
use crate::backend::PersistentBackend;
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

/// The identity of the persistent entry, or `None` without persistent tiers or when the key
/// cannot be made (then reported, and kept as the error `insert` returns).
fn persistent_key<'a, K, V, Q>(
    inner: &'a Inner<K, V>,
    call: &'a Call<'a, Q>,
) -> (Option<EntryKey<'a>>, Option<Error>)
where
    Q: KeyRef<K> + ?Sized,
{
    if inner.backends.is_empty() {
        return (None, None);
    }
    match call.persistent_key(&inner.naming) {
        Ok(key) => (Some(inner.naming.entry_key::<V>(key, call.args())), None),
        Err(e) => {
            inner.report("all", "key", &e);
            (None, Some(e))
        }
    }
}

/// One call's way through the miss path.
pub(super) struct Miss<'a, K: Hash + Eq, V: Clone, Q: ?Sized> {
    inner: &'a Inner<K, V>,
    call: &'a Call<'a, Q>,
    /// The identity of the persistent entry; `None` without persistent tiers or when the key
    /// cannot be made (reported once).
    key: Option<EntryKey<'a>>,
    goal: Goal,
    state: State<V>,
    /// An entry past its ttl that `stale_if_error` may serve if the function fails.
    stale: Option<V>,
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
    /// The first failure to store (what `insert` returns).
    store_error: Option<Error>,
    /// Tiers (bit `i` for tier `i`) whose service failed during this call: a hung or dead server
    /// costs one timeout per call, not one per command. They are not written to again, and the
    /// cross-process lock is not taken.
    down: u64,
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
    /// `hash` is the key's [`flight_hash`](Inner::flight_hash). Built in one expression, so that
    /// it is made in place rather than copied out.
    #[inline]
    pub(super) fn new(
        inner: &'a Inner<K, V>,
        call: &'a Call<'a, Q>,
        hash: u64,
        goal: Goal,
        memory: Memory<V>,
    ) -> Self {
        let (key, store_error) = persistent_key(inner, call);
        let (state, stale) = match (goal, memory) {
            (Goal::Store, _) => (State::Compute, None),
            (_, Memory::Fresh(value)) => (State::Done(inner.hit(value)), None),
            (Goal::Compute, Memory::Stale(value)) => (
                State::Read {
                    tier: 0,
                    pass: Pass::First,
                },
                Some(value),
            ),
            (_, Memory::Stale(_) | Memory::Absent) => (
                State::Read {
                    tier: 0,
                    pass: Pass::First,
                },
                None,
            ),
        };
        Self {
            inner,
            call,
            key,
            goal,
            state,
            stale,
            leader: None,
            hash,
            generation: inner.flights.generation(hash),
            storing: None,
            held: None,
            lock_name: None,
            stored: false,
            store_error,
            down: 0,
        }
    }

    /// The first of a round's looks, after the memory tier's answer.
    #[inline]
    fn begin_round(&mut self, memory: Memory<V>) {
        self.stale = None;
        match memory {
            Memory::Fresh(value) => return self.finish(self.inner.hit(value)),
            Memory::Stale(value) if self.goal == Goal::Compute => self.stale = Some(value),
            Memory::Stale(_) | Memory::Absent => {}
        }
        self.state = State::Read {
            tier: 0,
            pass: Pass::First,
        };
    }

    /// A look again (after joining or locking): the memory tier, then the persistent tiers.
    #[inline]
    fn look_again(&mut self, pass: Pass) {
        match self.inner.lookup_memory(self.call.key) {
            Memory::Fresh(value) => self.finish(self.inner.hit(value)),
            Memory::Stale(_) | Memory::Absent => self.state = State::Read { tier: 0, pass },
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
                    (Some(key), Some(backend)) => return Step::Read(&**backend, key),
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
                    let limiter = inner.rate_limiter.as_ref();
                    return Step::Compute(limiter.filter(|_| self.goal == Goal::Compute));
                }
                State::Done(_) => match std::mem::replace(&mut self.state, State::Over) {
                    State::Done(value) => return Step::Done(value),
                    _ => unreachable!("matched Done above"),
                },
                State::Over => unreachable!("a driver stops at Step::Done"),
            }
        }
        // The steps that borrow from the state itself.
        match &self.state {
            State::Write { entry, tier, .. } => {
                let key = self
                    .key
                    .expect("writes are planned only with a persistent key");
                Step::Write(&*inner.backends[*tier], key, entry)
            }
            State::Lock => {
                let lock = inner
                    .flight_lock
                    .as_deref()
                    .expect("locks are planned only with one");
                Step::Lock(lock, self.lock_name.expect("named when planned"))
            }
            _ => unreachable!("only writes and locks break out of the loop"),
        }
    }

    /// A persistent tier's answer to [`Step::Read`].
    #[inline]
    pub(super) fn read(&mut self, answer: Result<Option<Entry<V>>>) {
        let State::Read { tier, pass } = self.state else {
            unreachable!("answers follow their step")
        };
        match answer {
            Ok(Some(entry)) => match self.inner.freshness(entry.created_ms) {
                Freshness::Fresh => return self.found(entry, tier),
                Freshness::Stale if pass == Pass::First && self.goal == Goal::Compute => {
                    self.stale.get_or_insert(entry.value);
                }
                Freshness::Stale | Freshness::Expired => {}
            },
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
    /// keeping its creation time, so that a ttl counts from when the value was computed.
    #[inline]
    fn found(&mut self, entry: Entry<V>, tier: usize) {
        let inner = self.inner;
        inner.stats.hit(inner.backends[tier].name());
        // Copied into the earlier tiers only if no invalidation came since the call started.
        let Some(storing) = inner.flights.begin_store(self.hash, self.generation) else {
            return self.finish(entry.value);
        };
        self.storing = Some(storing);
        if let Some(memory) = &inner.memory {
            memory.insert(
                self.call.key.to_key(),
                entry.value.clone(),
                entry.created_ms,
            );
        }
        self.state = State::Write {
            entry,
            tier: 0,
            upto: tier,
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
        }
    }

    /// Single-flight: lead the computation of this key, or wait for its leader.
    #[inline]
    fn join(&mut self) {
        match self.inner.flights.join(self.hash, self.call.key) {
            Role::Leader(leader) => {
                self.leader = Some(leader);
                self.look_again(Pass::AfterJoin);
            }
            Role::Waiter(flight) => self.state = State::Wait(flight),
        }
    }

    /// How the wait for another caller ended.
    #[inline]
    pub(super) fn waited(&mut self, outcome: Outcome<V>) {
        let State::Wait(flight) = std::mem::replace(&mut self.state, State::Compute) else {
            unreachable!("answers follow their step")
        };
        match outcome {
            Outcome::Value(value) => self.finish(self.inner.hit(value)),
            // The leader failed: start again; one of the waiters leads the next attempt.
            Outcome::Failed => self.begin_round(self.inner.lookup_memory(self.call.key)),
            Outcome::TimedOut => {
                tracing::warn!(
                    namespace = %self.inner.namespace(),
                    "waited {:?} for another caller computing this key; computing it here",
                    self.inner.wait_timeout
                );
                flight.abandon();
            }
            Outcome::Reentrant => tracing::warn!(
                namespace = %self.inner.namespace(),
                "the function computing this key asked for the same key; computing it again here"
            ),
        }
    }

    /// The leader takes the cross-process lock, when there is one, before computing.
    #[inline]
    fn plan_lock(&mut self) {
        let inner = self.inner;
        self.state = State::Compute;
        // A tier is down, or the flight this one replaced is stuck, perhaps holding the lock:
        // waiting for it would cost more than computing.
        let stuck = self.leader.as_ref().is_some_and(Leader::after_abandoned);
        if self.down != 0 || stuck {
            return;
        }
        if let (Some(_), Some(key)) = (&inner.flight_lock, self.key) {
            self.lock_name = Some(self.call.lock_name(&inner.naming, key.key));
            self.state = State::Lock;
        }
    }

    /// How taking the cross-process lock went. Whatever happened, the caller computes unless the
    /// lock's previous holder stored the value: a lock that fails costs a duplicate call, never a
    /// failed one.
    #[inline]
    pub(super) fn locked(&mut self, locked: Result<Option<FlightGuard<'a>>>) {
        self.state = State::Compute;
        match locked {
            Ok(Some(guard)) => {
                self.held = Some(guard);
                self.look_again(Pass::AfterLock);
            }
            Ok(None) => tracing::warn!(
                namespace = %self.inner.namespace(),
                "waited for another process computing this key; computing it here"
            ),
            Err(e) => self.inner.report("lock", "lock", &e),
        }
    }
}
