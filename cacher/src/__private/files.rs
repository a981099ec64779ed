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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

/// What a file tier's names are made of: its directory, its version, its files' extension, the
/// key's argument names and the key's type (its `type_name`).
type Names = (
    PathBuf,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
    &'static str,
);

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
    let names = (dir.clone(), version, extension, arg_names, key_type);
    // A panic while the lock was held left the map whole: each change is one insert.
    let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    let first = claimed.entry(names).or_insert_with(|| namespace.to_owned());
    if first != namespace {
        refuse(first, namespace, &dir, arg_names);
    }
    dir
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
}
