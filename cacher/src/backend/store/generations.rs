//! The store's generations of its keys ([`PersistentBackend::generation`]): in the `meta` table,
//! a count of each namespace's clears and a record of the invalidations (`insert`, `remove`, a
//! forced refresh's start) of
//! each of its 4 096 key stripes ([`Moves`]), moved in the invalidation's own write transaction.
//! A computed value's write compares them in its own (LMDB runs one writer at a time across
//! processes): nothing comes between the look and the write.
//!
//! [`PersistentBackend::generation`]: crate::PersistentBackend::generation

use heed::{RoTxn, RwTxn};

use super::env::Store;
use super::table::{joined, u64_at};
use crate::backend::Generation;
use crate::backend::generation::{Moves, stripe_of};

/// How many stripes a namespace's keys fall in: the records of a namespace stay this many rows
/// whatever its keys.
const STRIPES: u64 = 4096;

/// Which record an invalidation moves.
pub(super) enum Moved<'a> {
    /// The key at this `entries` id.
    Key(&'a [u8]),
    /// Every key of the namespace (`clear`).
    All,
}

/// Calls `use_key` with the key of the namespace's row for `moved`. (A namespace holds no NUL in
/// the store's keys: the two rows of one never meet.)
fn row<T>(namespace: &str, moved: &Moved<'_>, use_key: impl FnOnce(&[u8]) -> T) -> T {
    match moved {
        Moved::Key(id) => {
            let stripe = (stripe_of(id, STRIPES).0 as u16).to_be_bytes();
            joined(&[b"g\0", namespace.as_bytes(), b"\0", &stripe], use_key)
        }
        Moved::All => joined(&[b"g\0", namespace.as_bytes()], use_key),
    }
}

fn value<'t>(
    store: &Store,
    txn: &'t RoTxn<'_>,
    namespace: &str,
    moved: &Moved<'_>,
) -> heed::Result<&'t [u8]> {
    Ok(row(namespace, moved, |key| store.meta.get(txn, key))?.unwrap_or(&[]))
}

/// The clears' count and the key's stripe's record.
fn records(
    store: &Store,
    txn: &RoTxn<'_>,
    (namespace, id): (&str, &[u8]),
) -> heed::Result<(u64, Moves)> {
    let cleared = u64_at(value(store, txn, namespace, &Moved::All)?, 0);
    let moves = Moves::from_bytes(value(store, txn, namespace, &Moved::Key(id))?);
    Ok((cleared, moves))
}

/// The generation of the key at `id` of `namespace`, as `txn` sees it.
pub(super) fn read(store: &Store, txn: &RoTxn<'_>, at: (&str, &[u8])) -> heed::Result<Generation> {
    let (cleared, moves) = records(store, txn, at)?;
    Ok(Generation::new(
        u128::from(cleared) << 64 | u128::from(moves.count()),
    ))
}

/// Whether a value of the key at `id` computed since its generation was `seen` may be stored:
/// the namespace not cleared, the key not invalidated since (other keys of its stripe may have
/// been).
pub(super) fn admits(
    store: &Store,
    txn: &RoTxn<'_>,
    at: (&str, &[u8]),
    seen: Generation,
) -> heed::Result<bool> {
    let (cleared, moves) = records(store, txn, at)?;
    let seen = seen.value();
    Ok((seen >> 64) as u64 == cleared && moves.admits(seen as u64, stripe_of(at.1, STRIPES).1))
}

/// Records an invalidation of `moved` in `namespace`, in the invalidation's transaction.
pub(super) fn bump(
    store: &Store,
    txn: &mut RwTxn<'_>,
    namespace: &str,
    moved: &Moved<'_>,
) -> heed::Result<()> {
    match moved {
        Moved::Key(id) => {
            let mut moves = Moves::from_bytes(value(store, txn, namespace, moved)?);
            moves.moved(stripe_of(id, STRIPES).1);
            row(namespace, moved, |key| {
                store.meta.put(txn, key, &moves.to_bytes())
            })
        }
        Moved::All => {
            let next = u64_at(value(store, txn, namespace, moved)?, 0).wrapping_add(1);
            row(namespace, moved, |key| {
                store.meta.put(txn, key, &next.to_be_bytes())
            })
        }
    }
}
