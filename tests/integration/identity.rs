//! A cache's identity across refactors and edits: a value type moved to another module keeps its
//! entries (its shape is the guard), a changed type does not; a pinned `namespace` keeps a
//! function's cache where it moves; an edited function's entries are misses in the next process;
//! default directories that do not depend on the current directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use cacher::format::{Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, SeparateFileBackend};
use cacher_tests::redis_server::child_results;
use cacher_tests::{files_below, test_name};
use serde::{Deserialize, Serialize};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The type before the refactor.
mod models {
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct User {
        pub id: u32,
        pub name: String,
    }

    /// A type whose serde shape cannot be traced (untagged): guarded by its full path.
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(untagged)]
    pub enum Reply {
        Count(u32),
        Text(String),
    }
}

/// The same types, moved to another module.
mod accounts {
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct User {
        pub id: u32,
        pub name: String,
    }

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(untagged)]
    pub enum Reply {
        Count(u32),
        Text(String),
    }
}

/// A type of the same name whose layout changed: its fields swapped.
mod changed {
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct User {
        pub name: String,
        pub id: u32,
    }
}

fn cache<V, F>(dir: &Path, formatter: F) -> Cache<u32, V>
where
    V: Clone + Send + Sync + Serialize + for<'de> Deserialize<'de> + 'static,
    F: Formatter,
{
    Cache::builder()
        .namespace("app::user")
        .backend(SeparateFileBackend::new(dir).formatter(formatter))
        .build()
        .unwrap()
}

fn moved_types_keep_their_entries_with<F: Formatter + Clone>(formatter: F) {
    let dir = tempfile::tempdir().unwrap();
    let before = models::User {
        id: 7,
        name: "Ada".into(),
    };
    let old = cache::<models::User, _>(dir.path(), formatter.clone());
    old.insert(&7, before).unwrap();
    let moved = cache::<accounts::User, _>(dir.path(), formatter.clone());
    let expected = accounts::User {
        id: 7,
        name: "Ada".into(),
    };
    assert_eq!(moved.get(&7), Some(expected), "{}", formatter.name());
    assert_eq!(moved.stats().errors, 0);
}

#[test]
fn a_value_type_moved_to_another_module_keeps_its_entries() {
    moved_types_keep_their_entries_with(JsonFormatter);
    moved_types_keep_their_entries_with(PostcardFormatter);
}

#[test]
fn a_value_type_whose_layout_changed_misses() {
    fn check<F: Formatter + Clone>(formatter: F) {
        let dir = tempfile::tempdir().unwrap();
        let old = cache::<models::User, _>(dir.path(), formatter.clone());
        let user = models::User {
            id: 7,
            name: "Ada".into(),
        };
        old.insert(&7, user).unwrap();
        let reordered = cache::<changed::User, _>(dir.path(), formatter.clone());
        assert_eq!(reordered.get(&7), None, "{}", formatter.name());
    }
    check(JsonFormatter);
    check(PostcardFormatter);
}

#[test]
fn a_moved_type_whose_shape_cannot_be_traced_misses() {
    let dir = tempfile::tempdir().unwrap();
    let old = cache::<models::Reply, _>(dir.path(), JsonFormatter);
    old.insert(&7, models::Reply::Count(3)).unwrap();
    // Without a shape, the full path is the only guard: a miss, never a guess.
    let moved = cache::<accounts::Reply, _>(dir.path(), JsonFormatter);
    assert_eq!(moved.get(&7), None);
    assert_eq!(old.get(&7), Some(models::Reply::Count(3)));
}

/// How often the bodies of the functions below ran, in this process.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The function before an edit of its body.
mod v1 {
    use cacher::cached;

    #[cached(backend = "file", namespace = "identity::edited")]
    pub fn edited(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 1
    }

    #[cached(backend = "file", namespace = "identity::versioned", version = 1)]
    pub fn versioned(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 1
    }

    #[cached(backend = "store", namespace = "identity::store_edited")]
    pub fn store_edited(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 1
    }

    #[cached(backend = "file", namespace = "identity::keyed", key = a)]
    pub fn keyed(a: u32, b: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        a * 10 + b
    }
}

/// The same function after the edit (in the second process): another body.
mod v2 {
    use cacher::cached;

    #[cached(backend = "file", namespace = "identity::edited")]
    pub fn edited(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 2
    }

