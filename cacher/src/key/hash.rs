//! [`HashKeyer`]: fixed-length keys, and the hash that [`ReadableKeyer`](super::ReadableKeyer)
//! falls back on for long keys.

use super::Keyer;

/// Keys of 32 lowercase hex characters: a BLAKE3 hash of the namespace, the version and the
/// canonical text.
///
/// Use it when keys need not be read by a person, or when the arguments are long. The key is the
/// first 16 bytes (128 bits) of the BLAKE3 hash of, in this order:
///
/// 1. the 13 ASCII bytes `cacher.key.v2`, `v2` being the version of the encoding, as in the
///    canonical text's `(v2)` (so a key of another version's encoding is never made);
/// 2. the namespace: its length in bytes as a `u64`, little-endian, then its UTF-8 bytes;
/// 3. the version: the byte `0` for `None`; for `Some(v)` the byte `1`, then `v` framed like the
///    namespace (so `None` and `Some("")` differ);
/// 4. the canonical text, framed like the namespace;
///
/// written as 32 lowercase hex characters. Unlike [`ReadableKeyer`](super::ReadableKeyer)'s, the
/// key depends on the namespace and version, so two functions never share a key.
///
/// # Examples
///
/// ```
/// use cacher::key::{canonical, HashKeyer, Keyer};
///
/// let text = canonical(&("/posts", 1u32), &["endpoint", "user_id"]).unwrap();
/// let key = HashKeyer.key("my_crate::api::fetch", None, &text);
/// assert_eq!(key.len(), 32);
/// assert!(key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
/// // The same inputs give the same key, forever; a version salt gives another one.
/// assert_eq!(key, HashKeyer.key("my_crate::api::fetch", None, &text));
/// assert_ne!(key, HashKeyer.key("my_crate::api::fetch", Some("v2"), &text));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HashKeyer;

impl Keyer for HashKeyer {
    fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String {
        hash_hex(namespace, version, canonical)
    }
}

/// The hex digest [`HashKeyer`] documents: 32 lowercase hex characters.
pub(super) fn hash_hex(namespace: &str, version: Option<&str>, canonical: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"cacher.key.v2");
    framed(&mut hasher, namespace);
    match version {
        None => {
            hasher.update(&[0]);
        }
        Some(v) => {
            hasher.update(&[1]);
            framed(&mut hasher, v);
        }
    }
    framed(&mut hasher, canonical);
    let hex = hasher.finalize().to_hex();
    hex[..32].to_owned()
}

/// Length-prefixes `part`, so that no two different lists of parts hash the same bytes.
fn framed(hasher: &mut blake3::Hasher, part: &str) {
    // usize → u64 never truncates on any platform Rust supports.
    hasher.update(&(part.len() as u64).to_le_bytes());
    hasher.update(part.as_bytes());
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::HashKeyer;
    use crate::key::{Keyer, MAX_KEY_LEN, canonical};

    #[test]
    fn key_is_pinned_forever() {
        // Regression guard of the stability promise: these values were computed once by this
        // code and hard-coded. If this test fails, every key on every user's disk has changed —
        // fix the code, never these values. (They changed once, on purpose, with the encoding's
        // version 2: see `keys_of_version_1_are_never_made`.)
        let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
        assert_eq!(
            HashKeyer.key("my_crate::api::fetch", Some("v1"), &text),
            "cdc67279122dd4a7bda49e3f3df1d98f"
        );
        assert_eq!(
            HashKeyer.key("", None, ""),
            "25479d297d1030e8bb5cbb96f90ec31f"
        );
    }

    #[test]
    fn keys_of_version_1_are_never_made() {
        // The keys the first encoding gave for the same inputs: entries stored under them are
        // misses now, never read as values of other arguments.
        let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
        let key = HashKeyer.key("my_crate::api::fetch", Some("v1"), &text);
        assert_ne!(key, "38fd27ffb5d31d20e4f23f2a0a0453a6");
        assert_ne!(
            HashKeyer.key("", None, ""),
            "f21e36e215da3d7c6d8ea764c6ebb731"
        );
    }

    #[test]
    fn hash_covers_exactly_the_documented_bytes() {
        // The framing written out by hand, as `HashKeyer`'s documentation states it.
        let mut bytes = b"cacher.key.v2".to_vec();
        for part in ["ns", "v"] {
            if part == "v" {
                bytes.push(1);
            }
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(b"a_b");
        let expected = blake3::hash(&bytes).to_hex()[..32].to_owned();
        assert_eq!(HashKeyer.key("ns", Some("v"), "a_b"), expected);

        let mut none = b"cacher.key.v2".to_vec();
        none.extend_from_slice(&0u64.to_le_bytes());
        none.push(0);
        none.extend_from_slice(&0u64.to_le_bytes());
        assert_eq!(
            HashKeyer.key("", None, ""),
            &blake3::hash(&none).to_hex()[..32]
        );
    }

    #[test]
    fn framing_keeps_parts_apart() {
        let k = |ns, v, c| HashKeyer.key(ns, v, c);
        assert_ne!(k("ab", None, "c"), k("a", None, "bc"));
        assert_ne!(k("a", None, "b"), k("a", Some(""), "b"));
        assert_ne!(k("a", Some("b"), ""), k("a", None, "b"));
        assert_ne!(k("a", Some(""), "b"), k("a", Some("b"), ""));
    }

    proptest! {
        #[test]
        fn distinct_inputs_give_distinct_keys(a in ".*", b in ".*") {
            prop_assume!(a != b);
            let ka = HashKeyer.key("ns", None, &canonical(&a, &[]).unwrap());
            let kb = HashKeyer.key("ns", None, &canonical(&b, &[]).unwrap());
            prop_assert_ne!(ka, kb);
        }

        #[test]
        fn key_is_short_lowercase_hex(ns in ".*", v in proptest::option::of(".*"), c in ".*") {
            let key = HashKeyer.key(&ns, v.as_deref(), &c);
            prop_assert_eq!(key.len(), 32);
            prop_assert!(key.len() <= MAX_KEY_LEN);
            prop_assert!(key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }
}
