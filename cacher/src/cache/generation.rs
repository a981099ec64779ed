//! Which computations may still store their value: invalidation (`remove`, `insert`, `clear`)
//! against stores already under way.
//!
//! Keys hash to one of [`STRIPES`] stripes, each with a *generation* that every invalidation of
//! a key of the stripe bumps (`clear` bumps one epoch for all), and a count of stores in progress.
//! A call notes the generation when it starts; before it stores a value (computed, or copied from
//! a later tier into earlier ones) it counts itself as storing, then checks the generation: if an
//! invalidation came in between, it stores nothing (its caller still gets the value). An
//! invalidation bumps the generation, then waits (bounded) until the stripe has no store in
//! progress. Both sides write, then read the other's word, sequentially consistent: either the
//! store sees the new generation and skips, or the invalidation sees the store and waits for it,
//! then removes or overwrites what it wrote. So once `remove` returns, no value computed before
//! it is stored after it, and no reader finds one.
//!
//! A store to the memory tier alone is not counted: it asks [`Generations::admits`] under the
//! key's shard's write lock, where every invalidation reaches that tier after moving the
//! generation (a removal or clear takes the key out, an insert or a forced refresh writes it:
//! each under that lock). Either the store holds the lock first, and the invalidation's own
//! write comes after it, or it comes after, and sees the generation moved. (A forced refresh
//! whose function fails writes nothing: a store that held the lock as it began may end just
//! after it returns, as a counted one would have ended just before — the same value, left by a
//! refresh that replaced nothing.) It saves a memory-only miss two locked instructions.
//!
//! Two keys of one stripe only cost each other a skipped store of a computed value, never a wrong
//! value; an `insert`'s own value is stored all the same, alone in its stripe while it writes
//! ([`Generations::begin_insert`]); a forced refresh's, whose refusal would leave the value it
//! replaces in place, is refused only for an invalidation of its own key (or a clear), told from
//! the other keys' by the watch it keeps on its stripe while it runs ([`watch`],
//! [`Generations::watch`]): every move of the stripe is marked on it as its key's or another's.

mod mine;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

#[cfg(feature = "tokio")]
use crate::future::BoxFuture;
#[cfg(feature = "tokio")]
pub(crate) use mine::Mine;
use watch::{Verdict, Watches};

/// Stripes: enough that unrelated keys rarely skip each other's stores.
const STRIPES: usize = 256;

/// How long a forced refresh's check waits for the mark of a move its stripe made
/// ([`Generations::untouched`]): the mark comes a few instructions after the move.
const PENDING: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Stripe {
    generation: AtomicU64,
    storing: AtomicU32,
    /// Removals of this stripe's keys under way ([`Generations::removal`]): no store begins
    /// meanwhile.
    removing: AtomicU32,
    /// The forced refreshes of this stripe's keys under way, and which keys moved `generation`
    /// since each began.
    watches: Watches,
    /// Invalidations of this stripe's keys that waited out their bound for its stores under
    /// way and went on without them ([`Storing::went_on`]).
    went_on: AtomicU64,
}

impl Stripe {
    /// Invalidates `hash`'s key, one of this stripe's: moves the generation, and marks whose
    /// move it was on the refreshes watching it.
    fn invalidate(&self, hash: u64) {
        let from = self.generation.fetch_add(1, SeqCst);
        self.watches.moved(from, hash);
    }

    /// Ends a store of `hash`'s key ([`Storing`], [`Handed`]).
    fn end(&self, hash: u64, exclusive: bool) {
        if exclusive {
            // The generation moves before stores are let in: a call that started during the
            // insert (and may have read the value it replaced) stores nothing.
            self.invalidate(hash);
            self.removing.fetch_sub(1, SeqCst);
        }
        self.storing.fetch_sub(1, SeqCst);
    }
}

/// The stripe of `hash`'s key.
fn stripe_of(stripes: &[Stripe; STRIPES], hash: u64) -> &Stripe {
    &stripes[stripe_index(hash)]
}

/// The place of `hash`'s key's stripe.
fn stripe_index(hash: u64) -> usize {
    // The flights' table uses the low bits of the hash; take high ones.
    (hash >> 56) as usize % STRIPES
}

