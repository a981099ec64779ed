//! The store's key layout.

use super::{MAX_KEY, SHORT_KEY, hashed, id_of, ns_of};
use crate::entry::EntryKey;

/// The key of `key` in `app::f` under `version`.
fn entry_key<'a>(version: Option<&'a str>, key: &'a str) -> EntryKey<'a> {
    EntryKey {
        namespace: "app::f",
        version,
        key,
        args: None,
        type_name: "u32",
        code: None,
    }
}

#[test]
fn a_namespace_spelled_like_a_hash_or_holding_a_nul_is_hashed_apart() {
    let long = format!("app::{}", "n".repeat(300));
    // A namespace that spells the hash of a long one is hashed itself: never the same rows.
    assert_ne!(ns_of(&hashed(&long)), ns_of(&long));
    assert!(!ns_of("app\0x").contains('\0'));
    assert_eq!(ns_of("app::f"), "app::f");
}

/// The entries key is namespace, version and key joined by NULs, whatever buffer it is made
/// in, and hashed past LMDB's key size: the layout other processes read.
#[test]
fn the_entries_key_is_namespace_version_and_key_joined_by_nuls() {
    for version in [None, Some("v1")] {
        let head = format!("app::f\0{}\0", version.unwrap_or_default());
        let lens = [
            0,
            1,
            SHORT_KEY - head.len(),
            SHORT_KEY + 1 - head.len(),
            MAX_KEY - head.len(),
        ];
        for len in lens {
            let key = "k".repeat(len);
            let id = id_of(&entry_key(version, &key));
            assert_eq!(id, format!("{head}{key}").into_bytes(), "{len}");
        }
        let long = "k".repeat(MAX_KEY);
        let rest = hashed(&format!("{}\0{long}", version.unwrap_or_default()));
        let id = id_of(&entry_key(version, &long));
        assert_eq!(id, format!("app::f\0{rest}").into_bytes());
    }
}

/// No two (version, key) pairs share an entries key: no version and an empty one, a version
/// spelling another's hash, versions and keys that split one text at a NUL, short and long.
#[test]
fn no_two_versions_and_keys_share_an_entries_key() {
    let long = "k".repeat(MAX_KEY);
    let spelled_hash = hashed("");
    let versions = [
        None,
        Some(""),
        Some("v"),
        Some("v\0"),
        Some(&spelled_hash[..]),
    ];
    let keys = ["", "k", "\0k", "v\0k", &long[..]];
    let mut seen = std::collections::HashMap::new();
    for version in versions {
        for key in keys {
            let id = id_of(&entry_key(version, key));
            let before = seen.insert(id, (version, key));
            assert_eq!(before, None, "{version:?} {key:?}");
        }
    }
}

/// Rows the store did not write, planted by a program with write access to its database
/// (noticed in session 11): what the store's own writes and removals do about them.
mod planted {
    use super::super::table::totals;
    use super::super::{PersistentBackend, StoreBackend, id_of};
    use super::entry_key;
    use crate::entry::Entry;

    /// A store in a new directory holding `a` (its `(count, bytes)` and the entry's stamp).
    fn store_with_a(dir: &std::path::Path) -> (StoreBackend, (u64, u64), [u8; 8]) {
        let store = StoreBackend::new(dir);
        PersistentBackend::<u32>::insert(&store, &entry_key(None, "a"), &Entry::new(1, 1_000))
            .unwrap();
        let (totals, row) = read(&store, "a");
        let stamp = row.expect("a is stored")[..8].try_into().unwrap();
        (store, totals, stamp)
    }

    /// The namespace's totals and the row at `key`'s id.
    fn read(store: &StoreBackend, key: &str) -> ((u64, u64), Option<Vec<u8>>) {
        let db = store.store().unwrap();
        let txn = db.env.write_txn().unwrap();
        let totals = totals(db, &txn, "app::f").unwrap();
        let row = db.entries.get(&txn, &id_of(&entry_key(None, key))).unwrap();
        let row = row.map(<[u8]>::to_vec);
        txn.abort();
        (totals, row)
    }

    /// Whether the order table still lists the entry at `key`.
    fn ordered(store: &StoreBackend, key: &str) -> bool {
        let db = store.store().unwrap();
        let txn = db.env.read_txn().unwrap();
        let id = id_of(&entry_key(None, key));
        let mut rows = db.order.prefix_iter(&txn, b"app::f\0").unwrap();
        rows.any(|row| row.unwrap().1[16..] == id[..])
    }

    /// Writes `bytes` at `key`'s id, as another program would.
    fn plant(store: &StoreBackend, key: &str, bytes: &[u8]) {
        let db = store.store().unwrap();
        let mut txn = db.env.write_txn().unwrap();
        let id = id_of(&entry_key(None, key));
        db.entries.put(&mut txn, &id, bytes).unwrap();
        txn.commit().unwrap();
    }

