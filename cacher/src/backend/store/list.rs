//! [`Listing`] for the store: every entry of every namespace, read in place in one read
//! transaction (the `visit` callback must not write to the same store meanwhile).
//!
//! A location is the entry's key in the store, `namespace \0 version \0 key`, with `\` written
//! `\\`, the NUL separators `\0` and a byte that is not UTF-8 `\xff`, so that it prints on one
//! line and reads back exactly.

use std::ops::ControlFlow;

use super::generations::Moved;
use super::{StoreBackend, env, table};
use crate::backend::listing::{Found, Listed, Listing, bytes_of_location, classify, location_of};
use crate::error::{Error, Result};
use crate::format::Formatter;

/// The store's key back from a location; only an entry's (the names of LMDB's named databases
/// share the entries' table, and are neither read nor removed as entries).
fn id_of_location(location: &str) -> Result<Vec<u8>> {
    let id = bytes_of_location(location).ok_or_else(|| not_a_location(location))?;
    if !env::is_entry(&id) {
        return Err(not_a_location(location));
    }
    Ok(id)
}

/// The namespace of the entry with the store's key `id`, as its tables name it.
fn namespace_of(id: &[u8]) -> String {
    let namespace = id.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(namespace).into_owned()
}

/// What a row's value (its 8-byte prefix, then the entry's bytes) is, read in place: the header
/// parsed as far as it goes, however long its key, and the value not decoded.
fn found_in(value: &[u8]) -> Found {
    match value.get(8..).unwrap_or_default() {
        [] => Found::Corrupt,
        bytes => classify(bytes, None, true),
    }
}

fn not_a_location(location: &str) -> Error {
    Error::Config(format!("not a store location: {location:?}"))
}

impl<F: Formatter> Listing for StoreBackend<F> {
    fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> Result<()> {
        let store = self.store()?;
        let txn = store.env.read_txn().map_err(|e| self.error(e))?;
        for item in store.entries.iter(&txn).map_err(|e| self.error(e))? {
            let (id, value) = item.map_err(|e| self.error(e))?;
            if !env::is_entry(id) {
                continue;
            }
            let listed = Listed {
                location: location_of(id),
                size: value.get(8..).unwrap_or_default().len() as u64,
                modified_ms: None,
                expires_in_ms: None,
                found: found_in(value),
            };
            if visit(listed).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn read_at(&self, location: &str) -> Result<Option<Vec<u8>>> {
        let id = id_of_location(location)?;
        let store = self.store()?;
        let txn = store.env.read_txn().map_err(|e| self.error(e))?;
        let value = store.entries.get(&txn, &id).map_err(|e| self.error(e))?;
        Ok(value.map(|value| value.get(8..).unwrap_or_default().to_vec()))
    }

    /// Moves the key's generation as `remove` does, in the same write transaction: a value
    /// computed before `cacher clear` (or `prune`) took the entry out does not land after it.
    fn remove_at(&self, location: &str) -> Result<()> {
        let id = id_of_location(location)?;
        let namespace = namespace_of(&id);
        self.invalidate(&namespace, &Moved::Key(&id), |store, txn| {
            table::remove(store, txn, (&namespace, &id))
        })
    }

    /// As [`remove_at`](Self::remove_at), if the row still holds what was listed (read in the
    /// removal's write transaction): a value written there since — a fresh one over the expired
    /// one `prune` listed — stays, and its key's generation does not move.
    fn remove_listed(&self, listed: &Listed) -> Result<bool> {
        let Found::Entry(_) = &listed.found else {
            return self.remove_at(&listed.location).map(|()| true);
        };
        let id = id_of_location(&listed.location)?;
        let namespace = namespace_of(&id);
        let holds = |store: &env::Store, txn: &heed::RwTxn<'_>| {
            let value = store.entries.get(txn, &id)?;
            Ok(value.is_some_and(|value| found_in(value) == listed.found))
        };
        self.invalidate_if(&namespace, &Moved::Key(&id), holds, |store, txn| {
            table::remove(store, txn, (&namespace, &id))
        })
    }

    /// Moves every key's generation of `namespace`, as `clear` does, in one write transaction.
    fn invalidate_namespace(&self, namespace: &str, _locations: &[&str]) -> Result<()> {
        self.invalidate(&super::keys::ns_of(namespace), &Moved::All, |_, _| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::id_of_location;
    use crate::backend::listing::location_of;

    #[test]
    fn locations_read_back_exactly() {
        for id in [
            &b"app::f\0\0user=1"[..],
            b"a\\0b\0v=2\0k\\",
            "é\0\0✓".as_bytes(),
        ] {
            let location = location_of(id);
            assert!(!location.contains('\0'));
            assert_eq!(id_of_location(&location).unwrap(), id);
        }
        assert!(id_of_location("bad\\x").is_err());
        // The records of LMDB's named databases, beside the entries, are not entries.
        for name in ["order", "meta", "entries"] {
            assert!(id_of_location(name).is_err());
        }
    }

    /// A row whose key is not UTF-8 (planted, or torn) has a location of its own: one read as
    /// the key of another row (its bytes read lossily, `\xff` as U+FFFD) made `verify --repair`
    /// remove that other row, a whole entry, and never the corrupt one.
    #[test]
    fn keys_that_are_not_utf8_have_locations_of_their_own() {
        let planted = &b"app::f\0\0k\xff"[..];
        let entry = "app::f\0\0k\u{fffd}".as_bytes();
        assert_ne!(location_of(planted), location_of(entry));
        for id in [planted, entry, b"a\xc3\0\0\\x41\x80"] {
            assert_eq!(id_of_location(&location_of(id)).unwrap(), id, "{id:?}");
        }
    }
}
