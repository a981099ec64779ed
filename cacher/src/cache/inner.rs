//! What a [`Cache`](super::Cache) shares between its clones: its configuration, its tiers and
//! its counters, with the small decisions every path makes the same way (is an entry fresh, how a
//! failure is reported, what a memory lookup found).

use std::hash::Hash;
use std::time::Duration;

use hashbrown::DefaultHashBuilder;

use super::call::{Call, Naming};
use super::claim::Refreshing;
use super::flight::Flights;
use super::stats::Counters;
use crate::backend::{
    Absence, Displaced, Inserted, MemoryBackend, PersistentBackend, Tier, hash_key,
};
use crate::callback::Callback;
use crate::clock::Clock;
use crate::entry::Stamp;
use crate::error::Error;
use crate::key::KeyRef;
use crate::lock::FlightLock;
use crate::policy::{Freshness, Outages, RateLimiter, TtlPolicy};

/// A value's own ttl (`ttl_fn`): `None` keeps the cache's. Boxed, not shared: an `Arc`'s drop
/// compiled three functions more per value type.
pub(super) type TtlFn<V> = Box<dyn Fn(&V) -> Option<Duration> + Send + Sync>;

/// A cache's parts, behind its `Arc`. `repr(C)` for [`Shared::id`]: `shared` first, its address
/// is the `Arc`'s own, which a hit's control check then reads without an offset.
#[repr(C)]
pub(super) struct Inner<K, V> {
    /// What does not depend on the key and value types: the miss path's core reads only this.
    pub(super) shared: Shared,
    pub(super) memory: Option<MemoryBackend<K, V>>,
    pub(super) backends: Vec<Box<dyn PersistentBackend<V>>>,
    pub(super) ttl_fn: Option<TtlFn<V>>,
    pub(super) flights: Flights,
}

/// The parts of a cache that depend on neither the key nor the value type, and the code that
/// reads them, compiled once in cacher rather than once per cache type. Typed code reaches it as
/// `inner.shared`: `Inner` has no `Deref` to it, which was a function per cache type in a debug
/// build, called at each use (compile time).
pub(super) struct Shared {
    /// How many persistent tiers the cache has (`Inner::backends`' length), read without the
    /// vector's methods, which are functions per value type in a debug build (compile time).
    pub(super) tiers: usize,
    pub(super) naming: Naming,
    pub(super) ttl: TtlPolicy,
    /// Whether entries can age at all: without, a memory hit reads no clock.
    pub(super) timed: bool,
    pub(super) outages: Outages,
    pub(super) refreshing: Refreshing,
    pub(super) rate_limiter: Option<RateLimiter>,
    pub(super) flight_lock: Option<Box<dyn FlightLock>>,
    pub(super) clock: Clock,
    pub(super) wait_timeout: Duration,
    pub(super) stats: Counters,
    pub(super) hasher: KeyHasher,
}

/// How a cache hashes its keys for its flights and generations: as its memory tier does (a
/// [`Default`] one is [`Tier::key_hasher`]), so that a miss hashes its key once.
pub(super) struct KeyHasher(DefaultHashBuilder);

impl Default for KeyHasher {
    fn default() -> Self {
        Self(Tier::key_hasher())
    }
}

/// What the memory tier holds for a key.
///
/// A fresh entry apart, for the hit's one test; the other ages' values in one variant with their
/// [`Age`], rather than a variant per age: every reader of a value (the shell's `keep`, a
/// fallback's look) is then two arms, not four, in each cache type's copy (compile time).
pub(super) enum Memory<V> {
    /// A fresh entry: a hit.
    Fresh(V),
    /// An entry past its ttl or due a touch, and its value: never [`Age::Fresh`] (that is
    /// [`Fresh`](Memory::Fresh)) nor [`Age::Expired`] (that is [`Absent`](Memory::Absent)).
    Held(Age, V),
    /// Nothing servable (or no memory tier).
    Absent,
    /// No entry at all, and what the lookup saw of it: [`Tier::still_absent`] says, without a
    /// lock, whether that is still so.
    Missing(Absence),
}

