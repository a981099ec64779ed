//! A cache's identity across refactors and edits: a value type moved to another module keeps its
//! entries (its shape is the guard), a changed type does not; a pinned `namespace` keeps a
//! function's cache where it moves; an edited function's entries are misses in the next process;
//! default directories that do not depend on the current directory.

use std::path::Path;

use cacher::format::{Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, SeparateFileBackend};
use serde::{Deserialize, Serialize};


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