    /// With a `version`, an edit keeps the entries: the user pinned them.
    #[cached(backend = "file", namespace = "identity::versioned", version = 1)]
    pub fn versioned(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 2
    }

    /// The store records the code as the file tier does.
    #[cached(backend = "store", namespace = "identity::store_edited")]
    pub fn store_edited(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n + 2
    }

    /// The body as it was, the key expression edited: an entry keyed by `a` is not the value
    /// of a call whose `b` is the same.
    #[cached(backend = "file", namespace = "identity::keyed", key = b)]
    pub fn keyed(a: u32, b: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        a * 10 + b
    }
}

/// A function before it moved to another module; the same tokens after.
mod before {
    use cacher::cached;

    #[cached(backend = "file", namespace = "identity::moved")]
    pub fn moved(n: u32) -> u32 {
        crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        n * 10
    }
}

mod after {
    pub mod deeper {
        use cacher::cached;

        /// Moved, and formatted otherwise, with a comment: the same tokens.
        #[cached(backend = "file", namespace = "identity::moved")]
        pub fn moved(n: u32) -> u32 {
            // Counted, as before the move.
            crate::identity::RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            n * 10
        }
    }
}

/// One of the processes of the tests below: calls the function its role names, and prints the
/// value and how often the body ran. A no-op unless started by them.
#[test]
fn child_of_identity() {
    let Ok(role) = std::env::var("CACHER_TEST_IDENTITY") else {
        return;
    };
    // Each role calls one function, and reads the errors of its cache only: two functions of one
    // pinned namespace in one process are refused.
    let errors = |stats: cacher::CacheStats| stats.errors;
    let (value, errors) = match role.as_str() {
        "edited-v1" => (v1::edited(1), errors(v1::edited_cache().stats())),
        "edited-v2" => (v2::edited(1), errors(v2::edited_cache().stats())),
        "versioned-v1" => (v1::versioned(1), errors(v1::versioned_cache().stats())),
        "versioned-v2" => (v2::versioned(1), errors(v2::versioned_cache().stats())),
        "keyed-v1" => (v1::keyed(1, 2), errors(v1::keyed_cache().stats())),
        "keyed-v2" => (v2::keyed(2, 1), errors(v2::keyed_cache().stats())),
        "store-edited-v1" => (
            v1::store_edited(1),
            errors(v1::store_edited_cache().stats()),
        ),
        "store-edited-v2" => (
            v2::store_edited(1),
            errors(v2::store_edited_cache().stats()),
        ),
        "moved-before" => (before::moved(1), errors(before::moved_cache().stats())),
        "moved-after" => {
            let value = after::deeper::moved(1);
            (value, errors(after::deeper::moved_cache().stats()))
        }
        "location" => {
            let path = v1::edited_cache().path_of(&(1,)).unwrap();
            println!("RESULT path={}", path.display());
            (v1::edited(1), errors(v1::edited_cache().stats()))
        }
        other => panic!("unknown role {other}"),
    };
    println!("RESULT value={value}");
    println!("RESULT runs={}", RUNS.load(Ordering::SeqCst));
    // An edited function's old entry is a plain miss, not an error to count and warn about.
    println!("RESULT errors={errors}");
}

/// Runs [`child_of_identity`] in a new process, in `cwd`, with `envs`: its `value` and `runs`,
/// and the rest of what it printed.
fn child(
    role: &str,
    cwd: &Path,
    envs: &[(&str, &Path)],
) -> (String, String, Vec<(String, String)>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([&test_name!(child_of_identity), "--exact", "--nocapture"])
        .current_dir(cwd)
        .env("CACHER_TEST_IDENTITY", role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let results = child_results(command.spawn().unwrap());
    let get = |name: &str| {
        let found = results.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.clone()).expect(name)
    };
    (get("value"), get("runs"), results)
}

/// The two roles in two processes over one `CACHER_DIR`: what the second computed.
fn second_of(first: &str, second: &str) -> (String, String) {
    let base = tempfile::tempdir().unwrap();
    let envs = [("CACHER_DIR", base.path())];
    let (_, runs, _) = child(first, base.path(), &envs);
    assert_eq!(runs, "1", "{first} computes");
    let (value, runs, results) = child(second, base.path(), &envs);
    let errors = results.iter().find(|(k, _)| k == "errors");
    assert_eq!(errors.map(|(_, v)| v.as_str()), Some("0"), "{second}");
    (value, runs)
}