/// What tells one cache's generations from another's, on this thread's list of its stores
/// ([`mine`]): their stripes' address, which the stores handed over share.
fn id_of(stripes: &Arc<[Stripe; STRIPES]>) -> usize {
    Arc::as_ptr(stripes).addr()
}

pub(crate) struct Generations {
    /// Shared with the stores handed over ([`Handed`]), which end themselves.
    stripes: Arc<[Stripe; STRIPES]>,
    epoch: AtomicU64,
    /// Clears under way ([`Generations::removal_all`]): no store begins meanwhile.
    clearing: AtomicU32,
    /// Clears that waited out their bound for stores under way and went on without them
    /// ([`Storing::went_on`]); an invalidation of one key counts on its stripe.
    went_on: AtomicU64,
}

/// What a call saw when it started: its stripe's generation and the epoch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Generation {
    stripe: u64,
    epoch: u64,
}

/// A store in progress: invalidations of its stripe wait until it drops.
pub(crate) struct Storing<'a> {
    generations: &'a Generations,
    /// Its key's hash: its stripe's place, and whose invalidation its end is (`exclusive`).
    hash: u64,
    /// An insert's store, which holds off every other store of its stripe while it writes, and
    /// invalidates the stripe again when it ends (as a removal does).
    exclusive: bool,
    /// The counts of invalidations that went on without the stores they waited for, of its
    /// stripe and of clears, when this store began ([`Storing::went_on`]).
    went_on: (u64, u64),
}

/// A store in progress handed to the thread that makes its writes (an async call's,
/// `drive.rs` `write_all`): counted as under way until it drops, wherever that is — the writes
/// made, or a job that panicked or was dropped unrun — so that no invalidation of its stripe
/// waits out its bound for a store that is over.
#[cfg(feature = "tokio")]
pub(crate) struct Handed {
    stripes: Arc<[Stripe; STRIPES]>,
    hash: u64,
    exclusive: bool,
    /// [`Storing::went_on`]'s counts when the store began.
    went_on: (u64, u64),
}

#[cfg(feature = "tokio")]
impl Storing<'_> {
    /// Keeps the store counted as under way past this guard, until the [`Handed`] drops.
    pub(crate) fn hand_over(self) -> Handed {
        let handed = Handed {
            stripes: Arc::clone(&self.generations.stripes),
            hash: self.hash,
            exclusive: self.exclusive,
            went_on: self.went_on,
        };
        mine::ended(self.generations.id(), self.hash);
        std::mem::forget(self);
        handed
    }
}

impl Storing<'_> {
    /// Whether an invalidation went on without the stores it waited for since this one began:
    /// it may have cleared the tiers already, so this store must not write them any more.
    pub(crate) fn went_on(&self) -> bool {
        self.generations.went_on_since(self.hash, self.went_on)
    }
}

impl Drop for Storing<'_> {
    fn drop(&mut self) {
        mine::ended(self.generations.id(), self.hash);
        (self.generations.stripe(self.hash)).end(self.hash, self.exclusive);
    }
}

#[cfg(feature = "tokio")]
impl Handed {
    /// While the thread that makes the store's writes makes them: the store is its own
    /// ([`Generations::storing_here`]).
    pub(crate) fn on_this_thread(&self) -> Mine {
        Mine::new(id_of(&self.stripes), self.hash, self.exclusive)
    }
}

#[cfg(feature = "tokio")]
impl Drop for Handed {
    fn drop(&mut self) {
        stripe_of(&self.stripes, self.hash).end(self.hash, self.exclusive);
    }
}

/// A removal under way ([`Generations::removal`]); dropped once the tiers are cleared (or the
/// removal panicked), it invalidates again and lets stores begin.
pub(crate) struct Removal<'a> {
    generations: &'a Generations,
    /// The removed key's stripe and hash; `None` for a clear.
    key: Option<(&'a Stripe, u64)>,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        // The generation moves before stores are let in: a call that started during the removal
        // and begins its store after it finds its generation gone.
        match self.key {
            Some((stripe, hash)) => {
                stripe.invalidate(hash);
                stripe.removing.fetch_sub(1, SeqCst);
            }
            None => {
                self.generations.epoch.fetch_add(1, SeqCst);
                self.generations.clearing.fetch_sub(1, SeqCst);
            }
        }
    }
}

