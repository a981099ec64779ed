//! [`ReadableKeyer`]: the canonical text, made a safe file name.

use super::canonical::{SAFE, push_percent};
use super::hash::hash_hex;
use super::{Keyer, MAX_KEY_LEN};
use crate::portable::is_windows_device_name;

/// The default keyer: the canonical text itself, made safe as a single file name on Linux, macOS
/// and Windows.
///
/// A person listing the cache directory sees which arguments each entry is for. The key is the
/// canonical text (see [the module documentation](crate::key)) with these changes, in this order:
///
/// 1. Any byte that the canonical text never leaves unescaped, other than `%`, `_` and `=`, is
///    escaped as `%XX` — a no-op on a real canonical text, there so that the key is safe whatever
///    text it is given. In particular `~` is always escaped.
/// 2. **Windows device names.** When the part before the first `.` is, ignoring ASCII case,
///    `CON`, `PRN`, `AUX`, `NUL`, `COM0`…`COM9` or `LPT0`…`LPT9`, its first character is escaped:
///    `con` → `%63on`, `NUL.txt` → `%4EUL.txt`. (A canonical text starts with `(v2)`, so this
///    only ever changes other text.)
/// 3. **Dots at the edges.** A leading `.` (hidden files, `.` and `..`; again only in other
///    text) and a trailing `.` (which Windows drops) are escaped as `%2E`: `.hidden` →
///    `%2Ehidden`, `(v2)a.` → `(v2)a%2E`, `..` → `%2E%2E`. (A trailing space cannot occur:
///    spaces are always escaped.)
/// 4. **Long or empty keys.** When the result is longer than [`MAX_KEY_LEN`] bytes, or empty, the
///    key is its first bytes — at most `MAX_KEY_LEN - 33`, cut before any `%XX` that would be
///    split — then `~`, then the 32 hex characters that [`HashKeyer`](super::HashKeyer) gives for
///    the same namespace, version and canonical text. A `~` appears in no other key, so such a
///    key never equals a readable one.
///
/// Since the canonical text escapes `%` and leaves the letters, digits and `.` as they are, the
/// escapes of steps 2 and 3 never occur in it otherwise, so keys stay injective: different
/// canonical texts give different keys. The namespace and version only enter a key through the
/// hash of step 4: two functions with the same arguments share a readable key, and the backends
/// tell them apart with the namespace and version that each entry records.
///
/// On a case-insensitive file system (the default on macOS and Windows) keys that differ only in
/// letter case, like those of `"Asc"` and `"asc"`, name the same file. The file backend checks the
/// key recorded in the entry, so this costs misses, never a wrong value; use
/// [`HashKeyer`](super::HashKeyer) if arguments often differ only in case.
///
/// # Examples
///
/// ```
/// use cacher::key::{canonical, Keyer, ReadableKeyer, MAX_KEY_LEN};
///
/// let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
/// let key = ReadableKeyer.key("my_crate::api::fetch", None, &text);
/// assert_eq!(key, "(v2)endpoint=%2Fposts_user_id=1_sort=asc");
///
/// // A canonical text starts with `(v2)`, so it is never a device name nor starts with a dot;
/// // other text given to the keyer gets them escaped.
/// assert_eq!(ReadableKeyer.key("f", None, "con"), "%63on");
/// assert_eq!(ReadableKeyer.key("f", None, ".."), "%2E%2E");
///
/// // A long argument gives a prefix, `~` and a hash.
/// let long = "x".repeat(10_000);
/// let key = ReadableKeyer.key("f", None, &canonical(&long, &[]).unwrap());
/// assert!(key.len() <= MAX_KEY_LEN && key.contains('~'));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadableKeyer;

impl Keyer for ReadableKeyer {
    fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String {
        let mut key = sanitize(canonical);
        escape_device_name(&mut key);
        escape_edge_dots(&mut key);
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            key = shorten(&key, &hash_hex(namespace, version, canonical));
        }
        key
    }

    fn keeps(&self, canonical: &str) -> bool {
        is_own_key(canonical)
    }
}

/// Whether no step changes `text`: then it is its own key (most canonical texts are).
fn is_own_key(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_KEY_LEN
        && text.bytes().all(is_kept)
        && !is_windows_device_name(text)
        && !text.starts_with('.')
        && !text.ends_with('.')
}

