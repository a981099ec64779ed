//! The store's writes in one LMDB write transaction: put, remove, clear, and the bounds (count,
//! bytes, expiry) that evict a namespace's least recently used entries first.

use std::io::Write as _;

use heed::RwTxn;

use super::env::Store;
use super::uses::WINDOW;
use crate::entry::Entry;

/// What a namespace may hold, and for how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) max_entries: Option<u64>,
    pub(super) max_size: Option<u64>,
    /// How long after its creation an entry can still be served (the cache's ttl + grace).
    pub(super) retention_ms: Option<u64>,
}

/// When an entry was written, and until when a read accepts it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    pub(super) created_ms: u64,
    /// The entry's own end ([`Entry::expires_ms`]: its ttl from `ttl_fn`, the grace windows,
    /// its idle time), which the cache sets on each write; `None`: the cache's retention.
    pub(super) expires_ms: Option<u64>,
}

impl Times {
    pub(super) fn of<V>(entry: &Entry<V>) -> Self {
        Self {
            created_ms: entry.created_ms,
            expires_ms: entry.expires_ms,
        }
    }

    /// When the entry may be dropped: its own end, else its creation and the retention.
    fn end_ms(self, bounds: Bounds) -> u64 {
        self.expires_ms
            .or_else(|| (bounds.retention_ms).map(|keep| self.created_ms.saturating_add(keep)))
            .unwrap_or(u64::MAX)
    }
}

/// At most this many expired entries are dropped per write (besides those the bounds evict),
/// so that a write costs a bounded time.
const EXPIRED_PER_WRITE: usize = 8;