/// A forced refresh's watch of its key's stripe ([`Generations::watch`]), kept while it runs:
/// ended when dropped.
pub(crate) struct Watched<'a> {
    stripe: &'a Stripe,
    hash: u64,
    id: u64,
    /// The key's generation when the watch began.
    seen: Generation,
}

impl Watched<'_> {
    /// The key's generation when the watch began: the refresh's.
    pub(crate) fn generation(&self) -> Generation {
        self.seen
    }
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        self.stripe.watches.unwatch(self.id);
    }
}

impl Generations {
    pub(crate) fn new() -> Self {
        Self {
            stripes: Arc::new(std::array::from_fn(|_| Stripe::default())),
            epoch: AtomicU64::new(0),
            clearing: AtomicU32::new(0),
            went_on: AtomicU64::new(0),
        }
    }

    fn stripe(&self, hash: u64) -> &Stripe {
        stripe_of(&self.stripes, hash)
    }

    /// Whether an invalidation waited out its bound for stores under way and went on without
    /// them since the store `handed` over began ([`Storing::went_on`], counted): its writes must
    /// not be made, a removal may have cleared the tiers before them.
    #[cfg(feature = "tokio")]
    pub(crate) fn went_on(&self, handed: &Handed) -> bool {
        self.went_on_since(handed.hash, handed.went_on)
    }

    /// The counts of invalidations that went on without the stores they waited for, of
    /// `hash`'s stripe and of clears: a store's, when it begins.
    fn went_on_now(&self, hash: u64) -> (u64, u64) {
        let stripe = self.stripe(hash).went_on.load(SeqCst);
        (stripe, self.went_on.load(SeqCst))
    }

    /// Whether an invalidation of `hash`'s stripe, or a clear, went on without the stores it
    /// waited for since the counts were `then`: another key's, elsewhere, does not count — an
    /// insert of that key must still write every tier.
    fn went_on_since(&self, hash: u64, then: (u64, u64)) -> bool {
        self.went_on_now(hash) != then
    }

