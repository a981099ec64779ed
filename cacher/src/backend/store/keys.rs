//! How the store spells its keys: a cache's namespace, version and key joined by NULs in the
//! `entries` key, each hashed where LMDB's key size or the NUL separators ask.

use std::borrow::Cow;

use crate::entry::EntryKey;

/// LMDB's largest key (511 bytes by default): longer names are hashed to fit.
pub(super) const MAX_KEY: usize = 511;
/// A namespace longer than this is named by its hash in the store's keys.
const MAX_NAMESPACE: usize = 200;

/// `#` and 32 hex digits of `text`'s hash: a short name that stands for a long one. (`#` starts
/// no namespace of a Rust path.)
pub(super) fn hashed(text: &str) -> String {
    let hash = blake3::hash(text.as_bytes());
    let mut name = String::with_capacity(33);
    name.push('#');
    for byte in &hash.as_bytes()[..16] {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// The namespace as the store's keys spell it: itself, or its hash when long, or when it holds
/// the `\0` that ends a namespace in the store's keys (else `a` would own the rows of `a\0x`:
/// its clear and its bounds would take them), or starts like a hash (`#`).
#[inline]
pub(super) fn ns_of(namespace: &str) -> Cow<'_, str> {
    if namespace.len() > MAX_NAMESPACE
        || namespace.as_bytes().contains(&0)
        || namespace.starts_with('#')
    {
        Cow::Owned(hashed(namespace))
    } else {
        Cow::Borrowed(namespace)
    }
}

/// The version as the store's keys spell it: none is empty; a version is itself, or its hash
/// when it is empty (else it would share the rows of none), holds a `\0` (else version and key
/// could split one text two ways) or starts like a hash (`#`).
#[inline]
fn version_of(version: Option<&str>) -> Cow<'_, str> {
    match version {
        None => Cow::Borrowed(""),
        Some(v) if v.is_empty() || v.as_bytes().contains(&0) || v.starts_with('#') => {
            Cow::Owned(hashed(v))
        }
        Some(v) => Cow::Borrowed(v),
    }
}

/// The `entries` key of `key`: namespace, version and key, apart; version and key hashed when
/// the whole would pass LMDB's key size. (The entry records them whole, and every read checks
/// them, so a hash collision could only make a miss.) Owned, for a write handed to another
/// thread (async).
#[cfg(any(test, feature = "tokio"))]
pub(super) fn id_of(key: &EntryKey<'_>) -> Vec<u8> {
    with_id(key, <[u8]>::to_vec)
}

/// Calls `use_id` with the `entries` key of `key` ([`id_of`]), made on the stack when it fits
/// LMDB's key size (always but for long keys): a hit allocates nothing for it.
pub(super) fn with_id<T>(key: &EntryKey<'_>, use_id: impl FnOnce(&[u8]) -> T) -> T {
    let namespace = ns_of(key.namespace);
    let version = version_of(key.version);
    let parts = [&namespace, &version, key.key];
    let len = parts.iter().map(|part| part.len() + 1).sum::<usize>() - 1;
    if len <= SHORT_KEY {
        // Most keys: a smaller buffer to zero first.
        return joined::<SHORT_KEY, T>(parts, use_id);
    }
    if len <= MAX_KEY {
        return joined::<MAX_KEY, T>(parts, use_id);
    }
    let rest = hashed(&[&version, "\0", key.key].concat());
    use_id([&namespace, "\0", &rest].concat().as_bytes())
}

/// The `entries` keys that most caches' keys fit in.
pub(super) const SHORT_KEY: usize = 128;

/// Calls `use_id` with `parts` joined by NULs, in a buffer of `N` bytes on the stack (they fit in
/// it). The buffer starts zeroed: the NULs and an empty part (most versions) copy nothing.
fn joined<const N: usize, T>(parts: [&str; 3], use_id: impl FnOnce(&[u8]) -> T) -> T {
    let mut id = [0u8; N];
    let mut at = 0;
    for part in parts {
        if !part.is_empty() {
            id[at..at + part.len()].copy_from_slice(part.as_bytes());
        }
        at += part.len() + 1;
    }
    use_id(&id[..at - 1])
}