impl<K, V> Inner<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The memory tier's answer from its shared table, out of line: for the rare paths (a look
    /// again after a shard changed, a failed leader's waiters, the per-call controls, a refresh),
    /// where one copy serves every caller and the threads' indexes are not needed (they only
    /// hold entries the shared table has).
    /// `hashed` gets the key's [`flight_hash`](Self::flight_hash), as
    /// [`lookup_memory_inline`](Self::lookup_memory_inline)'s does.
    #[inline(never)]
    pub(super) fn lookup_memory<Q: KeyRef<K> + ?Sized>(
        &self,
        key: &Q,
        hashed: &mut u64,
    ) -> Memory<V> {
        let Some(memory) = &self.memory else {
            *hashed = self.flight_hash(key);
            return Memory::Absent;
        };
        let hash = self.flight_hash(key);
        *hashed = hash;
        self.answer::<Q>(memory.get_shared(hash, key))
    }

    /// The memory tier's answer, this thread's index first, inlined whole into the hit paths
    /// (`try_get_or_compute`, its async form, `get`) in a build without debug assertions: kept
    /// small enough for it. `hashed` gets the key's [`flight_hash`](Self::flight_hash), for the
    /// miss to go on with: a miss hashes its key once. (Set here, after the tier is found, rather
    /// than taken in or returned beside the answer: hashing before the tier's test cost a
    /// `String` hit 2 instructions, a pair 50 lines of debug IR per cache type.)
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn lookup_memory_inline<Q: KeyRef<K> + ?Sized>(
        &self,
        key: &Q,
        hashed: &mut u64,
    ) -> Memory<V> {
        let Some(memory) = &self.memory else {
            *hashed = self.flight_hash(key);
            return Memory::Absent;
        };
        let hash = self.flight_hash(key);
        *hashed = hash;
        // The index's answer apart from the shared table's: its entry's times go to the stack
        // (for `classify`) only if the cache has a ttl; merged, they went there on every hit.
        if let Some(found) = memory.get_indexed(hash, key) {
            return self.answer::<Q>(Ok(found));
        }
        self.answer::<Q>(memory.get_shared(hash, key))
    }

    /// What a lookup with the key form `Q` found, as the miss path reads it.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn answer<Q: KeyRef<K> + ?Sized>(&self, found: Result<(V, Stamp), Absence>) -> Memory<V> {
        // A form that says the cache ages nothing ([`KeyRef::TIMED`]) compiles no `classify`: a
        // `match` on the constant alone, which the build skips when it is false.
        let found = match Q::TIMED {
            true => found,
            false => return fresh(found),
        };
        match found {
            // Without a ttl every entry is fresh: no clock to read, and the hit inlines whole.
            Ok((value, _)) if !self.shared.timed => Memory::Fresh(value),
            Ok((value, stamp)) => self.classify(value, stamp),
            Err(absence) => Memory::Missing(absence),
        }
    }

    /// A memory entry under a ttl or idle time: fresh, due a touch, stale or expired (decided
    /// by [`Shared::age`], compiled once).
    #[inline(never)]
    fn classify(&self, value: V, stamp: Stamp) -> Memory<V> {
        match self.shared.age(stamp) {
            Age::Fresh => Memory::Fresh(value),
            Age::Expired => Memory::Absent,
            age => Memory::Held(age, value),
        }
    }

    /// The persistent tiers a call with the key form `Q` reaches: all of them, or none for a
    /// form that says the cache has none ([`KeyRef::PERSISTENT`]: the miss path of such a call
    /// is compiled without the tiers' code, behind `Q::PERSISTENT`), which a cache with
    /// persistent tiers refuses.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn tiers_for<Q: KeyRef<K> + ?Sized>(&self) -> usize {
        match Q::PERSISTENT {
            true => self.shared.tiers,
            false if self.shared.tiers == 0 => 0,
            false => memory_only(self.shared.tiers),
        }
    }

    /// The hash of `key` in the map of flights and their generations, and in the memory tier
    /// ([`KeyHasher`]): a miss hashes its key once, for the lookup, the flight and the insert.
    #[inline]
    pub(super) fn flight_hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        hash_key(&self.shared.hasher.0, key)
    }

    /// Whether `value`'s own ttl (`ttl_fn`) is zero: no read would accept it, so it is stored
    /// nowhere.
    pub(super) fn discards(&self, value: &V) -> bool {
        // `match`es here: `is_some_and`, `?` and their closures are each a function more per
        // cache type in a debug build (compile time).
        match self.ttl_of(value) {
            Some(ttl) => ttl.is_zero(),
            None => false,
        }
    }

    /// The value's own ttl (`ttl_fn`); a `ttl_fn` that panics gives zero: the value is then its
    /// callers' only, and the panic costs no caller its value.
    pub(super) fn ttl_of(&self, value: &V) -> Option<Duration> {
        match &self.ttl_fn {
            Some(ttl_fn) => ttl_guarded(self.shared.namespace(), &TtlOf(ttl_fn, value)),
            None => None,
        }
    }
}

