//! Which `#[cached]` function of this process writes which files.
//!
//! The file tier names an entry by its key, and the readable keyer's key is made of the
//! arguments' names and values, not the function's: two functions whose file tiers share a
//! directory and a format, and whose arguments have the same names and types, write the same
//! files. Their
//! values stay right (each entry records its namespace, and a read of another's is a miss), but
//! each call of one overwrites the other's entry, so that neither is ever a hit — a cache that
//! silently does not cache. Such a pair is refused at the second one's first use, with what to
//! write instead. Functions that cannot collide are left alone: another directory, another
//! `version` (whose entries are in a directory of their own), another format, other argument
//! names or types (the key's text tells apart `1` and `1u64`), a `key = …` expression without
//! a `key_type` (its value's type is not known here), the hash keyer (whose names include the
//! namespace), or a `filename_fn` (whose names are the user's).
//!
//! The directory compared is where the entries are, whatever its spelling: the version's
//! directory in it (`cache_dir = "d/v=2"` is `cache_dir = "d", version = "2"`), made absolute,
//! its `.` and `..` resolved, and the part of it that exists resolved as the file system
//! resolves it (symbolic links, a case-insensitive volume's case).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

/// What a file tier's names are made of: the directory its entries are in ([`entries_dir`]),
/// its files' extension, the key's argument names and the key's type (its `type_name`).
type Names = (PathBuf, &'static str, &'static [&'static str], &'static str);

/// The namespace that first wrote each set of names in this process.
static CLAIMED: LazyLock<Mutex<HashMap<Names, String>>> = LazyLock::new(Default::default);

/// `dir`, the directory of the file tier of the function `namespace` (of `version`), whose
/// entries are `.{extension}` files named by the readable keyer from keys of type `key_type`
/// and arguments named `arg_names`: recorded as the namespace's.
///
/// # Panics
/// When another function of this process has claimed the same names: each would overwrite the
/// other's entries.
pub fn claim_files(
    dir: PathBuf,
    namespace: &str,
    version: Option<&'static str>,
    extension: &'static str,
    arg_names: &'static [&'static str],
    key_type: &'static str,
) -> PathBuf {
    let names = (entries_dir(&dir, version), extension, arg_names, key_type);
    // A panic while the lock was held left the map whole: each change is one insert.
    let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    let first = claimed.entry(names).or_insert_with(|| namespace.to_owned());
    if first != namespace {
        refuse(first, namespace, &dir, arg_names);
    }
    dir
}

/// The directory the entries of a file tier in `dir`, of `version`, are in, spelled one way:
/// its deepest existing ancestor canonical (links and `..` resolved as the file system resolves
/// them), the rest appended without `.` and with each `..` taking off the name before it (none of
/// it exists, so none of it is a link).
fn entries_dir(dir: &Path, version: Option<&str>) -> PathBuf {
    let mut path = dir.to_path_buf();
    if let Some(version) = version {
        path.push(crate::backend::version_dir(version));
    }
    let path = std::path::absolute(&path).unwrap_or(path);
    let mut missing = Vec::new();
    let mut existing = path.as_path();
    let mut resolved = loop {
        if let Ok(canonical) = existing.canonicalize() {
            break canonical;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                missing.push(last);
                existing = parent;
            }
            _ => break PathBuf::new(),
        }
    };
    for component in missing.into_iter().rev() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            other => resolved.push(other),
        }
    }
    resolved
}

#[cold]
fn refuse(first: &str, second: &str, dir: &Path, arg_names: &[&str]) -> ! {
    panic!(
        "#[cached] functions `{first}` and `{second}` both keep their entries in {} under names made of arguments named ({}) of the same types: each would overwrite the other's entries, and neither would be a hit. Give either `keyer = \"hash\"` (its names include the function), or its own `cache_dir`",
        dir.display(),
        arg_names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::claim_files;

    #[test]
    fn a_second_function_with_the_same_names_is_refused_and_others_are_not() {
        let dir = || std::env::temp_dir().join("cacher-claims-test");
        let claim = |dir, namespace, version, extension, names, key| {
            claim_files(dir, namespace, version, extension, names, key)
        };
        let users = |dir| claim(dir, "app::users", None, "json", &["id"], "(u32,)");
        assert_eq!(users(dir()), dir());
        // The same function again (its companion, another thread): the same claim.
        assert_eq!(users(dir()), dir());
        // Names that cannot meet: another format, arguments, directory, version or key type.
        claim(dir(), "app::posts", None, "bin", &["id"], "(u32,)");
        claim(dir(), "app::posts", None, "json", &["post_id"], "(u32,)");
        claim(
            dir().join("posts"),
            "app::posts",
            None,
            "json",
            &["id"],
            "(u32,)",
        );
        claim(dir(), "app::posts", Some("2"), "json", &["id"], "(u32,)");
        claim(dir(), "app::posts", None, "json", &["id"], "(u64,)");
        let posts = || claim(dir(), "app::posts", None, "json", &["id"], "(u32,)");
        let refusal = std::panic::catch_unwind(posts).expect_err("refused");
        let message = refusal.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("`app::users` and `app::posts`"),
            "{message}"
        );
        assert!(message.contains("keyer = \"hash\""), "{message}");
    }

    /// One directory spelled another way was not the same claim: `d/./x/..`, `d/v=2` beside
    /// `d` of version 2, a symbolic link to `d`, a relative path beside its absolute form.
    #[test]
    fn a_directory_spelled_another_way_is_the_same_claim() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let claim = |dir: std::path::PathBuf, namespace, version| {
            let claim = || claim_files(dir.clone(), namespace, version, "json", &["n"], "(u8,)");
            std::panic::catch_unwind(claim).is_ok()
        };
        assert!(claim(dir.clone(), "app::a", None));
        assert!(!claim(dir.join(".").join("x").join(".."), "app::b", None));
        assert!(claim(dir.join("v=2"), "app::c", None));
        assert!(!claim(dir.clone(), "app::d", Some("2")));
        // A version directory not made yet is compared as written.
        assert!(claim(dir.join("sub").join("v=3"), "app::e", None));
        assert!(!claim(dir.join("sub"), "app::f", Some("3")));
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(&dir, &link).unwrap();
            assert!(!claim(link, "app::g", None));
            // `..` after a link is the parent of its target, not the directory the link is in.
            std::fs::create_dir(dir.join("inner")).unwrap();
            let inner = root.path().join("inner");
            std::os::unix::fs::symlink(dir.join("inner"), &inner).unwrap();
            assert!(claim(root.path().to_path_buf(), "app::h", None));
            assert!(!claim(inner.join(".."), "app::h", None));
        }
        let relative = std::path::Path::new("target").join("cacher-claims-relative");
        let absolute = std::env::current_dir().unwrap().join(&relative);
        assert!(claim(relative, "app::i", None));
        assert!(!claim(absolute, "app::j", None));
    }
}
