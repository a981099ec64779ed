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
