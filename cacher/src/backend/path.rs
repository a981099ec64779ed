//! Checks the relative paths that a `filename_fn` returns, so that no entry is ever written
//! outside the cache directory.

use std::path::{Component, PathBuf};

/// The start of a temporary file's name; `filename_fn` may not return such a name.
pub(crate) const TEMP_PREFIX: &str = ".cacher-tmp-";

/// The longest file or directory name, in bytes, that Linux, macOS and Windows all accept.
const MAX_COMPONENT_LEN: usize = 255;

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
    if parts
        .last()
        .is_some_and(|last| last.starts_with(TEMP_PREFIX))
    {
        return Err(refuse(
            "ends in a name reserved for temporary files (.cacher-tmp-…)",
        ));
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
    } else if part.len() > MAX_COMPONENT_LEN {
        Err("has a component longer than 255 bytes")
    } else if is_device_name(part) {
        Err("has a windows device name (con, nul, com1, …) as a component")
    } else {
        Ok(())
    }
}

/// Whether Windows opens a device for this name: the part before the first `.`, without trailing
/// spaces and dots, is a reserved device name, ignoring case.
fn is_device_name(part: &str) -> bool {
    let stem = part.split('.').next().unwrap_or_default();
    let stem = stem.trim_end_matches([' ', '.']).to_ascii_uppercase();
    if matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL") {
        return true;
    }
    let Some(n) = stem
        .strip_prefix("COM")
        .or_else(|| stem.strip_prefix("LPT"))
    else {
        return false;
    };
    let mut digits = n.chars();
    // Windows also treats the superscripts ¹ ² ³ as port numbers.
    let digit = digits
        .next()
        .is_some_and(|c| c.is_ascii_digit() || "¹²³".contains(c));
    digit && digits.next().is_none()
}

#[cfg(test)]
mod tests {
    use std::path::{Component, Path, PathBuf};

    use proptest::prelude::*;

    use super::{InvalidPath, TEMP_PREFIX, safe_relative_path};

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

    proptest! {
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