/// Whether step 1 keeps a byte as it is.
fn is_kept(b: u8) -> bool {
    KEPT[usize::from(b)]
}

/// [`is_kept`] of every byte, looked up (this runs for every byte of every readable key): the
/// canonical text's safe bytes, and `%`, `_` and `=`, which it writes itself.
const KEPT: [bool; 256] = {
    let mut kept = SAFE;
    kept[b'%' as usize] = true;
    kept[b'_' as usize] = true;
    kept[b'=' as usize] = true;
    kept
};

/// Step 1: escapes whatever could not come from `canonical`, so that even text from elsewhere
/// gives a safe name.
fn sanitize(text: &str) -> String {
    // Most keys need no escape: copied whole.
    if text.bytes().all(is_kept) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if is_kept(b) {
            out.push(char::from(b));
        } else {
            push_percent(b, &mut out);
        }
    }
    out
}

/// Step 2: Windows opens a device instead of a file for these names, whatever the extension.
fn escape_device_name(key: &mut String) {
    if is_windows_device_name(key) {
        // `key` is ASCII (sanitized), so its first char is one byte.
        let first = key.remove(0);
        let mut escaped = String::new();
        push_percent(first as u8, &mut escaped);
        key.insert_str(0, &escaped);
    }
}

/// Step 3: no hidden files, never `.` or `..`, and no trailing dot that Windows would drop.
fn escape_edge_dots(key: &mut String) {
    if key.starts_with('.') {
        key.replace_range(..1, "%2E");
    }
    if key.ends_with('.') {
        key.pop();
        key.push_str("%2E");
    }
}