    /// `cacher verify --repair` removes a planted row through the store's removal.
    #[test]
    fn removing_a_planted_row_leaves_the_namespaces_totals_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let (store, totals, _) = store_with_a(dir.path());
        plant(&store, "p", &[7; 100]);
        PersistentBackend::<u32>::remove(&store, &entry_key(None, "p")).unwrap();
        assert_eq!(
            read(&store, "p"),
            (totals, None),
            "the row goes, the totals stay"
        );
    }

    /// An order row shorter than its 16 bytes of end and length (planted, or damaged: the store
    /// looks for no damage in its pages) is dropped by the sweep and the clear that meet it.
    /// Before, both cut its entry's key out of it by slicing (`value[16..]`): every write of the
    /// namespace, whose sweep looks at its oldest row, panicked in the caller's thread, and so
    /// did `clear`, which goes through every row.
    #[test]
    fn an_order_row_too_short_to_name_an_entry_is_dropped_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, _) = store_with_a(dir.path());
        let db = store.store().unwrap();
        let mut txn = db.env.write_txn().unwrap();
        // The namespace's oldest row (stamp 0): the sweep's first look.
        db.order
            .put(&mut txn, b"app::f\0\0\0\0\0\0\0\0\0", &[1; 7])
            .unwrap();
        txn.commit().unwrap();
        let b = entry_key(None, "b");
        PersistentBackend::<u32>::insert(&store, &b, &Entry::new(2, 2_000)).unwrap();
        assert!(ordered(&store, "a") && ordered(&store, "b"), "entries kept");
        assert_eq!(
            PersistentBackend::<u32>::get(&store, &b)
                .unwrap()
                .map(|e| e.value),
            Some(2)
        );
        let db = store.store().unwrap();
        let mut txn = db.env.write_txn().unwrap();
        db.order
            .put(&mut txn, b"app::f\0\xff\xff\xff\xff\xff\xff\xff\xff", b"x")
            .unwrap();
        txn.commit().unwrap();
        PersistentBackend::<u32>::clear(&store, "app::f").unwrap();
        assert_eq!(read(&store, "a").1, None);
        assert_eq!(read(&store, "b").1, None);
    }

    /// An order row of exactly 16 bytes, whose entry id is empty (which LMDB refuses as a key), is
    /// dropped too. Sliced, it was no panic, but its `entries.delete` failed (`MDB_BAD_VALSIZE`)
    /// and aborted the transaction that would have dropped it: every write of the namespace
    /// failed, and every clear, for good. (An id longer than LMDB's keys is only not found.)
    #[test]
    fn an_order_row_naming_an_id_lmdb_cannot_hold_is_dropped_not_an_error() {
        for id_len in [0, super::super::keys::MAX_KEY + 1] {
            let dir = tempfile::tempdir().unwrap();
            let (store, _, _) = store_with_a(dir.path());
            let db = store.store().unwrap();
            let mut txn = db.env.write_txn().unwrap();
            // The namespace's oldest row (stamp 0), expired (its end at 0).
            let row = [&[0; 16][..], &vec![b'x'; id_len]].concat();
            db.order
                .put(&mut txn, b"app::f\0\0\0\0\0\0\0\0\0", &row)
                .unwrap();
            txn.commit().unwrap();
            let b = entry_key(None, "b");
            PersistentBackend::<u32>::insert(&store, &b, &Entry::new(2, 2_000))
                .unwrap_or_else(|e| panic!("id of {id_len} bytes: {e}"));
            assert!(ordered(&store, "a") && ordered(&store, "b"), "entries kept");
            let db = store.store().unwrap();
            let mut txn = db.env.write_txn().unwrap();
            db.order
                .put(&mut txn, b"app::f\0\xff\xff\xff\xff\xff\xff\xff\xff", &row)
                .unwrap();
            txn.commit().unwrap();
            PersistentBackend::<u32>::clear(&store, "app::f")
                .unwrap_or_else(|e| panic!("id of {id_len} bytes: {e}"));
            assert_eq!(read(&store, "a").1, None);
            assert_eq!(read(&store, "b").1, None);
        }
    }

    #[test]
    fn a_planted_row_stamped_like_an_entry_leaves_that_entrys_order_row_when_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (store, (count, bytes), stamp) = store_with_a(dir.path());
        plant(&store, "p", &[&stamp[..], &[7; 100]].concat());
        PersistentBackend::<u32>::insert(&store, &entry_key(None, "p"), &Entry::new(2, 2_000))
            .unwrap();
        assert!(
            ordered(&store, "a"),
            "a's order row was taken for the planted row's"
        );
        assert!(ordered(&store, "p"));
        let p_bytes = read(&store, "p").1.unwrap().len() as u64 - 8;
        assert_eq!(read(&store, "a").0, (count + 1, bytes + p_bytes));
        PersistentBackend::<u32>::remove(&store, &entry_key(None, "a")).unwrap();
        assert_eq!(read(&store, "a").0, (1, p_bytes));
    }
}

/// The cache's retention (its ttl and grace windows, for entries without an end of their own)
/// is counted in whole milliseconds rounded up: truncated, one under a millisecond made every
/// such entry's end its creation, dropped by the next write, and 1.5 ms was 1 ms.
#[test]
fn a_retention_that_is_not_whole_milliseconds_is_never_made_shorter() {
    use super::{PersistentBackend, StoreBackend};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    for (micros, ms) in [(500, 1), (1_500, 2)] {
        let mut store = StoreBackend::new(dir.path());
        PersistentBackend::<u32>::attach(&mut store, Some(Duration::from_micros(micros))).unwrap();
        assert_eq!(store.bounds.retention_ms, Some(ms));
    }
}
