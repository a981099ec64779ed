//! A miss's operations on one persistent tier, for both drivers (the blocking steps of the
//! miss's shell, the async driver's loop and its write job): a read, the generations a store
//! hands back, and a write as its [`Put`] says, each in its `tracing` span at debug level
//! (`cacher.read`, `cacher.write` — a fill is a write — with `namespace` and `tier`).
//!
//! Untyped but for the value: one copy per value type, not per cache type, key form and
//! function as the drivers' code is (compile time).

use crate::backend::{Generation, PersistentBackend};
use crate::entry::{Entry, EntryKey};

/// How a tier's write is made ([`write_tier`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::cache) enum Put {
    /// A later tier's entry copied in: only where the tier holds none, and only if the key was
    /// not invalidated since the tier's generation was read (when it missed).
    Fill(Generation),
    /// An `insert`'s value: over any entry (the tier's generation moves).
    Insert,
    /// A computed value: only if the tier's generation is still the one read before the
    /// function ran.
    Since(Generation),
    /// A forced refresh's value, begun at the time given (ms): as [`Since`](Self::Since), and
    /// refused, the entry it was asked to replace taken out ([`write_tier`]).
    Refresh(Generation, u64),
    /// A computed value, or a fill, for a tier whose generation could not be read: not written.
    Skip,
}

/// One tier's write of a store, for both drivers (the blocking `write_step`, the async job), as
/// `put` says: the call's value, or a later tier's entry as a fill; not made when an
/// invalidation went on without the store (it writes or clears the tiers itself), and the key
/// taken out when the write ended after one did. Whether the tier took the value.
pub(in crate::cache) fn write_tier<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    (entry, put): (&Entry<V>, Put),
    went_on: &dyn Fn() -> bool,
) -> crate::Result<bool> {
    let forget = went_on();
    let wrote = match (forget, put) {
        (false, Put::Insert) => write(backend, key, entry, None),
        (false, Put::Since(seen)) => write(backend, key, entry, Some(seen)),
        (false, Put::Refresh(seen, began_ms)) => refreshed(backend, key, entry, (seen, began_ms)),
        (false, Put::Fill(seen)) => self::fill(backend, key, entry, seen),
        // Its generation unknown: a value computed before another process's invalidation
        // could land after it. The older entry it was to replace goes, as a failed write's
        // (`forget_on_failure`, and as there, a failed removal is not reported again: the
        // read's failure was): a forced refresh must not leave the value it replaces.
        (false, Put::Skip) => {
            let _ = backend.remove(key);
            Ok(false)
        }
        // The invalidation that went on writes or clears every tier itself, after: a removal
        // here would take an insert's value out of the tier (helper-116).
        (true, _) => Ok(false),
    };
    if !forget && went_on() {
        let _ = backend.remove(key);
    }
    wrote
}

/// The generations of `key` in the tiers `tiers`, but those `down` (`None`), for the blocking
/// driver; a forced refresh's (`refresh`) moved first.
pub(in crate::cache) fn generations<V: 'static>(
    backends: &[Box<dyn PersistentBackend<V>>],
    key: &EntryKey<'_>,
    (down, refresh, tiers): (u64, bool, std::ops::Range<usize>),
) -> Vec<Option<crate::Result<Generation>>> {
    let mut read = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let backend = &backends[tier];
        read.push((!down_in(down, tier)).then(|| {
            let _span = read_span(key.namespace, backend.name()).entered();
            // A forced refresh moves the key's generation first: what began before it stores
            // nothing over its value (a failed move: its value is stored in no such tier).
            match refresh {
                true => backend
                    .begin_refresh(key)
                    .and_then(|()| backend.generation(key)),
                false => backend.generation(key),
            }
        }));
    }
    read
}

/// Reads `key` from a tier, in the tier's span. Out of the drivers, which are a copy per cache
/// type, key form and function: this is one per value type (compile time). Entered rather than
/// `in_scope`, which would be one more copy for its closure.
pub(in crate::cache) fn read<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
) -> crate::Result<Option<Entry<V>>> {
    let _span = read_span(key.namespace, backend.name()).entered();
    backend.get(key)
}

