//! Checks the relative paths that a `filename_fn` returns, so that no entry is ever written
//! outside the cache directory.

use std::path::{Component, Path, PathBuf};

use crate::portable::{MAX_NAME_LEN, is_windows_device_name};

/// The start of a temporary file's name; `filename_fn` may not return such a name.
pub(crate) const TEMP_PREFIX: &str = ".cacher-tmp-";

/// Why a `filename_fn` output was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filename_fn returned {path:?}: {reason}")]
pub struct InvalidPath {
    /// The path that `filename_fn` returned.
    pub path: String,
    /// What is wrong with it, e.g. `"has a '.' or '..' component"`.
    pub reason: &'static str,
}

/// Checks a relative path produced by a `filename_fn` and returns it as a `PathBuf` made of its
/// components.
///
/// Both `/` and `\` separate components, so Windows-style output works everywhere. Refused:
/// an empty path; control characters (NUL included); an absolute path (`/…`, `\…`); a UNC or
/// device path (`//server`, `\\?\`); a Windows drive (`C:…`) or any other `:`, which Windows reads
/// as a drive or an alternate data stream; empty, `.` and `..` components; a component longer than
/// 255 bytes; a Windows device name as a component (`con`, `NUL.json`, `com1`, …), which Windows
/// opens as a device instead of a file; and a last component starting with [`TEMP_PREFIX`], which
/// is reserved for temporary files.
pub(crate) fn safe_relative_path(rel: &str) -> Result<PathBuf, InvalidPath> {
    let refuse = |reason| InvalidPath {
        path: rel.to_owned(),
        reason,
    };
    check_whole(rel).map_err(refuse)?;
    let parts: Vec<&str> = rel.split(['/', '\\']).collect();
    for part in &parts {
        check_component(part).map_err(refuse)?;
    }
    if let Some(last) = parts.last() {
        check_last(last).map_err(refuse)?;
    }
    let path: PathBuf = parts.iter().collect();
    // Defence in depth: whatever the platform's rules, only plain names may come out.
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)))
        && path.components().count() == parts.len()
        && path.is_relative();
    if !plain {
        return Err(refuse("is not a plain relative path"));
    }
    Ok(path)
}

/// The rules about the path as a whole.
fn check_whole(rel: &str) -> Result<(), &'static str> {
    let separator = |c: char| c == '/' || c == '\\';
    let mut chars = rel.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Err("is empty"),
        _ if rel.contains('\0') => Err("contains a NUL byte"),
        _ if rel.chars().any(char::is_control) => Err("contains a control character"),
        (Some(a), Some(b)) if separator(a) && separator(b) => {
            Err("is a UNC or device path (//server, \\\\?\\)")
        }
        (Some(a), _) if separator(a) => Err("is absolute"),
        (Some(a), Some(':')) if a.is_ascii_alphabetic() => Err("starts with a windows drive (C:)"),
        _ if rel.contains(':') => {
            Err("contains ':', which windows reads as a drive or stream separator")
        }
        _ => Ok(()),
    }
}

/// The rules about each component.
fn check_component(part: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        Err("has an empty component")
    } else if part == "." || part == ".." {
        Err("has a '.' or '..' component")
    } else if part.len() > MAX_NAME_LEN {
        Err("has a component longer than 255 bytes")
    } else if is_windows_device_name(part) {
        Err("has a windows device name (con, nul, com1, …) as a component")
    } else {
        Ok(())
    }
}

/// The rule about the file's own name.
fn check_last(last: &str) -> Result<(), &'static str> {
    if last.starts_with(TEMP_PREFIX) {
        Err("ends in a name reserved for temporary files (.cacher-tmp-…)")
    } else {
        Ok(())
    }
}

/// `dir` joined with `relative`, once [`safe_relative_path`] accepts it.
///
/// Every lookup makes a path, so the names that keyers and usual `filename_fn`s return take a
/// quicker road to the same result (see [`join_plain`]).
///
/// # Errors
/// [`InvalidPath`] as [`safe_relative_path`] gives it.
pub(crate) fn join_checked(dir: &Path, relative: &str) -> Result<PathBuf, InvalidPath> {
    match join_plain(dir, relative) {
        Some(path) => Ok(path),
        None => Ok(dir.join(safe_relative_path(relative)?)),
    }
}