    /// A store of `hash`'s key that begins (counted by the caller), this thread's
    /// ([`Mine`]) until it ends or is handed over.
    fn storing(&self, hash: u64, exclusive: bool) -> Storing<'_> {
        mine::began(self.id(), hash, exclusive);
        Storing {
            generations: self,
            hash,
            exclusive,
            went_on: self.went_on_now(hash),
        }
    }

    fn id(&self) -> usize {
        id_of(&self.stripes)
    }

    /// Whether this thread has a store of `hash`'s key under way (`None`: of any key), in whose
    /// user code (a key's or value's `Clone`, `Serialize`) it runs now: an invalidation of that
    /// key from there could not wait for the store, which would then land over it.
    pub(crate) fn storing_here(&self, hash: Option<u64>) -> bool {
        mine::count(self.id(), |stored, _| {
            hash.is_none_or(|hash| stored == hash)
        }) > 0
    }

    /// Whether no store of `hash`'s stripe is under way but this thread's own ([`mine`]),
    /// which cannot end while it waits: what an invalidation of the stripe waits for.
    fn others_done(&self, hash: u64) -> impl Fn() -> bool + '_ {
        let index = stripe_index(hash);
        let own = mine::count(self.id(), |stored, _| stripe_index(stored) == index);
        let stripe = self.stripe(hash);
        move || stripe.storing.load(SeqCst) <= own
    }

    /// Waits until the stores under way of `hash`'s stripe (`None`: of every stripe, for a
    /// clear) are done, at most the deadline's bound; one that goes on without them is counted
    /// there ([`Storing::went_on`]).
    fn wait_for_stores(&self, deadline: &mut Deadline, hash: Option<u64>, done: impl Fn() -> bool) {
        if !wait_for(deadline, done) {
            self.went_on_without(hash);
        }
    }

    /// An invalidation of `hash`'s stripe (`None`: a clear) went on without its stores.
    fn went_on_without(&self, hash: Option<u64>) {
        match hash {
            Some(hash) => self.stripe(hash).went_on.fetch_add(1, SeqCst),
            None => self.went_on.fetch_add(1, SeqCst),
        };
    }

    /// The generation of `hash`'s key now.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn current(&self, hash: u64) -> Generation {
        Generation {
            stripe: self.stripe(hash).generation.load(SeqCst),
            epoch: self.epoch.load(SeqCst),
        }
    }

    /// Starts a forced refresh's watch of `hash`'s key ([`Watched`]): the moves of its stripe
    /// from now on are marked on it as its key's or another's, until it drops. Begun after the
    /// refresh's own invalidation of the key, which is not its to see.
    pub(crate) fn watch(&self, hash: u64) -> Watched<'_> {
        let stripe = self.stripe(hash);
        let (id, seen) = stripe.watches.watch(hash, &stripe.generation);
        Watched {
            stripe,
            hash,
            id,
            seen: Generation {
                stripe: seen,
                epoch: self.epoch.load(SeqCst),
            },
        }
    }

    /// Whether `watched`'s key is as its refresh found it: no clear since nor under way, and no
    /// invalidation of the key since — those of the other keys of its stripe do not count,
    /// however many. A move whose mark is still to come is waited for, at most [`PENDING`]
    /// (the thread that moved it is between two instructions); then it counts as the key's.
    fn untouched(&self, watched: &Watched<'_>) -> bool {
        let (stripe, seen) = (watched.stripe, watched.seen);
        if self.epoch.load(SeqCst) != seen.epoch || self.clearing.load(SeqCst) != 0 {
            return false;
        }
        if stripe.generation.load(SeqCst) == seen.stripe {
            return true;
        }
        let (mut deadline, mut spins) = (Deadline::new(PENDING), 0);
        loop {
            match stripe.watches.verdict(watched.id, &stripe.generation) {
                Verdict::Others => return true,
                Verdict::Own => return false,
                Verdict::Pending if deadline.passed() => return false,
                Verdict::Pending => back_off(&mut spins),
            }
        }
    }

    /// Starts a store of a value of `hash`'s key by a call that started at `seen`: `None` when
    /// the key was invalidated since, and nothing may be stored.
    pub(crate) fn begin_store(&self, hash: u64, seen: Generation) -> Option<Storing<'_>> {
        self.stripe(hash).storing.fetch_add(1, SeqCst);
        let storing = self.storing(hash, false);
        self.admits(hash, seen).then_some(storing)
    }

    /// Whether a value of `hash`'s key, by a call that started at `seen`, may be stored now: no
    /// invalidation of its stripe since, and no removal or clear under way. Asked by
    /// [`begin_store`](Self::begin_store) once the store is counted, or, for a store to the
    /// memory tier alone, under the key's shard's write lock without counting it (see the
    /// module's doc).
    pub(crate) fn admits(&self, hash: u64, seen: Generation) -> bool {
        let stripe = self.stripe(hash);
        stripe.removing.load(SeqCst) == 0
            && self.clearing.load(SeqCst) == 0
            && stripe.generation.load(SeqCst) == seen.stripe
            && self.epoch.load(SeqCst) == seen.epoch
    }

    /// Starts an `insert`'s store: a value that stands whatever was invalidated since its call
    /// started, written while no other store of its stripe begins. It waits until no removal of
    /// the stripe (nor a clear, nor another insert) is under way, claims the stripe as a removal
    /// does, invalidates it and waits for the stores under way; when the store ends
    /// ([`Storing`]'s drop) it invalidates again. So two inserts of one key store one after the
    /// other, each in every tier; an insert and a removal of one key happen in one order; and no
    /// call that started before or during the insert stores after it (its value may have been
    /// read before the insert wrote). After `bound` of waiting it begins all the same (a hung
    /// tier may then leave values of two writers in different tiers: never an older value than
    /// both).
    pub(crate) fn begin_insert(&self, hash: u64, bound: Duration) -> Storing<'_> {
        let mut deadline = Deadline::new(bound);
        let stripe = self.stripe(hash);
        self.claim(hash, &mut deadline);
        stripe.invalidate(hash);
        self.wait_for_stores(&mut deadline, Some(hash), self.others_done(hash));
        stripe.storing.fetch_add(1, SeqCst);
        self.storing(hash, true)
    }

    /// Starts a forced refresh's store, by the refresh `watched` watches: `None` when its key
    /// was invalidated since it began, or a clear was; not for the other keys of its stripe
    /// ([`untouched`](Self::untouched)): a refused refresh leaves the value it was asked to
    /// replace in place, served for its ttl. Else as an insert's
    /// ([`begin_insert`](Self::begin_insert)), claiming the stripe: stores under way are waited
    /// for, none begins while it writes, and its end invalidates the stripe. A refresh joins no
    /// flight, so a call that started after its invalidation may have read the value it replaces
    /// from a tier not yet written: that call never copies it back after the refresh.
    ///
    /// The generation is checked again once the store is counted, in the order of
    /// [`begin_store`](Self::begin_store): an invalidation that waited beside it for the same
    /// stores under way saw none when they ended (this one not counted yet), and clears the
    /// tiers; it has moved the generation, so the store sees it and skips, or is seen and
    /// waited for.
    ///
    /// A removal (or clear, or insert) under way when it begins is waited for first, as an
    /// insert waits: the refresh may have started after the removal's first move, and its key
    /// then looks untouched, while the removal has yet to clear the tiers and move it again.
    pub(crate) fn begin_refresh(
        &self,
        watched: &Watched<'_>,
        bound: Duration,
    ) -> Option<Storing<'_>> {
        let stripe = watched.stripe;
        let unchanged = || self.untouched(watched);
        let mut deadline = Deadline::new(bound);
        self.claim(watched.hash, &mut deadline);
        if !unchanged() {
            stripe.removing.fetch_sub(1, SeqCst);
            return None;
        }
        let hash = watched.hash;
        self.wait_for_stores(&mut deadline, Some(hash), self.others_done(hash));
        stripe.storing.fetch_add(1, SeqCst);
        if !unchanged() {
            stripe.storing.fetch_sub(1, SeqCst);
            stripe.removing.fetch_sub(1, SeqCst);
            return None;
        }
        Some(self.storing(watched.hash, true))
    }

    /// Claims `hash`'s stripe for a store that no other may begin beside (an insert's, a
    /// forced refresh's): waits until no removal, clear, insert or refresh of it is under way
    /// but this thread's own stores (which cannot end meanwhile), then counts itself as one.
    /// After the deadline's bound it goes on, counted all the same.
    fn claim(&self, hash: u64, deadline: &mut Deadline) {
        let stripe = self.stripe(hash);
        let index = stripe_index(hash);
        let own = mine::count(self.id(), |stored, exclusive| {
            exclusive && stripe_index(stored) == index
        });
        let claimed = || {
            self.clearing.load(SeqCst) == 0
                && stripe
                    .removing
                    .compare_exchange(own, own + 1, SeqCst, SeqCst)
                    .is_ok()
        };
        let mut spins = 0;
        while !claimed() {
            if deadline.passed() {
                let bound = deadline.bound;
                tracing::warn!("waited {bound:?} for a removal or insert in progress; going on");
                stripe.removing.fetch_add(1, SeqCst);
                return;
            }
            back_off(&mut spins);
        }
    }

    /// Invalidates `hash`'s key for a removal from the tiers: as [`invalidate`](Self::invalidate),
    /// and until the returned guard is dropped (once every tier is cleared of the key) no store of
    /// the key's stripe begins; the drop invalidates again. A call that started during the removal
    /// may have read the old value from a tier not yet cleared: it never stores it, not even after.
    pub(crate) fn removal(&self, hash: u64, bound: Duration) -> Removal<'_> {
        let stripe = self.stripe(hash);
        stripe.removing.fetch_add(1, SeqCst);
        let removal = Removal {
            generations: self,
            key: Some((stripe, hash)),
        };
        self.invalidate(hash, bound);
        removal
    }

    /// [`removal`](Self::removal) of every key, for a clear.
    pub(crate) fn removal_all(&self, bound: Duration) -> Removal<'_> {
        self.clearing.fetch_add(1, SeqCst);
        let removal = Removal {
            generations: self,
            key: None,
        };
        self.invalidate_all(bound);
        removal
    }

    /// Invalidates `hash`'s key: later stores of calls that started before are skipped, and
    /// stores already under way are waited for, at most `bound`.
    pub(crate) fn invalidate(&self, hash: u64, bound: Duration) {
        self.stripe(hash).invalidate(hash);
        self.wait_for_stores(
            &mut Deadline::new(bound),
            Some(hash),
            self.others_done(hash),
        );
    }

    /// [`invalidate`](Self::invalidate) without blocking the executor (`refresh_async`). Boxed
    /// here: its poll is compiled in cacher, not in each crate whose async call awaits it.
    #[cfg(feature = "tokio")]
    pub(crate) fn invalidate_async(&self, hash: u64, bound: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.stripe(hash).invalidate(hash);
            self.stores_async(hash, bound).await;
        })
    }

    /// Waits, without blocking the executor, until no store of `hash`'s stripe is under way, at
    /// most `bound` (then goes on, counted as [`wait_for_stores`](Self::wait_for_stores) does):
    /// whether none was left.
    #[cfg(feature = "tokio")]
    async fn stores_async(&self, hash: u64, bound: Duration) -> bool {
        let stripe = self.stripe(hash);
        let done = wait_async(bound, || stripe.storing.load(SeqCst) == 0).await;
        if !done {
            self.went_on_without(Some(hash));
        }
        done
    }

    /// Waits, without blocking the executor, until `hash`'s stripe could be claimed at once
    /// ([`claim`](Self::claim): no removal, clear, insert or refresh under way) and has no store
    /// under way, each wait at most `bound`: a forced refresh's store, whose blocking claim then
    /// finds nothing to wait for but what began in between. False if a bound passed first: the
    /// blocking claim must then not wait again, on the executor's thread.
    #[cfg(feature = "tokio")]
    pub(crate) async fn claimable_async(&self, hash: u64, bound: Duration) -> bool {
        let stripe = self.stripe(hash);
        let unclaimed = || stripe.removing.load(SeqCst) == 0 && self.clearing.load(SeqCst) == 0;
        wait_async(bound, unclaimed).await && self.stores_async(hash, bound).await
    }

    /// Invalidates every key (`clear`).
    pub(crate) fn invalidate_all(&self, bound: Duration) {
        self.epoch.fetch_add(1, SeqCst);
        self.wait_for_stores(&mut Deadline::new(bound), None, || {
            self.stripes.iter().all(|s| s.storing.load(SeqCst) == 0)
        });
    }
}