#[test]
fn an_edited_function_body_misses_in_the_next_process() {
    let (value, runs) = second_of("edited-v1", "edited-v2");
    assert_eq!((value.as_str(), runs.as_str()), ("3", "1"));
    // Unedited, the next process hits.
    let (value, runs) = second_of("edited-v1", "edited-v1");
    assert_eq!((value.as_str(), runs.as_str()), ("2", "0"));
}

#[test]
fn an_edited_function_body_misses_in_the_next_process_with_the_store_too() {
    let (value, runs) = second_of("store-edited-v1", "store-edited-v2");
    assert_eq!((value.as_str(), runs.as_str()), ("3", "1"));
    let (value, runs) = second_of("store-edited-v1", "store-edited-v1");
    assert_eq!((value.as_str(), runs.as_str()), ("2", "0"));
}

#[test]
fn an_edited_key_expression_misses_in_the_next_process() {
    let (value, runs) = second_of("keyed-v1", "keyed-v2");
    assert_eq!((value.as_str(), runs.as_str()), ("21", "1"));
}

#[test]
fn an_explicit_version_keeps_the_entries_across_edits() {
    let (value, runs) = second_of("versioned-v1", "versioned-v2");
    assert_eq!((value.as_str(), runs.as_str()), ("2", "0"));
}

#[test]
fn a_pinned_namespace_keeps_the_cache_of_a_moved_function() {
    let (value, runs) = second_of("moved-before", "moved-after");
    assert_eq!((value.as_str(), runs.as_str()), ("10", "0"));
}

#[test]
fn the_default_directory_does_not_depend_on_the_current_one() {
    let (cache, one, two) = (tempdir(), tempdir(), tempdir());
    // No CACHER_DIR (empty is ignored): the platform's cache directory.
    let envs = [
        ("CACHER_DIR", Path::new("")),
        ("XDG_CACHE_HOME", cache.path()),
    ];
    let (_, runs, results) = child("location", one.path(), &envs);
    assert_eq!(runs, "1");
    let (_, runs, _) = child("location", two.path(), &envs);
    assert_eq!(runs, "0", "a run from another directory finds the entry");
    let path = &results.iter().find(|(k, _)| k == "path").unwrap().1;
    // `<cache dir>/<package>/<namespace parts>/<key>.json`.
    let under = cache
        .path()
        .join(env!("CARGO_PKG_NAME"))
        .join("cacher_tests/identity/edited");
    if cfg!(target_os = "linux") {
        assert!(Path::new(path).starts_with(&under), "{path}");
    }
    assert!(files_below(one.path()).is_empty() && files_below(two.path()).is_empty());
}

#[test]
fn a_namespace_pinned_by_two_functions_of_one_process_is_refused() {
    mod one {
        #[cacher::cached(backend = "file", namespace = "identity::claimed")]
        pub fn claimed(n: u32) -> u32 {
            n
        }
    }
    mod two {
        #[cacher::cached(backend = "file", namespace = "identity::claimed")]
        pub fn claimed(n: u32) -> u32 {
            n + 1
        }
    }
    assert_eq!(one::claimed(1), 1);
    let refusal = std::panic::catch_unwind(|| two::claimed(1)).unwrap_err();
    let message = refusal.downcast_ref::<String>().unwrap();
    assert!(message.contains("identity::claimed"), "{message}");
    assert!(
        message.contains("give each its own `namespace`"),
        "{message}"
    );
}

#[test]
fn a_namespace_pinned_by_two_store_functions_of_one_process_is_refused() {
    mod one {
        #[cacher::cached(backend = "store", namespace = "identity::store_claimed")]
        pub fn claimed(n: u32) -> u32 {
            n
        }
    }
    mod two {
        #[cacher::cached(backend = "store", namespace = "identity::store_claimed")]
        pub fn claimed(n: u32) -> u32 {
            n + 1
        }
    }
    assert_eq!(one::claimed(1), 1);
    // Not refused, the second would be served the first one's entry.
    let refusal = std::panic::catch_unwind(|| two::claimed(1)).unwrap_err();
    let message = refusal.downcast_ref::<String>().unwrap();
    assert!(message.contains("identity::store_claimed"), "{message}");
}