/// How old a memory entry is ([`Shared::age`]).
#[derive(Clone, Copy)]
pub(super) enum Age {
    Fresh,
    /// Fresh, and its use is due to be recorded (`time_to_idle`).
    Touch,
    Revalidate,
    Stale,
    Expired,
}

impl Shared {
    /// A memory insert's outcome taken in: its evictions counted, what it replaced or evicted
    /// kept in `displaced` (dropped once the store is done); whether it stored nothing. Of the
    /// untyped parts, out of the shell's insert: its moves and drops were each a copy per cache
    /// type (compile time).
    #[cfg_attr(not(debug_assertions), inline)]
    pub(super) fn inserted(&self, inserted: Inserted, displaced: &mut Option<Displaced>) -> bool {
        if inserted.evicted > 0 && !self.was_expired(inserted.displaced.as_ref()) {
            self.stats.evicted("memory", inserted.evicted);
        }
        *displaced = inserted.displaced;
        inserted.skipped
    }

    /// Whether an entry the memory tier evicted had expired (past its ttl and every window):
    /// not an eviction, which says that the bound cost an entry still of use.
    #[cold]
    fn was_expired(&self, evicted: Option<&Displaced>) -> bool {
        match evicted {
            Some(evicted) if self.timed => matches!(self.age(evicted.stamp()), Age::Expired),
            _ => false,
        }
    }

    /// A memory hit, counted. Of the untyped parts: a method of `Inner` that took and gave back
    /// the value would be a function per cache type in a debug build (compile time).
    #[inline]
    pub(super) fn hit(&self) {
        self.stats.hit("memory");
    }

    /// What tells this cache's controls from other caches' (clones share it): where its
    /// untyped parts are. Read as `cache.inner.shared.id()`, not through a method of `Cache`,
    /// which would be two functions more per cache type in a debug build (compile time).
    pub(super) fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// How old an entry with `stamp` is now. `#[inline]`: one copy in a user's crate, not one per
    /// cache type, inlined into the memory lookup of a cache with a ttl.
    #[inline]
    fn age(&self, stamp: Stamp) -> Age {
        let now_ms = self.clock.now_ms();
        match self.ttl.freshness(stamp, now_ms) {
            Freshness::Fresh if self.ttl.touch_due(stamp, now_ms) => Age::Touch,
            Freshness::Fresh => Age::Fresh,
            Freshness::Revalidate => Age::Revalidate,
            Freshness::Stale => Age::Stale,
            Freshness::Expired => Age::Expired,
        }
    }

