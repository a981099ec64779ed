//! Checks the relative paths that a `filename_fn` returns, so that every entry has a name that
//! stays inside the cache directory and means the same file on every platform, and names the
//! directory of each `version`.

pub use crate::portable::InvalidPath;
use crate::portable::name_problem;

/// The most directories an entry's path may have: the walks of `clear`, of the bounds and of
/// the listings go [`MAX_DEPTH`](super::sweep::MAX_DEPTH) down, one of them a version's
/// directory. An entry deeper than they go was left by `clear` and served after it.
pub(crate) const MAX_DIRS: usize = super::sweep::MAX_DEPTH - 1;
const _: () = assert!(MAX_DIRS == 31, "check_relative's reason says 31");

/// The start of a temporary file's name; `filename_fn` may not return such a name.
pub(crate) const TEMP_PREFIX: &str = ".cacher-tmp-";

/// Checks a relative path produced by a `filename_fn` (or `<key>.<extension>`).
///
/// Components are separated by `/` only. Refused: an empty path; an absolute path (`/…`); a UNC
/// or device path (`//server`); a Windows drive (`C:…`); and any component that is not a
/// portable name ([`name_problem`]: empty, `.`, `..`, over 255 bytes, a trailing `.` or space,
/// a control, bidirectional control or Windows-reserved character — `\` and `:` among them — or
/// a Windows device name); a component that is the lock folder
/// ([`LOCK_DIR`](crate::lock::LOCK_DIR): its generations, schedules and locks are cacher's, and
/// no walk of `clear` looks in it); a last component starting with [`TEMP_PREFIX`], which is
/// reserved for temporary files; and more than [`MAX_DIRS`] directories, which the walks of
/// `clear` and of the bounds would not reach. Allocates nothing unless it refuses.
pub(crate) fn check_relative(rel: &str) -> Result<(), InvalidPath> {
    let refuse = |reason| InvalidPath {
        path: rel.to_owned(),
        reason,
    };
    check_whole(rel).map_err(refuse)?;
    if rel.bytes().filter(|&b| b == b'/').count() > MAX_DIRS {
        return Err(refuse(
            "has more than 31 directories, deeper than clear and the bounds look",
        ));
    }
    let mut last = "";
    for part in rel.split('/') {
        if let Some(reason) = name_problem(part) {
            return Err(refuse(reason));
        }
        if part == crate::lock::LOCK_DIR {
            return Err(refuse(
                "goes through the lock folder (.cacher-locks), which is cacher's own",
            ));
        }
        last = part;
    }
    if last.starts_with(TEMP_PREFIX) {
        return Err(refuse(
            "ends in a name reserved for temporary files (.cacher-tmp-…)",
        ));
    }
    Ok(())
}

/// The rules about the path as a whole, which give a clearer reason than its first component.
fn check_whole(rel: &str) -> Result<(), &'static str> {
    let separator = |c: char| c == '/' || c == '\\';
    let mut chars = rel.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Err("is empty"),
        (Some(a), Some(b)) if separator(a) && separator(b) => {
            Err("is a UNC or device path (//server, \\\\?\\)")
        }
        (Some(a), _) if separator(a) => Err("is absolute"),
        (Some(a), Some(':')) if a.is_ascii_alphabetic() => Err("starts with a windows drive (C:)"),
        _ => Ok(()),
    }
}

/// `filename_fn`'s output for `key`. A panic in it (`&key[..4]` of a shorter key) is a refusal
/// of the path, reported and counted as every refusal, not the caller's panic: the function's
/// value is still returned, as with a `ttl_fn` that panics.
pub(crate) fn output_of(f: &dyn Fn(&str) -> String, key: &str) -> Result<String, InvalidPath> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(key))).map_err(|_| InvalidPath {
        path: String::new(),
        reason: "nothing: it panicked for this key",
    })
}

/// The directory, under the cache directory, of the entries of `version`: `v=<version>` when
/// the version is a short plain name (ASCII letters, digits, `.`, `_`, `-`, `+`, at most 64
/// bytes, a portable name), else `v#` and 32 hex digits of its blake3 hash. No plain version
/// starts with `#`, so the two forms never meet.
pub(crate) fn version_dir(version: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"._-+".contains(&b);
    let name = format!("v={version}");
    if version.len() <= 64 && version.bytes().all(plain) && name_problem(&name).is_none() {
        return name;
    }
    let hash = blake3::hash(version.as_bytes()).to_hex();
    format!("v#{}", &hash[..32])
}

#[cfg(test)]
mod tests {
    use std::path::{Component, Path};

    use proptest::prelude::*;

    use super::{InvalidPath, TEMP_PREFIX, check_relative, version_dir};