/// Writes `entry` to a tier, in the tier's span; as [`read`]. A computed value (`since` its
/// generation then) only if no invalidation reached the tier since: refused, the tier keeps what
/// the invalidation left.
fn write<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    since: Option<Generation>,
) -> crate::Result<bool> {
    let _span = write_span(key.namespace, backend.name()).entered();
    let wrote = match since {
        None => backend.insert(key, entry).map(|()| true),
        Some(seen) => backend.insert_since(key, entry, seen).inspect(|&stored| {
            if !stored {
                tracing::debug!("not stored: the key was invalidated in the tier meanwhile");
            }
        }),
    };
    forget_on_failure(backend, key, wrote)
}

/// A forced refresh's write, as a computed value's ([`write()`]). Refused — the key moved in
/// the tier since the refresh began: a later refresh, another process's, or more moves of other
/// keys than the tier tells apart (`backend::generation::Moves`) — the entry the refresh was
/// asked to replace is taken out rather than left to be served, by every process, after the
/// refresh returned its value (helper-110): an entry written before the millisecond the refresh
/// began in (or unreadable). One written since (an insert's, a later refresh's, another
/// process's that began later: "the one that began last stands") stays, and so does one of the
/// refresh's own millisecond, which cannot be told from them.
fn refreshed<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    (seen, began_ms): (Generation, u64),
) -> crate::Result<bool> {
    let wrote = write(backend, key, entry, Some(seen));
    if let Ok(false) = wrote {
        let stays = match backend.get(key) {
            Ok(None) => true,
            Ok(Some(found)) => found.created_ms >= began_ms,
            // Unreadable, it goes; but for a failed service (a dead server): a removal would
            // wait out its own timeout and fail too, as `forget_on_failure` says.
            Err(error) => error.is_service_failure(),
        };
        if !stays {
            let _ = backend.remove(key);
        }
    }
    wrote
}

/// Copies a later tier's entry into `backend` if it holds none for `key` (a fill, in the tier's
/// span), as [`write()`] does: not filled (the tier held one) is not a failure, and a failure
/// takes nothing out (the entry the tier holds, if any, was not replaced).
fn fill<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    entry: &Entry<V>,
    since: Generation,
) -> crate::Result<bool> {
    let _span = write_span(key.namespace, backend.name()).entered();
    backend.fill(key, entry, since)
}

/// A write that failed (a value the format refuses, a full disk) takes the key's older entry out
/// of the tier, which would otherwise be served in place of the value that replaced it
/// elsewhere. Not when the tier's service failed (a dead server): the removal would fail too,
/// after its own timeout, and the tier is not used again in this call.
fn forget_on_failure<V: 'static>(
    backend: &dyn PersistentBackend<V>,
    key: &EntryKey<'_>,
    result: crate::Result<bool>,
) -> crate::Result<bool> {
    if let Err(error) = &result
        && !error.is_service_failure()
    {
        let _ = backend.remove(key);
    }
    result
}

/// The span of a tier's read (and of a refresh's move of its generation).
pub(in crate::cache) fn read_span(namespace: &str, tier: &'static str) -> tracing::Span {
    tracing::debug_span!("cacher.read", namespace, tier)
}

/// The span of a tier's write (a fill's too).
fn write_span(namespace: &str, tier: &'static str) -> tracing::Span {
    tracing::debug_span!("cacher.write", namespace, tier)
}

/// Whether tier `tier` is in the set `down` (bit `i` for tier `i`; a tier past the 64th never
/// is: it costs a failing service a timeout per command, not a wrong answer).
pub(in crate::cache) fn down_in(down: u64, tier: usize) -> bool {
    down & bit(tier) != 0
}

/// Tier `tier`'s bit in a set of tiers (none past the 64th).
pub(in crate::cache) fn bit(tier: usize) -> u64 {
    1u64.checked_shl(tier as u32).unwrap_or(0)
}
