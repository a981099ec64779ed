//! The default directory of a function's file tier: its namespace's parts, each a portable
//! directory name.

use std::path::PathBuf;

/// The directory of a function's file tier: `configured`, or the namespace's parts (each part a
/// portable directory name), resolved as [`cache_dir`](crate::__private::cache_dir) does below the calling
/// package's (`package`: its `CARGO_PKG_NAME`) directory.
pub fn default_dir(configured: Option<&str>, package: &str, namespace: &str) -> PathBuf {
    let parts: PathBuf = top_level_parts(namespace).map(portable_part).collect();
    crate::__private::cache_dir(configured, package, parts)
}

/// `namespace` split at the `::` outside of `<…>`.
pub(super) fn top_level_parts(namespace: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut previous) = (0_usize, 0, ' ');
    for (at, c) in namespace.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if previous != '-' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && previous == ':' && at > start => {
                parts.push(&namespace[start..at - 1]);
                start = at + 1;
            }
            _ => {}
        }
        previous = c;
    }
    parts.push(&namespace[start..]);
    parts.into_iter()
}

/// A directory name for one part of a namespace, the same on every system: letters, digits,
/// `_` and `-` kept, `::` written `.`, any other byte `%XX`; a long one cut, with a hash of
/// the whole, so that it stays within every file system's limit.
pub(super) fn portable_part(part: &str) -> String {
    const MAX: usize = 96;
    let mut name = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            name.push('.');
            rest = after;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            name.push(c);
        } else {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                name.push_str(&format!("%{byte:02X}"));
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    if name.len() > MAX {
        // ASCII only: any cut is at a character boundary.
        name = format!("{}-{:016x}", &name[..MAX - 17], fnv1a(part));
    }
    name
}

/// FNV-1a, 64 bits: a hash that is the same in every process and version.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