    fn reason(rel: &str) -> &'static str {
        check_relative(rel).unwrap_err().reason
    }

    #[test]
    fn plain_paths_are_accepted() {
        for rel in [
            "a.json",
            "ab/cd/key.json",
            "..a/b..c/.d/é.json",
            "console/comx/aux_data.bin",
            "user_id=1_n=2.bin",
            "%2Fposts_1.json",
            "console/x y.json",
        ] {
            assert_eq!(check_relative(rel), Ok(()), "{rel:?}");
        }
        assert!(check_relative(&format!("{TEMP_PREFIX}x/key.json")).is_ok());
    }

    #[test]
    fn error_names_the_path_and_the_reason() {
        let err = check_relative("../x").unwrap_err();
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
        let colon = "contains ':', which windows reads as a drive or stream separator";
        let backslash = "contains '\\', which windows reads as a separator (use '/')";
        let unc = "is a UNC or device path (//server, \\\\?\\)";
        let dot = "has a '.' or '..' component";
        let cases = [
            ("", "is empty"),
            ("/etc/passwd", "is absolute"),
            ("\\x", "is absolute"),
            ("//server/share", unc),
            ("\\\\?\\C:\\x", unc),
            ("C:x", "starts with a windows drive (C:)"),
            ("c:\\x", "starts with a windows drive (C:)"),
            ("a/C:/b", colon),
            ("ab:stream", colon),
            ("a\\b.json", backslash),
            ("a\\..\\b", backslash),
            ("a//b", "has an empty component"),
            ("a/", "has an empty component"),
            (".", dot),
            ("a/./b", dot),
            ("..", dot),
            ("a/../../b", dot),
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
    fn names_that_break_on_other_platforms_are_refused() {
        let edge = "has a component ending in '.' or ' ', which windows drops";
        let reserved = "contains a character windows refuses in names (< > \" | ? *)";
        let bidi = "contains a bidirectional control character (U+202E, …)";
        let cases = [
            ("...", edge),
            ("a.", edge),
            ("dir./a.json", edge),
            ("a.json ", edge),
            ("sub /a.json", edge),
            ("a?.json", reserved),
            ("a*b/c.json", reserved),
            ("x/\"q\".json", reserved),
            ("report\u{202E}nosj.exe", bidi),
            ("a\u{2066}b.json", bidi),
        ];
        for (rel, want) in cases {
            assert_eq!(reason(rel), want, "{rel:?}");
        }
    }

    #[test]
    fn device_names_and_temporary_names_are_refused() {
        let device = "has a windows device name (con, nul, com1, …) as a component";
        let temp = "ends in a name reserved for temporary files (.cacher-tmp-…)";
        let cases = [
            ("con", device),
            ("x/NUL.json", device),
            ("Com1.a.b", device),
            ("lpt²", device),
            ("aux .txt", device),
            (".cacher-tmp-1-2-3", temp),
            ("a/.cacher-tmp-x", temp),
        ];
        for (rel, want) in cases {
            assert_eq!(reason(rel), want, "{rel:?}");
        }
    }

    /// A `filename_fn` naming a path in a lock folder would write an entry over the folder's
    /// generations (`.cacher-locks/generations-00`: the invalidations of every key of the
    /// directory), a rate schedule or a lock file, where no walk of `clear` looks.
    #[test]
    fn the_lock_folder_is_refused_at_any_depth() {
        let locks = "goes through the lock folder (.cacher-locks), which is cacher's own";
        for rel in [
            ".cacher-locks/generations-00",
            "a/.cacher-locks/x.json",
            ".cacher-locks",
        ] {
            assert_eq!(reason(rel), locks, "{rel:?}");
        }
        assert!(check_relative("a/.cacher-locks.json").is_ok());
    }

    #[test]
    fn component_length_limit_is_255_bytes() {
        let ok = "é".repeat(127) + "a"; // 255 bytes
        assert!(check_relative(&format!("d/{ok}")).is_ok());
        let long = "é".repeat(128); // 256 bytes
        assert_eq!(
            reason(&format!("d/{long}/x")),
            "has a component longer than 255 bytes"
        );
    }

    #[test]
    fn versions_get_a_directory_of_their_own() {
        assert_eq!(version_dir("2"), "v=2");
        assert_eq!(version_dir("1.4.0-rc1+b7"), "v=1.4.0-rc1+b7");
        assert_eq!(version_dir(""), "v=");
        for odd in ["a/b", "..", "1.", "x y", "é", &"9".repeat(65)] {
            let dir = version_dir(odd);
            assert!(dir.starts_with("v#") && dir.len() == 34, "{odd:?} -> {dir}");
            assert_eq!(check_relative(&dir), Ok(()), "{odd:?}");
        }
        assert_ne!(version_dir("a/b"), version_dir("a\\b"));
    }

    proptest! {
        #[test]
        fn accepted_paths_stay_inside_and_are_portable(rel in ".*") {
            if check_relative(&rel).is_ok() {
                let path = Path::new(&rel);
                prop_assert!(path.is_relative());
                prop_assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
                prop_assert_eq!(path.components().count(), rel.split('/').count());
                prop_assert!(!rel.contains(['\\', ':', '?', '*', '<', '>', '|', '"']));
                prop_assert!(rel.split('/').all(|p| p.len() <= 255 && !p.ends_with(['.', ' '])));
            }
        }

        #[test]
        fn accepted_separator_heavy_paths_stay_inside(rel in "[./\\\\a:C ]{0,12}") {
            if check_relative(&rel).is_ok() {
                prop_assert!(!rel.split('/').any(|p| p == ".." || p == "." || p.is_empty()));
                prop_assert!(!rel.starts_with('/'));
            }
        }

        #[test]
        fn every_version_gets_a_portable_directory(version in ".*") {
            let dir = version_dir(&version);
            prop_assert_eq!(check_relative(&dir), Ok(()));
            prop_assert!(!dir.contains('/'));
        }
    }
}