/// Step 4: a prefix that splits no `%XX`, then `~` and the hash.
fn shorten(key: &str, hash: &str) -> String {
    let budget = MAX_KEY_LEN - 1 - hash.len();
    let mut cut = budget.min(key.len());
    let bytes = key.as_bytes();
    // An escape starting one or two bytes before the cut would be split: cut before it.
    for back in 1..=2 {
        if cut >= back && cut < key.len() && bytes[cut - back] == b'%' {
            cut -= back;
            break;
        }
    }
    format!("{}~{hash}", &key[..cut])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::ReadableKeyer;
    use crate::key::decode::{decode_string, decode_strings};
    use crate::key::{Keyer, MAX_KEY_LEN, canonical};
    use crate::portable::is_windows_device_name;

    fn key_of(s: &str) -> String {
        ReadableKeyer.key("ns", None, &canonical(&s, &[]).unwrap())
    }

    /// Everything a key must be to work as one file name on Linux, macOS and Windows.
    fn assert_safe_name(key: &str) {
        assert!(!key.is_empty(), "{key:?}");
        assert!(key.is_ascii(), "{key:?}");
        assert!(key.len() <= MAX_KEY_LEN, "{key:?}");
        assert!(
            !key.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']),
            "{key:?}"
        );
        assert!(!key.bytes().any(|b| b.is_ascii_control()), "{key:?}");
        assert!(key != "." && key != "..", "{key:?}");
        assert!(!key.starts_with('.'), "{key:?}");
        assert!(!key.ends_with(['.', ' ']), "{key:?}");
        assert!(!is_windows_device_name(key), "{key:?}");
    }

    #[test]
    fn separators_and_escapes_give_different_keys() {
        let keys: Vec<String> = ["a/b", "a_b", "a b", "a%2Fb"].map(key_of).into();
        assert_eq!(keys, ["(v2)a%2Fb", "(v2)a%5Fb", "(v2)a%20b", "(v2)a%252Fb"]);
    }

    #[test]
    fn device_names_are_escaped() {
        let key = |text: &str| ReadableKeyer.key("ns", None, text);
        assert_eq!(key("con"), "%63on");
        assert_eq!(key("NUL.txt"), "%4EUL.txt");
        assert_eq!(key("Lpt9.a.b"), "%4Cpt9.a.b");
        assert_eq!(key("com0"), "%63om0");
        assert_eq!(key("console"), "console");
        assert_eq!(key("comx"), "comx");
        // The escaped device name is not the key of the literal text "%63on".
        assert_ne!(key("%2563on"), key("con"));
        // A canonical text starts with the version, so it never is one.
        assert_eq!(key_of("con"), "(v2)con");
    }

    #[test]
    fn edge_dots_are_escaped() {
        let key = |text: &str| ReadableKeyer.key("ns", None, text);
        assert_eq!(key(".hidden"), "%2Ehidden");
        assert_eq!(key("."), "%2E");
        assert_eq!(key(".."), "%2E%2E");
        assert_eq!(key("con."), "%63on%2E");
        assert_eq!(key_of("a."), "(v2)a%2E");
        assert_eq!(key_of("a.b"), "(v2)a.b");
        // A string argument starting with a dot is marked, so a key never starts with one.
        assert_eq!(key_of(".hidden"), "(v2)'.hidden");
    }

    #[test]
    fn long_argument_gets_prefix_and_hash() {
        let long = "x".repeat(10 * 1024);
        let key = key_of(&long);
        assert!(key.len() <= MAX_KEY_LEN);
        let (prefix, hash) = key.split_once('~').unwrap();
        assert!(
            prefix
                .strip_prefix("(v2)")
                .unwrap()
                .bytes()
                .all(|b| b == b'x')
        );
        assert_eq!(hash.len(), 32);
        // Same prefix, another tail: another key.
        assert_ne!(key_of(&format!("{long}y")), key);
    }

    #[test]
    fn long_key_never_splits_an_escape() {
        for pad in 0..4 {
            let s = format!("{}{}", "x".repeat(pad), "/".repeat(300));
            let key = key_of(&s);
            let prefix = key.split('~').next().unwrap();
            assert!(
                prefix["(v2)".len() + pad..].len().is_multiple_of(3),
                "{key}"
            );
            assert_safe_name(&key);
        }
    }

    #[test]
    fn fallback_depends_on_namespace_and_version() {
        let text = canonical(&"y".repeat(500), &[]).unwrap();
        let a = ReadableKeyer.key("a", None, &text);
        assert_ne!(a, ReadableKeyer.key("b", None, &text));
        assert_ne!(a, ReadableKeyer.key("a", Some(""), &text));
    }

    #[test]
    fn foreign_text_still_gives_a_safe_name() {
        for text in [
            "", ".", "..", "a/b", "x~y", "con", "C:\\x", "a\0b", "%", "é",
        ] {
            assert_safe_name(&ReadableKeyer.key("ns", None, text));
        }
    }

    proptest! {
        #[test]
        fn key_is_a_safe_file_name(s in ".*") {
            assert_safe_name(&key_of(&s));
        }

        /// A text the keyer says it keeps is its own key, and a canonical text without a byte
        /// to escape is kept.
        #[test]
        fn a_kept_text_is_its_own_key(s in ".*", canonical_text in any::<bool>()) {
            let text = if canonical_text { canonical(&s, &[]).unwrap() } else { s };
            let key = ReadableKeyer.key("ns", None, &text);
            if ReadableKeyer.keeps(&text) {
                prop_assert_eq!(&key, &text);
            }
            if canonical_text && key == text {
                prop_assert!(ReadableKeyer.keeps(&text));
            }
        }

        #[test]
        fn key_of_any_text_is_a_safe_file_name(s in ".*") {
            assert_safe_name(&ReadableKeyer.key("ns", None, &s));
        }

        #[test]
        fn short_keys_decode_back(s in ".*") {
            let key = key_of(&s);
            if !key.contains('~') {
                prop_assert_eq!(decode_string(&key), Some(s));
            }
        }

        #[test]
        fn distinct_strings_give_distinct_keys(a in ".*", b in ".*") {
            prop_assume!(a != b);
            prop_assert_ne!(key_of(&a), key_of(&b));
        }

        #[test]
        fn distinct_pairs_give_distinct_keys(
            a in (".*", ".*"),
            b in (".*", ".*"),
        ) {
            prop_assume!(a != b);
            let names = ["first", "second"];
            let ka = ReadableKeyer.key("ns", None, &canonical(&a, &names).unwrap());
            let kb = ReadableKeyer.key("ns", None, &canonical(&b, &names).unwrap());
            prop_assert_ne!(&ka, &kb);
            if !ka.contains('~') {
                prop_assert_eq!(decode_strings(&ka, &names), Some(vec![a.0, a.1]));
            }
        }
    }
}