pub(super) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// Calls `use_key` with `parts` joined, on the stack when they fit (the store's own rows'
/// keys always do: a namespace in them is at most 200 bytes): a write makes several such keys
/// and values, and allocated each one.
pub(super) fn joined<T>(parts: &[&[u8]], use_key: impl FnOnce(&[u8]) -> T) -> T {
    let len = parts.iter().map(|part| part.len()).sum::<usize>();
    if len > ON_STACK {
        return use_key(&parts.concat());
    }
    let mut joined = [0u8; ON_STACK];
    let mut at = 0;
    for part in parts {
        joined[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    use_key(&joined[..len])
}

/// The room [`joined`] has on the stack.
const ON_STACK: usize = 256;

/// Calls `use_key` with the key of the namespace's totals row.
fn count_key<T>(namespace: &str, use_key: impl FnOnce(&[u8]) -> T) -> T {
    joined(&[b"n\0", namespace.as_bytes()], use_key)
}

/// Calls `use_key` with the key of the namespace's order row `seq`.
fn order_key<T>(namespace: &str, seq: u64, use_key: impl FnOnce(&[u8]) -> T) -> T {
    joined(&[namespace.as_bytes(), b"\0", &seq.to_be_bytes()], use_key)
}

/// The namespace's entry count and bytes.
pub(super) fn totals(store: &Store, txn: &RwTxn<'_>, namespace: &str) -> heed::Result<(u64, u64)> {
    let value = count_key(namespace, |key| store.meta.get(txn, key))?.unwrap_or(&[]);
    Ok((u64_at(value, 0), u64_at(value, 8)))
}

fn set_totals(
    store: &Store,
    txn: &mut RwTxn<'_>,
    namespace: &str,
    (count, bytes): (u64, u64),
) -> heed::Result<()> {
    let value = [count.to_be_bytes(), bytes.to_be_bytes()];
    count_key(namespace, |key| {
        store.meta.put(txn, key, value.as_flattened())
    })
}

/// What an `entries` key holds, for the totals.
enum Held {
    Nothing,
    /// A row with no order row of its own (one the store did not write: planted by another
    /// program): not in the totals, so its removal or replacement takes nothing from them.
    Uncounted,
    /// An entry of the namespace, counted with its bytes.
    Counted(u64),
}

/// Removes the entry at `id` (an `entries` key of `namespace`), if any.
fn unlink(store: &Store, txn: &mut RwTxn<'_>, namespace: &str, id: &[u8]) -> heed::Result<Held> {
    let held = unorder(store, txn, namespace, id)?;
    if !matches!(held, Held::Nothing) {
        store.entries.delete(txn, id)?;
    }
    Ok(held)
}

/// Removes the order record of the entry at `id`, if any, leaving the entry for a write to
/// replace in place (a delete then an insert of the same key costs LMDB twice).
///
/// The order row is the one the entry's stamp names only if that row names the entry back: a
/// row planted with another entry's stamp in its first bytes does not take that entry's order
/// row with it (which would leave the entry out of the bounds for good).
fn unorder(store: &Store, txn: &mut RwTxn<'_>, namespace: &str, id: &[u8]) -> heed::Result<Held> {
    let Some(old) = store.entries.get(txn, id)? else {
        return Ok(Held::Nothing);
    };
    let seq = u64_at(old, 0);
    let len = (old.len() as u64).saturating_sub(8);
    order_key(namespace, seq, |key| {
        let names_it = store
            .order
            .get(txn, key)?
            .is_some_and(|row| row.get(16..) == Some(id));
        if !names_it {
            return Ok(Held::Uncounted);
        }
        store.order.delete(txn, key)?;
        Ok(Held::Counted(len))
    })
}

/// Stores `bytes` at `id`, then evicts what the bounds ask; how many entries the bounds evicted
/// (expired ones dropped on the way are not counted).
pub(super) fn put(
    store: &Store,
    txn: &mut RwTxn<'_>,
    (namespace, id): (&str, &[u8]),
    bytes: &[u8],
    times: Times,
    bounds: Bounds,
) -> heed::Result<u64> {
    let (mut count, mut total) = totals(store, txn, namespace)?;
    if let Held::Counted(len) = unorder(store, txn, namespace, id)? {
        count = count.saturating_sub(1);
        total = total.saturating_sub(len);
    }
    // The write's stamp: its transaction's id, which a read's snapshot compares with
    // ([`Uses`](super::uses::Uses)); never below the last one (stores of an earlier layout
    // counted their writes).
    let last = u64_at(store.meta.get(txn, b"seq")?.unwrap_or(&[]), 0);
    let seq = (last + 1).max(txn.id() as u64);
    store.meta.put(txn, b"seq", &seq.to_be_bytes())?;
    let len = bytes.len() as u64;
    // Written in place in the map (LMDB's MDB_RESERVE): no copy of the entry to prefix it.
    store
        .entries
        .put_reserved(txn, id, 8 + bytes.len(), |space| {
            space.write_all(&seq.to_be_bytes())?;
            space.write_all(bytes)
        })?;
    let end_ms = times.end_ms(bounds);
    joined(&[&end_ms.to_be_bytes(), &len.to_be_bytes(), id], |order| {
        order_key(namespace, seq, |key| store.order.put(txn, key, order))
    })?;
    let newest = newest(store, txn, namespace, times.created_ms)?;
    let (totals, evicted) = evict(
        store,
        txn,
        namespace,
        (count + 1, total + len),
        bounds,
        (newest, seq),
    )?;
    set_totals(store, txn, namespace, totals)?;
    Ok(evicted)
}

/// The newest creation time written to the namespace: the store's "now", which comes from the
/// cache's clock through the entries it writes (a copy of an older entry carries its own older
/// time). A time kept from earlier writes counts only up to the system clock's now: a writer
/// whose clock ran ahead (a wrong clock corrected since, a test's mock clock on a shared store)
/// judges its own write by it, not every later one — which, a year ahead, dropped each entry as
/// expired in the transaction that wrote it, `clear` or not.
fn newest(store: &Store, txn: &mut RwTxn<'_>, namespace: &str, created: u64) -> heed::Result<u64> {
    joined(&[b"t\0", namespace.as_bytes()], |key| {
        let seen = u64_at(store.meta.get(txn, key)?.unwrap_or(&[]), 0);
        let newest = created.max(seen.min(crate::Clock::system().now_ms()));
        if newest != seen {
            store.meta.put(txn, key, &newest.to_be_bytes())?;
        }
        Ok(newest)
    })
}

/// Drops the namespace's least recently used entries while it is over a bound (as far as this
/// process saw: [`victim`]), and a few expired ones; the new totals, and how many went for the
/// bounds. `written` is the store's "now" and the stamp of the entry just written, which stays.
fn evict(
    store: &Store,
    txn: &mut RwTxn<'_>,
    namespace: &str,
    (count, total): (u64, u64),
    bounds: Bounds,
    written: (u64, u64),
) -> heed::Result<((u64, u64), u64)> {
    joined(&[namespace.as_bytes(), b"\0"], |prefix| {
        evict_under(store, txn, prefix, (count, total), bounds, written)
    })
}

/// [`evict`] of the namespace whose order rows start with `prefix`.
fn evict_under(
    store: &Store,
    txn: &mut RwTxn<'_>,
    prefix: &[u8],
    (mut count, mut total): (u64, u64),
    bounds: Bounds,
    (now_ms, written): (u64, u64),
) -> heed::Result<((u64, u64), u64)> {
    let (mut expired, mut evicted) = (0, 0);
    loop {
        // The entry just written stays, even alone over `max_size`.
        let over = count > 1
            && (bounds.max_entries.is_some_and(|max| count > max)
                || bounds.max_size.is_some_and(|max| total > max));
        let row = match over {
            true => victim(store, txn, prefix, (now_ms, written))?,
            // Not over a bound: the oldest written, if expired (a few per write).
            false => match store.order.prefix_iter(txn, prefix)?.next().transpose()? {
                Some((key, value)) if u64_at(value, 0) < now_ms && expired < EXPIRED_PER_WRITE => {
                    Some((key.to_vec(), value.to_vec()))
                }
                _ => None,
            },
        };
        let Some((key, value)) = row else {
            break;
        };
        store.order.delete(txn, &key)?;
        // A row that names no entry (damaged, or planted) counted none: it just goes.
        let Some(id) = named(&value) else {
            continue;
        };
        expired += usize::from(!over);
        // A bound's victim that had expired cost nothing of use: no eviction.
        evicted += u64::from(over && u64_at(&value, 0) > now_ms);
        store.entries.delete(txn, id)?;
        count = count.saturating_sub(1);
        total = total.saturating_sub(u64_at(&value, 8));
    }
    Ok(((count, total), evicted))
}

/// The order row of the entry to evict for a bound: among the [`WINDOW`] oldest written (but the
/// entry just `written`, which stays), an expired one, else the one this process used least
/// recently ([`Uses::last_use`](super::uses::Uses::last_use)). Copied out: most writes evict
/// nothing and copy nothing.
fn victim(
    store: &Store,
    txn: &RwTxn<'_>,
    prefix: &[u8],
    (now_ms, written): (u64, u64),
) -> heed::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut least: Option<(u64, &[u8], &[u8])> = None;
    for row in store.order.prefix_iter(txn, prefix)?.take(WINDOW + 1) {
        let (key, value) = row?;
        let stamp = u64_at(key, key.len().saturating_sub(8));
        if stamp == written {
            continue;
        }
        let used = match u64_at(value, 0) < now_ms {
            true => 0, // expired: goes first
            false => store.uses.last_use(stamp),
        };
        if least.is_none_or(|(least, ..)| used < least) {
            least = Some((used, key, value));
        }
    }
    Ok(least.map(|(_, key, value)| (key.to_vec(), value.to_vec())))
}

/// The entry an order row names (after its end and length, 16 bytes), if it names one: a row
/// too short (damaged, or planted) names none, and neither does one of exactly 16 bytes, whose
/// empty id LMDB refuses as a key — deleting it failed (`MDB_BAD_VALSIZE`) and aborted the
/// transaction that would have dropped the row: every write and clear of the namespace, for
/// good. (An id longer than LMDB's keys is only not found.)
fn named(row: &[u8]) -> Option<&[u8]> {
    row.get(16..).filter(|id| !id.is_empty())
}

/// Removes the entry at `id` of `namespace`.
pub(super) fn remove(
    store: &Store,
    txn: &mut RwTxn<'_>,
    (namespace, id): (&str, &[u8]),
) -> heed::Result<()> {
    if let Held::Counted(len) = unlink(store, txn, namespace, id)? {
        let (count, total) = totals(store, txn, namespace)?;
        set_totals(
            store,
            txn,
            namespace,
            (count.saturating_sub(1), total.saturating_sub(len)),
        )?;
    }
    Ok(())
}

/// Removes every entry of `namespace` (of every version), and nothing else.
pub(super) fn clear(store: &Store, txn: &mut RwTxn<'_>, namespace: &str) -> heed::Result<()> {
    let prefix = [namespace.as_bytes(), b"\0"].concat();
    let ids: Vec<Vec<u8>> = store
        .order
        .prefix_iter(txn, &prefix)?
        .filter_map(|item| {
            // A row that names no entry names none (its own row goes below).
            item.map(|(_, value)| named(value).map(<[u8]>::to_vec))
                .transpose()
        })
        .collect::<heed::Result<_>>()?;
    for id in &ids {
        store.entries.delete(txn, id)?;
    }
    // Entries written by a store with no order row (none today) go too.
    let stray: Vec<Vec<u8>> = store
        .entries
        .prefix_iter(txn, &prefix)?
        .map(|item| item.map(|(key, _)| key.to_vec()))
        .collect::<heed::Result<_>>()?;
    for id in &stray {
        store.entries.delete(txn, id)?;
    }
    let order: Vec<Vec<u8>> = store
        .order
        .prefix_iter(txn, &prefix)?
        .map(|item| item.map(|(key, _)| key.to_vec()))
        .collect::<heed::Result<_>>()?;
    for key in &order {
        store.order.delete(txn, key)?;
    }
    count_key(namespace, |key| store.meta.delete(txn, key))?;
    Ok(())
}