    /// A call's persistent key as the miss path keeps it: the key, or the error (reported).
    fn key_made<'a>(&self, made: Result<&'a str, Error>) -> (Option<&'a str>, Option<Error>) {
        match made {
            Ok(key) => (Some(key), None),
            Err(e) => {
                self.report("all", "key", &e);
                (None, Some(e))
            }
        }
    }

    /// Logs a tier's failure and counts it; the caller carries on as if it were a miss.
    pub(super) fn report(&self, tier: &str, op: &str, error: &Error) {
        report(&self.stats, &self.naming.namespace, tier, op, error);
    }

    /// How long an invalidation waits for a store of its key already under way: 10 seconds,
    /// whatever the `wait_timeout` (which bounds a caller's wait for another's computation, not
    /// for a store that a removal must not overtake). A store is one write per tier, each bounded
    /// by its backend's own timeouts; this bounds one without.
    pub(super) fn store_wait(&self) -> Duration {
        Duration::from_secs(10)
    }

    pub(super) fn namespace(&self) -> &str {
        &self.naming.namespace
    }
}

impl<K, V> Inner<K, V> {
    /// The keyer's key of `call`'s persistent entry, or `None` without persistent tiers or when
    /// the key cannot be made (then reported, and kept as the error `insert` returns).
    pub(super) fn persistent_key<'a, Q>(
        &self,
        call: &'a Call<'a, Q>,
    ) -> (Option<&'a str>, Option<Error>)
    where
        Q: KeyRef<K> + ?Sized,
    {
        if self.shared.tiers == 0 {
            return (None, None);
        }
        self.shared.key_made(call.persistent_key())
    }
}

/// [`Shared::report`], compiled once rather than per key and value types.
#[inline(never)]
fn report(stats: &Counters, namespace: &str, tier: &str, op: &str, error: &Error) {
    stats.error(tier);
    tracing::warn!(
        namespace = %namespace,
        tier,
        "cache {op} failed, carrying on without it: {error}"
    );
}

/// What a lookup found in a cache that ages no entry: every entry is fresh.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
fn fresh<V>(found: Result<(V, Stamp), Absence>) -> Memory<V> {
    match found {
        Ok((value, _)) => Memory::Fresh(value),
        Err(absence) => Memory::Missing(absence),
    }
}

/// A memory-only key form used with a cache that has `tiers` persistent tiers
/// ([`Inner::tiers_for`]).
#[cold]
fn memory_only(tiers: usize) -> ! {
    panic!(
        "a key form made for a cache without persistent tiers was used with one that has {tiers} \
         (a cacher bug)"
    )
}

/// A value's own ttl, asked of its `ttl_fn` by [`ttl_guarded`]: a [`Callback`] of its own, one
/// function per value type, where a closure in `Inner::ttl_of` was two per cache type.
struct TtlOf<'a, V>(&'a TtlFn<V>, &'a V);

impl<V> Callback<(), Option<Duration>> for TtlOf<'_, V> {
    fn run(&self, (): ()) -> Option<Duration> {
        (self.0)(self.1)
    }
}

/// `ttl` asked, its panic caught (a zero ttl then). Behind a `dyn`: one copy of the unwinding
/// code for every cache type; a [`Callback`], not a `dyn Fn`, whose vtable would compile the
/// closure's `call_once` and its shim per cache type.
fn ttl_guarded(namespace: &str, ttl: &dyn Callback<(), Option<Duration>>) -> Option<Duration> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ttl.run(()))).unwrap_or_else(|_| {
        tracing::warn!(namespace, "ttl_fn panicked; the value is not stored");
        Some(Duration::ZERO)
    })
}

#[cfg(test)]
mod tests {
    use crate::Cache;
    use crate::key::Borrowed;

    /// A miss hashes its key once: the memory lookup's hash goes on to the flight, the
    /// generation and the memory insert, so the flights' hasher must be the tier's.
    #[test]
    fn the_flights_hash_a_key_as_the_memory_tier_does() {
        let cache: Cache<String, u32> = Cache::builder().build().unwrap();
        let inner = &*cache.inner;
        let memory = inner.memory.as_ref().expect("a memory tier");
        for key in ["", "a", "/api/v1/users/7/profile"] {
            let form = Borrowed::<str, String, _>::new(key);
            assert_eq!(inner.flight_hash(&form), memory.hash(&form));
            assert_eq!(inner.flight_hash(&key.to_owned()), memory.hash(&form));
        }
    }
}