/// The same rules as [`safe_relative_path`], for a path made only of printable ASCII other than
/// `\` and `:`: none of the rules about the whole path can refuse it but through its
/// components, which are checked one by one, in place, by the same [`check_component`] and
/// [`check_last`]. `None` for any other path, or when a rule refuses it. For every path accepted
/// here, `safe_relative_path` returns the same components, so the result is the same path, with
/// one allocation instead of several.
fn join_plain(dir: &Path, relative: &str) -> Option<PathBuf> {
    let plain = |b: u8| matches!(b, b' '..=b'~') && b != b'\\' && b != b':';
    if !relative.bytes().all(plain) {
        return None;
    }
    let mut path = PathBuf::with_capacity(dir.as_os_str().len() + relative.len() + 1);
    path.push(dir);
    let mut last = "";
    for part in relative.split('/') {
        check_component(part).ok()?;
        path.push(part);
        last = part;
    }
    check_last(last).ok()?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use std::path::{Component, Path, PathBuf};

    use proptest::prelude::*;

    use super::{InvalidPath, TEMP_PREFIX, join_plain, safe_relative_path};

    /// Whether `path` could lead outside the directory it is joined to.
    fn escapes(path: &Path) -> bool {
        path.is_absolute()
            || path
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
    }

    fn reason(rel: &str) -> &'static str {
        safe_relative_path(rel).unwrap_err().reason
    }

    #[test]
    fn plain_paths_are_accepted() {
        assert_eq!(safe_relative_path("a.json").unwrap(), Path::new("a.json"));
        assert_eq!(
            safe_relative_path("ab/cd/key.json").unwrap(),
            ["ab", "cd", "key.json"].iter().collect::<PathBuf>()
        );
        assert_eq!(
            safe_relative_path("ab\\key.json").unwrap(),
            ["ab", "key.json"].iter().collect::<PathBuf>()
        );
        assert!(safe_relative_path("..a/b..c/.d/é.json").is_ok());
        assert!(safe_relative_path(&format!("{TEMP_PREFIX}x/key.json")).is_ok());
        assert!(safe_relative_path("console/comx/aux_data.bin").is_ok());
    }

    #[test]
    fn error_names_the_path_and_the_reason() {
        let err = safe_relative_path("../x").unwrap_err();
        assert_eq!(
            err,
            InvalidPath {
                path: "../x".to_owned(),
                reason: "has a '.' or '..' component",
            }
        );
        assert_eq!(
            err.to_string(),
            "filename_fn returned \"../x\": has a '.' or '..' component"
        );
    }

    #[test]
    fn bad_paths_are_refused_with_their_reason() {
        let cases = [
            ("", "is empty"),
            ("/etc/passwd", "is absolute"),
            ("\\x", "is absolute"),
            (
                "//server/share",
                "is a UNC or device path (//server, \\\\?\\)",
            ),
            (
                "\\\\?\\C:\\x",
                "is a UNC or device path (//server, \\\\?\\)",
            ),
            ("C:x", "starts with a windows drive (C:)"),
            ("c:\\x", "starts with a windows drive (C:)"),
            (
                "a/C:/b",
                "contains ':', which windows reads as a drive or stream separator",
            ),
            (
                "ab:stream",
                "contains ':', which windows reads as a drive or stream separator",
            ),
            ("a//b", "has an empty component"),
            ("a/", "has an empty component"),
            (".", "has a '.' or '..' component"),
            ("a/./b", "has a '.' or '..' component"),
            ("..", "has a '.' or '..' component"),
            ("a/../../b", "has a '.' or '..' component"),
            ("a\\..\\b", "has a '.' or '..' component"),
            ("a\0b", "contains a NUL byte"),
            ("a\nb", "contains a control character"),
            ("a\u{7f}", "contains a control character"),
            ("a\u{85}", "contains a control character"),
        ];
        for (rel, want) in cases {
            assert_eq!(reason(rel), want, "{rel:?}");
        }
    }

    #[test]
    fn device_names_and_temporary_names_are_refused() {
        let cases = [
            (
                "con",
                "has a windows device name (con, nul, com1, …) as a component",
            ),
            (
                "x/NUL.json",
                "has a windows device name (con, nul, com1, …) as a component",
            ),
            (
                "Com1.a.b",
                "has a windows device name (con, nul, com1, …) as a component",
            ),
            (
                "lpt²",
                "has a windows device name (con, nul, com1, …) as a component",
            ),
            (
                "aux .txt",
                "has a windows device name (con, nul, com1, …) as a component",
            ),
            (
                ".cacher-tmp-1-2-3",
                "ends in a name reserved for temporary files (.cacher-tmp-…)",
            ),
            (
                "a/.cacher-tmp-x",
                "ends in a name reserved for temporary files (.cacher-tmp-…)",
            ),
        ];
        for (rel, want) in cases {
            assert_eq!(reason(rel), want, "{rel:?}");
        }
    }

    #[test]
    fn component_length_limit_is_255_bytes() {
        let ok = "é".repeat(127) + "a"; // 255 bytes
        assert!(safe_relative_path(&format!("d/{ok}")).is_ok());
        let long = "é".repeat(128); // 256 bytes
        assert_eq!(
            reason(&format!("d/{long}/x")),
            "has a component longer than 255 bytes"
        );
    }

    #[test]
    fn plain_paths_join_like_the_full_check() {
        let dir = Path::new("/cache/dir");
        for rel in [
            "a.json",
            "ab/cd/0123abcd.json",
            "user_id=1_n=2.bin",
            "%2Fposts_1.json",
            "console/x y.json",
        ] {
            assert_eq!(
                join_plain(dir, rel),
                Some(dir.join(safe_relative_path(rel).unwrap())),
                "{rel}"
            );
        }
        for rel in [
            "",
            "/a",
            "a//b",
            "a/",
            "../a",
            "a/./b",
            "con.json",
            "x/.cacher-tmp-1",
            "a:b",
            "a\\b",
            "é.json",
        ] {
            assert_eq!(join_plain(dir, rel), None, "{rel:?}");
        }
    }

    proptest! {
        /// The quick road accepts exactly what the full rules accept among the plain paths
        /// (and nothing else), as the same path.
        #[test]
        fn join_plain_agrees_with_safe_relative_path(
            rel in "[a-zA-Z0-9./\\\\:%_= \\-]{0,12}|(con|nul|com1|lpt|\\.cacher-tmp-)[a-z./]{0,6}"
        ) {
            let dir = Path::new("base");
            let checked = safe_relative_path(&rel);
            match join_plain(dir, &rel) {
                Some(joined) => {
                    prop_assert!(checked.is_ok(), "{:?} accepted, but {:?}", rel, checked);
                    prop_assert_eq!(joined, dir.join(checked.unwrap()));
                }
                None => prop_assert!(
                    checked.is_err() || rel.contains(['\\', ':']),
                    "{:?} refused, but the full rules accept it", rel
                ),
            }
        }

        #[test]
        fn accepted_paths_stay_inside(rel in ".*") {
            if let Ok(path) = safe_relative_path(&rel) {
                prop_assert!(!escapes(&path), "{:?} -> {:?}", rel, path);
                prop_assert!(path.components().all(|c| c.as_os_str().len() <= 255));
            }
        }

        #[test]
        fn accepted_separator_heavy_paths_stay_inside(
            rel in "[./\\\\a:C]{0,12}"
        ) {
            if let Ok(path) = safe_relative_path(&rel) {
                prop_assert!(!escapes(&path), "{:?} -> {:?}", rel, path);
                prop_assert!(!rel.split(['/', '\\']).any(|p| p == ".." || p == "." || p.is_empty()));
            }
        }
    }
}