/// Waits until `done`, at most the deadline's bound. A store is one write to each tier, each
/// bounded by its backend's own timeouts, so the bound is only there for a backend that has none.
/// Whether it ended done (else the bound passed).
fn wait_for(deadline: &mut Deadline, done: impl Fn() -> bool) -> bool {
    let mut spins = 0;
    while !done() {
        if deadline.passed() {
            let bound = deadline.bound;
            tracing::warn!(
                "waited {bound:?} for a store or removal in progress; going on without it"
            );
            return false;
        }
        back_off(&mut spins);
    }
    true
}

/// [`wait_for`] without blocking the executor: polls `done` every millisecond, at most `bound`.
#[cfg(feature = "tokio")]
async fn wait_async(bound: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                "waited {bound:?} for a store or removal in progress; going on without it"
            );
            return false;
        }
        crate::future::sleep(Duration::from_millis(1)).await;
    }
    true
}

/// A wait's bound, counted from its first check that finds it must wait: a wait that need not
/// wait (an insert or a removal with nothing under way, nearly always) reads no clock. (Three
/// clock reads were a percent of a store's non-durable write.)
struct Deadline {
    bound: Duration,
    start: Option<Instant>,
}

impl Deadline {
    fn new(bound: Duration) -> Self {
        Self { bound, start: None }
    }

    /// Whether `bound` has passed since the first call.
    fn passed(&mut self) -> bool {
        self.start.get_or_insert_with(Instant::now).elapsed() >= self.bound
    }
}

/// A pause in a wait for another thread's store or removal: a yield the first 64 times, then a
/// millisecond's sleep.
fn back_off(spins: &mut u32) {
    if *spins < 64 {
        *spins += 1;
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests;
